//! The daemon's handle on its state database. With a helper binary (what `dkgd run` uses),
//! sled is opened only around transitions, in a short-lived `dkgd state-helper` process, so an
//! idle daemon has none of sled's threads (see [`dkgd_store::state::ops`]); without one (tests)
//! the store stays open in this process. Either way the same [`ops::execute`] runs, and what
//! the status socket shows (backups, restore, recipients) is kept here from the last answer,
//! so a status request never opens the database.
//!
//! Every method blocks (a process or disk I/O): call it through [`super::blocking`].

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use dkgd_store::state::ops::{self, Answer, Batch, Op, OpenReport, Reply, Summary};
use dkgd_store::state::{BackupMeta, HistoryEvent, Record, RestoreRecord, StateStore};
use dkgd_store::Error;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The hidden subcommand of the dkgd binary that runs one [`Batch`].
pub const HELPER_SUBCOMMAND: &str = "state-helper";

enum Access {
    InProcess(StateStore),
    Helper(PathBuf),
}

/// The state database as the daemon uses it.
pub struct StateDb {
    path: PathBuf,
    access: Access,
    summary: Mutex<Summary>,
    /// One operation at a time: a second helper would wait on sled's file lock.
    calls: Mutex<()>,
}

impl StateDb {
    /// Opens the database at `path` (rebuilding it when corrupt) and reads the record. With
    /// `helper` (the dkgd binary), sled is opened in a helper process and closed again.
    pub fn open(
        path: &Path,
        helper: Option<&Path>,
    ) -> Result<(Self, OpenReport, Option<Record>), Error> {
        let (access, answer) = match helper {
            Some(exe) => {
                let answer = run_helper(
                    exe,
                    path,
                    Batch {
                        ops: vec![Op::Load],
                    },
                )?;
                (Access::Helper(exe.to_path_buf()), answer)
            }
            None => {
                let opened = StateStore::open(path)?;
                let report = OpenReport::from(&opened);
                let mut answer = ops::execute(
                    &opened.store,
                    Batch {
                        ops: vec![Op::Load],
                    },
                );
                answer.opened = report;
                (Access::InProcess(opened.store), answer)
            }
        };
        let record = match answer.replies.first() {
            Some(Reply::Record { record }) => record.clone(),
            Some(Reply::Failed { why }) => {
                tracing::warn!(error = %why, "cannot read the state record; starting without history");
                None
            }
            _ => None,
        };
        let db = StateDb {
            path: path.to_path_buf(),
            access,
            summary: Mutex::new(answer.summary),
            calls: Mutex::new(()),
        };
        Ok((db, answer.opened, record))
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `op`, keeping the summary it returns; the op's own reply.
    fn one(&self, op: Op) -> Result<Reply, Error> {
        let _one_at_a_time = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        let answer = match &self.access {
            Access::InProcess(store) => ops::execute(store, Batch { ops: vec![op] }),
            Access::Helper(exe) => run_helper(exe, &self.path, Batch { ops: vec![op] })?,
        };
        if let Some((moved_to, reason)) = &answer.opened.rebuilt {
            tracing::warn!(moved_to = %moved_to.display(), reason = %reason, "the state database became unreadable; moved it aside and started an empty one");
        }
        if let Ok(mut s) = self.summary.lock() {
            *s = answer.summary;
        }
        match answer.replies.into_iter().next() {
            Some(Reply::Failed { why }) => Err(self.failed(why)),
            Some(r) => Ok(r),
            None => Err(self.failed("no answer".into())),
        }
    }

    fn failed(&self, why: String) -> Error {
        Error::StateHelper {
            path: self.path.clone(),
            why,
        }
    }

    fn unexpected(&self, r: &Reply) -> Error {
        self.failed(format!("unexpected answer {r:?}"))
    }

    /// Replaces the record.
    pub fn save(&self, record: &Record) -> Result<(), Error> {
        self.one(Op::Save {
            record: record.clone(),
        })
        .map(drop)
    }

    /// Appends a history event.
    pub fn append_history(&self, event: &HistoryEvent) -> Result<(), Error> {
        self.one(Op::AppendHistory {
            event: event.clone(),
        })
        .map(drop)
    }

    /// Replaces the stored pairing progress.
    pub fn save_invite<T: Serialize>(&self, doc: &T) -> Result<(), Error> {
        let doc = serde_json::to_value(doc).map_err(|e| self.failed(e.to_string()))?;
        self.one(Op::SaveInvite { doc }).map(drop)
    }

    /// The stored pairing progress (`None`: none, or not readable by this dkgd).
    pub fn invite<T: DeserializeOwned>(&self) -> Result<Option<T>, Error> {
        match self.one(Op::Invite)? {
            Reply::Invite { doc } => Ok(doc.and_then(|d| serde_json::from_value(d).ok())),
            r => Err(self.unexpected(&r)),
        }
    }

    /// Stores a backup; its sequence number.
    pub fn put_backup(&self, meta: &BackupMeta, age_file: &[u8]) -> Result<u64, Error> {
        match self.one(Op::PutBackup {
            meta: meta.clone(),
            age_file: age_file.to_vec(),
        })? {
            Reply::Seq { seq } => Ok(seq),
            r => Err(self.unexpected(&r)),
        }
    }

    /// Records a restore (shown as a status warning until acknowledged).
    pub fn record_restore(&self, record: &RestoreRecord) -> Result<(), Error> {
        self.one(Op::RecordRestore {
            record: record.clone(),
        })
        .map(drop)
    }

    /// Marks the last restore acknowledged; `false` when there is none.
    pub fn acknowledge_restore(&self, at_unix_ms: u64) -> Result<bool, Error> {
        match self.one(Op::AcknowledgeRestore { at_unix_ms })? {
            Reply::Acknowledged { was_restored } => Ok(was_restored),
            r => Err(self.unexpected(&r)),
        }
    }

    /// Stores the recipients set through the status socket.
    pub fn set_backup_recipients(&self, recipients: &[String]) -> Result<(), Error> {
        self.one(Op::SetBackupRecipients {
            recipients: recipients.to_vec(),
        })
        .map(drop)
    }

    /// The age file of a stored backup.
    #[cfg(test)]
    pub fn backup_file(&self, kind: &str, seq: u64) -> Result<Option<Vec<u8>>, Error> {
        match self.one(Op::BackupFile {
            kind: kind.into(),
            seq,
        })? {
            Reply::File { bytes } => Ok(bytes),
            r => Err(self.unexpected(&r)),
        }
    }

    fn cached<T>(&self, f: impl FnOnce(&Summary) -> T) -> T {
        match self.summary.lock() {
            Ok(s) => f(&s),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }

    /// Every stored backup (as of the last operation; nothing else writes the database while
    /// the daemon holds the run lock).
    pub fn backups(&self) -> Result<Vec<BackupMeta>, Error> {
        Ok(self.cached(|s| s.backups.clone()))
    }

    /// The newest stored backup of `kind`.
    pub fn latest_backup(&self, kind: &str) -> Result<Option<BackupMeta>, Error> {
        Ok(self.cached(|s| {
            s.backups
                .iter()
                .filter(|m| m.kind == kind)
                .max_by_key(|m| m.seq)
                .cloned()
        }))
    }

    /// The last restore.
    pub fn restore_record(&self) -> Result<Option<RestoreRecord>, Error> {
        Ok(self.cached(|s| s.restore.clone()))
    }

    /// The recipients set through the status socket.
    pub fn backup_recipients(&self) -> Result<Vec<String>, Error> {
        Ok(self.cached(|s| s.recipients.clone()))
    }
}

/// How long a helper may take for one batch (it normally takes milliseconds; it waits up to
/// 10 s for another process's open database) before it is killed and the call fails.
const HELPER_DEADLINE: Duration = Duration::from_secs(30);
const HELPER_POLL: Duration = Duration::from_millis(2);

/// Runs `exe state-helper --db PATH` with `batch` on its stdin; its answer. Bounded by
/// [`HELPER_DEADLINE`]: a stuck helper is killed, so the daemon never hangs on it.
fn run_helper(exe: &Path, db: &Path, batch: Batch) -> Result<Answer, Error> {
    let failed = |why: String| Error::StateHelper {
        path: db.to_path_buf(),
        why,
    };
    let input = serde_json::to_vec(&batch).map_err(|e| failed(e.to_string()))?;
    let mut child = Command::new(exe)
        .arg(HELPER_SUBCOMMAND)
        .arg("--db")
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("cannot start {}: {e}", exe.display())))?;
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let written = match child.stdin.take() {
        // Dropped after writing: the helper reads to end of file.
        Some(mut stdin) => stdin.write_all(&input),
        None => Ok(()),
    };
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < HELPER_DEADLINE => std::thread::sleep(HELPER_POLL),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(failed(format!(
                    "the helper did not finish within {} s and was stopped",
                    HELPER_DEADLINE.as_secs()
                )));
            }
            Err(e) => return Err(failed(format!("waiting for the helper: {e}"))),
        }
    };
    let collect = |h: Option<std::thread::JoinHandle<Vec<u8>>>| {
        h.and_then(|h| h.join().ok()).unwrap_or_default()
    };
    let (out, err) = (collect(stdout), collect(stderr));
    if !status.success() {
        let stderr = String::from_utf8_lossy(&err);
        // The helper prints `error: <cause chain>` then a hint line: keep the cause.
        let cause = stderr
            .lines()
            .find_map(|l| l.strip_prefix("error: "))
            .or_else(|| stderr.lines().last())
            .unwrap_or("no message");
        let cause: String = cause.chars().take(400).collect();
        return Err(failed(format!("the helper failed ({status}): {cause}")));
    }
    written.map_err(|e| failed(format!("writing the request: {e}")))?;
    serde_json::from_slice(&out).map_err(|e| failed(format!("reading its answer: {e}")))
}

/// Reads `from` to its end on a thread of its own (so a full pipe never stalls the helper).
fn drain(mut from: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = from.read_to_end(&mut all);
        all
    })
}

/// The helper's side (`dkgd state-helper --db PATH`): reads a [`Batch`] from `input`, runs it,
/// writes the [`Answer`] to `output`. An error means nothing was answered.
pub fn serve_helper(
    db: &Path,
    input: impl std::io::Read,
    output: impl std::io::Write,
) -> Result<(), Error> {
    let failed = |why: String| Error::StateHelper {
        path: db.to_path_buf(),
        why,
    };
    let batch: Batch =
        serde_json::from_reader(input).map_err(|e| failed(format!("the request: {e}")))?;
    let answer = ops::open_and_execute(db, batch)?;
    serde_json::to_writer(output, &answer).map_err(|e| failed(format!("the answer: {e}")))
}
