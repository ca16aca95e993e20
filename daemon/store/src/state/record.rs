//! What the daemon persists in sled: one [`Record`] (its current state and the counters that
//! survive a restart) and a capped list of [`HistoryEvent`]s. Every value is JSON inside a
//! versioned envelope, so a newer or damaged value reads as "corrupt", never as garbage.
//!
//! Nothing here is the only copy of anything that matters: the daemon re-derives its state
//! from the data dir (key file, definition, artifacts) at every start and uses the record only
//! for history (attempts, errors, timings) and for the retry schedule.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The schema version written into every envelope. Bump it when a field changes meaning;
/// older daemons then treat the database as unreadable and rebuild it from the data dir.
pub const SCHEMA_VERSION: u32 = 1;

/// The daemon's persisted state. Field names are part of the on-disk format.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Record {
    /// The lifecycle state as its status name (`first-boot`, `awaiting-definition`,
    /// `awaiting-peers`, `ceremony`, `complete`, `failed`).
    pub state: String,
    /// `definition_hash` (0x-hex) of the definition this record's attempts belong to.
    pub definition_hash: Option<String>,
    /// Ceremony attempts started for that definition.
    pub attempts: u32,
    /// Consecutive failed attempts (the backoff exponent); reset by a new definition.
    pub failures: u32,
    /// The last error, as shown to the operator.
    pub last_error: Option<String>,
    /// When the next attempt is due (Unix milliseconds), while `failed`.
    pub next_retry_unix_ms: Option<u64>,
    /// When the current or last attempt started (Unix milliseconds).
    pub last_attempt_started_unix_ms: Option<u64>,
    /// How long the last finished attempt took, in milliseconds.
    pub last_attempt_duration_ms: Option<u64>,
    /// Seconds spent in each ceremony step during the last attempt, in milliseconds.
    pub step_durations_ms: BTreeMap<String, u64>,
    /// The lock hash of the completed ceremony.
    pub lock_hash: Option<String>,
}

/// One entry of the daemon's history (state changes, attempts, errors, peer connectivity).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HistoryEvent {
    /// When it happened (Unix milliseconds).
    pub at_unix_ms: u64,
    /// What happened: `state`, `attempt`, `error`, `peers`, `rebuilt`, …
    pub kind: String,
    /// Human-readable detail (never secret material).
    pub detail: String,
}

/// The on-disk envelope of every value.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Envelope<T> {
    pub(crate) schema: u32,
    pub(crate) value: T,
}
