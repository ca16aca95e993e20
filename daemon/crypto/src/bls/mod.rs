//! Ethereum BLS signatures (BLS12-381, public keys in G1, signatures in G2), over `blst`.
//!
//! Ciphersuite `BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_` — the one the consensus layer uses
//! for deposits, builder registrations and charon's `signature_aggregate` (formats.md §3.3, §7).
//!
//! * Public material is validated when decoded (length, on curve, in the subgroup, not the point
//!   at infinity) and stays typed afterwards, so verification never re-checks it.
//! * [`BlsSecretKey`] zeroizes on drop, cannot be cloned or printed, and exposes its scalar only
//!   through [`BlsSecretKey::expose_secret`].
//! * Threshold helpers (Lagrange interpolation at x = 0 of key shares and partial signatures)
//!   are in [`threshold`] and re-exported here.

use std::fmt;
use std::hash::{Hash, Hasher};

use blst::min_pk::{AggregatePublicKey, AggregateSignature, PublicKey, SecretKey, Signature};
use blst::BLST_ERROR;
use zeroize::Zeroizing;

use crate::secret::{SecretBytes, REDACTED};

mod batch;
mod threshold;
pub use batch::{verify_batch, SameMessage};
pub use threshold::{
    interpolate_public_key, lagrange_coefficients_at_zero, threshold_combine_signatures,
};

/// The proof-of-possession ciphersuite DST used throughout Ethereum.
pub const DST: &[u8] = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
/// Length of a secret scalar (big-endian).
pub const SECRET_KEY_LEN: usize = 32;
/// Length of a compressed G1 public key.
pub const PUBLIC_KEY_LEN: usize = 48;
/// Length of a compressed G2 signature.
pub const SIGNATURE_LEN: usize = 96;

/// Errors of the BLS layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlsError {
    /// The secret scalar is zero or not below the group order.
    #[error("invalid BLS secret key: the scalar must be non-zero and below the group order")]
    InvalidSecretKey,
    /// Public-key bytes were rejected.
    #[error("invalid BLS public key: {why}")]
    InvalidPublicKey {
        /// What was wrong.
        why: &'static str,
    },
    /// Signature bytes were rejected.
    #[error("invalid BLS signature encoding: {why}")]
    InvalidSignature {
        /// What was wrong.
        why: &'static str,
    },
    /// A well-formed signature that does not verify.
    #[error("BLS signature does not verify for the given public key(s) and message")]
    VerificationFailed,
    /// An aggregation or interpolation was asked for over an empty set.
    #[error("nothing to {what}: the input list is empty")]
    Empty {
        /// The operation that needed input.
        what: &'static str,
    },
    /// A share index of 0 (share indices are 1-based; 0 is the group secret itself).
    #[error("share index 0 is invalid: share indices start at 1")]
    ZeroIndex,
    /// The same share index appeared twice.
    #[error("share index {0} appears more than once")]
    DuplicateIndex(u32),
}

fn why(e: BLST_ERROR) -> &'static str {
    match e {
        BLST_ERROR::BLST_BAD_ENCODING => "bad encoding",
        BLST_ERROR::BLST_POINT_NOT_ON_CURVE => "point is not on the curve",
        BLST_ERROR::BLST_POINT_NOT_IN_GROUP => "point is not in the prime-order subgroup",
        BLST_ERROR::BLST_PK_IS_INFINITY => "point at infinity",
        _ => "rejected by blst",
    }
}

/// A BLS secret key (zeroized on drop, never printed, not clonable).
pub struct BlsSecretKey(SecretKey);

impl BlsSecretKey {
    /// Key from a 32-byte big-endian scalar (non-zero, below the group order r).
    pub fn from_bytes(bytes: &[u8; SECRET_KEY_LEN]) -> Result<Self, BlsError> {
        SecretKey::from_bytes(bytes)
            .map(Self)
            .map_err(|_| BlsError::InvalidSecretKey)
    }

    /// A fresh random key (EIP-2333 `KeyGen` over 32 bytes of RNG output).
    pub fn generate(rng: &mut impl rand_core::CryptoRngCore) -> Self {
        let ikm = SecretBytes::<32>::random(rng);
        let sk = SecretKey::key_gen(ikm.expose_secret(), &[])
            .expect("invariant: key_gen accepts 32 bytes of key material");
        Self(sk)
    }

    /// The 32-byte big-endian secret scalar, in a zeroizing buffer.
    pub fn expose_secret(&self) -> Zeroizing<[u8; SECRET_KEY_LEN]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The matching public key.
    pub fn public_key(&self) -> BlsPublicKey {
        BlsPublicKey::from_point(self.0.sk_to_pk())
    }

    /// Signs `msg` (e.g. a 32-byte signing root, or charon's raw lock hash).
    pub fn sign(&self, msg: &[u8]) -> BlsSignature {
        BlsSignature::from_point(self.0.sign(msg, DST, &[]))
    }
}

impl fmt::Debug for BlsSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlsSecretKey({REDACTED})")
    }
}

/// A validated BLS public key (compressed G1 point, subgroup-checked, not infinity).
#[derive(Clone, Copy)]
pub struct BlsPublicKey {
    point: PublicKey,
    bytes: [u8; PUBLIC_KEY_LEN],
}

impl BlsPublicKey {
    fn from_point(point: PublicKey) -> Self {
        Self {
            point,
            bytes: point.compress(),
        }
    }

    /// Decodes and validates a 48-byte compressed public key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BlsError> {
        if bytes.len() != PUBLIC_KEY_LEN {
            return Err(BlsError::InvalidPublicKey {
                why: "expected 48 bytes (compressed G1)",
            });
        }
        let point = PublicKey::key_validate(bytes)
            .map_err(|e| BlsError::InvalidPublicKey { why: why(e) })?;
        Ok(Self::from_point(point))
    }

    /// The 48-byte compressed encoding.
    pub fn to_bytes(&self) -> [u8; PUBLIC_KEY_LEN] {
        self.bytes
    }

    /// The 48-byte compressed encoding, borrowed.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LEN] {
        &self.bytes
    }

    /// Verifies `sig` over `msg` under this key (Ethereum `Verify`).
    pub fn verify(&self, msg: &[u8], sig: &BlsSignature) -> Result<(), BlsError> {
        // Both points were group-checked on decode (type invariant).
        match sig.point.verify(false, msg, DST, &[], &self.point, false) {
            BLST_ERROR::BLST_SUCCESS => Ok(()),
            _ => Err(BlsError::VerificationFailed),
        }
    }

    pub(crate) fn point(&self) -> &PublicKey {
        &self.point
    }

    pub(crate) fn from_validated_point(point: PublicKey) -> Result<Self, BlsError> {
        point
            .validate()
            .map_err(|e| BlsError::InvalidPublicKey { why: why(e) })?;
        Ok(Self::from_point(point))
    }
}

impl PartialEq for BlsPublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}
impl Eq for BlsPublicKey {}
impl Hash for BlsPublicKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.bytes.hash(state);
    }
}
impl PartialOrd for BlsPublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for BlsPublicKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.bytes.cmp(&other.bytes)
    }
}

impl fmt::Debug for BlsPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlsPublicKey(0x{})", hex::encode(self.bytes))
    }
}

impl fmt::Display for BlsPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.bytes))
    }
}

/// A validated BLS signature (compressed G2 point, subgroup-checked, not infinity).
#[derive(Clone, Copy)]
pub struct BlsSignature {
    point: Signature,
    bytes: [u8; SIGNATURE_LEN],
}

impl BlsSignature {
    fn from_point(point: Signature) -> Self {
        Self {
            point,
            bytes: point.compress(),
        }
    }

    /// Decodes and validates a 96-byte compressed signature.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BlsError> {
        if bytes.len() != SIGNATURE_LEN {
            return Err(BlsError::InvalidSignature {
                why: "expected 96 bytes (compressed G2)",
            });
        }
        let point = Signature::sig_validate(bytes, true)
            .map_err(|e| BlsError::InvalidSignature { why: why(e) })?;
        Ok(Self::from_point(point))
    }

    /// The 96-byte compressed encoding.
    pub fn to_bytes(&self) -> [u8; SIGNATURE_LEN] {
        self.bytes
    }

    /// The 96-byte compressed encoding, borrowed.
    pub fn as_bytes(&self) -> &[u8; SIGNATURE_LEN] {
        &self.bytes
    }

    pub(crate) fn point(&self) -> &Signature {
        &self.point
    }

    pub(crate) fn from_validated_point(point: Signature) -> Result<Self, BlsError> {
        point
            .validate(true)
            .map_err(|e| BlsError::InvalidSignature { why: why(e) })?;
        Ok(Self::from_point(point))
    }
}

impl PartialEq for BlsSignature {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}
impl Eq for BlsSignature {}
impl Hash for BlsSignature {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.bytes.hash(state);
    }
}

impl fmt::Debug for BlsSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlsSignature(0x{})", hex::encode(self.bytes))
    }
}

impl fmt::Display for BlsSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.bytes))
    }
}

/// Plain aggregation (point addition) of signatures, as charon builds `signature_aggregate`
/// (formats.md §3.3).
pub fn aggregate_signatures(sigs: &[BlsSignature]) -> Result<BlsSignature, BlsError> {
    if sigs.is_empty() {
        return Err(BlsError::Empty {
            what: "aggregate (signatures)",
        });
    }
    let refs: Vec<&Signature> = sigs.iter().map(|s| &s.point).collect();
    let agg = AggregateSignature::aggregate(&refs, false)
        .map_err(|e| BlsError::InvalidSignature { why: why(e) })?;
    BlsSignature::from_validated_point(agg.to_signature())
}

/// Plain aggregation (point addition) of public keys.
pub fn aggregate_public_keys(keys: &[BlsPublicKey]) -> Result<BlsPublicKey, BlsError> {
    if keys.is_empty() {
        return Err(BlsError::Empty {
            what: "aggregate (public keys)",
        });
    }
    let refs: Vec<&PublicKey> = keys.iter().map(|k| &k.point).collect();
    let agg = AggregatePublicKey::aggregate(&refs, false)
        .map_err(|e| BlsError::InvalidPublicKey { why: why(e) })?;
    BlsPublicKey::from_validated_point(agg.to_public_key())
}

/// Ethereum `FastAggregateVerify`: every key signed the same `msg` and `sig` is the sum of
/// their signatures (charon's `signature_aggregate` check, formats.md §3.3).
pub fn fast_aggregate_verify(
    keys: &[BlsPublicKey],
    msg: &[u8],
    sig: &BlsSignature,
) -> Result<(), BlsError> {
    if keys.is_empty() {
        return Err(BlsError::Empty {
            what: "verify (no public keys)",
        });
    }
    let refs: Vec<&PublicKey> = keys.iter().map(|k| &k.point).collect();
    match sig.point.fast_aggregate_verify(false, msg, DST, &refs) {
        BLST_ERROR::BLST_SUCCESS => Ok(()),
        _ => Err(BlsError::VerificationFailed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    fn rng() -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(3)
    }

    #[test]
    fn sign_verify_and_tamper() {
        let sk = BlsSecretKey::generate(&mut rng());
        let pk = sk.public_key();
        let sig = sk.sign(b"msg");
        pk.verify(b"msg", &sig).unwrap();
        assert_eq!(pk.verify(b"msh", &sig), Err(BlsError::VerificationFailed));
        let other = BlsSecretKey::generate(&mut rng()).public_key();
        // Same seed → same key; use a different one.
        let other = if other == pk {
            BlsSecretKey::from_bytes(&[1; 32]).unwrap().public_key()
        } else {
            other
        };
        assert_eq!(
            other.verify(b"msg", &sig),
            Err(BlsError::VerificationFailed)
        );
        let round = BlsSignature::from_bytes(&sig.to_bytes()).unwrap();
        assert_eq!(round, sig);
        assert_eq!(BlsPublicKey::from_bytes(&pk.to_bytes()).unwrap(), pk);
    }

    #[test]
    fn decode_rejects_bad_points() {
        assert!(matches!(
            BlsPublicKey::from_bytes(&[0u8; 47]),
            Err(BlsError::InvalidPublicKey { .. })
        ));
        // Compressed infinity: 0xc0 followed by zeros.
        let mut inf = [0u8; 48];
        inf[0] = 0xc0;
        assert!(matches!(
            BlsPublicKey::from_bytes(&inf),
            Err(BlsError::InvalidPublicKey {
                why: "point at infinity"
            })
        ));
        let mut sinf = [0u8; 96];
        sinf[0] = 0xc0;
        assert!(BlsSignature::from_bytes(&sinf).is_err());
        assert!(BlsSignature::from_bytes(&[0xaa; 96]).is_err());
        assert!(BlsPublicKey::from_bytes(&[0xaa; 48]).is_err());
        assert!(BlsSecretKey::from_bytes(&[0u8; 32]).is_err());
        assert!(BlsSecretKey::from_bytes(&[0xff; 32]).is_err());
    }

    #[test]
    fn aggregate_and_fast_verify() {
        let mut r = rng();
        let sks: Vec<_> = (0..4).map(|_| BlsSecretKey::generate(&mut r)).collect();
        let pks: Vec<_> = sks.iter().map(BlsSecretKey::public_key).collect();
        let sigs: Vec<_> = sks.iter().map(|s| s.sign(b"lock")).collect();
        let agg = aggregate_signatures(&sigs).unwrap();
        fast_aggregate_verify(&pks, b"lock", &agg).unwrap();
        assert!(fast_aggregate_verify(&pks[..3], b"lock", &agg).is_err());
        assert!(fast_aggregate_verify(&[], b"lock", &agg).is_err());
        let apk = aggregate_public_keys(&pks).unwrap();
        apk.verify(b"lock", &agg).unwrap();
        assert!(aggregate_signatures(&[]).is_err());
    }

    #[test]
    fn secret_never_printed() {
        let sk = BlsSecretKey::from_bytes(&[0x22; 32]).unwrap();
        let text = format!("{sk:?}");
        assert!(text.contains(REDACTED) && !text.contains("2222"));
        assert_eq!(sk.expose_secret().as_slice(), &[0x22; 32]);
    }
}
