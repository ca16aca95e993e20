//! The status document served at `GET /status` and read by `dkgd status` (API version 1).
//! Shared by the server and the client, so the two cannot drift apart. Fields may be added in
//! later versions of API 1 (clients ignore unknown ones); removing or renaming one bumps `api`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The status API version.
pub const API_VERSION: u32 = 1;

/// `GET /status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Status {
    /// Always [`API_VERSION`].
    pub api: u32,
    /// `first-boot`, `awaiting-definition`, `awaiting-peers`, `ceremony`, `key-locked`,
    /// `complete`, `failed`; while a pairing code or zero-touch search is at work instead of
    /// `awaiting-definition`: one of [`INVITE_STATES`].
    pub state: String,
    /// The ceremony step, while in `ceremony`.
    pub step: Option<String>,
    /// Progress within the step, while in `ceremony`.
    pub progress: Option<Progress>,
    /// Peer connectivity during a ceremony.
    pub peers: Peers,
    /// This node's identity (public).
    pub identity: Option<Identity>,
    /// The cluster, once a definition was accepted.
    pub cluster: Option<Cluster>,
    /// Ceremony attempts for the current definition.
    pub attempts: u32,
    /// The last error, for the operator.
    pub last_error: Option<String>,
    /// When the next attempt starts, while `failed` with a retry (RFC 3339, UTC).
    pub next_retry: Option<String>,
    /// The same as Unix seconds.
    pub next_retry_unix: Option<u64>,
    /// How long the last finished attempt took, in seconds.
    pub last_ceremony_secs: Option<f64>,
    /// Time spent in each step of the last attempt, in seconds.
    pub step_secs: BTreeMap<String, f64>,
    /// The lock hash, once complete.
    pub lock_hash: Option<String>,
    /// Who holds the identity key's lock, while `key-locked`.
    pub key_holder: Option<KeyHolder>,
    /// Versions of the daemon and its API.
    pub versions: Versions,
    /// The charon wire profile of the current (or last) ceremony and what each peer
    /// announced (absent before the first ceremony starts).
    pub wire: Option<Wire>,
    /// The cluster invite being resolved from a pairing code (absent without one).
    pub invite: Option<Invite>,
    /// Seconds since the daemon started.
    pub uptime_secs: u64,
    /// Automatic backups (README "Backups").
    pub backup: BackupStatus,
    /// Health warnings for the operator (not failures), e.g. no backup recipient.
    pub warnings: Vec<String>,
}

/// The states shown instead of `awaiting-definition` while an invite is being resolved:
/// zero-touch searching, fetching and checking the definition, waiting for the operators'
/// signatures.
pub const INVITE_STATES: [&str; 3] = [
    "awaiting-pairing",
    "fetching-definition",
    "awaiting-signatures",
];

/// The state shown for an invite at `stage` (`searching`, `fetching`, `accepting`,
/// `awaiting-signatures`, `complete`); `None` keeps `awaiting-definition`.
pub fn invite_state(stage: &str) -> Option<&'static str> {
    match stage {
        "searching" => Some("awaiting-pairing"),
        "fetching" => Some("fetching-definition"),
        "accepting" | "awaiting-signatures" => Some("awaiting-signatures"),
        _ => None,
    }
}

/// A pairing code at work: the invite it names and where it stands with the Obol API.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Invite {
    /// The file the code was read from.
    pub source: String,
    /// The definition's config hash (0x-hex).
    pub config_hash: String,
    /// The network the code names.
    pub network: String,
    /// `fetching`, `accepting`, `awaiting-signatures`, `complete`.
    pub stage: String,
    /// The cluster's name, once fetched.
    pub cluster_name: Option<String>,
    /// Operators that accepted.
    pub signed: u32,
    /// Operators in the cluster.
    pub operators: u32,
    /// The operators still to accept, e.g. `operator 2 (0xAbC…)`.
    pub missing: Vec<String>,
    /// What the owner must do, when the box cannot do it itself.
    pub action: Option<String>,
    /// When the API is asked next (Unix seconds).
    pub next_poll_unix: Option<u64>,
    /// The last API or check error.
    pub last_error: Option<String>,
    /// API requests by outcome (`ok`, `not-found`, `retry-later`, `unreachable`, `refused`, …).
    pub requests: BTreeMap<String, u64>,
}

/// Progress of the current step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Progress {
    /// Units done.
    pub done: u32,
    /// Units in total (0 when unknown).
    pub total: u32,
}

/// The other operators and whether they are connected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Peers {
    /// Peers connected (as last reported by the ceremony).
    pub connected: u32,
    /// Other operators in the cluster.
    pub total: u32,
    /// Every operator of the definition, ours included.
    pub list: Vec<Peer>,
}

/// One operator of the cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Peer {
    /// 0-based operator index in the definition.
    pub index: u32,
    /// A short, stable name for people (`op<index>-<last 6 of the peer ID>`).
    pub name: String,
    /// libp2p peer ID.
    pub peer_id: String,
    /// The operator's Ethereum address.
    pub address: String,
    /// This node.
    pub is_self: bool,
}

/// This node's public identity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Identity {
    /// `enr:-…`.
    pub enr: String,
    /// `16Uiu2HA…`.
    pub peer_id: String,
}

/// The cluster being created.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Cluster {
    /// The definition's name.
    pub name: String,
    /// `definition_hash` (0x-hex).
    pub definition_hash: String,
    /// Number of operators.
    pub operators: u32,
}

/// Another process holding the identity key's lock.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeyHolder {
    /// Its process ID, when the lock file names one.
    pub pid: Option<u32>,
    /// For people, e.g. `PID 4242 (dkgd dkg)`.
    pub description: String,
}

/// The charon wire profile a ceremony speaks (issue 10).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Wire {
    /// The profile, e.g. `v1.10`.
    pub profile: String,
    /// The definition's default profile, when negotiation switched away from it.
    pub negotiated_from: Option<String>,
    /// Each operator's announced charon version, by 0-based operator index (negotiation only).
    pub peer_versions: BTreeMap<u32, String>,
    /// Operators that ended without the "shutdown ready" step (charon < v1.10).
    pub ended_without_shutdown_ready: Vec<u32>,
}

/// Versions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Versions {
    /// dkgd's version.
    pub dkgd: String,
    /// The status API version.
    pub api: u32,
}

/// Automatic backups kept by the daemon.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BackupStatus {
    /// Owner keys (age1…) backups are encrypted to; 0 means no automatic backups.
    pub recipients: u32,
    /// Backups stored in the state database (at most 5 per kind).
    pub count: u32,
    /// `key` or `full`: the kind of the newest backup.
    pub last_kind: Option<String>,
    /// When the newest backup was made, Unix seconds.
    pub last_unix: Option<u64>,
    /// Where the newest backup was also written, if anywhere.
    pub last_exported_to: Option<String>,
}

impl Status {
    /// Whether `GET /health` answers 200 (everything but `failed` and `key-locked`).
    pub fn healthy(&self) -> bool {
        !matches!(self.state.as_str(), "failed" | "key-locked")
    }
}
