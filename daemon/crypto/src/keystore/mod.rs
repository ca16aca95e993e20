//! EIP-2335 (version 4) BLS keystores as charon writes and reads them (formats.md §6), in
//! memory: secrets and passwords in, JSON bytes out, and back. No file I/O.
//!
//! * Writing: PBKDF2-HMAC-SHA256 with `c = 2^18` (or `2^4` in the explicitly insecure test
//!   mode, refused for mainnet), 32-byte salt, aes-128-ctr, sha256 checksum, `pubkey` without
//!   `0x`, `path` `m/12381/3600/0/0/0`, charon's upper-case uuid, `description` "", Go's
//!   one-space indentation and field order.
//! * Reading: PBKDF2 or scrypt, with hostile parameters rejected before any work
//!   ([`MAX_PBKDF2_C`], [`MAX_SCRYPT_N`], [`MAX_SCRYPT_MEMORY_BYTES`], [`MAX_SCRYPT_R_TIMES_P`],
//!   [`SALT_LEN_RANGE`], `dklen` = 32, `prf` = hmac-sha256); the public key is re-derived from
//!   the decrypted secret and must equal `pubkey`.
//!
//! Password normalisation (resolved ambiguity): EIP-2335 strips C0, DEL **and C1** controls
//! after NFKD; the Go library charon uses leaves C1 in place. We encrypt with the EIP rule
//! (charon's hex passwords are unaffected either way) and, when decrypting with a password
//! that contains a C1 character and the EIP rule fails the checksum, retry once with the Go
//! rule, so keystores from both kinds of tool open.

mod batch;
mod cipher;
mod json;
mod kdf;
mod password;

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

pub use batch::{encrypt_all, KeystoreFile};
pub use kdf::{
    MAX_PBKDF2_C, MAX_SCRYPT_MEMORY_BYTES, MAX_SCRYPT_N, MAX_SCRYPT_R_TIMES_P, SALT_LEN_RANGE,
};
pub use password::Password;

use json::{EmptyParams, InKeystore, IvParams, OutCrypto, OutKeystore, OutModule, Pbkdf2Params};
use kdf::{Kdf, PBKDF2_C_INSECURE, PBKDF2_C_STANDARD};
use password::{has_c1, normalise, Controls};

/// How expensive the KDF of new keystores is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KdfStrength {
    /// charon's default: PBKDF2 with 2^18 iterations.
    Standard,
    /// PBKDF2 with 16 iterations (charon `--insecure-keys`). **Tests and throw-away testnets
    /// only**: a keystore written this way is protected by little more than its password's
    /// entropy. Refused when the caller says the network is mainnet.
    InsecureTestOnly,
}

impl KdfStrength {
    fn iterations(self, mainnet: bool) -> Result<u32, KeystoreError> {
        match self {
            KdfStrength::Standard => Ok(PBKDF2_C_STANDARD),
            KdfStrength::InsecureTestOnly if mainnet => Err(KeystoreError::InsecureOnMainnet),
            KdfStrength::InsecureTestOnly => Ok(PBKDF2_C_INSECURE),
        }
    }
}

/// Keystore failures. Nothing here ever contains secret or password bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeystoreError {
    /// [`KdfStrength::InsecureTestOnly`] was requested for a mainnet key.
    #[error("insecure keystore encryption refused: the network is mainnet")]
    InsecureOnMainnet,
    /// The secret is not a valid BLS secret key (zero or ≥ r).
    #[error("the secret is not a valid BLS12-381 secret key")]
    InvalidSecret,
    /// The input is not keystore JSON.
    #[error("not EIP-2335 keystore JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// `version` is not 4.
    #[error("unsupported keystore version {0} (expected 4)")]
    UnsupportedVersion(u64),
    /// A function or parameter this implementation does not support.
    #[error("unsupported keystore {field}")]
    Unsupported {
        /// The JSON field.
        field: &'static str,
    },
    /// A field is missing or malformed.
    #[error("keystore field {field}: {why}")]
    BadField {
        /// The JSON field.
        field: &'static str,
        /// What is wrong.
        why: &'static str,
    },
    /// KDF parameters outside the accepted bounds (checked before deriving anything).
    #[error("keystore KDF parameter {param} rejected: {why}")]
    HostileKdf {
        /// The parameter(s).
        param: &'static str,
        /// The bound violated.
        why: &'static str,
    },
    /// The checksum does not match: wrong password (or a corrupted file).
    #[error("wrong keystore password (checksum mismatch)")]
    WrongPassword,
    /// The decrypted secret's public key differs from the keystore's `pubkey`.
    #[error("decrypted secret does not match the keystore pubkey")]
    PubkeyMismatch,
    /// Failure of key `index` in [`encrypt_all`].
    #[error("keystore {index}: {source}")]
    Batch {
        /// Position in the input.
        index: usize,
        /// The failure.
        #[source]
        source: Box<KeystoreError>,
    },
    /// A bug: please report.
    #[error("internal error (bug): {0}")]
    Internal(&'static str),
}

/// The BLS public key of a 32-byte big-endian secret.
fn pubkey_of(secret: &[u8; 32]) -> Result<[u8; 48], KeystoreError> {
    let sk =
        blst::min_pk::SecretKey::from_bytes(secret).map_err(|_| KeystoreError::InvalidSecret)?;
    Ok(sk.sk_to_pk().compress())
}

/// Encrypts a 32-byte big-endian BLS secret into charon-style keystore JSON
/// (formats.md §6). `mainnet`: true for any network whose keys hold real value (mainnet,
/// gnosis); it forbids [`KdfStrength::InsecureTestOnly`].
///
/// Draws 32 bytes of salt, 16 of IV and 16 of uuid from `rng`, in that order.
pub fn encrypt<R: CryptoRngCore + ?Sized>(
    secret: &[u8; 32],
    password: &Password,
    strength: KdfStrength,
    mainnet: bool,
    rng: &mut R,
) -> Result<Vec<u8>, KeystoreError> {
    let c = strength.iterations(mainnet)?;
    let normalised = normalise(password.expose_secret(), Controls::Eip2335);
    encrypt_normalised(secret, &normalised, c, rng)
}

/// [`encrypt`] with an already normalised password and an iteration count.
fn encrypt_normalised<R: CryptoRngCore + ?Sized>(
    secret: &[u8; 32],
    password: &[u8],
    c: u32,
    rng: &mut R,
) -> Result<Vec<u8>, KeystoreError> {
    let pubkey = pubkey_of(secret)?;
    let mut salt = [0u8; 32];
    let mut iv = [0u8; 16];
    let mut uuid = [0u8; 16];
    rng.fill_bytes(&mut salt);
    rng.fill_bytes(&mut iv);
    rng.fill_bytes(&mut uuid);

    let kdf = Kdf::Pbkdf2 {
        c,
        salt: salt.to_vec(),
    };
    let dk = kdf.derive(password)?;
    let mut ct = *secret;
    cipher::apply(&dk, &iv, &mut ct);
    let ks = OutKeystore {
        crypto: OutCrypto {
            checksum: OutModule {
                function: "sha256",
                message: hex::encode(cipher::checksum(&dk, &ct)),
                params: EmptyParams {},
            },
            cipher: OutModule {
                function: "aes-128-ctr",
                message: hex::encode(ct),
                params: IvParams {
                    iv: hex::encode(iv),
                },
            },
            kdf: OutModule {
                function: "pbkdf2",
                message: String::new(),
                params: Pbkdf2Params {
                    c,
                    dklen: 32, // = DKLEN
                    prf: "hmac-sha256",
                    salt: hex::encode(salt),
                },
            },
        },
        description: "",
        pubkey: hex::encode(pubkey),
        path: json::CHARON_PATH,
        uuid: json::uuid(&uuid),
        version: 4,
    };
    json::to_go_indented(&ks)
}

/// A decrypted keystore: the secret and its (verified) public key.
pub struct DecryptedKey {
    secret: Zeroizing<[u8; 32]>,
    pubkey: [u8; 48],
}

impl DecryptedKey {
    /// The 32-byte big-endian BLS secret. Sensitive.
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.secret
    }

    /// The public key (re-derived from the secret; equal to the keystore's `pubkey`).
    pub fn pubkey(&self) -> &[u8; 48] {
        &self.pubkey
    }
}

impl std::fmt::Debug for DecryptedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecryptedKey")
            .field("pubkey", &hex::encode(self.pubkey))
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// Reads the `pubkey` of EIP-2335 keystore JSON without decrypting (and so without the
/// password): what a verifier matches against the lock's public shares.
pub fn read_pubkey(keystore_json: &[u8]) -> Result<[u8; 48], KeystoreError> {
    let ks: InKeystore = serde_json::from_slice(keystore_json).map_err(KeystoreError::Json)?;
    if ks.version != 4 {
        return Err(KeystoreError::UnsupportedVersion(ks.version));
    }
    match &ks.pubkey {
        Some(pk) => json::unhex_n(pk, "pubkey"),
        None => Err(KeystoreError::BadField {
            field: "pubkey",
            why: "missing",
        }),
    }
}

/// Decrypts EIP-2335 keystore JSON (PBKDF2 or scrypt) with `password`, normalised per
/// EIP-2335. All parameters are validated before the KDF runs.
pub fn decrypt(keystore_json: &[u8], password: &str) -> Result<DecryptedKey, KeystoreError> {
    let ks: InKeystore = serde_json::from_slice(keystore_json).map_err(KeystoreError::Json)?;
    if ks.version != 4 {
        return Err(KeystoreError::UnsupportedVersion(ks.version));
    }
    let c = &ks.crypto;
    if c.checksum.function != "sha256" {
        return Err(KeystoreError::Unsupported {
            field: "checksum.function",
        });
    }
    if c.cipher.function != "aes-128-ctr" {
        return Err(KeystoreError::Unsupported {
            field: "cipher.function",
        });
    }
    let kdf = Kdf::parse(&c.kdf.function, &c.kdf.params)?;
    let stored_sum: [u8; 32] = json::unhex_n(&c.checksum.message, "checksum.message")?;
    let iv_hex =
        c.cipher
            .params
            .get("iv")
            .and_then(|v| v.as_str())
            .ok_or(KeystoreError::BadField {
                field: "cipher.params.iv",
                why: "missing or not a string",
            })?;
    let iv: [u8; 16] = json::unhex_n(iv_hex, "cipher.params.iv")?;
    let ct: [u8; 32] = json::unhex_n(&c.cipher.message, "cipher.message")?;
    let expected_pk: [u8; 48] = match &ks.pubkey {
        Some(pk) => json::unhex_n(pk, "pubkey")?,
        None => {
            return Err(KeystoreError::BadField {
                field: "pubkey",
                why: "missing",
            })
        }
    };

    let mut dk = kdf.derive(&normalise(password, Controls::Eip2335))?;
    if !cipher::checksum_matches(&dk, &ct, &stored_sum) && has_c1(password) {
        dk = kdf.derive(&normalise(password, Controls::C0AndDelOnly))?;
    }
    if !cipher::checksum_matches(&dk, &ct, &stored_sum) {
        return Err(KeystoreError::WrongPassword);
    }
    let mut secret = Zeroizing::new(ct);
    cipher::apply(&dk, &iv, &mut secret[..]);
    let pubkey = pubkey_of(&secret)?;
    if pubkey != expected_pk {
        return Err(KeystoreError::PubkeyMismatch);
    }
    Ok(DecryptedKey { secret, pubkey })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    /// A keystore written by a tool that keeps C1 controls (charon's Go library) opens with
    /// the same password, through the fallback; one written per EIP-2335 opens directly.
    #[test]
    fn c1_password_fallback() {
        let secret = [0x11u8; 32];
        let pw = "a\u{85}b";
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        for controls in [Controls::C0AndDelOnly, Controls::Eip2335] {
            let json = encrypt_normalised(&secret, &normalise(pw, controls), 16, &mut rng)
                .expect("encrypt");
            let key = decrypt(&json, pw).expect("decrypt");
            assert_eq!(key.expose_secret(), &secret);
            assert!(matches!(
                decrypt(&json, "a\u{85}c"),
                Err(KeystoreError::WrongPassword)
            ));
        }
    }
}
