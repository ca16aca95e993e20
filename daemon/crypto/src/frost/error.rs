//! FROST errors: every peer fault names the share index at fault and the validator.

use std::fmt;

use super::ShareIdx;

/// The message kind an error refers to (charon's FROST message types, §1.13).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Round {
    /// `FrostRound1Casts`: commitments and proofs of knowledge (broadcast).
    Round1Cast,
    /// `FrostRound1P2P`: Shamir shares (direct).
    Round1P2P,
    /// `FrostRound2Casts`: group key and verification key share (broadcast).
    Round2Cast,
}

impl fmt::Display for Round {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Round::Round1Cast => "round-1 broadcast",
            Round::Round1P2P => "round-1 direct message",
            Round::Round2Cast => "round-2 broadcast",
        })
    }
}

/// A FROST failure. Any error aborts the ceremony.
///
/// Variants with a `from` field are peer faults: [`FrostError::culprit`] returns that share
/// index, and `validator` is the 0-based validator index (charon's `val_idx`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrostError {
    /// The caller asked for an impossible ceremony shape (API misuse).
    #[error("invalid FROST parameters n={participants} t={threshold} V={validators}: {why}")]
    InvalidParams {
        /// Requested `n`.
        participants: u32,
        /// Requested `t`.
        threshold: u32,
        /// Requested `V`.
        validators: u32,
        /// What is wrong.
        why: &'static str,
    },
    /// A share index outside `1..=n` (our own index, or a sender the caller handed us).
    #[error("share index {idx} is not a participant (n = {participants})")]
    NotAParticipant {
        /// The offending index.
        idx: u32,
        /// `n`.
        participants: u32,
    },
    /// No message of this kind from a participant that must send one.
    #[error("{round}: no message from share {from}")]
    Missing {
        /// Message kind.
        round: Round,
        /// The silent participant.
        from: ShareIdx,
    },
    /// Two messages of this kind from the same participant.
    #[error("{round}: more than one message from share {from}")]
    Duplicate {
        /// Message kind.
        round: Round,
        /// The participant that sent twice.
        from: ShareIdx,
    },
    /// A message from ourselves (a direct message, or a broadcast that differs from ours).
    #[error("{round}: our own message came back altered or was sent to ourselves")]
    OwnMessage {
        /// Message kind.
        round: Round,
    },
    /// A message does not hold exactly one entry per validator.
    #[error("{round} from share {from}: {got} entries, expected {expected}")]
    WrongCount {
        /// Message kind.
        round: Round,
        /// Sender.
        from: ShareIdx,
        /// `V`.
        expected: usize,
        /// Entries received.
        got: usize,
    },
    /// An entry's `FrostMsgKey` or share id does not fit the sender, recipient or ceremony.
    #[error("{round} from share {from}, validator {validator}: {what}")]
    BadKey {
        /// Message kind.
        round: Round,
        /// Sender.
        from: ShareIdx,
        /// `val_idx` as received.
        validator: u32,
        /// What is wrong.
        what: &'static str,
    },
    /// A Feldman commitment is missing, superfluous, not a G1 point or the identity.
    #[error("round 1: share {from} sent bad commitments for validator {validator}: {what}")]
    BadCommitment {
        /// Sender.
        from: ShareIdx,
        /// Validator index.
        validator: u32,
        /// What is wrong.
        what: &'static str,
    },
    /// The Schnorr proof of knowledge `(w, c)` is malformed or does not verify.
    #[error(
        "round 1: share {from} sent a bad proof of knowledge for validator {validator}: {what}"
    )]
    BadProof {
        /// Sender.
        from: ShareIdx,
        /// Validator index.
        validator: u32,
        /// What is wrong.
        what: &'static str,
    },
    /// The Shamir share sent to us is malformed or fails the Feldman check.
    #[error("round 1: share {from} sent a bad secret share for validator {validator}: {what}")]
    BadShare {
        /// Sender.
        from: ShareIdx,
        /// Validator index.
        validator: u32,
        /// What is wrong.
        what: &'static str,
    },
    /// A round-2 verification key share is malformed or differs from the value implied by the
    /// round-1 commitments.
    #[error(
        "round 2: share {from} reported a bad verification key for validator {validator}: {what}"
    )]
    BadVerificationKey {
        /// Sender.
        from: ShareIdx,
        /// Validator index.
        validator: u32,
        /// What is wrong.
        what: &'static str,
    },
    /// A round-2 group key differs from ours.
    #[error("round 2: share {from} reported a different group key for validator {validator}")]
    GroupKeyMismatch {
        /// Sender.
        from: ShareIdx,
        /// Validator index.
        validator: u32,
    },
}

impl FrostError {
    /// The participant at fault, for peer faults.
    pub fn culprit(&self) -> Option<ShareIdx> {
        match self {
            FrostError::Missing { from, .. }
            | FrostError::Duplicate { from, .. }
            | FrostError::WrongCount { from, .. }
            | FrostError::BadKey { from, .. }
            | FrostError::BadCommitment { from, .. }
            | FrostError::BadProof { from, .. }
            | FrostError::BadShare { from, .. }
            | FrostError::BadVerificationKey { from, .. }
            | FrostError::GroupKeyMismatch { from, .. } => Some(*from),
            FrostError::InvalidParams { .. }
            | FrostError::NotAParticipant { .. }
            | FrostError::OwnMessage { .. } => None,
        }
    }

    /// The validator (0-based) the fault concerns, when it concerns one.
    pub fn validator(&self) -> Option<u32> {
        match self {
            FrostError::BadKey { validator, .. }
            | FrostError::BadCommitment { validator, .. }
            | FrostError::BadProof { validator, .. }
            | FrostError::BadShare { validator, .. }
            | FrostError::BadVerificationKey { validator, .. }
            | FrostError::GroupKeyMismatch { validator, .. } => Some(*validator),
            _ => None,
        }
    }
}
