//! Partial-signature exchange on the wire: one `ParSigExMsg` per node and duty, one-way on
//! `/charon/parsigex/2.0.0` (charon-dkg-protocol.md §1.9; charon `dkg/exchanger.go`,
//! `core/proto.go`, `core/signeddata.go`, `core/types.go`).
//!
//! ```text
//!  ParSigExMsg {
//!    duty:     CoreDuty { slot: 101 | 102 | 200+k, type: 3 (DutySignature) }
//!    data_set: ParSignedDataSet { set: {
//!      "0x" + 96 lowercase hex chars of the validator's group key  →  ParSignedData {
//!          data:      JSON string of the signature: b'"' + base64(std, padded, 128 chars) + b'"'
//!          signature: the same 96 signature bytes, raw
//!          share_idx: the signer's 1-based share index } } } }
//! ```
//!
//! The JSON-in-protobuf quirk: charon's core serialises each signed datum with SSZ when the
//! type supports it, else with `encoding/json`. Its DKG signature type (`core.Signature`, a
//! byte slice) has no SSZ form, so `data` is Go's JSON for `[]byte`: a quoted standard-base64
//! string with padding (130 bytes for a 96-byte signature). On receipt charon takes the
//! signature from `data` (JSON-decoded) and ignores `signature`; we decode `data` the same
//! way and additionally require `signature` to be equal (charon always sends both equal).

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use prost::Message;

use super::proto::{CoreDuty, ParSigExMsg, ParSignedData, ParSignedDataSet};
use super::{decode, WireError};
use crate::duties::Duty;
use crate::index::ShareIdx;
use crate::partials::PartialSignatures;

/// charon's `core.DutySignature`: the duty type of every DKG exchange.
pub const DUTY_TYPE_SIGNATURE: i32 = 3;

const MSG: &str = "ParSigExMsg";
const DATA: &str = "ParSignedData";

/// A validator's key as charon's `core.PubKey` string: `0x` + 96 lowercase hex characters.
pub fn pubkey_string(group_key: &[u8; 48]) -> String {
    format!("0x{}", hex::encode(group_key))
}

/// `data` for a signature: Go's `json.Marshal([]byte)`, a quoted standard-base64 string.
pub fn signature_json(signature: &[u8; 96]) -> Vec<u8> {
    format!("\"{}\"", STANDARD.encode(signature)).into_bytes()
}

/// Reads `data` back: JSON whitespace around one JSON string (no escapes: base64 needs none)
/// holding padded standard base64 of exactly 96 bytes.
pub fn parse_signature_json(data: &[u8]) -> Result<[u8; 96], WireError> {
    let bad = |why| WireError::InvalidField {
        message: DATA,
        field: "data",
        why,
    };
    let text = std::str::from_utf8(data).map_err(|_| bad("not UTF-8"))?;
    let inner = text
        .trim_matches([' ', '\t', '\n', '\r'])
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .ok_or(bad("not a JSON string"))?;
    let raw = STANDARD
        .decode(inner)
        .map_err(|_| bad("not standard base64"))?;
    <[u8; 96]>::try_from(raw.as_slice()).map_err(|_| bad("not a 96-byte signature"))
}

/// Encodes our partial signatures for a duty; `group_keys` are the validators' group keys in
/// validator order (one per signature).
pub fn encode_partials(
    set: &PartialSignatures,
    group_keys: &[[u8; 48]],
) -> Result<Vec<u8>, WireError> {
    if set.signatures.len() != group_keys.len() {
        return Err(WireError::InvalidField {
            message: MSG,
            field: "data_set",
            why: "one signature per validator is needed",
        });
    }
    let share_idx = i32::try_from(set.share.get()).map_err(|_| WireError::InvalidField {
        message: DATA,
        field: "share_idx",
        why: "share index above i32::MAX",
    })?;
    let entries = group_keys
        .iter()
        .zip(&set.signatures)
        .map(|(key, sig)| {
            let data = ParSignedData {
                data: signature_json(sig),
                signature: sig.to_vec(),
                share_idx,
            };
            (pubkey_string(key), data)
        })
        .collect::<BTreeMap<_, _>>();
    Ok(ParSigExMsg {
        duty: Some(CoreDuty {
            slot: set.duty.sig_type(),
            r#type: DUTY_TYPE_SIGNATURE,
        }),
        data_set: Some(ParSignedDataSet { set: entries }),
    }
    .encode_to_vec())
}

/// Decodes a peer's partial signatures for the `expected` duty (the wire carries only its
/// slot number). Every validator in `group_keys` must have exactly one entry, all with the
/// same share index; the sender binding (share index = sender's) is checked by the caller,
/// as [`crate::partials`] does.
pub fn decode_partials(
    body: &[u8],
    expected: Duty,
    group_keys: &[[u8; 48]],
) -> Result<PartialSignatures, WireError> {
    let msg: ParSigExMsg = decode(MSG, body)?;
    let duty = msg.duty.ok_or(WireError::MissingField {
        message: MSG,
        field: "duty",
    })?;
    if duty.r#type != DUTY_TYPE_SIGNATURE || duty.slot != expected.sig_type() {
        return Err(WireError::InvalidField {
            message: MSG,
            field: "duty",
            why: "not the duty being exchanged",
        });
    }
    let mut set = msg
        .data_set
        .ok_or(WireError::MissingField {
            message: MSG,
            field: "data_set",
        })?
        .set;
    let invalid = |field, why| WireError::InvalidField {
        message: DATA,
        field,
        why,
    };
    if set.len() != group_keys.len() {
        return Err(invalid("set", "not one entry per validator"));
    }
    let mut share: Option<i32> = None;
    let mut signatures = Vec::with_capacity(group_keys.len());
    for key in group_keys {
        let entry = set
            .remove(&pubkey_string(key))
            .ok_or(invalid("set", "a validator of the cluster is missing"))?;
        let sig = parse_signature_json(&entry.data)?;
        if entry.signature != sig {
            return Err(invalid("signature", "differs from the signature in data"));
        }
        if share.is_some_and(|s| s != entry.share_idx) {
            return Err(invalid("share_idx", "differs between validators"));
        }
        share = Some(entry.share_idx);
        signatures.push(sig);
    }
    let share = share
        .and_then(|s| u32::try_from(s).ok())
        .and_then(ShareIdx::new)
        .ok_or(invalid("share_idx", "not a positive share index"))?;
    Ok(PartialSignatures {
        duty: expected,
        share,
        signatures,
    })
}
