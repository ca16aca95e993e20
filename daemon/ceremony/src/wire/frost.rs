//! FROST round messages on the wire (charon-dkg-protocol.md §1.7, §1.13; charon
//! `dkg/frostp2p.go`): conversions between the protobufs of [`super::proto`] and
//! `dkgd_crypto::frost`'s plain types, which validate the contents when a round consumes them.
//!
//! ```text
//!  Round1Casts ──encode_round1_casts──▶ Any.value of bcast ID …/round1/cast  (to everyone)
//!  Round1P2P   ──encode_round1_p2p────▶ one-way …/round1/p2p                (to its recipient)
//!  Round2Casts ──encode_round2_casts──▶ Any.value of bcast ID …/round2/cast  (to everyone)
//! ```
//!
//! Decoding requires every entry's `key` (charon rejects absent sub-messages). Shamir shares
//! are secret: their bytes move into `ShareBytes` without a copy, and the protobuf buffers we
//! fill for encoding are wiped afterwards (the returned encoding itself still holds them).

use dkgd_crypto::frost::{
    MsgKey, Round1Cast, Round1Casts, Round1P2P, Round1ShamirShare, Round2Cast, Round2Casts,
    ShareBytes,
};
use prost::Message;
use zeroize::Zeroize;

use super::proto::{
    FrostMsgKey, FrostRound1Cast, FrostRound1Casts, FrostRound1P2P, FrostRound1ShamirShare,
    FrostRound2Cast, FrostRound2Casts,
};
use super::{decode, WireError};

fn key_to_proto(k: MsgKey) -> Option<FrostMsgKey> {
    Some(FrostMsgKey {
        val_idx: k.val_idx,
        source_id: k.source_id,
        target_id: k.target_id,
    })
}

fn key_from_proto(k: Option<FrostMsgKey>, message: &'static str) -> Result<MsgKey, WireError> {
    let k = k.ok_or(WireError::MissingField {
        message,
        field: "key",
    })?;
    Ok(MsgKey {
        val_idx: k.val_idx,
        source_id: k.source_id,
        target_id: k.target_id,
    })
}

/// A fixed-length field of `FrostRound1Cast`; charon sends no other length.
fn fixed<const N: usize>(
    field: &'static str,
    bytes: &[u8],
    why: &'static str,
) -> Result<[u8; N], WireError> {
    bytes.try_into().map_err(|_| WireError::InvalidField {
        message: "FrostRound1Cast",
        field,
        why,
    })
}

/// `FrostRound1Casts` encoding of a round-1 broadcast.
pub fn encode_round1_casts(casts: &Round1Casts) -> Vec<u8> {
    FrostRound1Casts {
        casts: casts
            .casts
            .iter()
            .map(|c| FrostRound1Cast {
                key: key_to_proto(c.key),
                wi: c.wi.to_vec(),
                ci: c.ci.to_vec(),
                commitments: c.commitments.iter().map(|a| a.to_vec()).collect(),
            })
            .collect(),
    }
    .encode_to_vec()
}

/// Decodes a round-1 broadcast.
pub fn decode_round1_casts(body: &[u8]) -> Result<Round1Casts, WireError> {
    let msg: FrostRound1Casts = decode("FrostRound1Casts", body)?;
    let casts = msg
        .casts
        .into_iter()
        .map(|c| {
            Ok(Round1Cast {
                key: key_from_proto(c.key, "FrostRound1Cast")?,
                wi: fixed("wi", &c.wi, "not a 32-byte scalar")?,
                ci: fixed("ci", &c.ci, "not a 32-byte scalar")?,
                commitments: c
                    .commitments
                    .iter()
                    .map(|a| fixed("commitments", a, "not a 48-byte G1 point"))
                    .collect::<Result<_, _>>()?,
            })
        })
        .collect::<Result<_, WireError>>()?;
    Ok(Round1Casts { casts })
}

/// `FrostRound1P2P` encoding of a direct message. Sensitive: it holds secret shares.
pub fn encode_round1_p2p(p2p: &Round1P2P) -> Vec<u8> {
    let mut msg = FrostRound1P2P {
        shares: p2p
            .shares
            .iter()
            .map(|s| FrostRound1ShamirShare {
                key: key_to_proto(s.key),
                id: s.id,
                value: s.value.expose_secret().to_vec(),
            })
            .collect(),
    };
    let out = msg.encode_to_vec();
    for s in &mut msg.shares {
        s.value.zeroize();
    }
    out
}

/// Decodes a direct message; share bytes move into `ShareBytes`.
pub fn decode_round1_p2p(body: &[u8]) -> Result<Round1P2P, WireError> {
    let mut msg: FrostRound1P2P = decode("FrostRound1P2P", body)?;
    let mut shares = Vec::with_capacity(msg.shares.len());
    for s in &mut msg.shares {
        let key = match key_from_proto(s.key, "FrostRound1ShamirShare") {
            Ok(k) => k,
            Err(e) => {
                msg.shares.iter_mut().for_each(|s| s.value.zeroize());
                return Err(e);
            }
        };
        shares.push(Round1ShamirShare {
            key,
            id: s.id,
            value: ShareBytes::new(std::mem::take(&mut s.value)),
        });
    }
    Ok(Round1P2P { shares })
}

/// `FrostRound2Casts` encoding of a round-2 broadcast.
pub fn encode_round2_casts(casts: &Round2Casts) -> Vec<u8> {
    FrostRound2Casts {
        casts: casts
            .casts
            .iter()
            .map(|c| FrostRound2Cast {
                key: key_to_proto(c.key),
                verification_key: c.verification_key.clone(),
                vk_share: c.vk_share.clone(),
            })
            .collect(),
    }
    .encode_to_vec()
}

/// Decodes a round-2 broadcast.
pub fn decode_round2_casts(body: &[u8]) -> Result<Round2Casts, WireError> {
    let msg: FrostRound2Casts = decode("FrostRound2Casts", body)?;
    let casts = msg
        .casts
        .into_iter()
        .map(|c| {
            Ok(Round2Cast {
                key: key_from_proto(c.key, "FrostRound2Cast")?,
                verification_key: c.verification_key,
                vk_share: c.vk_share,
            })
        })
        .collect::<Result<_, WireError>>()?;
    Ok(Round2Casts { casts })
}
