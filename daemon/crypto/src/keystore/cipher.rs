//! EIP-2335 "Password verification" (sha256 checksum) and "Secret decryption" (aes-128-ctr).

use aes::Aes128;
use ctr::cipher::{KeyIvInit, StreamCipher};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::kdf::DKLEN;

type Aes128Ctr = ctr::Ctr128BE<Aes128>;

/// `checksum = SHA256(dk[16..32] ‖ cipher_message)`.
pub(crate) fn checksum(dk: &[u8; DKLEN], ciphertext: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(&dk[16..32]);
    h.update(ciphertext);
    h.finalize().into()
}

/// Constant-time comparison of the stored and recomputed checksums.
pub(crate) fn checksum_matches(dk: &[u8; DKLEN], ciphertext: &[u8], stored: &[u8; 32]) -> bool {
    bool::from(checksum(dk, ciphertext).ct_eq(stored))
}

/// aes-128-ctr with key `dk[0..16]` and a 16-byte IV, in place (encrypts and decrypts).
pub(crate) fn apply(dk: &[u8; DKLEN], iv: &[u8; 16], data: &mut [u8]) {
    let mut c = Aes128Ctr::new(dk[..16].into(), iv.into());
    c.apply_keystream(data);
}
