//! The status API (ntpd-rs observer style): the run loop publishes [`Snapshot`]s through a
//! `tokio::sync::watch` channel, and the Unix-socket HTTP server only reads them.
//!
//! ```text
//!  run loop ──publish(Snapshot)──▶ watch ──borrow──▶ server ── GET /status  (model::Status JSON)
//!                                                          ── GET /health  (200, 503 if failed or key-locked)
//!                                                          ── GET /metrics (Prometheus text)
//!                                                          ── POST /pair   (code → inbox)
//! ```
//!
//! `client` is the other end, for `dkgd status` and `dkgd pair`.

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
