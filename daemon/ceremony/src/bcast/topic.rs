//! What can be broadcast, and how its hash is built (charon-dkg-protocol.md §1.6, §1.4;
//! charon `dkg/bcast/impl.go`, `dkg/frostp2p.go`, `dkg/nodesigs.go`).

use std::fmt;

use sha2::{Digest, Sha256};

use crate::step::Step;
use crate::wire::proto::{Any, FrostRound1Casts, FrostRound2Casts, MsgNodeSig, TypeUrl};
use crate::wire::{decode, BcastHash, Profile, WireError};

/// A bcast message ID registered by the DKG, with the payload type it carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Topic {
    /// `/charon/dkg/frost/2.0.0/round1/cast`: `FrostRound1Casts`.
    FrostRound1Cast,
    /// `/charon/dkg/frost/2.0.0/round2/cast`: `FrostRound2Casts`.
    FrostRound2Cast,
    /// `/charon/dkg/node_sig`: `MsgNodeSig`.
    NodeSig,
}

impl Topic {
    /// Every topic.
    pub const ALL: [Topic; 3] = [
        Topic::FrostRound1Cast,
        Topic::FrostRound2Cast,
        Topic::NodeSig,
    ];

    /// The message ID under `profile`.
    pub fn message_id(self, profile: &Profile) -> &'static str {
        match self {
            Topic::FrostRound1Cast => profile.frost_round1_cast_id,
            Topic::FrostRound2Cast => profile.frost_round2_cast_id,
            Topic::NodeSig => profile.node_sig_id,
        }
    }

    /// The topic of message ID `id` under `profile`.
    pub fn from_message_id(profile: &Profile, id: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.message_id(profile) == id)
    }

    /// The `Any.type_url` of its payload.
    pub fn type_url(self) -> &'static str {
        match self {
            Topic::FrostRound1Cast => FrostRound1Casts::TYPE_URL,
            Topic::FrostRound2Cast => FrostRound2Casts::TYPE_URL,
            Topic::NodeSig => MsgNodeSig::TYPE_URL,
        }
    }

    /// The ceremony step that broadcasts it.
    pub fn step(self) -> Step {
        match self {
            Topic::FrostRound1Cast | Topic::FrostRound2Cast => Step::Dkg,
            Topic::NodeSig => Step::NodeSignatures,
        }
    }

    /// charon's per-ID check before signing (`Any.UnmarshalTo`): the type name after the last
    /// `/` of the URL must be the topic's message, and the value must decode as it.
    pub(super) fn check(self, any: &Any) -> Result<(), WireError> {
        let name = |url: &str| url.rsplit('/').next().map(str::to_owned);
        if name(&any.type_url) != name(self.type_url()) {
            return Err(WireError::InvalidField {
                message: "Any",
                field: "type_url",
                why: "not the payload type of this message ID",
            });
        }
        match self {
            Topic::FrostRound1Cast => {
                decode::<FrostRound1Casts>("FrostRound1Casts", &any.value).map(drop)
            }
            Topic::FrostRound2Cast => {
                decode::<FrostRound2Casts>("FrostRound2Casts", &any.value).map(drop)
            }
            Topic::NodeSig => decode::<MsgNodeSig>("MsgNodeSig", &any.value).map(drop),
        }
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Topic::FrostRound1Cast => "frost round 1 broadcast",
            Topic::FrostRound2Cast => "frost round 2 broadcast",
            Topic::NodeSig => "node signature",
        })
    }
}

impl BcastHash {
    /// The 32-byte hash every peer signs for message `id` carrying `any`:
    ///
    /// * [`BcastHash::TypeUrlValue`] (bcast 1.0.0): `SHA-256(type_url ‖ value)`;
    /// * [`BcastHash::SessionBound`] (bcast 2.0.0): `SHA-256(len(session) ‖ session ‖ len(id)
    ///   ‖ id ‖ len(type_url) ‖ type_url ‖ len(value) ‖ value)`, each `len` a big-endian u64;
    ///   the session hash is the definition hash in a DKG (the lock hash in edits).
    pub fn digest(self, session_hash: &[u8], id: &str, any: &Any) -> [u8; 32] {
        let mut h = Sha256::new();
        match self {
            BcastHash::TypeUrlValue => {
                h.update(any.type_url.as_bytes());
                h.update(&any.value);
            }
            BcastHash::SessionBound => {
                for field in [
                    session_hash,
                    id.as_bytes(),
                    any.type_url.as_bytes(),
                    &any.value,
                ] {
                    h.update((field.len() as u64).to_be_bytes());
                    h.update(field);
                }
            }
        }
        h.finalize().into()
    }
}
