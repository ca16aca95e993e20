//! The lifecycle's vocabulary: states, inputs, actions, and the facts read from the data dir.

use dkgd_store::state::{HistoryEvent, Record};
use std::time::Duration;

/// Wall-clock time in Unix milliseconds. Always an input: the lifecycle has no clock.
/// (Wall time, not monotonic, because retry times are persisted across restarts.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixMs(pub u64);

impl UnixMs {
    /// `self + d`, saturating.
    pub fn plus(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        )
    }

    /// Milliseconds from `earlier` to `self` (0 if `earlier` is later).
    pub fn millis_since(self, earlier: UnixMs) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// Where the daemon is. Named after what it waits for (style §3 rule 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// No identity key yet; creating one.
    FirstBoot,
    /// Waiting for a cluster definition (dropped into the inbox).
    AwaitingDefinition,
    /// A ceremony child runs and is connecting to the other operators.
    AwaitingPeers,
    /// The ceremony runs.
    Ceremony {
        /// The current step's name (from the child's progress).
        step: String,
        /// Units of the step done.
        done: u32,
        /// Units of the step in total (0 when unknown).
        total: u32,
    },
    /// Another process holds the identity key's lock (an orphaned ceremony, `dkgd enr …`,
    /// charon): nothing can run until it lets go. Unhealthy; left when the lock is free.
    KeyLocked {
        /// Who holds it, as the lock file tells (e.g. `PID 4242 (dkgd dkg)`).
        holder: String,
        /// The holder's PID when the lock file names one.
        pid: Option<u32>,
    },
    /// Artifacts present and verified. Final: never re-run, never touched.
    Complete,
    /// The last attempt failed.
    Failed {
        /// Why, for the operator.
        reason: String,
        /// When the next attempt starts; `None` when only the operator can fix it.
        retry_at: Option<UnixMs>,
    },
}

impl State {
    /// The state's status name (API, `STATUS=` line, metrics label, persisted record).
    pub fn name(&self) -> &'static str {
        match self {
            Self::FirstBoot => "first-boot",
            Self::AwaitingDefinition => "awaiting-definition",
            Self::AwaitingPeers => "awaiting-peers",
            Self::Ceremony { .. } => "ceremony",
            Self::KeyLocked { .. } => "key-locked",
            Self::Complete => "complete",
            Self::Failed { .. } => "failed",
        }
    }

    /// Every status name, in lifecycle order (for the metrics' labelled gauge).
    pub const NAMES: [&'static str; 7] = [
        "first-boot",
        "awaiting-definition",
        "awaiting-peers",
        "ceremony",
        "key-locked",
        "complete",
        "failed",
    ];
}

/// What the data dir says at start-up (read by the shell, never by the lifecycle).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// `charon-enr-private-key` exists.
    pub key_present: bool,
    /// `cluster-definition.json` in the data dir, parsed and accepted.
    pub definition: Option<DefinitionFacts>,
    /// The ceremony artifacts.
    pub artifacts: ArtifactFacts,
    /// Another process holds the key lock (`None`: free, or no key yet).
    pub key_holder: Option<KeyHolder>,
}

/// Who holds the identity key's lock, as read from the lock file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHolder {
    /// For the operator, e.g. `PID 4242 (dkgd dkg)`.
    pub holder: String,
    /// Its PID when the lock file names one.
    pub pid: Option<u32>,
}

/// An accepted cluster definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionFacts {
    /// `definition_hash`, 0x-hex.
    pub hash: String,
    /// The cluster's name.
    pub name: String,
    /// Number of operators.
    pub operators: u32,
}

/// The state of `cluster-lock.json` and friends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactFacts {
    /// No `cluster-lock.json`.
    Absent,
    /// Present and verifying like `dkgd verify`.
    Verified {
        /// The lock hash (0x-hex).
        lock_hash: String,
    },
    /// Present but failing verification: only the operator can sort this out.
    Invalid {
        /// What failed.
        why: String,
    },
}

/// Everything that can happen to the daemon.
// `Started` is large, but it is built once per process and moved straight into `handle`.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The daemon started: the data-dir facts and the persisted record (if sled had one).
    Started {
        /// What the data dir holds.
        facts: Facts,
        /// The record from sled (`None` when missing or rebuilt).
        record: Option<Record>,
    },
    /// [`Action::CreateKey`] succeeded.
    KeyCreated,
    /// [`Action::CreateKey`] failed.
    KeyFailed {
        /// Why.
        reason: String,
    },
    /// A valid definition naming this node was accepted into the data dir.
    DefinitionFound(DefinitionFacts),
    /// A file in the inbox was refused; the daemon keeps waiting.
    DefinitionRejected {
        /// The file's path, as shown to the operator.
        file: String,
        /// Why it was refused.
        reason: String,
    },
    /// The ceremony child reports its peer connectivity.
    PeersConnected {
        /// Peers connected (not counting us).
        connected: u32,
        /// Peers in the cluster (not counting us).
        total: u32,
    },
    /// The ceremony child reports progress.
    CeremonyProgress {
        /// The step's name.
        step: String,
        /// Units done.
        done: u32,
        /// Units in total.
        total: u32,
    },
    /// The child exited 0 and the artifacts verify.
    CeremonySucceeded {
        /// The lock hash.
        lock_hash: String,
    },
    /// The child exited 0 (or the artifacts appeared) but they do not verify.
    ArtifactsInvalid {
        /// What failed.
        why: String,
    },
    /// The attempt failed (child exit, crash, or it could not start).
    CeremonyFailed {
        /// Why, naming step and peer when known.
        reason: String,
    },
    /// Time passed (the shell's retry timer fired).
    Timer,
    /// In `key-locked`: the key lock is free again; the data dir re-read.
    KeyReleased {
        /// What the data dir holds now.
        facts: Facts,
    },
}

/// What the shell must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Create the identity key (never overwriting one); answer with `KeyCreated`/`KeyFailed`.
    CreateKey,
    /// Start the ceremony child; answer with progress and an outcome.
    StartCeremony {
        /// Attempt number for this definition, from 1.
        attempt: u32,
    },
    /// Feed [`Input::Timer`] at this time.
    ScheduleRetry(UnixMs),
    /// Save this record to sled and flush.
    Persist(Record),
    /// Append this to the history in sled.
    History(HistoryEvent),
    /// The state or its details changed: publish the status, `STATUS=`, log.
    StateChanged,
}
