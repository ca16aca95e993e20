//! Every protobuf message charon's DKG puts on the wire, field for field (charon-dkg-protocol.md
//! §1.5, §1.6, §1.13; checked against charon's `dkg/dkgpb/v1/*.proto`,
//! `core/corepb/v1/{core,parsigex}.proto`, `app/peerinfo/peerinfopb/v1/peerinfo.proto`).
//! Written by hand with `prost` derives: no protoc, no build script.
//!
//! | package | messages |
//! |---|---|
//! | `google.protobuf` | [`Timestamp`], [`Any`] |
//! | `dkg.dkgpb.v1` sync | [`MsgSync`], [`MsgSyncResponse`] |
//! | `dkg.dkgpb.v1` bcast | [`BCastSigRequest`], [`BCastSigResponse`], [`BCastMessage`] |
//! | `dkg.dkgpb.v1` frost | [`FrostMsgKey`], [`FrostRound1Casts`]/[`FrostRound1Cast`], [`FrostRound1P2P`]/[`FrostRound1ShamirShare`], [`FrostRound2Casts`]/[`FrostRound2Cast`] |
//! | `dkg.dkgpb.v1` nodesigs | [`MsgNodeSig`] |
//! | `core.corepb.v1` | [`ParSigExMsg`], [`CoreDuty`], [`ParSignedDataSet`], [`ParSignedData`] |
//! | `app.peerinfo.peerinfopb.v1` | [`PeerInfo`] (charon serves it during a DKG; dkgd does not need it) |
//!
//! Encoding notes:
//! * Sub-messages are `Option`s. charon rejects a received message whose non-`optional`
//!   message fields are absent (`app/protonil`, applied by `p2p/receive.go`), so encoders here
//!   always set them and decoders in [`super::frost`] / [`super::parsig`] require them.
//! * `ParSignedDataSet.set` is a `BTreeMap`, so our encoding is deterministic (Go's is not;
//!   decoding does not depend on order).
//! * Strings must be UTF-8 (prost checks on decode, as Go's proto3 does).

use std::collections::BTreeMap;
use std::fmt;

/// A message that can travel inside a `google.protobuf.Any`: its type URL as Go's
/// `anypb.New` writes it, `type.googleapis.com/<package>.<Message>`.
pub trait TypeUrl {
    /// The full type URL.
    const TYPE_URL: &'static str;
}

/// `google.protobuf.Timestamp`: seconds and nanoseconds since the Unix epoch.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct Timestamp {
    /// Whole seconds since 1970-01-01T00:00:00Z (field 1, int64).
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds within the second, 0 ..= 999 999 999 (field 2, int32).
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// `google.protobuf.Any`: a type URL and the encoded message (bcast payloads).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Any {
    /// `type.googleapis.com/<full message name>` (field 1, string).
    #[prost(string, tag = "1")]
    pub type_url: String,
    /// The encoded message (field 2, bytes).
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `dkg.dkgpb.v1.MsgSync`: a sync client's periodic message (§1.5).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MsgSync {
    /// Send time; echoed by the server for RTT (field 1).
    #[prost(message, optional, tag = "1")]
    pub timestamp: Option<Timestamp>,
    /// DER ECDSA signature over SHA-256(definition hash) by the sender's identity key (field 2).
    #[prost(bytes = "vec", tag = "2")]
    pub hash_signature: Vec<u8>,
    /// Last message of the stream (field 3).
    #[prost(bool, tag = "3")]
    pub shutdown: bool,
    /// charon minor version, `vMAJOR.MINOR` (field 4).
    #[prost(string, tag = "4")]
    pub version: String,
    /// The sender's sync step (field 5, int64).
    #[prost(int64, tag = "5")]
    pub step: i64,
    /// Operator nickname, cosmetic (field 6; since charon v1.9.0).
    #[prost(string, tag = "6")]
    pub nickname: String,
}

/// `dkg.dkgpb.v1.MsgSyncResponse`: the server's answer to each [`MsgSync`].
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MsgSyncResponse {
    /// The request's timestamp, echoed (field 1).
    #[prost(message, optional, tag = "1")]
    pub sync_timestamp: Option<Timestamp>,
    /// Empty when the request was accepted; otherwise why not (field 2).
    #[prost(string, tag = "2")]
    pub error: String,
}

/// `dkg.dkgpb.v1.BCastSigRequest`: "sign the hash of this message" (field 2 is reserved).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct BCastSigRequest {
    /// Message ID, e.g. `/charon/dkg/node_sig` (field 1).
    #[prost(string, tag = "1")]
    pub id: String,
    /// The payload (field 3).
    #[prost(message, optional, tag = "3")]
    pub message: Option<Any>,
}

/// `dkg.dkgpb.v1.BCastSigResponse`: a peer's signature over the request's hash.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct BCastSigResponse {
    /// Message ID (field 1).
    #[prost(string, tag = "1")]
    pub id: String,
    /// 65-byte secp256k1 `r ‖ s ‖ v` over the raw 32-byte hash (field 2).
    #[prost(bytes = "vec", tag = "2")]
    pub signature: Vec<u8>,
}

/// `dkg.dkgpb.v1.BCastMessage`: the broadcast itself, with every peer's signature.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct BCastMessage {
    /// Message ID (field 1).
    #[prost(string, tag = "1")]
    pub id: String,
    /// The payload (field 2).
    #[prost(message, optional, tag = "2")]
    pub message: Option<Any>,
    /// One signature per operator, in definition order, the sender's included (field 3).
    #[prost(bytes = "vec", repeated, tag = "3")]
    pub signatures: Vec<Vec<u8>>,
}

/// `dkg.dkgpb.v1.FrostMsgKey`: validator, sender and recipient of a FROST entry.
#[derive(Clone, Copy, PartialEq, Eq, Hash, prost::Message)]
pub struct FrostMsgKey {
    /// 0-based validator index (field 1).
    #[prost(uint32, tag = "1")]
    pub val_idx: u32,
    /// Sender's share index, 1-based (field 2).
    #[prost(uint32, tag = "2")]
    pub source_id: u32,
    /// Recipient's share index; 0 for broadcasts (field 3).
    #[prost(uint32, tag = "3")]
    pub target_id: u32,
}

/// `dkg.dkgpb.v1.FrostRound1Casts`: round-1 broadcast, one entry per validator.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct FrostRound1Casts {
    /// Entries (field 1).
    #[prost(message, repeated, tag = "1")]
    pub casts: Vec<FrostRound1Cast>,
}

/// `dkg.dkgpb.v1.FrostRound1Cast`: commitments and proof of knowledge for one validator.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct FrostRound1Cast {
    /// Entry key (field 1).
    #[prost(message, optional, tag = "1")]
    pub key: Option<FrostMsgKey>,
    /// Proof response, 32-byte big-endian scalar (field 2).
    #[prost(bytes = "vec", tag = "2")]
    pub wi: Vec<u8>,
    /// Proof challenge, 32-byte big-endian scalar (field 3).
    #[prost(bytes = "vec", tag = "3")]
    pub ci: Vec<u8>,
    /// `t` Feldman commitments, 48-byte compressed G1 each (field 4).
    #[prost(bytes = "vec", repeated, tag = "4")]
    pub commitments: Vec<Vec<u8>>,
}

/// `dkg.dkgpb.v1.FrostRound1P2P`: round-1 direct message, one share per validator.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct FrostRound1P2P {
    /// Entries (field 1).
    #[prost(message, repeated, tag = "1")]
    pub shares: Vec<FrostRound1ShamirShare>,
}

/// `dkg.dkgpb.v1.FrostRound1ShamirShare`: one secret share. `Debug` redacts `value`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[prost(skip_debug)]
pub struct FrostRound1ShamirShare {
    /// Entry key (field 1).
    #[prost(message, optional, tag = "1")]
    pub key: Option<FrostMsgKey>,
    /// The recipient's share index (field 2).
    #[prost(uint32, tag = "2")]
    pub id: u32,
    /// The share, 32-byte big-endian scalar. Secret (field 3).
    #[prost(bytes = "vec", tag = "3")]
    pub value: Vec<u8>,
}

impl fmt::Debug for FrostRound1ShamirShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrostRound1ShamirShare")
            .field("key", &self.key)
            .field("id", &self.id)
            .field("value", &"[redacted]")
            .finish()
    }
}

/// `dkg.dkgpb.v1.FrostRound2Casts`: round-2 broadcast, one entry per validator.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct FrostRound2Casts {
    /// Entries (field 1).
    #[prost(message, repeated, tag = "1")]
    pub casts: Vec<FrostRound2Cast>,
}

/// `dkg.dkgpb.v1.FrostRound2Cast`: group key and the sender's public key share.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct FrostRound2Cast {
    /// Entry key (field 1).
    #[prost(message, optional, tag = "1")]
    pub key: Option<FrostMsgKey>,
    /// Group public key, 48-byte compressed G1 (field 2).
    #[prost(bytes = "vec", tag = "2")]
    pub verification_key: Vec<u8>,
    /// Sender's public key share, 48-byte compressed G1 (field 3).
    #[prost(bytes = "vec", tag = "3")]
    pub vk_share: Vec<u8>,
}

/// `dkg.dkgpb.v1.MsgNodeSig`: a node's secp256k1 signature over the lock hash (§1.10).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MsgNodeSig {
    /// 65-byte `r ‖ s ‖ v` (field 1).
    #[prost(bytes = "vec", tag = "1")]
    pub signature: Vec<u8>,
    /// The signer's 0-based peer index (field 2).
    #[prost(uint32, tag = "2")]
    pub peer_index: u32,
}

/// `core.corepb.v1.Duty`: charon's duty; the DKG uses `{slot = sig type, type = 3}` (§1.9).
/// Named apart from the ceremony's own [`crate::Duty`], which it encodes.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct CoreDuty {
    /// Slot; in a DKG the signature type 101, 102 or 200 + k (field 1, uint64).
    #[prost(uint64, tag = "1")]
    pub slot: u64,
    /// `core.DutyType`; 3 (`DutySignature`) in a DKG (field 2, int32).
    #[prost(int32, tag = "2")]
    pub r#type: i32,
}

/// `core.corepb.v1.ParSignedData`: one partial signature. See [`super::parsig`] for the
/// JSON in `data`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ParSignedData {
    /// JSON encoding of the signed data; for `DutySignature` a JSON string holding the
    /// standard-base64 signature (field 1).
    #[prost(bytes = "vec", tag = "1")]
    pub data: Vec<u8>,
    /// The raw 96-byte BLS signature (field 2).
    #[prost(bytes = "vec", tag = "2")]
    pub signature: Vec<u8>,
    /// The signer's 1-based share index (field 3, int32).
    #[prost(int32, tag = "3")]
    pub share_idx: i32,
}

/// `core.corepb.v1.ParSignedDataSet`: partial signatures keyed by validator public key.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ParSignedDataSet {
    /// `"0x" + lowercase hex of the 48-byte group key` → partial signature (field 1, map).
    #[prost(btree_map = "string, message", tag = "1")]
    pub set: BTreeMap<String, ParSignedData>,
}

/// `core.corepb.v1.ParSigExMsg`: one duty's partial signatures from one node.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ParSigExMsg {
    /// The duty (field 1).
    #[prost(message, optional, tag = "1")]
    pub duty: Option<CoreDuty>,
    /// The partial signatures (field 2).
    #[prost(message, optional, tag = "2")]
    pub data_set: Option<ParSignedDataSet>,
}

/// `app.peerinfo.peerinfopb.v1.PeerInfo` (`/charon/peerinfo/2.0.0`).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PeerInfo {
    /// Version string (field 1).
    #[prost(string, tag = "1")]
    pub charon_version: String,
    /// Cluster lock hash (field 2).
    #[prost(bytes = "vec", tag = "2")]
    pub lock_hash: Vec<u8>,
    /// Send time (field 3, `optional`).
    #[prost(message, optional, tag = "3")]
    pub sent_at: Option<Timestamp>,
    /// Git commit (field 4).
    #[prost(string, tag = "4")]
    pub git_hash: String,
    /// Process start time (field 5, `optional`).
    #[prost(message, optional, tag = "5")]
    pub started_at: Option<Timestamp>,
    /// Builder API enabled (field 6).
    #[prost(bool, tag = "6")]
    pub builder_api_enabled: bool,
    /// Nickname (field 7).
    #[prost(string, tag = "7")]
    pub nickname: String,
    /// Distributed-validator client name (field 8).
    #[prost(string, tag = "8")]
    pub dv_client: String,
}

macro_rules! type_urls {
    ($($ty:ident => $name:literal),* $(,)?) => {
        $(impl TypeUrl for $ty {
            const TYPE_URL: &'static str = concat!("type.googleapis.com/", $name);
        })*
    };
}

type_urls! {
    FrostRound1Casts => "dkg.dkgpb.v1.FrostRound1Casts",
    FrostRound2Casts => "dkg.dkgpb.v1.FrostRound2Casts",
    MsgNodeSig => "dkg.dkgpb.v1.MsgNodeSig",
}
