//! bcast faults. Each names the peer at fault (or the peers missing) and the ceremony step of
//! the message (charon-dkg-protocol.md §1.6, §3.1).

use super::Topic;
use crate::index::PeerIdx;
use crate::step::Step;
use crate::wire::WireError;

/// Something went wrong in a reliable broadcast.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BcastError {
    /// `peer` asked us to sign two different messages under one message ID, or delivered a
    /// message other than the one we signed: it equivocates.
    #[error("peer {peer} equivocated in step {step}: two different {topic} messages under one message ID")]
    Equivocation {
        /// The sender.
        peer: PeerIdx,
        /// The step.
        step: Step,
        /// The message.
        topic: Topic,
    },
    /// A signature by `signer` does not verify. `peer` sent it: as a response (then
    /// `signer == peer`) or inside its final message.
    #[error(
        "peer {peer} sent an invalid signature of peer {signer} over its {topic} in step {step}"
    )]
    InvalidSignature {
        /// Who sent it.
        peer: PeerIdx,
        /// Whose signature it claims to be.
        signer: PeerIdx,
        /// The step.
        step: Step,
        /// The message.
        topic: Topic,
    },
    /// A final message without exactly one signature per operator.
    #[error(
        "peer {peer} sent its {topic} with {found} signatures instead of {expected} in step {step}"
    )]
    SignatureCount {
        /// The sender.
        peer: PeerIdx,
        /// The step.
        step: Step,
        /// The message.
        topic: Topic,
        /// Operators.
        expected: usize,
        /// Signatures received.
        found: usize,
    },
    /// An undecodable request, response or final message, or a payload of the wrong type.
    #[error("peer {peer} sent a malformed {} message{}: {why}", .topic.map_or("bcast".to_string(), |t| t.to_string()), .step.map_or(String::new(), |s| format!(" in step {s}")))]
    Malformed {
        /// The sender.
        peer: PeerIdx,
        /// The step, if the message ID was readable.
        step: Option<Step>,
        /// The message, if the message ID was readable.
        topic: Option<Topic>,
        /// What is wrong.
        why: WireError,
    },
    /// A message ID the DKG does not use (charon answers nothing either).
    #[error("peer {peer} used unknown bcast message ID {id:?}")]
    UnknownMessageId {
        /// The sender.
        peer: PeerIdx,
        /// The ID (truncated).
        id: String,
    },
    /// A signature response we did not ask for.
    #[error("peer {peer} sent an unsolicited signature for {topic} in step {step}")]
    UnexpectedResponse {
        /// The sender.
        peer: PeerIdx,
        /// The step.
        step: Step,
        /// The message.
        topic: Topic,
    },
    /// The driver could not get our signature request answered by `peer` (stream error or
    /// the peer refused, e.g. because it saw another message under this ID).
    #[error("peer {peer} did not answer our {topic} signature request in step {step}")]
    SigRequestFailed {
        /// The peer.
        peer: PeerIdx,
        /// The step.
        step: Step,
        /// The message.
        topic: Topic,
    },
    /// Signature requests still unanswered at the deadline.
    #[error("peers {} did not sign our {topic} in time (step {step})", crate::index::peer_list(.missing))]
    SigRequestTimedOut {
        /// The step.
        step: Step,
        /// The message.
        topic: Topic,
        /// The peers that did not answer.
        missing: Vec<PeerIdx>,
    },
    /// We were asked to broadcast a topic twice (a bug in the caller).
    #[error("internal error: {topic} was already broadcast")]
    AlreadyBroadcast {
        /// The message.
        topic: Topic,
    },
    /// The driver passed a peer index that is not another operator (a bug in the driver).
    #[error("internal error: peer index {peer} is not another operator of this ceremony")]
    UnknownPeer {
        /// The index given.
        peer: PeerIdx,
    },
}

impl BcastError {
    /// The peer at fault, if one is.
    pub fn peer(&self) -> Option<PeerIdx> {
        match self {
            BcastError::Equivocation { peer, .. }
            | BcastError::InvalidSignature { peer, .. }
            | BcastError::SignatureCount { peer, .. }
            | BcastError::Malformed { peer, .. }
            | BcastError::UnknownMessageId { peer, .. }
            | BcastError::UnexpectedResponse { peer, .. }
            | BcastError::SigRequestFailed { peer, .. } => Some(*peer),
            BcastError::SigRequestTimedOut { missing, .. } => missing.first().copied(),
            BcastError::AlreadyBroadcast { .. } | BcastError::UnknownPeer { .. } => None,
        }
    }

    /// The ceremony step, when known.
    pub fn step(&self) -> Option<Step> {
        match self {
            BcastError::Equivocation { step, .. }
            | BcastError::InvalidSignature { step, .. }
            | BcastError::SignatureCount { step, .. }
            | BcastError::UnexpectedResponse { step, .. }
            | BcastError::SigRequestFailed { step, .. }
            | BcastError::SigRequestTimedOut { step, .. } => Some(*step),
            BcastError::Malformed { step, .. } => *step,
            BcastError::AlreadyBroadcast { topic } => Some(topic.step()),
            BcastError::UnknownMessageId { .. } | BcastError::UnknownPeer { .. } => None,
        }
    }
}
