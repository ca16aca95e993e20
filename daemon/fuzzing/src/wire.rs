//! One peer message's decoder at a time. What decodes must encode back to bytes that decode
//! to the same value (our encodings are canonical even where a peer's are not).

use dkgd_ceremony::wire::frost::{
    decode_round1_casts, decode_round1_p2p, decode_round2_casts, encode_round1_casts,
    encode_round1_p2p, encode_round2_casts,
};
use dkgd_ceremony::wire::parsig::{decode_partials, encode_partials};
use dkgd_ceremony::wire::proto::{
    Any, BCastMessage, BCastSigRequest, BCastSigResponse, FrostRound1Casts, FrostRound2Casts,
    MsgNodeSig, MsgSync, MsgSyncResponse, ParSigExMsg, PeerInfo, TypeUrl,
};
use dkgd_ceremony::wire::{FrameDecoder, FrameError, Framing};
use dkgd_ceremony::Duty;
use dkgd_crypto::k1;
use prost::Message;

use crate::split;

/// A stream's bytes through the frame decoder, in chunks: the selector's low bit picks the
/// framing (delimited or sync's 8-byte prefix), its other bits the chunk size. No frame is
/// above the limit, every frame re-encodes to a frame that decodes to it, and the decoder
/// never holds more than a frame and a prefix.
pub fn frame_decoder(data: &[u8]) {
    let (sel, stream) = split(data);
    let framing = if sel & 1 == 0 {
        Framing::DELIMITED
    } else {
        Framing::SYNC
    };
    let chunk = usize::from(sel >> 1).max(1);
    let mut d = FrameDecoder::new(framing);
    let mut frames = Vec::new();
    let mut failed: Option<FrameError> = None;
    'feed: for piece in stream.chunks(chunk) {
        d.push(piece);
        loop {
            match d.poll_frame() {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => break,
                Err(e) => {
                    failed = Some(e);
                    break 'feed;
                }
            }
        }
        assert!(d.buffered_len() <= framing.max_frame_bytes() + 10 + chunk);
    }
    let mut body_bytes = 0;
    for f in &frames {
        assert!(f.len() <= framing.max_frame_bytes());
        body_bytes += f.len();
        let mut again = FrameDecoder::new(framing);
        again.push(&framing.encode(f));
        assert_eq!(again.poll_frame().ok().flatten().as_ref(), Some(f));
        assert!(again.finish().is_ok());
    }
    assert!(body_bytes <= stream.len());
    if failed.is_none() && d.buffered_len() == 0 {
        assert!(d.finish().is_ok(), "nothing buffered, yet not a clean end");
    }
}

/// A FROST round message (the selector picks round-1 broadcast, round-1 share or round-2
/// broadcast): what decodes re-encodes to a fixed point.
pub fn frost(data: &[u8]) {
    let (sel, body) = split(data);
    match sel % 3 {
        0 => {
            if let Ok(m) = decode_round1_casts(body) {
                let once = encode_round1_casts(&m);
                let again = decode_round1_casts(&once).expect("our encoding decodes");
                assert_eq!(encode_round1_casts(&again), once);
            }
        }
        1 => {
            if let Ok(m) = decode_round1_p2p(body) {
                let once = encode_round1_p2p(&m);
                let again = decode_round1_p2p(&once).expect("our encoding decodes");
                assert_eq!(encode_round1_p2p(&again), once);
            }
        }
        _ => {
            if let Ok(m) = decode_round2_casts(body) {
                let once = encode_round2_casts(&m);
                let again = decode_round2_casts(&once).expect("our encoding decodes");
                assert_eq!(encode_round2_casts(&again), once);
            }
        }
    }
}

/// Validator group keys the `parsigex` target expects entries for.
const GROUP_KEYS: [[u8; 48]; 2] = [[0xa1; 48], [0xb2; 48]];

/// A `ParSigExMsg` for the duty the selector picks: what decodes re-encodes and decodes to
/// the same signatures and share index.
pub fn parsigex(data: &[u8]) {
    let (sel, body) = split(data);
    let duty = match sel % 4 {
        0 => Duty::Deposit {
            index: 0,
            amount_gwei: 32_000_000_000,
        },
        1 => Duty::Deposit {
            index: 1,
            amount_gwei: 1_000_000_000,
        },
        2 => Duty::BuilderRegistration,
        _ => Duty::LockHash,
    };
    let keys = &GROUP_KEYS[..1 + usize::from(sel >> 7)];
    let Ok(set) = decode_partials(body, duty, keys) else {
        return;
    };
    let once = encode_partials(&set, keys).expect("a decoded set encodes");
    let again = decode_partials(&once, duty, keys).expect("our encoding decodes");
    assert_eq!(again, set);
}

/// The lock hash the `node_sig` target checks signatures against.
const LOCK_HASH: [u8; 32] = [0x5a; 32];

/// A `MsgNodeSig`: any signature bytes recover to a key or fail, never panic.
pub fn node_sig(data: &[u8]) {
    let Ok(m) = MsgNodeSig::decode(data) else {
        return;
    };
    if let Ok(key) = k1::recover_digest(&LOCK_HASH, &m.signature) {
        assert_eq!(m.signature.len(), k1::SIGNATURE_LEN);
        let _ = key.to_compressed();
    }
    assert_eq!(MsgNodeSig::decode(&*m.encode_to_vec()).ok(), Some(m));
}

/// A bcast envelope (signature request, response or final message, by selector) and the
/// message inside its `Any`, decoded by its type URL; plus the sync and peerinfo messages.
pub fn bcast(data: &[u8]) {
    let (sel, body) = split(data);
    let inner = match sel % 6 {
        0 => BCastSigRequest::decode(body).ok().and_then(|m| m.message),
        1 => {
            let _ = BCastSigResponse::decode(body);
            None
        }
        2 => BCastMessage::decode(body).ok().and_then(|m| m.message),
        3 => {
            if let Ok(m) = MsgSync::decode(body) {
                assert_eq!(MsgSync::decode(&*m.encode_to_vec()).ok(), Some(m));
            }
            let _ = MsgSyncResponse::decode(body);
            None
        }
        4 => {
            let _ = PeerInfo::decode(body);
            let _ = ParSigExMsg::decode(body);
            None
        }
        _ => Any::decode(body).ok(),
    };
    let Some(any) = inner else {
        return;
    };
    match any.type_url.as_str() {
        FrostRound1Casts::TYPE_URL => frost(&[&[0u8][..], &any.value].concat()),
        FrostRound2Casts::TYPE_URL => frost(&[&[2u8][..], &any.value].concat()),
        MsgNodeSig::TYPE_URL => node_sig(&any.value),
        _ => {}
    }
}
