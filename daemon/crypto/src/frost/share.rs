//! Zeroizing containers for FROST secrets (style.md §3.7).
//!
//! Field elements are kept as the four Montgomery limbs of blst's `blst_fr`, which zeroize on
//! drop. Arithmetic briefly copies them into `blstrs::Scalar` values on the stack; those copies
//! are not wiped (best effort, as in every Rust BLS library we know of).

use std::fmt;

use blstrs::{G1Projective, Scalar};
use group::Group;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::codec;
use super::ShareIdx;

/// A secret field element that is wiped on drop and never printed.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct SecretScalar([u64; 4]);

impl SecretScalar {
    pub(crate) fn new(s: Scalar) -> Self {
        Self(blst::blst_fr::from(s).l)
    }

    /// A working copy of the value.
    pub(crate) fn get(&self) -> Scalar {
        Scalar::from(blst::blst_fr { l: self.0 })
    }
}

impl fmt::Debug for SecretScalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretScalar([redacted])")
    }
}

/// One participant's secret key share of one validator, `sk_i = Σ_j f_j(i)`.
///
/// Not `Clone`, not comparable, printed as `[redacted]`; wiped on drop.
pub struct SecretShare {
    idx: ShareIdx,
    value: SecretScalar,
}

impl SecretShare {
    pub(crate) fn from_scalar(idx: ShareIdx, value: SecretScalar) -> Self {
        Self { idx, value }
    }

    /// Rebuilds a share from its 32-byte big-endian encoding (e.g. a decrypted keystore).
    /// `None` if the bytes are not a canonical non-zero scalar.
    pub fn from_be_bytes(idx: ShareIdx, bytes: &[u8; 32]) -> Option<Self> {
        let s = codec::decode_scalar(bytes)?;
        if bool::from(ff::Field::is_zero(&s)) {
            return None;
        }
        Some(Self {
            idx,
            value: SecretScalar::new(s),
        })
    }

    /// The share index this share belongs to.
    pub fn index(&self) -> ShareIdx {
        self.idx
    }

    /// The secret as 32 big-endian bytes (the EIP-2335 keystore secret). Sensitive: the copy
    /// is wiped when the returned value is dropped.
    pub fn expose_secret(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(codec::encode_scalar(&self.value.get()))
    }

    /// The public key share `sk_i·G`, compressed.
    pub fn public_share(&self) -> [u8; 48] {
        codec::encode_point(&(G1Projective::generator() * self.value.get()))
    }

    pub(crate) fn scalar(&self) -> &SecretScalar {
        &self.value
    }
}

impl fmt::Debug for SecretShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretShare")
            .field("idx", &self.idx)
            .field("value", &"[redacted]")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limbs_round_trip_and_redaction() {
        let s = Scalar::from(123_456_789_u64);
        let sec = SecretScalar::new(s);
        assert_eq!(sec.get(), s);
        assert_eq!(format!("{sec:?}"), "SecretScalar([redacted])");
        let idx = ShareIdx::new(3).expect("nonzero");
        let share = SecretShare::from_scalar(idx, sec);
        let dbg = format!("{share:?}");
        assert!(
            dbg.contains("redacted") && !dbg.contains("75bcd15"),
            "{dbg}"
        );
        let again = SecretShare::from_be_bytes(idx, &share.expose_secret()).expect("valid");
        assert_eq!(again.scalar().get(), s);
        assert!(SecretShare::from_be_bytes(idx, &[0u8; 32]).is_none());
    }
}
