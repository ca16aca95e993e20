//! FROST wire messages as plain data, field for field the protobufs of charon's
//! `dkg/dkgpb/v1/frost.proto` (charon-dkg-protocol.md §1.13). Byte fields hold the encodings of
//! §1.7 (32-byte big-endian scalars, 48-byte compressed G1 points); they are validated when a
//! round consumes them, never trusted.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

use super::codec::{G1_LEN, SCALAR_LEN};

/// `FrostMsgKey`: which validator an entry is for, who sent it and to whom.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MsgKey {
    /// 0-based validator index.
    pub val_idx: u32,
    /// Sender's share index (1-based).
    pub source_id: u32,
    /// Recipient's share index (1-based), 0 for broadcasts.
    pub target_id: u32,
}

/// `FrostRound1Cast`: one validator's commitments and proof of knowledge.
///
/// Fixed-size fields: a wrong length is refused when the wire decodes the message, and the
/// n·V entries a node holds before round 2 cost their bytes and no per-field allocation
/// (at 16 × 1000 that is 10 MB instead of 24 MB).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Round1Cast {
    /// Entry key (`target_id` = 0).
    pub key: MsgKey,
    /// Proof response `w` (32-byte big-endian scalar).
    pub wi: [u8; SCALAR_LEN],
    /// Proof challenge `c` (32-byte big-endian scalar).
    pub ci: [u8; SCALAR_LEN],
    /// Feldman commitments `A_0 … A_{t−1}` (48-byte compressed G1 points).
    pub commitments: Vec<[u8; G1_LEN]>,
}

/// `FrostRound1Casts`: a participant's round-1 broadcast, one entry per validator.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Round1Casts {
    /// Entries, one per validator.
    pub casts: Vec<Round1Cast>,
}

/// The secret bytes of a Shamir share on the wire: wiped on drop, printed as `[redacted]`.
#[derive(Default, Zeroize, ZeroizeOnDrop)]
pub struct ShareBytes(Vec<u8>);

impl ShareBytes {
    /// Wraps received or to-be-sent bytes (takes ownership so no unwiped copy is left behind).
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The raw bytes, for encoding into the protobuf. Sensitive.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for ShareBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ShareBytes([redacted])")
    }
}

/// `FrostRound1ShamirShare`: the sender's polynomial evaluated at the recipient's index.
#[derive(Debug, Default)]
pub struct Round1ShamirShare {
    /// Entry key (`target_id` = recipient).
    pub key: MsgKey,
    /// Share id: the recipient's share index.
    pub id: u32,
    /// `f_sender(recipient)` (32-byte big-endian scalar). Secret.
    pub value: ShareBytes,
}

/// `FrostRound1P2P`: a participant's direct message to one peer, one share per validator.
#[derive(Debug, Default)]
pub struct Round1P2P {
    /// Entries, one per validator.
    pub shares: Vec<Round1ShamirShare>,
}

/// `FrostRound2Cast`: one validator's group key and the sender's verification key share.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Round2Cast {
    /// Entry key (`target_id` = 0).
    pub key: MsgKey,
    /// Group public key `Y = Σ_j A_j0` (48-byte compressed G1).
    pub verification_key: Vec<u8>,
    /// Sender's public key share `vk_i = sk_i·G` (48-byte compressed G1).
    pub vk_share: Vec<u8>,
}

/// `FrostRound2Casts`: a participant's round-2 broadcast, one entry per validator.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Round2Casts {
    /// Entries, one per validator.
    pub casts: Vec<Round2Cast>,
}

/// What round 1 produces for the network: one broadcast and one direct message per peer.
#[derive(Debug)]
#[must_use]
pub struct Round1Output {
    /// To every participant (including, via the broadcast echo, ourselves).
    pub cast: Round1Casts,
    /// To each other participant, in share-index order.
    pub direct: Vec<(super::ShareIdx, Round1P2P)>,
}
