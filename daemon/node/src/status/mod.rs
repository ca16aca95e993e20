//! The status API (ntpd-rs observer style): the run loop publishes [`Snapshot`]s through a
//! `tokio::sync::watch` channel, and the Unix-socket HTTP server only reads them.
//!
//! ```text
//!  run loop ──publish(Snapshot)──▶ watch ──borrow──▶ server ── GET /status  (model::Status JSON)
//!                                                          ── GET /health  (200, 503 if failed or key-locked)
//!                                                          ── GET /metrics (Prometheus text)
//!                                                          ── POST /pair   (code → inbox)
//!                                                          ── GET /backups, POST /backup/…
//!                                                             (Command → run loop → answer)
//! ```
//!
//! `client` is the other end, for `dkgd status` and `dkgd pair`.

mod backup_routes;
pub mod client;
pub mod metrics;
pub mod model;
mod routes;
pub mod server;

use std::sync::Arc;
use std::time::Instant;

pub use model::Status;
pub use routes::MAX_PAIR_BODY;
pub use server::{ServerConfig, ServerError, StatusServer};

/// One published view of the daemon.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The status document, without the uptime (filled in when served).
    pub status: Status,
    /// When the daemon started (for `uptime_secs`).
    pub started: Instant,
}

impl Snapshot {
    /// The status with `uptime_secs` as of now.
    pub fn status_now(&self) -> Status {
        let mut s = self.status.clone();
        s.uptime_secs = self.started.elapsed().as_secs();
        s
    }
}

/// The receiving side the server reads from.
pub type SnapshotRx = tokio::sync::watch::Receiver<Arc<Snapshot>>;

/// A socket request only the run loop can answer (it owns the state database). Each carries
/// the channel its answer goes back on; the error text is for the owner.
#[derive(Debug)]
pub enum Command {
    /// Replace the backup recipients set through the socket; answers how many apply now.
    SetBackupRecipients {
        /// Validated age public keys (`age1…`).
        recipients: Vec<String>,
        /// The answer.
        reply: tokio::sync::oneshot::Sender<Result<usize, String>>,
    },
    /// Acknowledge the restore warning; answers whether there was a restore.
    AcknowledgeRestore {
        /// The answer.
        reply: tokio::sync::oneshot::Sender<Result<bool, String>>,
    },
    /// The stored backups (public facts only).
    ListBackups {
        /// The answer.
        reply: tokio::sync::oneshot::Sender<Result<Vec<dkgd_store::state::BackupMeta>, String>>,
    },
}
