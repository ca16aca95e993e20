//! The definition-hash signature of `MsgSync.hash_signature` (charon-dkg-protocol.md §1.5;
//! charon `dkg/dkg.go` `startSyncProtocol`, `dkg/sync/server.go` `validReq`).
//!
//! charon signs with libp2p's secp256k1 key API, which hashes its input once more: the
//! signature is ECDSA over **SHA-256(definition hash)**, encoded as ASN.1 DER
//! `SEQUENCE { INTEGER r, INTEGER s }` (go-libp2p `Secp256k1PrivateKey.Sign`, decred's
//! `Signature.Serialize`: low-S, minimal integers). Verification parses strict DER (decred
//! `ParseDERSignature`) and checks it against the public key in the peer ID, which is the key
//! of the peer's ENR.

use dkgd_crypto::k1::{K1PublicKey, K1SecretKey};
use sha2::{Digest, Sha256};

/// Why a `hash_signature` does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HashSigError {
    /// Not strict DER `SEQUENCE { INTEGER, INTEGER }` with 1–32-byte positive integers.
    #[error("not a DER-encoded ECDSA signature")]
    NotDer,
    /// Well-formed, but not by the peer's identity key over this definition hash.
    #[error("does not verify for the peer's identity key and our definition hash")]
    Mismatch,
}

/// Our `hash_signature`: DER ECDSA (RFC 6979, low-S) over SHA-256(`definition_hash`).
pub fn sign_definition_hash(identity: &K1SecretKey, definition_hash: &[u8]) -> Vec<u8> {
    let digest: [u8; 32] = Sha256::digest(definition_hash).into();
    let rsv = identity.sign_digest(&digest);
    let (r, s) = rsv.split_at(32);
    der_encode(r, s.get(..32).unwrap_or_default())
}

/// Checks a peer's `hash_signature` against its identity key and `definition_hash`.
pub fn verify_definition_hash(
    peer_key: &K1PublicKey,
    definition_hash: &[u8],
    signature: &[u8],
) -> Result<(), HashSigError> {
    let rs = der_decode(signature).ok_or(HashSigError::NotDer)?;
    let digest: [u8; 32] = Sha256::digest(definition_hash).into();
    peer_key
        .verify_digest(&digest, &rs)
        .map_err(|_| HashSigError::Mismatch)
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }` of two 32-byte big-endian values.
fn der_encode(r: &[u8], s: &[u8]) -> Vec<u8> {
    let int = |v: &[u8]| -> Vec<u8> {
        let v = match v.iter().position(|b| *b != 0) {
            Some(first) => v.get(first..).unwrap_or_default(),
            None => &[0u8][..],
        };
        let mut out = vec![0x02];
        let pad = v.first().is_some_and(|b| b & 0x80 != 0);
        // At most 33 content bytes: the length always fits in one byte.
        out.push(u8::try_from(v.len() + usize::from(pad)).unwrap_or(u8::MAX));
        if pad {
            out.push(0);
        }
        out.extend_from_slice(v);
        out
    };
    let (r, s) = (int(r), int(s));
    let mut out = vec![0x30, u8::try_from(r.len() + s.len()).unwrap_or(u8::MAX)];
    out.extend_from_slice(&r);
    out.extend_from_slice(&s);
    out
}

/// Strict DER back to `r ‖ s` (64 bytes), or `None`.
fn der_decode(der: &[u8]) -> Option<[u8; 64]> {
    let (&tag, rest) = der.split_first()?;
    let (&len, body) = rest.split_first()?;
    if tag != 0x30 || usize::from(len) != body.len() {
        return None;
    }
    let (r, body) = der_int(body)?;
    let (s, body) = der_int(body)?;
    if !body.is_empty() {
        return None;
    }
    let mut out = [0u8; 64];
    out.get_mut(32 - r.len()..32)?.copy_from_slice(r);
    out.get_mut(64 - s.len()..)?.copy_from_slice(s);
    Some(out)
}

/// One strict DER INTEGER: positive, minimal, at most 32 value bytes. Returns the value bytes
/// (without a sign-padding zero) and what follows.
fn der_int(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&len, rest) = rest.split_first()?;
    let len = usize::from(len);
    if tag != 0x02 || len == 0 || len > 33 || rest.len() < len {
        return None;
    }
    let (value, after) = rest.split_at(len);
    let first = *value.first()?;
    if first & 0x80 != 0 {
        return None; // negative
    }
    let value = if first == 0 {
        // A leading zero is allowed only to clear the sign bit of the next byte.
        match value.get(1) {
            Some(next) if next & 0x80 != 0 => value.get(1..)?,
            _ => return None,
        }
    } else {
        value
    };
    (value.len() <= 32).then_some((value, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_round_trip_and_strictness() {
        let mut r = [0u8; 32];
        r[0] = 0x80; // needs a sign pad
        let mut s = [0u8; 32];
        s[31] = 1; // minimal: one byte
        let der = der_encode(&r, &s);
        assert_eq!(der.len(), 2 + 2 + 33 + 2 + 1);
        assert_eq!(&der[..5], &[0x30, 38, 0x02, 33, 0x00]);
        assert_eq!(&der[der.len() - 3..], &[0x02, 1, 1]);
        let back = der_decode(&der).unwrap();
        assert_eq!(&back[..32], &r);
        assert_eq!(&back[32..], &s);
        // Non-minimal (extra zero), negative, trailing bytes, wrong tags: refused.
        assert!(der_decode(&[0x30, 6, 0x02, 1, 1, 0x02, 1, 1]).is_some());
        assert!(der_decode(&[0x30, 7, 0x02, 2, 0, 1, 0x02, 1, 1]).is_none());
        assert!(der_decode(&[0x30, 6, 0x02, 1, 0x81, 0x02, 1, 1]).is_none());
        assert!(der_decode(&[0x30, 7, 0x02, 1, 1, 0x02, 1, 1, 0]).is_none());
        assert!(der_decode(&[0x31, 6, 0x02, 1, 1, 0x02, 1, 1]).is_none());
        assert!(der_decode(&[0x30, 6, 0x03, 1, 1, 0x02, 1, 1]).is_none());
        assert!(der_decode(&[]).is_none());
    }

    #[test]
    fn sign_and_verify() {
        let key = K1SecretKey::from_bytes(&[7u8; 32]).unwrap();
        let other = K1SecretKey::from_bytes(&[8u8; 32]).unwrap();
        let hash = [0xabu8; 32];
        let sig = sign_definition_hash(&key, &hash);
        assert_eq!(sig.first(), Some(&0x30));
        verify_definition_hash(&key.public_key(), &hash, &sig).unwrap();
        assert_eq!(
            verify_definition_hash(&other.public_key(), &hash, &sig),
            Err(HashSigError::Mismatch)
        );
        assert_eq!(
            verify_definition_hash(&key.public_key(), &[0u8; 32], &sig),
            Err(HashSigError::Mismatch)
        );
        assert_eq!(
            verify_definition_hash(&key.public_key(), &hash, &sig[..sig.len() - 1]),
            Err(HashSigError::NotDer)
        );
    }
}
