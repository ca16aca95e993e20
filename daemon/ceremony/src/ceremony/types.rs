//! The ceremony's driver-facing types: configuration, steps, events, outputs and errors.

use std::time::Duration;

use dkgd_crypto::keystore::KdfStrength;

use crate::artifacts::Artifacts;
use crate::bcast::{BcastError, SIG_REQUEST_TIMEOUT};
use crate::error::Error;
use crate::index::PeerIdx;
use crate::step::Step;
use crate::sync::{SyncError, SyncTimers, SyncTransmit};
use crate::wire::{InboundId, Profile, Transmit, WireError};

/// How a ceremony runs (the plan says *what* it creates).
#[derive(Debug, Clone)]
pub struct CeremonyConfig {
    /// Keystore KDF cost (the insecure test KDF is refused on mainnet and gnosis).
    pub kdf: KdfStrength,
    /// Our nickname in `MsgSync` (cosmetic).
    pub nickname: String,
    /// Unix time of [`Instant::ZERO`](crate::wire::Instant::ZERO) (only for `MsgSync.timestamp`).
    pub unix_time_at_origin: Duration,
    /// Sync timers (ping period, reconnect backoff, shutdown bound).
    pub sync_timers: SyncTimers,
    /// bcast signature-request deadline (charon: 7 s).
    pub sig_request_timeout: Duration,
    /// Bound on each step and each barrier (charon's `--timeout`: 2 min).
    pub step_timeout: Duration,
    /// Bound on waiting for every peer to connect (`None`: wait forever, as charon does).
    pub connect_timeout: Option<Duration>,
    /// Negotiate the charon version with the peers before step 1 (`--compat auto`): start
    /// with the given profile, switch to the one every peer speaks (see
    /// [`crate::sync`]'s `negotiate` module). `false`: the profile is fixed.
    pub negotiate: bool,
}

impl CeremonyConfig {
    /// charon's defaults with keystores encrypted at `kdf` cost.
    pub fn new(kdf: KdfStrength) -> Self {
        CeremonyConfig {
            kdf,
            nickname: String::new(),
            unix_time_at_origin: Duration::ZERO,
            sync_timers: SyncTimers::default(),
            sig_request_timeout: SIG_REQUEST_TIMEOUT,
            step_timeout: Duration::from_secs(120),
            connect_timeout: None,
            negotiate: false,
        }
    }
}

/// Why a ceremony aborted. [`CeremonyError::culprit`] names the peer at fault when one is,
/// [`CeremonyError::step`] the step.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CeremonyError {
    /// A step's own check failed (a peer fault is [`Error::PeerMisbehaved`]).
    #[error("{}", step_once(*step, source))]
    Ceremony {
        /// The step.
        step: Step,
        /// What failed.
        #[source]
        source: Error,
    },
    /// The sync protocol failed (version or definition mismatch, a restarted peer, …).
    #[error("{}", step_once(*step, source))]
    Sync {
        /// The step.
        step: Step,
        /// What failed.
        #[source]
        source: SyncError,
    },
    /// A reliable broadcast failed.
    #[error("{}", step_once(*step, source))]
    Bcast {
        /// The step.
        step: Step,
        /// What failed.
        #[source]
        source: BcastError,
    },
    /// A peer's message does not decode.
    #[error("peer {peer} sent a malformed message on {protocol} in step {step}: {why}")]
    Malformed {
        /// The peer.
        peer: PeerIdx,
        /// The step.
        step: Step,
        /// The protocol's ID string.
        protocol: &'static str,
        /// What is wrong.
        why: WireError,
    },
    /// A peer sent a message twice or out of place.
    #[error("peer {peer} misbehaved in step {step}: {what}")]
    Unexpected {
        /// The peer.
        peer: PeerIdx,
        /// The step.
        step: Step,
        /// What it did.
        what: &'static str,
    },
    /// A step or barrier did not finish in time.
    #[error("step {step} timed out after {after:?} waiting for peer(s) {}{}", crate::index::peer_list(.missing), lost_note(.disconnected))]
    TimedOut {
        /// The step.
        step: Step,
        /// The peers still missing, those whose connection is down first.
        missing: Vec<PeerIdx>,
        /// The bound.
        after: Duration,
        /// The peers whose connection was down at the time, missing or not: the others may
        /// be missing only because they wait for one of these.
        disconnected: Vec<PeerIdx>,
    },
    /// The driver could not send to a peer.
    #[error("sending to peer {peer} on {protocol} failed in step {step}")]
    SendFailed {
        /// The peer.
        peer: PeerIdx,
        /// The step.
        step: Step,
        /// The protocol's ID string.
        protocol: &'static str,
    },
    /// The driver failed to stage or publish the artifacts.
    #[error("writing the artifacts failed: {}", crate::error::chain(source.as_ref()))]
    Commit {
        /// The driver's error, typed (a driver downcasts it to its store's error).
        #[source]
        source: LocalCause,
    },
}

/// `source`, prefixed with `step N (name): ` unless its own message names a step already
/// (`… in step 2 (deposit data)`, `… at sync step 5`): a message names its step once.
fn step_once(step: Step, source: &dyn std::fmt::Display) -> String {
    let text = source.to_string();
    if text.contains("step ") {
        text
    } else {
        format!("step {step}: {text}")
    }
}

/// Why a local action of the driver failed (staging or publishing the artifacts): the
/// driver's own error, kept typed across the crate boundary.
pub type LocalCause = Box<dyn std::error::Error + Send + Sync>;

/// `"; peer(s) … disconnected"` when any were, for [`CeremonyError::TimedOut`].
fn lost_note(disconnected: &[PeerIdx]) -> String {
    if disconnected.is_empty() {
        String::new()
    } else {
        format!(
            "; disconnected: peer(s) {}",
            crate::index::peer_list(disconnected)
        )
    }
}

/// What kind of failure a [`CeremonyError`] is, for callers that act on the kind (exit codes,
/// the status socket, what to tell the operator) rather than on every variant; the variants
/// carry the typed detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A peer sent something wrong (a bad frame, signature, share or partial; equivocation;
    /// a step out of order or a restart mid-ceremony): [`CeremonyError::culprit`] names it.
    PeerMisbehaved,
    /// A peer runs another charon version or another cluster definition: nothing is wrong
    /// with either side alone.
    PeerIncompatible,
    /// A peer aborted and said why (its sync server answered with its reason, which names
    /// the operator it blames, if any).
    PeerAborted,
    /// A step, barrier, request or goodbye ran out of time, or a peer could not be reached:
    /// [`CeremonyError::culprit`] names whom we waited for.
    TimedOut,
    /// Something on this node failed (writing the artifacts, our own inputs or keys).
    Local,
    /// A bug: an invariant of the ceremony itself did not hold.
    Internal,
}

impl CeremonyError {
    /// The peer at fault, if any (for timeouts: the first disconnected peer, else the first
    /// missing one).
    pub fn culprit(&self) -> Option<PeerIdx> {
        match self {
            CeremonyError::Ceremony { source, .. } => source.culprit(),
            CeremonyError::Sync { source, .. } => source.culprit(),
            CeremonyError::Bcast { source, .. } => source.peer(),
            CeremonyError::Malformed { peer, .. }
            | CeremonyError::Unexpected { peer, .. }
            | CeremonyError::SendFailed { peer, .. } => Some(*peer),
            CeremonyError::TimedOut {
                missing,
                disconnected,
                ..
            } => disconnected.first().or(missing.first()).copied(),
            CeremonyError::Commit { .. } => None,
        }
    }

    /// What kind of failure it is (see [`ErrorKind`]).
    pub fn kind(&self) -> ErrorKind {
        use crate::bcast::BcastError as B;
        use crate::sync::SyncError as S;
        match self {
            CeremonyError::Ceremony { source, .. } => match source {
                Error::PeerMisbehaved { .. } => ErrorKind::PeerMisbehaved,
                Error::Internal(_) => ErrorKind::Internal,
                _ => ErrorKind::Local,
            },
            CeremonyError::Sync { source, .. } => match source {
                S::PeerRejected { .. } => ErrorKind::PeerAborted,
                S::PeerIncompatible { .. }
                | S::DefinitionMismatch { .. }
                | S::PeersDisagree { .. }
                | S::UnsupportedPeerVersion { .. } => ErrorKind::PeerIncompatible,
                S::PeerRestarted { .. } | S::PeerTooFarAhead { .. } => ErrorKind::PeerMisbehaved,
                S::PeerLost { .. } | S::ShutdownTimedOut { .. } => ErrorKind::TimedOut,
                S::UnknownPeer { .. } => ErrorKind::Internal,
            },
            CeremonyError::Bcast { source, .. } => match source {
                B::SigRequestFailed { .. } | B::SigRequestTimedOut { .. } => ErrorKind::TimedOut,
                B::AlreadyBroadcast { .. } | B::UnknownPeer { .. } => ErrorKind::Internal,
                _ => ErrorKind::PeerMisbehaved,
            },
            CeremonyError::Malformed { .. } | CeremonyError::Unexpected { .. } => {
                ErrorKind::PeerMisbehaved
            }
            CeremonyError::TimedOut { .. } | CeremonyError::SendFailed { .. } => {
                ErrorKind::TimedOut
            }
            CeremonyError::Commit { .. } => ErrorKind::Local,
        }
    }

    /// The step it happened in.
    pub fn step(&self) -> Step {
        match self {
            CeremonyError::Ceremony { step, .. }
            | CeremonyError::Sync { step, .. }
            | CeremonyError::Bcast { step, .. }
            | CeremonyError::Malformed { step, .. }
            | CeremonyError::Unexpected { step, .. }
            | CeremonyError::TimedOut { step, .. }
            | CeremonyError::SendFailed { step, .. } => *step,
            CeremonyError::Commit { .. } => Step::Verify,
        }
    }
}

/// What the driver must put on the network.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Outgoing {
    /// A sync-stream action (open, write, close); see [`SyncTransmit`].
    Sync(SyncTransmit),
    /// A delimited frame on a request/one-way/response stream.
    Stream(Transmit),
}

/// Which stream a frame arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// A stream we opened (sync client; the answer to a bcast signature request).
    Outbound,
    /// A stream the peer opened; answers go back with this id.
    Inbound(InboundId),
}

impl Stream {
    /// The sync side this stream is: ours (client) or the peer's (server).
    pub(crate) fn sync_side(self) -> crate::sync::Side {
        match self {
            Stream::Outbound => crate::sync::Side::Client,
            Stream::Inbound(_) => crate::sync::Side::Server,
        }
    }
}

/// What happened.
#[derive(Debug)]
pub enum Event {
    /// `done` of `of` things the current step waits for have arrived.
    Progress {
        /// The step.
        step: Step,
        /// Arrived.
        done: usize,
        /// Needed.
        of: usize,
    },
    /// Every signature verified: stage these (written, fsynced and sealed, not yet visible; a
    /// crash from here on rolls them forward), then call
    /// [`Ceremony::handle_commit`](super::Ceremony::handle_commit). If the ceremony aborts
    /// before [`Event::NeedPublish`], set the staged files aside unpublished.
    NeedCommit(Box<Artifacts>),
    /// Every peer staged its artifacts: publish ours, then call
    /// [`Ceremony::handle_published`](super::Ceremony::handle_published).
    NeedPublish,
    /// Every peer committed and the shutdown handshake completed.
    Done,
    /// A peer announced its charon version (`--compat auto` only; first time or a change).
    PeerVersion {
        /// The peer.
        peer: PeerIdx,
        /// Its `MsgSync.version` (peer-supplied, truncated).
        version: String,
    },
    /// Version negotiation switched the profile before step 1.
    ProfileSwitched {
        /// The profile we started with.
        from: &'static Profile,
        /// The profile every peer speaks.
        to: &'static Profile,
    },
    /// `peer` ended the ceremony without the "shutdown ready" step, as charon < v1.10 does,
    /// after it had written its artifacts. Not a failure.
    PeerSkippedShutdownReady {
        /// The peer.
        peer: PeerIdx,
    },
    /// The ceremony failed; nothing more happens.
    Aborted(CeremonyError),
}
