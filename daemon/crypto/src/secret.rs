//! Zeroizing containers for secret bytes (style.md §3.7).
//!
//! Every secret that dkgd handles outside a key type of [`crate::k1`] or [`crate::bls`] lives in
//! one of these containers. They:
//!
//! * wipe their memory when dropped (`zeroize`), and keep the bytes on the heap so that moving
//!   the container never leaves stray copies on the stack;
//! * implement neither `Clone`, `Copy`, `Serialize` nor `PartialEq` — equality is the explicit,
//!   constant-time [`subtle::ConstantTimeEq`];
//! * print `[redacted]` for `Debug` (and have no `Display`);
//! * give access only through the loudly named `expose_secret*` methods, so `git grep
//!   expose_secret` finds every place that touches secret bytes.

use std::fmt;

use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The text every secret type prints for `Debug`.
pub const REDACTED: &str = "[redacted]";

/// Error returned when secret bytes of the wrong length are supplied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("secret must be exactly {expected} bytes, got {actual}")]
pub struct SecretLengthError {
    /// Required length.
    pub expected: usize,
    /// Length supplied.
    pub actual: usize,
}

/// A fixed-size secret of `N` bytes, zeroized on drop.
pub struct SecretBytes<const N: usize>(Box<[u8; N]>);

impl<const N: usize> SecretBytes<N> {
    /// An all-zero secret, to be filled through [`Self::expose_secret_mut`] (e.g. by an RNG or a
    /// decryption routine) so that the bytes are written straight into the zeroizing container.
    pub fn zeroed() -> Self {
        Self(Box::new([0u8; N]))
    }

    /// Takes ownership of `bytes`, wiping the caller's array after copying it in.
    pub fn from_array(bytes: &mut [u8; N]) -> Self {
        let mut s = Self::zeroed();
        s.0.copy_from_slice(bytes);
        bytes.zeroize();
        s
    }

    /// Copies `bytes` into a new secret. The caller remains responsible for its own copy.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, SecretLengthError> {
        if bytes.len() != N {
            return Err(SecretLengthError {
                expected: N,
                actual: bytes.len(),
            });
        }
        let mut s = Self::zeroed();
        s.0.copy_from_slice(bytes);
        Ok(s)
    }

    /// Fills a new secret from a cryptographic RNG.
    pub fn random(rng: &mut impl rand_core::CryptoRngCore) -> Self {
        let mut s = Self::zeroed();
        rng.fill_bytes(&mut s.0[..]);
        s
    }

    /// The secret bytes. Every call site is a place where secret material is used.
    pub fn expose_secret(&self) -> &[u8; N] {
        &self.0
    }

    /// Mutable access to the secret bytes, for filling the container in place.
    pub fn expose_secret_mut(&mut self) -> &mut [u8; N] {
        &mut self.0
    }
}

impl<const N: usize> Drop for SecretBytes<N> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<const N: usize> ZeroizeOnDrop for SecretBytes<N> {}

impl<const N: usize> ConstantTimeEq for SecretBytes<N> {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0[..].ct_eq(&other.0[..])
    }
}

impl<const N: usize> fmt::Debug for SecretBytes<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes<{N}>({REDACTED})")
    }
}

/// A variable-length secret (passwords, decrypted keystore payloads), zeroized on drop.
pub struct SecretVec(Vec<u8>);

impl SecretVec {
    /// Takes ownership of `bytes`; they are wiped when the container is dropped.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// Copies `bytes` into a new secret.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }

    /// Number of secret bytes (not itself secret).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The secret bytes. Every call site is a place where secret material is used.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for SecretVec {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for SecretVec {}

impl ConstantTimeEq for SecretVec {
    /// Constant time in the contents; the lengths (public) are compared first.
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.as_slice().ct_eq(other.0.as_slice())
    }
}

impl fmt::Debug for SecretVec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretVec({REDACTED})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn debug_is_redacted() {
        let s = SecretBytes::<4>::from_slice(&[0xde, 0xad, 0xbe, 0xef]).unwrap();
        let text = format!("{s:?} {s:#?}");
        assert!(text.contains(REDACTED));
        assert!(!text.contains("deadbeef") && !text.contains("222") && !text.contains("173"));
        let v = SecretVec::from_slice(b"hunter2");
        assert!(!format!("{v:?}").contains("hunter2"));
    }

    #[test]
    fn from_array_wipes_source() {
        let mut src = [7u8; 32];
        let s = SecretBytes::from_array(&mut src);
        assert_eq!(src, [0u8; 32]);
        assert_eq!(s.expose_secret(), &[7u8; 32]);
    }

    #[test]
    fn lengths_and_equality() {
        assert_eq!(
            SecretBytes::<32>::from_slice(&[1; 31]).unwrap_err(),
            SecretLengthError {
                expected: 32,
                actual: 31
            }
        );
        let a = SecretBytes::<2>::from_slice(&[1, 2]).unwrap();
        let b = SecretBytes::<2>::from_slice(&[1, 2]).unwrap();
        let c = SecretBytes::<2>::from_slice(&[1, 3]).unwrap();
        assert!(bool::from(a.ct_eq(&b)));
        assert!(!bool::from(a.ct_eq(&c)));
        assert!(!bool::from(
            SecretVec::from_slice(b"ab").ct_eq(&SecretVec::from_slice(b"abc"))
        ));
    }

    #[test]
    fn random_is_seeded() {
        let mut r1 = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let mut r2 = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let a = SecretBytes::<32>::random(&mut r1);
        let b = SecretBytes::<32>::random(&mut r2);
        assert!(bool::from(a.ct_eq(&b)));
        assert_ne!(a.expose_secret(), &[0u8; 32]);
    }
}
