//! The driver's side of the two-phase artifact commit (issue 12 §1): stage when the ceremony
//! asks ([`Event::NeedCommit`](dkgd_ceremony::Event::NeedCommit)), publish only when every
//! peer staged ([`Event::NeedPublish`](dkgd_ceremony::Event::NeedPublish)), and after an
//! abort set staged artifacts aside unpublished, so that no node keeps keys its peers lack.

use std::path::PathBuf;
use std::sync::Arc;

use dkgd_ceremony::{Artifacts, LocalCause};

/// Writes a ceremony's artifacts in two phases. Every method blocks (the driver runs them on
/// the blocking pool). Staging and publishing errors stay typed ([`LocalCause`]): they reach
/// the caller inside the ceremony's [`CeremonyError::Commit`](dkgd_ceremony::CeremonyError),
/// which can downcast them to its store's error.
pub trait ArtifactWriter: Send + Sync {
    /// Writes, fsyncs and seals the artifacts without making them visible.
    fn stage(&self, artifacts: &Artifacts) -> Result<(), LocalCause>;
    /// Makes staged artifacts visible (lock last).
    fn publish(&self) -> Result<(), LocalCause>;
    /// Sets staged artifacts aside, unpublished and never rolled forward; returns where they
    /// went (`None`: nothing was staged).
    fn withhold(&self) -> Result<Option<PathBuf>, String>;
}

/// The writer the driver is given.
pub type CommitFn = Arc<dyn ArtifactWriter>;

/// What became of this node's artifacts when a ceremony ended without `Done`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// Nothing was staged (or staging failed before its seal).
    Nothing,
    /// Staged, then set aside unpublished at this path (complete, verified key shares of a
    /// lock that not every peer wrote).
    Withheld(PathBuf),
    /// Staged, and setting them aside failed: the staging dir is still sealed, so the next
    /// start publishes it. The reason follows.
    WithholdFailed(String),
    /// Publishing started (every peer had staged): the artifacts are, or on the next start
    /// will be, in place.
    Published,
}

/// The driver's record of the commit's progress.
#[derive(Debug, Default)]
pub(super) struct Tracker {
    /// A staging job runs on the blocking pool.
    pub(super) staging: bool,
    /// Staging succeeded.
    pub(super) staged: bool,
    /// Publishing was started.
    pub(super) publishing: bool,
}

impl Tracker {
    /// The staging job ended.
    pub(super) fn finish_staging(&mut self, ok: bool) {
        self.staging = false;
        self.staged = ok;
    }

    /// After an abort, once no staging job runs: withholds staged artifacts.
    pub(super) async fn settle(&self, writer: &CommitFn) -> Written {
        if self.publishing {
            return Written::Published;
        }
        if !self.staged {
            return Written::Nothing;
        }
        let writer = Arc::clone(writer);
        let r = tokio::task::spawn_blocking(move || writer.withhold())
            .await
            .unwrap_or_else(|e| Err(format!("the withhold task failed: {e}")));
        match r {
            Ok(Some(path)) => Written::Withheld(path),
            Ok(None) => Written::Nothing,
            Err(e) => Written::WithholdFailed(e),
        }
    }
}
