//! Threshold BLS over FROST shares (charon-dkg-protocol.md §1.9): partial signatures with a
//! share, secret recovery, and verification, in Ethereum's ciphersuite (min-pk,
//! proof-of-possession DST). Combining partial signatures (G2) or public shares (G1) is
//! [`crate::bls::threshold_combine_signatures`] / [`crate::bls::interpolate_public_key`]:
//! one implementation, the one the ceremony and lock verification use.

use blstrs::{G1Projective, Scalar};
use ff::Field;
use group::Group;
use zeroize::Zeroizing;

use super::codec;
use super::share::{SecretScalar, SecretShare};
use super::ShareIdx;

/// Ethereum's BLS signature domain-separation tag (`…_POP_`, as used by consensus clients).
pub const ETH_DST: &[u8] = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";

/// Failures of threshold operations.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ThresholdError {
    /// Nothing to combine.
    #[error("no shares given")]
    Empty,
    /// The same share index was given twice.
    #[error("share index {0} appears twice")]
    DuplicateIndex(ShareIdx),
    /// The secret share is zero and cannot sign.
    #[error("secret share {0} is not a valid BLS secret key")]
    InvalidSecret(ShareIdx),
    /// A public key or signature failed validation, or the signature does not verify.
    #[error("BLS signature verification failed")]
    VerifyFailed,
}

/// Signs `msg` with a secret share: the partial signature `sk_i·H(msg)` (96-byte compressed
/// G2), as charon's `tbls.Sign` / `PartialSign`.
pub fn partial_sign(share: &SecretShare, msg: &[u8]) -> Result<[u8; 96], ThresholdError> {
    let bytes = share.expose_secret();
    let sk = blst::min_pk::SecretKey::from_bytes(&bytes[..])
        .map_err(|_| ThresholdError::InvalidSecret(share.index()))?;
    Ok(sk.sign(msg, ETH_DST, &[]).compress())
}

/// Lagrange coefficients `λ_j = Π_{m≠j} x_m / (x_m − x_j)` for interpolation at 0.
fn lagrange_at_zero(xs: &[ShareIdx]) -> Result<Vec<Scalar>, ThresholdError> {
    if xs.is_empty() {
        return Err(ThresholdError::Empty);
    }
    let mut out = Vec::with_capacity(xs.len());
    for (k, xj) in xs.iter().enumerate() {
        if xs[..k].contains(xj) {
            return Err(ThresholdError::DuplicateIndex(*xj));
        }
        let (mut num, mut den) = (Scalar::ONE, Scalar::ONE);
        for xm in xs.iter().filter(|xm| *xm != xj) {
            num *= xm.scalar();
            den *= xm.scalar() - xj.scalar();
        }
        let inv =
            Option::<Scalar>::from(den.invert()).ok_or(ThresholdError::DuplicateIndex(*xj))?;
        out.push(num * inv);
    }
    Ok(out)
}

/// A secret recovered by interpolating `t` shares (tests, key recovery tools). Wiped on drop.
pub struct RecoveredSecret(SecretScalar);

impl RecoveredSecret {
    /// The public key `s·G`, compressed.
    pub fn public_key(&self) -> [u8; 48] {
        codec::encode_point(&(G1Projective::generator() * self.0.get()))
    }

    /// The secret as 32 big-endian bytes. Sensitive.
    pub fn expose_secret(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(codec::encode_scalar(&self.0.get()))
    }
}

impl std::fmt::Debug for RecoveredSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveredSecret([redacted])")
    }
}

/// Interpolates secret shares of distinct indices at 0.
pub fn recover_secret(shares: &[&SecretShare]) -> Result<RecoveredSecret, ThresholdError> {
    let xs: Vec<ShareIdx> = shares.iter().map(|s| s.index()).collect();
    let lambdas = lagrange_at_zero(&xs)?;
    let mut acc = SecretScalar::new(Scalar::ZERO);
    for (s, l) in shares.iter().zip(&lambdas) {
        acc = SecretScalar::new(acc.get() + s.scalar().get() * l);
    }
    Ok(RecoveredSecret(acc))
}

/// Verifies an Ethereum BLS signature (public key and signature are subgroup-checked and must
/// not be the identity).
pub fn verify(pubkey: &[u8; 48], msg: &[u8], sig: &[u8; 96]) -> Result<(), ThresholdError> {
    let pk =
        blst::min_pk::PublicKey::key_validate(pubkey).map_err(|_| ThresholdError::VerifyFailed)?;
    let sig = blst::min_pk::Signature::sig_validate(sig, true)
        .map_err(|_| ThresholdError::VerifyFailed)?;
    match sig.verify(false, msg, ETH_DST, &[], &pk, false) {
        blst::BLST_ERROR::BLST_SUCCESS => Ok(()),
        _ => Err(ThresholdError::VerifyFailed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(i: u32) -> ShareIdx {
        ShareIdx::new(i).expect("nonzero")
    }

    #[test]
    fn lagrange_rejects_duplicates_and_empty() {
        assert_eq!(lagrange_at_zero(&[]), Err(ThresholdError::Empty));
        assert_eq!(
            lagrange_at_zero(&[idx(1), idx(2), idx(1)]),
            Err(ThresholdError::DuplicateIndex(idx(1)))
        );
        // λ for {1, 2}: 2 and −1.
        let l = lagrange_at_zero(&[idx(1), idx(2)]).expect("distinct");
        assert_eq!(l, vec![Scalar::from(2u64), -Scalar::ONE]);
    }
}
