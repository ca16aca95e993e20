//! The node's libp2p identity is its ENR key (spec §1.3 "Identity"), and cluster peers are
//! the keys in the definition's operator ENRs. This module converts between dkgd's types
//! (`K1SecretKey`, `dkgd_formats::enr::PeerId`) and libp2p's.

use crate::error::Error;
use dkgd_crypto::k1::{K1PublicKey, K1SecretKey};
use dkgd_formats::definition::Definition;
use dkgd_formats::enr::{Enr, PeerId};
use libp2p::identity::{secp256k1, Keypair};

/// The bytes every secp256k1 peer ID starts with: identity multihash of 37 bytes holding the
/// protobuf `PublicKey { Type: Secp256k1, Data: <33 bytes> }` (formats.md §5.3).
const SECP256K1_PEER_ID_PREFIX: [u8; 6] = [0x00, 0x25, 0x08, 0x02, 0x12, 0x21];

/// The libp2p keypair of an ENR key. The secret is copied only through zeroizing buffers:
/// `expose_secret` returns one, and libp2p zeroes the slice it parses.
pub fn keypair(key: &K1SecretKey) -> Result<Keypair, Error> {
    let mut secret = key.expose_secret();
    let sk = secp256k1::SecretKey::try_from_bytes(&mut secret[..])
        .map_err(|_| Error::Internal("a valid K1 secret key was refused by libp2p"))?;
    Ok(Keypair::from(secp256k1::Keypair::from(sk)))
}

/// libp2p's peer ID for a dkgd peer ID (same bytes, so the same text).
pub fn to_libp2p(peer: &PeerId) -> libp2p::PeerId {
    libp2p::PeerId::from_bytes(peer.as_bytes())
        .expect("invariant: a secp256k1 identity multihash is a valid libp2p peer ID")
}

/// dkgd's peer ID for a libp2p peer ID, if it is a secp256k1 identity (as every charon
/// cluster peer is). Relays may use other key types; they are kept as libp2p peer IDs.
pub fn from_libp2p(peer: &libp2p::PeerId) -> Result<PeerId, Error> {
    let bytes = peer.to_bytes();
    let key = bytes
        .strip_prefix(&SECP256K1_PEER_ID_PREFIX[..])
        .filter(|k| k.len() == 33)
        .and_then(|k| K1PublicKey::from_sec1(k).ok())
        .ok_or_else(|| Error::NotSecp256k1 {
            peer: peer.to_base58(),
        })?;
    Ok(PeerId::from_public_key(&key))
}

/// The peer IDs of the definition's operators, in operator order (index = charon's peer
/// index). Fails naming the first operator whose ENR is missing or invalid.
pub fn cluster_peers(definition: &Definition) -> Result<Vec<PeerId>, Error> {
    definition
        .operators()
        .iter()
        .enumerate()
        .map(|(index, op)| {
            if op.enr.is_empty() {
                return Err(Error::InvalidOperatorEnr {
                    index,
                    why: "the ENR is empty".into(),
                });
            }
            Enr::parse(&op.enr)
                .map(|enr| enr.peer_id())
                .map_err(|e| Error::InvalidOperatorEnr {
                    index,
                    why: e.to_string(),
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libp2p_and_dkgd_agree_on_peer_ids() {
        for seed in 1u8..=8 {
            let key = K1SecretKey::from_bytes(&[seed; 32]).expect("valid scalar");
            let ours = Enr::create(&key).peer_id();
            let theirs = keypair(&key).expect("keypair").public().to_peer_id();
            assert_eq!(theirs.to_base58(), ours.to_string());
            assert_eq!(theirs.to_bytes(), ours.as_bytes().to_vec());
            assert_eq!(to_libp2p(&ours), theirs);
            assert_eq!(from_libp2p(&theirs).expect("secp256k1"), ours);
        }
    }

    #[test]
    fn non_secp_peers_are_named_in_the_error() {
        // A sha2-256 multihash peer ID (RSA-style keys), as some libp2p relays use.
        let mut bytes = vec![0x12, 0x20];
        bytes.extend_from_slice(&[7u8; 32]);
        let ed = libp2p::PeerId::from_bytes(&bytes).expect("sha256 multihash");
        let err = from_libp2p(&ed).expect_err("not secp256k1");
        assert!(err.to_string().contains(&ed.to_base58()), "{err}");
    }
}
