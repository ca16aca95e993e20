//! The daemon's state database: a small wrapper around sled 0.34.7 (README "Daemon state and
//! sled"). sled is an index of history, never the only copy of anything: key material and
//! artifacts are files written through [`crate::atomic`], and every daemon state can be
//! re-derived from the data dir. So a database that cannot be opened or decoded is moved aside
//! (never deleted) and replaced by an empty one; the caller logs the returned [`Rebuilt`].
//!
//! ```text
//!  StateStore::open(<state dir>/state.sled)      (state.sled.lock: one process at a time;
//!     │                                          state.sled.opening marks an open in progress)
//!     ├─ sled opens, record decodes      ──▶ Opened { rebuilt: None }
//!     └─ open or decode fails (corrupt)  ──▶ rename to state.sled.corrupt-<unix secs>
//!                                            open empty ──▶ Opened { rebuilt: Some(..) }
//!  save(&Record)          insert + flush (every transition)
//!  append_history(&Event) insert + trim to the cap + flush
//! ```
//!
//! sled's own durability limits (0.34's flush uses `sync_file_range`, not `fdatasync`) are why
//! nothing here is trusted more than the data dir.

mod backups;
mod guard;
pub mod ops;
mod record;
mod runlock;

pub use backups::{BackupMeta, RestoreRecord, BACKUPS_KEPT};
pub use record::{HistoryEvent, Record, SCHEMA_VERSION};
pub use runlock::{RunLock, RUN_LOCK_FILE_NAME};

use crate::error::Error;
use record::Envelope;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Directory name of the database inside the state dir.
pub const STATE_DB_NAME: &str = "state.sled";
/// How many history events are kept (oldest dropped first).
pub const HISTORY_CAP: usize = 512;
/// How often, and how long apart, opening retries a lock a just-dropped database still holds.
const LOCK_RETRIES: u32 = 40;
const LOCK_RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(25);
/// Key of the record in the default tree.
const RECORD_KEY: &[u8] = b"record";
/// Key of the pairing progress in the default tree.
const INVITE_KEY: &[u8] = b"invite";
/// Tree of history events, keyed by a big-endian sequence number.
const HISTORY_TREE: &[u8] = b"history";
/// sled's page cache; the database holds a few kilobytes.
const CACHE_BYTES: u64 = 1 << 20;

/// An open state database.
#[derive(Debug)]
pub struct StateStore {
    db: sled::Db,
    history: sled::Tree,
    path: PathBuf,
    /// Held from before the open until the store is dropped (see [`guard`]).
    _guard: Option<guard::Guard>,
}

/// What [`StateStore::open`] found.
#[derive(Debug)]
pub struct Opened {
    /// The usable store.
    pub store: StateStore,
    /// Set when the database was unreadable and has been replaced by an empty one.
    pub rebuilt: Option<Rebuilt>,
    /// Whether no database existed (first start, or deleted by hand).
    pub created: bool,
}

/// A database that was replaced because it could not be read.
#[derive(Debug)]
pub struct Rebuilt {
    /// Where the unreadable database was moved (kept for a bug report).
    pub moved_to: PathBuf,
    /// Why it was unreadable.
    pub reason: String,
}

impl StateStore {
    /// Opens (creating if missing) the database at `path`, rebuilding it when it is corrupt.
    /// Errors that rebuilding cannot fix (permissions, another process holding sled's lock)
    /// are returned as [`Error::StateDb`] naming the path.
    pub fn open(path: &Path) -> Result<Opened, Error> {
        let held = guard::Guard::take(path, guard::GUARD_WAIT)?;
        let mut opened = Self::open_guarded(path)?;
        opened.store._guard = Some(held);
        Ok(opened)
    }

    /// [`Self::open`] once this process holds the guard: no other process is opening or
    /// using the database, so a marker left behind is from an open that never returned.
    fn open_guarded(path: &Path) -> Result<Opened, Error> {
        let created = path.symlink_metadata().is_err();
        // sled 0.34 can panic (and a release build aborts) on some damaged files. A marker
        // that outlives an open means the last open never returned: treat it as corrupt.
        let marker = opening_marker(path);
        let attempt = if marker.symlink_metadata().is_ok() && !created {
            Err(OpenProblem::Corrupt(
                "an earlier attempt to open it did not finish (crash or abort while reading)"
                    .to_owned(),
            ))
        } else {
            std::fs::write(&marker, b"").map_err(|e| Error::io("creating", &marker, e))?;
            let attempt = Self::try_open(path);
            // It returned (well or not): only a panic or abort leaves the marker behind.
            std::fs::remove_file(&marker).map_err(|e| Error::io("removing", &marker, e))?;
            attempt
        };
        let result = Self::finish_open(path, attempt, created);
        if let Err(e) = std::fs::remove_file(&marker) {
            if e.kind() != std::io::ErrorKind::NotFound {
                return Err(Error::io("removing", &marker, e));
            }
        }
        result
    }

    fn finish_open(
        path: &Path,
        attempt: Result<Self, OpenProblem>,
        created: bool,
    ) -> Result<Opened, Error> {
        match attempt {
            Ok(store) => Ok(Opened {
                store,
                rebuilt: None,
                created,
            }),
            Err(OpenProblem::Fatal(e)) => Err(e),
            Err(OpenProblem::Corrupt(reason)) => {
                let moved_to = move_aside(path)?;
                let store = Self::try_open(path).map_err(|p| match p {
                    OpenProblem::Fatal(e) => e,
                    OpenProblem::Corrupt(why) => Error::StateDbUnusable {
                        path: path.to_path_buf(),
                        why,
                    },
                })?;
                Ok(Opened {
                    store,
                    rebuilt: Some(Rebuilt { moved_to, reason }),
                    created: false,
                })
            }
        }
    }

    fn try_open(path: &Path) -> Result<Self, OpenProblem> {
        // No background flusher thread: every write is flushed explicitly, and an idle daemon
        // should not wake up twice a second.
        let config = sled::Config::new()
            .path(path)
            .cache_capacity(CACHE_BYTES)
            .flush_every_ms(None);
        // sled releases its file lock only when its last internal thread lets go of a dropped
        // database, a moment after `drop`: a reopen in the same process (tests, a rebuild)
        // retries briefly before calling the database "in use".
        let mut tries = 0;
        let db = loop {
            match config.open() {
                Err(sled::Error::Io(e))
                    if tries < LOCK_RETRIES && e.to_string().contains("could not acquire lock") =>
                {
                    tries += 1;
                    std::thread::sleep(LOCK_RETRY_PAUSE);
                }
                r => break r.map_err(|e| classify(path, "opening", e))?,
            }
        };
        let history = db
            .open_tree(HISTORY_TREE)
            .map_err(|e| classify(path, "opening the history of", e))?;
        let store = Self {
            db,
            history,
            path: path.to_path_buf(),
            _guard: None,
        };
        // Decode everything once, so a damaged value is found now rather than mid-run.
        store
            .load()
            .map_err(|e| OpenProblem::Corrupt(e.to_string()))?;
        store
            .history()
            .map_err(|e| OpenProblem::Corrupt(e.to_string()))?;
        Ok(store)
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The persisted record, if any.
    pub fn load(&self) -> Result<Option<Record>, Error> {
        let Some(bytes) = self
            .db
            .get(RECORD_KEY)
            .map_err(|e| self.err("reading", e))?
        else {
            return Ok(None);
        };
        decode(&self.path, "record", &bytes).map(Some)
    }

    /// Replaces the record and flushes the database to disk.
    pub fn save(&self, record: &Record) -> Result<(), Error> {
        let bytes = encode(record)?;
        self.db
            .insert(RECORD_KEY, bytes)
            .map_err(|e| self.err("writing", e))?;
        self.flush()
    }

    /// Replaces the stored pairing progress (a JSON document the daemon defines; public
    /// data only) and flushes.
    pub fn save_invite<T: Serialize>(&self, doc: &T) -> Result<(), Error> {
        self.put_json(&self.db, INVITE_KEY, doc)
    }

    /// The stored pairing progress (`None`: none, or one this dkgd cannot read).
    pub fn invite<T: DeserializeOwned>(&self) -> Result<Option<T>, Error> {
        self.get_json(&self.db, INVITE_KEY)
    }

    /// Writes `value` as JSON under `key` of `tree`, then flushes.
    fn put_json(&self, tree: &sled::Tree, key: &[u8], value: &impl Serialize) -> Result<(), Error> {
        let bytes =
            serde_json::to_vec(value).map_err(|_| Error::Internal("a record encodes as JSON"))?;
        tree.insert(key, bytes)
            .map_err(|e| self.err("writing", e))?;
        self.flush()
    }

    /// The JSON value under `key` of `tree` (`None`: absent, or written by a dkgd that this
    /// one does not decode).
    fn get_json<T: DeserializeOwned>(
        &self,
        tree: &sled::Tree,
        key: &[u8],
    ) -> Result<Option<T>, Error> {
        Ok(tree
            .get(key)
            .map_err(|e| self.err("reading", e))?
            .and_then(|v| serde_json::from_slice(&v).ok()))
    }

    /// Appends `event` to the history, drops the oldest beyond [`HISTORY_CAP`], and flushes.
    pub fn append_history(&self, event: &HistoryEvent) -> Result<(), Error> {
        let next = match self.history.last().map_err(|e| self.err("reading", e))? {
            Some((k, _)) => seq_of(&k).saturating_add(1),
            None => 0,
        };
        self.history
            .insert(next.to_be_bytes(), encode(event)?)
            .map_err(|e| self.err("writing", e))?;
        while self.history.len() > HISTORY_CAP {
            if self
                .history
                .pop_min()
                .map_err(|e| self.err("trimming", e))?
                .is_none()
            {
                break;
            }
        }
        self.flush()
    }

    /// The history, oldest first.
    pub fn history(&self) -> Result<Vec<HistoryEvent>, Error> {
        self.history
            .iter()
            .map(|kv| {
                let (_, v) = kv.map_err(|e| self.err("reading", e))?;
                decode(&self.path, "history event", &v)
            })
            .collect()
    }

    /// Flushes everything written so far to disk.
    pub fn flush(&self) -> Result<(), Error> {
        self.db.flush().map_err(|e| self.err("flushing", e))?;
        Ok(())
    }

    fn err(&self, op: &'static str, source: sled::Error) -> Error {
        Error::StateDb {
            op,
            path: self.path.clone(),
            source,
        }
    }
}

/// Why opening failed: fixable by rebuilding, or not.
enum OpenProblem {
    Corrupt(String),
    Fatal(Error),
}

/// Corruption (and sled bugs) can be rebuilt away; a lock held by another process,
/// permissions or a full disk cannot, and moving the database aside would not help.
fn classify(path: &Path, op: &'static str, e: sled::Error) -> OpenProblem {
    use std::io::ErrorKind as K;
    let fatal = match &e {
        sled::Error::Io(io) => {
            matches!(
                io.kind(),
                K::PermissionDenied | K::WouldBlock | K::StorageFull | K::ReadOnlyFilesystem
            ) || io.to_string().contains("could not acquire lock")
        }
        _ => false,
    };
    if fatal {
        OpenProblem::Fatal(Error::StateDb {
            op,
            path: path.to_path_buf(),
            source: e,
        })
    } else {
        OpenProblem::Corrupt(e.to_string())
    }
}

/// `<db>.opening`, present only while an open is in progress.
fn opening_marker(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".opening");
    path.with_file_name(name)
}

/// Renames the database to `<name>.corrupt-<unix secs>[-n]` beside it.
fn move_aside(path: &Path) -> Result<PathBuf, Error> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| STATE_DB_NAME.to_owned());
    for n in 0u32..1000 {
        let suffix = if n == 0 {
            format!("{name}.corrupt-{secs}")
        } else {
            format!("{name}.corrupt-{secs}-{n}")
        };
        let aside = path.with_file_name(suffix);
        if aside.symlink_metadata().is_ok() {
            continue;
        }
        std::fs::rename(path, &aside).map_err(|e| Error::io("moving aside", path, e))?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::fsutil::sync_dir(parent)?;
        }
        return Ok(aside);
    }
    Err(Error::Internal("no free name for a corrupt state database"))
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(&Envelope {
        schema: SCHEMA_VERSION,
        value,
    })
    .map_err(|_| Error::Internal("encoding a state record as JSON"))
}

fn decode<T: DeserializeOwned>(path: &Path, what: &'static str, bytes: &[u8]) -> Result<T, Error> {
    let env: Envelope<T> = serde_json::from_slice(bytes).map_err(|e| Error::StateDecode {
        path: path.to_path_buf(),
        what,
        why: e.to_string(),
    })?;
    if env.schema != SCHEMA_VERSION {
        return Err(Error::StateDecode {
            path: path.to_path_buf(),
            what,
            why: format!(
                "schema version {} (this dkgd reads {SCHEMA_VERSION})",
                env.schema
            ),
        });
    }
    Ok(env.value)
}

fn seq_of(key: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    if let Some(src) = key.get(..8) {
        b.copy_from_slice(src);
    }
    u64::from_be_bytes(b)
}
