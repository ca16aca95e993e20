//! The async shell of `dkgd run`: one tokio loop that feeds the sans-IO [`Lifecycle`] and
//! carries out its actions.
//!
//! ```text
//!  startup::prepare  dirs, dkgd-run.lock, sled (rebuilt if corrupt), facts from the data dir
//!  status socket bound ──▶ READY=1
//!  loop select {
//!     SIGTERM/SIGINT          ──▶ STOPPING=1, stop the child (a commit is let finish), exit
//!     inbox tick (2 s)        ──▶ DefinitionFound / DefinitionRejected   (awaiting-definition)
//!     retry timer             ──▶ Timer
//!     watchdog tick           ──▶ WATCHDOG=1   (from this loop: a stuck loop stops pinging)
//!     ceremony child events   ──▶ PeersConnected / CeremonyProgress / outcome
//!  }
//!  actions: CreateKey, StartCeremony, ScheduleRetry, Persist (sled save + flush), History,
//!           StateChanged (publish the watch snapshot, STATUS=, log)
//! ```

mod backup;
pub mod child;
pub mod definition;
pub mod identity;
pub mod invite;
pub mod progress;
mod shell;
mod snapshot;
mod startup;
pub mod state;
mod watch;
mod wire;

use crate::config::Config;
use crate::status::ServerError;
use std::path::Path;
use std::sync::Arc;

pub use child::{CeremonyEvent, CeremonyHandle, CeremonyRunner, CeremonySpec, ProcessRunner};
pub use progress::ProgressEvent;

/// Verifies a data dir holding artifacts like `dkgd verify DIR`: `Ok(lock_hash)` (0x-hex)
/// when every check passes, else the first failure. Blocking. Supplied by the binary.
pub type VerifyFn = Arc<dyn Fn(&Path) -> Result<String, String> + Send + Sync>;

/// What the binary plugs into the loop.
#[derive(Clone)]
pub struct Hooks {
    /// Artifact verification.
    pub verify: VerifyFn,
    /// Starts ceremony attempts ([`ProcessRunner`] in `dkgd run`).
    pub runner: Arc<dyn CeremonyRunner>,
    /// The dkgd binary, to open the state database only around transitions in a
    /// short-lived `dkgd state-helper` process ([`state`]); `None` keeps it open in this
    /// process (sled's threads then wake it about seven times a second).
    pub state_helper: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hooks")
    }
}

/// Why the daemon could not start (once running, it does not fail: errors become states).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// Directories, the single-instance lock or the state database.
    #[error(transparent)]
    Store(Box<dkgd_store::Error>),
    /// The status socket.
    #[error(transparent)]
    Socket(#[from] ServerError),
    /// A blocking start-up task panicked (a bug).
    #[error("internal error (a bug in dkgd, please report it): start-up task failed")]
    Internal,
}

/// Runs the daemon until SIGTERM or SIGINT. Returns `Ok` after a clean shutdown.
pub async fn run_daemon(cfg: Config, hooks: Hooks) -> Result<(), RunError> {
    shell::Shell::start(cfg, hooks).await?.run().await
}

/// Runs blocking work (disk, sled, key files) off the event loop; `None` when the task
/// panicked or was cancelled.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(f).await.ok()
}
