//! secp256k1 keys and signatures as charon uses them (formats.md §3.4, §4, §5), over `k256`.
//!
//! * Identity keys (`charon-enr-private-key`) sign ENRs and node signatures; wallets sign
//!   EIP-712 digests. All signatures here are over a caller-supplied 32-byte **digest** — this
//!   module never hashes the message itself.
//! * Signatures are 65 bytes `r ‖ s ‖ v` with `v ∈ {0, 1}` (recovery id), deterministic
//!   (RFC 6979) and low-S, which is exactly what libsecp256k1 and charon produce.
//! * Recovery accepts `v ∈ {0, 1, 27, 28}` and high-S signatures (normalised first), matching
//!   libsecp256k1's leniency.
//! * [`keccak256`], Ethereum addresses and EIP-55 checksums live here too because they are
//!   derived from these keys.

use std::fmt;

use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};
use sha3::{Digest, Keccak256};
use zeroize::Zeroizing;

use crate::secret::REDACTED;

/// Length of a recoverable signature `r ‖ s ‖ v`.
pub const SIGNATURE_LEN: usize = 65;

/// Errors of the secp256k1 layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum K1Error {
    /// The secret scalar is zero or not below the curve order.
    #[error("invalid secp256k1 secret key: the scalar must be non-zero and below the curve order")]
    InvalidSecretKey,
    /// Secret-key text is not 64 hex characters.
    #[error("invalid secp256k1 secret key text: expected 64 hex characters ({why})")]
    InvalidSecretKeyText {
        /// What was wrong.
        why: &'static str,
    },
    /// Public-key bytes are not a valid SEC1 point.
    #[error("invalid secp256k1 public key ({len} bytes): {why}")]
    InvalidPublicKey {
        /// Length of the rejected encoding.
        len: usize,
        /// What was wrong.
        why: &'static str,
    },
    /// A signature of the wrong length.
    #[error("secp256k1 signature must be {expected} bytes, got {actual}")]
    SignatureLength {
        /// Required length.
        expected: usize,
        /// Length given.
        actual: usize,
    },
    /// The recovery byte `v` is not 0, 1, 27 or 28.
    #[error("invalid signature recovery id v={0} (expected 0, 1, 27 or 28)")]
    InvalidRecoveryId(u8),
    /// `r` or `s` is zero or not below the curve order.
    #[error("malformed secp256k1 signature: r and s must be non-zero and below the curve order")]
    MalformedSignature,
    /// No public key can be recovered from this signature and digest.
    #[error("no secp256k1 public key can be recovered from this signature")]
    RecoveryFailed,
    /// The signature does not verify under the given public key.
    #[error("secp256k1 signature does not verify for public key {}", hex::encode(.public_key))]
    VerificationFailed {
        /// Compressed SEC1 encoding of the key the signature was checked against.
        public_key: [u8; 33],
    },
}

/// Keccak-256 (the pre-standard SHA-3 used by Ethereum).
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    Keccak256::digest(data).into()
}

/// A secp256k1 secret key (zeroized on drop, never printed, not clonable).
pub struct K1SecretKey(SigningKey);

impl K1SecretKey {
    /// Key from a 32-byte big-endian scalar (non-zero, below the curve order).
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, K1Error> {
        SigningKey::from_bytes(bytes.into())
            .map(Self)
            .map_err(|_| K1Error::InvalidSecretKey)
    }

    /// Key from its text form as stored in `charon-enr-private-key` (formats.md §5.1):
    /// 64 hex characters; surrounding whitespace (e.g. a trailing newline) is ignored.
    pub fn from_hex(text: &str) -> Result<Self, K1Error> {
        let t = text.trim();
        if t.len() != 64 {
            return Err(K1Error::InvalidSecretKeyText {
                why: "wrong length",
            });
        }
        let mut raw = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(t, &mut raw[..])
            .map_err(|_| K1Error::InvalidSecretKeyText { why: "not hex" })?;
        Self::from_bytes(&raw)
    }

    /// A fresh random key.
    pub fn generate(rng: &mut impl rand_core::CryptoRngCore) -> Self {
        Self(SigningKey::random(rng))
    }

    /// The 32-byte big-endian secret scalar, in a zeroizing buffer.
    pub fn expose_secret(&self) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        let bytes = Zeroizing::new(self.0.to_bytes());
        out.copy_from_slice(&bytes);
        out
    }

    /// The matching public key.
    pub fn public_key(&self) -> K1PublicKey {
        K1PublicKey(*self.0.verifying_key())
    }

    /// Signs a 32-byte digest: RFC 6979 deterministic, low-S, returns `r ‖ s ‖ v` with
    /// `v ∈ {0, 1}` (formats.md §3.4; charon `app/k1util`). No hashing or prefixing is applied to `digest`.
    pub fn sign_digest(&self, digest: &[u8; 32]) -> [u8; 65] {
        // A 32-byte prehash is always accepted for secp256k1, and signing with a valid key only
        // fails with negligible probability (k or s = 0), in which case RFC 6979 retries.
        let (sig, recid) = self
            .0
            .sign_prehash_recoverable(digest)
            .expect("invariant: a 32-byte prehash is always signable with a valid key");
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&sig.to_bytes());
        out[64] = recid.to_byte();
        out
    }
}

impl fmt::Debug for K1SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "K1SecretKey({REDACTED})")
    }
}

/// A validated secp256k1 public key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct K1PublicKey(VerifyingKey);

impl std::hash::Hash for K1PublicKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.to_compressed().hash(state);
    }
}

impl K1PublicKey {
    /// Parses a SEC1 point: 33 bytes compressed or 65 bytes uncompressed.
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, K1Error> {
        let why = match (bytes.len(), bytes.first()) {
            (33, Some(2 | 3)) | (65, Some(4)) => None,
            (33 | 65, _) => Some("unknown SEC1 prefix byte"),
            _ => Some("expected 33 (compressed) or 65 (uncompressed) bytes"),
        };
        if let Some(why) = why {
            return Err(K1Error::InvalidPublicKey {
                len: bytes.len(),
                why,
            });
        }
        VerifyingKey::from_sec1_bytes(bytes)
            .map(Self)
            .map_err(|_| K1Error::InvalidPublicKey {
                len: bytes.len(),
                why: "not a point on the curve",
            })
    }

    /// 33-byte compressed SEC1 encoding.
    pub fn to_compressed(&self) -> [u8; 33] {
        let mut out = [0u8; 33];
        out.copy_from_slice(self.0.to_encoded_point(true).as_bytes());
        out
    }

    /// 65-byte uncompressed SEC1 encoding (`04 ‖ x ‖ y`).
    pub fn to_uncompressed(&self) -> [u8; 65] {
        let mut out = [0u8; 65];
        out.copy_from_slice(self.0.to_encoded_point(false).as_bytes());
        out
    }

    /// The Ethereum address: last 20 bytes of keccak256(x ‖ y) (formats.md §4).
    pub fn eth_address(&self) -> [u8; 20] {
        let unc = self.to_uncompressed();
        let h = keccak256(&unc[1..]);
        let mut out = [0u8; 20];
        out.copy_from_slice(&h[12..]);
        out
    }

    /// Verifies a 64-byte `r ‖ s` signature (or a 65-byte one, ignoring `v`) over `digest`.
    /// High-S signatures are accepted (normalised), as libsecp256k1 does.
    pub fn verify_digest(&self, digest: &[u8; 32], sig: &[u8]) -> Result<(), K1Error> {
        use k256::ecdsa::signature::hazmat::PrehashVerifier;
        let rs = match sig.len() {
            64 | 65 => sig.get(..64).ok_or(K1Error::MalformedSignature)?,
            actual => {
                return Err(K1Error::SignatureLength {
                    expected: 64,
                    actual,
                })
            }
        };
        let parsed = Signature::from_slice(rs).map_err(|_| K1Error::MalformedSignature)?;
        let parsed = parsed.normalize_s().unwrap_or(parsed);
        self.0
            .verify_prehash(digest, &parsed)
            .map_err(|_| K1Error::VerificationFailed {
                public_key: self.to_compressed(),
            })
    }
}

impl fmt::Debug for K1PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "K1PublicKey({})", hex::encode(self.to_compressed()))
    }
}

impl fmt::Display for K1PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.to_compressed()))
    }
}

/// Recovers the signer of a 65-byte `r ‖ s ‖ v` signature over `digest` (formats.md §3.4, §4).
///
/// `v` may be 0/1 (charon) or 27/28 (wallets); high-S signatures are normalised first.
pub fn recover_digest(digest: &[u8; 32], sig: &[u8]) -> Result<K1PublicKey, K1Error> {
    let (rs, v) = match (sig.len(), sig.get(..64), sig.get(64)) {
        (SIGNATURE_LEN, Some(rs), Some(&v)) => (rs, v),
        (actual, _, _) => {
            return Err(K1Error::SignatureLength {
                expected: SIGNATURE_LEN,
                actual,
            })
        }
    };
    let y_odd = match v {
        0 | 27 => false,
        1 | 28 => true,
        other => return Err(K1Error::InvalidRecoveryId(other)),
    };
    let parsed = Signature::from_slice(rs).map_err(|_| K1Error::MalformedSignature)?;
    // Negating s mirrors R, so the parity of the recovery id flips with it.
    let (parsed, y_odd) = match parsed.normalize_s() {
        Some(low) => (low, !y_odd),
        None => (parsed, y_odd),
    };
    let recid = RecoveryId::new(y_odd, false);
    VerifyingKey::recover_from_prehash(digest, &parsed, recid)
        .map(K1PublicKey)
        .map_err(|_| K1Error::RecoveryFailed)
}

/// Formats an address with the EIP-55 mixed-case checksum (`0x` prefix).
pub fn eip55_checksum(address: &[u8; 20]) -> String {
    let lower = hex::encode(address);
    let hash = keccak256(lower.as_bytes());
    let mut out = String::with_capacity(42);
    out.push_str("0x");
    for (i, c) in lower.chars().enumerate() {
        let nibble = hash
            .get(i / 2)
            .map_or(0, |b| if i % 2 == 0 { b >> 4 } else { b & 0x0f });
        if c.is_ascii_alphabetic() && nibble >= 8 {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `text` is a `0x`-prefixed address whose letter case matches its EIP-55 checksum.
/// All-lower-case and all-upper-case addresses carry no checksum and return `false`.
pub fn is_eip55_checksummed(text: &str) -> bool {
    let Some(body) = text.strip_prefix("0x") else {
        return false;
    };
    let mut addr = [0u8; 20];
    if hex::decode_to_slice(body, &mut addr).is_err() {
        return false;
    }
    eip55_checksum(&addr) == text
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    fn rng() -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(7)
    }

    #[test]
    fn sign_recover_round_trip_and_v_variants() {
        let sk = K1SecretKey::generate(&mut rng());
        let digest = keccak256(b"hello");
        let mut sig = sk.sign_digest(&digest);
        assert!(sig[64] <= 1);
        assert_eq!(recover_digest(&digest, &sig).unwrap(), sk.public_key());
        sk.public_key().verify_digest(&digest, &sig).unwrap();
        sig[64] += 27;
        assert_eq!(recover_digest(&digest, &sig).unwrap(), sk.public_key());
        sig[64] = 29;
        assert_eq!(
            recover_digest(&digest, &sig),
            Err(K1Error::InvalidRecoveryId(29))
        );
        assert!(matches!(
            recover_digest(&digest, &sig[..64]),
            Err(K1Error::SignatureLength { actual: 64, .. })
        ));
    }

    #[test]
    fn high_s_is_normalised() {
        let sk = K1SecretKey::generate(&mut rng());
        let digest = keccak256(b"high-s");
        let sig = sk.sign_digest(&digest);
        let parsed = Signature::from_slice(&sig[..64]).unwrap();
        let high =
            Signature::from_scalars(parsed.r().to_bytes(), (-*parsed.s()).to_bytes()).unwrap();
        let mut high_sig = [0u8; 65];
        high_sig[..64].copy_from_slice(&high.to_bytes());
        high_sig[64] = sig[64] ^ 1;
        assert_eq!(recover_digest(&digest, &high_sig).unwrap(), sk.public_key());
        sk.public_key()
            .verify_digest(&digest, &high_sig[..64])
            .unwrap();
    }

    #[test]
    fn rejects_bad_keys() {
        assert_eq!(
            K1SecretKey::from_bytes(&[0u8; 32]).unwrap_err(),
            K1Error::InvalidSecretKey
        );
        assert_eq!(
            K1SecretKey::from_bytes(&[0xff; 32]).unwrap_err(),
            K1Error::InvalidSecretKey
        );
        assert!(K1SecretKey::from_hex("zz").is_err());
        assert!(K1PublicKey::from_sec1(&[5u8; 33]).is_err());
        assert!(K1PublicKey::from_sec1(&[0u8; 1]).is_err());
        assert!(K1PublicKey::from_sec1(&[]).is_err());
    }

    #[test]
    fn encodings_round_trip() {
        let pk = K1SecretKey::generate(&mut rng()).public_key();
        assert_eq!(K1PublicKey::from_sec1(&pk.to_compressed()).unwrap(), pk);
        assert_eq!(K1PublicKey::from_sec1(&pk.to_uncompressed()).unwrap(), pk);
    }

    #[test]
    fn secret_never_printed() {
        let sk = K1SecretKey::from_bytes(&[0x11; 32]).unwrap();
        let text = format!("{sk:?}");
        assert!(text.contains(REDACTED));
        assert!(!text.contains("1111"));
        assert_eq!(sk.expose_secret().as_slice(), &[0x11; 32]);
    }

    #[test]
    fn eip55_known_answers() {
        // Examples from the EIP-55 specification text.
        for s in [
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
            "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        ] {
            let mut a = [0u8; 20];
            hex::decode_to_slice(&s[2..], &mut a).unwrap();
            assert_eq!(eip55_checksum(&a), s);
            assert!(is_eip55_checksummed(s));
            assert!(!is_eip55_checksummed(&s.to_lowercase()));
        }
    }

    #[test]
    fn eth_address_known_answer() {
        // Secret key 1 → generator point → well-known address.
        let mut one = [0u8; 32];
        one[31] = 1;
        let pk = K1SecretKey::from_bytes(&one).unwrap().public_key();
        assert_eq!(
            hex::encode(pk.eth_address()),
            "7e5f4552091a69125d5dfcb7b8c2659029395bdf"
        );
    }
}
