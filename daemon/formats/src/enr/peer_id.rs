//! libp2p peer IDs of secp256k1 identity keys (formats.md §5.3).
//!
//! `peer_id = base58btc(identity-multihash(protobuf PublicKey{Type: Secp256k1, Data: key33}))`,
//! i.e. the bytes `00 25 08 02 12 21 ‖ compressed key`, whose text always begins `16Uiu2HA`.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use dkgd_crypto::k1::{K1Error, K1PublicKey};

/// Multihash code 0x00 (identity), digest length 0x25 = 37, then the protobuf
/// `PublicKey { Type (field 1, varint) = 2 (Secp256k1), Data (field 2, bytes) len 33 }`.
const PREFIX: [u8; 6] = [0x00, 0x25, 0x08, 0x02, 0x12, 0x21];
/// Total length of the multihash bytes.
const LEN: usize = PREFIX.len() + 33;

/// Why a peer-ID text was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerIdError {
    /// Not base58btc (Bitcoin alphabet).
    #[error("peer ID {0:?} is not base58btc text")]
    NotBase58(String),
    /// Decodes, but is not the identity multihash of a secp256k1 key (e.g. an RSA or Ed25519
    /// peer, or a CIDv1 form), which charon clusters never use.
    #[error("peer ID {0:?} is not the identity multihash of a secp256k1 key (expected 16Uiu2HA…)")]
    NotSecp256k1(String),
    /// The embedded key is not a valid secp256k1 point.
    #[error("peer ID {text:?} embeds an invalid secp256k1 key: {source}")]
    BadKey {
        /// The rejected text.
        text: String,
        /// Why the key was rejected.
        source: K1Error,
    },
}

/// A libp2p peer ID for a secp256k1 identity key.
#[derive(Clone, Copy)]
pub struct PeerId {
    key: K1PublicKey,
    bytes: [u8; LEN],
}

impl PeerId {
    /// The peer ID of an identity key.
    pub fn from_public_key(key: &K1PublicKey) -> Self {
        let mut bytes = [0u8; LEN];
        let (head, tail) = bytes.split_at_mut(PREFIX.len());
        head.copy_from_slice(&PREFIX);
        tail.copy_from_slice(&key.to_compressed());
        Self { key: *key, bytes }
    }

    /// Parses base58btc text (e.g. `16Uiu2HAm…`).
    pub fn parse(text: &str) -> Result<Self, PeerIdError> {
        let raw = bs58::decode(text)
            .into_vec()
            .map_err(|_| PeerIdError::NotBase58(text.to_string()))?;
        let key_bytes = match raw.strip_prefix(&PREFIX[..]) {
            Some(k) if k.len() == 33 => k,
            _ => return Err(PeerIdError::NotSecp256k1(text.to_string())),
        };
        let key = K1PublicKey::from_sec1(key_bytes).map_err(|source| PeerIdError::BadKey {
            text: text.to_string(),
            source,
        })?;
        Ok(Self::from_public_key(&key))
    }

    /// The identity key the peer ID embeds.
    pub fn public_key(&self) -> K1PublicKey {
        self.key
    }

    /// The multihash bytes (`00 25 08 02 12 21 ‖ key33`).
    pub fn as_bytes(&self) -> &[u8; LEN] {
        &self.bytes
    }
}

impl PartialEq for PeerId {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}
impl Eq for PeerId {}
impl Hash for PeerId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.bytes.hash(state);
    }
}
impl PartialOrd for PeerId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for PeerId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.bytes.cmp(&other.bytes)
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bs58::encode(self.bytes).into_string())
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerId({self})")
    }
}

impl FromStr for PeerId {
    type Err = PeerIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_secp_forms() {
        assert!(matches!(
            PeerId::parse("0OIl"),
            Err(PeerIdError::NotBase58(_))
        ));
        // A sha2-256 multihash peer ID (RSA keys) decodes but is not supported.
        assert!(matches!(
            PeerId::parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"),
            Err(PeerIdError::NotSecp256k1(_))
        ));
        // Right prefix, but the key bytes are not a point.
        let mut bytes = PREFIX.to_vec();
        bytes.extend_from_slice(&[0x02; 1]);
        bytes.extend_from_slice(&[0xff; 32]);
        let text = bs58::encode(&bytes).into_string();
        assert!(matches!(
            PeerId::parse(&text),
            Err(PeerIdError::BadKey { .. })
        ));
    }
}
