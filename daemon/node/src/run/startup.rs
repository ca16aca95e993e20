//! Start-up: directories, single-instance lock, the state database, and the facts the
//! lifecycle derives its state from (re-read from the data dir at every start).

use super::definition::{self, Accepted, DEFINITION_FILE};
use super::identity::{self, PublicIdentity};
use super::state::StateDb;
use super::{RunError, VerifyFn};
use crate::config::Config;
use crate::lifecycle::{ArtifactFacts, Facts, KeyHolder};
use dkgd_store::state::{Record, RunLock, STATE_DB_NAME};
use dkgd_store::{DataDir, KEY_FILE_NAME};
use std::path::Path;

/// The lock file that marks a completed commit (formats.md §9).
pub(super) const LOCK_FILE: &str = "cluster-lock.json";

/// What start-up produced.
pub(super) struct Started {
    pub(super) run_lock: RunLock,
    pub(super) store: StateDb,
    pub(super) record: Option<Record>,
    pub(super) facts: Facts,
    pub(super) identity: Option<PublicIdentity>,
    pub(super) definition: Option<Accepted>,
    /// A definition in the data dir that was refused: (file, reason).
    pub(super) refused: Option<(String, String)>,
}

/// Everything blocking that happens before the loop starts.
pub(super) fn prepare(
    cfg: &Config,
    verify: &VerifyFn,
    helper: Option<&Path>,
) -> Result<Started, RunError> {
    let store_err = |e| RunError::Store(Box::new(e));
    DataDir::open_or_create(&cfg.data_dir).map_err(store_err)?;
    DataDir::open_or_create(&cfg.state_dir).map_err(store_err)?;
    DataDir::open_or_create(&cfg.inbox()).map_err(store_err)?;
    let run_lock = RunLock::acquire(&cfg.state_dir).map_err(store_err)?;

    let (store, opened, record) =
        StateDb::open(&cfg.state_dir.join(STATE_DB_NAME), helper).map_err(store_err)?;
    let key_present = cfg.data_dir.join(KEY_FILE_NAME).symlink_metadata().is_ok();
    if let Some((moved_to, reason)) = &opened.rebuilt {
        tracing::warn!(
            moved_to = %moved_to.display(), reason = %reason,
            "the state database was unreadable; moved it aside and rebuilt the state from the data dir"
        );
    } else if opened.created && key_present {
        tracing::warn!(
            path = %store.path().display(),
            "the state database was missing; rebuilding the state from the data dir"
        );
    }

    let derived = derive(cfg, key_present, verify);
    Ok(Started {
        run_lock,
        store,
        record,
        facts: derived.facts,
        identity: derived.identity,
        definition: derived.definition,
        refused: derived.refused,
    })
}

/// What the data dir says, read at start-up and again when a held key lock is released.
pub(super) struct Derived {
    pub(super) facts: Facts,
    pub(super) identity: Option<PublicIdentity>,
    pub(super) definition: Option<Accepted>,
    /// A definition in the data dir that was refused: (file, reason).
    pub(super) refused: Option<(String, String)>,
}

/// Reads the facts the lifecycle derives its state from. Blocking.
pub(super) fn derive(cfg: &Config, key_present: bool, verify: &VerifyFn) -> Derived {
    recover_interrupted_commit(&cfg.data_dir);
    let mut key_holder = None;
    let identity = if key_present {
        match identity::read_identity(&cfg.data_dir) {
            Ok(id) => Some(id),
            Err(dkgd_store::Error::InUse { holder, .. }) => {
                // Reported through the `key-locked` state (logged once, as a warning).
                tracing::debug!(holder = %holder, "the identity key is in use by another process");
                key_holder = Some(held_by(&holder));
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the identity key");
                None
            }
        }
    } else {
        None
    };
    let mut accepted = None;
    let mut refused = None;
    let def_path = cfg.data_dir.join(DEFINITION_FILE);
    if let (Some(id), true) = (&identity, def_path.exists()) {
        match definition::check(&def_path, id) {
            Ok(a) => accepted = Some(a),
            Err(why) => {
                let why = format!("{why}; remove it to use the inbox instead");
                refused = Some((def_path.display().to_string(), why));
            }
        }
    }
    let facts = Facts {
        key_present,
        definition: accepted.as_ref().map(|a| a.facts.clone()),
        artifacts: artifacts(&cfg.data_dir, verify),
        key_holder,
    };
    Derived {
        facts,
        identity,
        definition: accepted,
        refused,
    }
}

/// The lifecycle's view of a lock holder.
fn held_by(holder: &dkgd_store::Holder) -> KeyHolder {
    let pid = match holder {
        dkgd_store::Holder::Dkgd { pid, .. } => *pid,
        _ => None,
    };
    KeyHolder {
        holder: holder.to_string(),
        pid,
    }
}

/// The state of the artifacts: absent, or present and verified (or not).
pub(super) fn artifacts(data_dir: &Path, verify: &VerifyFn) -> ArtifactFacts {
    if data_dir.join(LOCK_FILE).symlink_metadata().is_err() {
        return ArtifactFacts::Absent;
    }
    match verify(data_dir) {
        Ok(lock_hash) => ArtifactFacts::Verified { lock_hash },
        Err(why) => ArtifactFacts::Invalid {
            why: format!("{} holds artifacts that do not verify: {why}; they were left untouched (check them with `dkgd verify {}`)", data_dir.display(), data_dir.display()),
        },
    }
}

/// Rolls forward a sealed commit that a crash interrupted (dkgd-store's `commit::recover`),
/// but only when no ceremony process holds the key lock (it may be committing right now).
fn recover_interrupted_commit(data_dir: &Path) {
    if data_dir
        .join(dkgd_store::commit::STAGING_DIR)
        .symlink_metadata()
        .is_err()
    {
        return;
    }
    let Ok(dir) = DataDir::open(data_dir) else {
        return;
    };
    match dir.lock_key("dkgd run (recovering a commit)") {
        Ok(lock) => {
            match dkgd_store::commit::recover(data_dir) {
                Ok(Some(aside)) => {
                    tracing::warn!(moved_to = %aside.display(), "moved an unfinished artifact commit aside")
                }
                Ok(None) => tracing::info!("finished an interrupted artifact commit"),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot recover an interrupted artifact commit")
                }
            }
            drop(lock);
        }
        Err(e) => {
            tracing::warn!(error = %e, "not recovering the artifact commit: the key is in use")
        }
    }
}
