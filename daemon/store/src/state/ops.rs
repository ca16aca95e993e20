//! The state database's operations as data, so that a short-lived process can run them.
//!
//! sled 0.34 starts a global pool of seven I/O threads the first time a database is opened in
//! a process, and those threads wake every second for the life of the process, open database
//! or not. An idle daemon that holds sled in-process therefore wakes about seven times a
//! second (issue 16 asks for at most one). So `dkgd run` opens sled only around transitions,
//! in a helper process (`dkgd state-helper`) that runs one [`Batch`] and exits:
//!
//! ```text
//!  daemon ──Batch (JSON on stdin)──▶ dkgd state-helper ── StateStore::open ── execute ──▶ exit
//!         ◀──Answer (JSON on stdout)──
//! ```
//!
//! [`execute`] is also what the daemon calls when it keeps the store in-process (tests), so
//! both paths run the same code. An answer carries the state the daemon shows on its status
//! socket ([`Summary`]), so reading that needs no process at all.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{BackupMeta, HistoryEvent, Opened, Record, RestoreRecord, StateStore};
use crate::error::Error;

/// Operations run in order against one open database.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Batch {
    /// The operations.
    pub ops: Vec<Op>,
}

/// One operation (each write flushes, as the [`StateStore`] methods do).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Op {
    /// [`StateStore::load`].
    Load,
    /// [`StateStore::save`].
    Save {
        /// The record.
        record: Record,
    },
    /// [`StateStore::save_invite`].
    SaveInvite {
        /// The pairing progress document.
        doc: serde_json::Value,
    },
    /// [`StateStore::invite`].
    Invite,
    /// [`StateStore::append_history`].
    AppendHistory {
        /// The event.
        event: HistoryEvent,
    },
    /// [`StateStore::put_backup`].
    PutBackup {
        /// The backup's facts.
        meta: BackupMeta,
        /// The age file (already encrypted to the owner).
        age_file: Vec<u8>,
    },
    /// [`StateStore::record_restore`].
    RecordRestore {
        /// The restore.
        record: RestoreRecord,
    },
    /// [`StateStore::acknowledge_restore`].
    AcknowledgeRestore {
        /// When.
        at_unix_ms: u64,
    },
    /// [`StateStore::set_backup_recipients`].
    SetBackupRecipients {
        /// The recipients.
        recipients: Vec<String>,
    },
    /// [`StateStore::backup_file`].
    BackupFile {
        /// `key` or `full`.
        kind: String,
        /// Its sequence number.
        seq: u64,
    },
}

/// What one [`Op`] gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reply {
    /// A write went through.
    Done,
    /// The record ([`Op::Load`]).
    Record {
        /// The record, if any.
        record: Option<Record>,
    },
    /// The pairing progress ([`Op::Invite`]).
    Invite {
        /// The document, if any.
        doc: Option<serde_json::Value>,
    },
    /// The new backup's sequence number ([`Op::PutBackup`]).
    Seq {
        /// It.
        seq: u64,
    },
    /// Whether there was a restore to acknowledge.
    Acknowledged {
        /// It.
        was_restored: bool,
    },
    /// The age file ([`Op::BackupFile`]).
    File {
        /// Its bytes, if stored.
        bytes: Option<Vec<u8>>,
    },
    /// The operation failed; the batch stopped here.
    Failed {
        /// The store's error message (names the operation and the database).
        why: String,
    },
}

/// What the daemon shows on its status socket, read after the batch ran.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Every stored backup.
    pub backups: Vec<BackupMeta>,
    /// The last restore.
    pub restore: Option<RestoreRecord>,
    /// The recipients set through the status socket.
    pub recipients: Vec<String>,
}

/// How opening went, for the daemon to log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OpenReport {
    /// No database existed.
    pub created: bool,
    /// An unreadable database was moved here and replaced by an empty one.
    pub rebuilt: Option<(PathBuf, String)>,
}

/// The outcome of a [`Batch`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// One reply per operation run (fewer than asked if one failed).
    pub replies: Vec<Reply>,
    /// The state after the batch.
    pub summary: Summary,
    /// How opening went (the helper opens the database for every batch).
    pub opened: OpenReport,
}

impl From<&Opened> for OpenReport {
    fn from(o: &Opened) -> Self {
        OpenReport {
            created: o.created,
            rebuilt: o
                .rebuilt
                .as_ref()
                .map(|r| (r.moved_to.clone(), r.reason.clone())),
        }
    }
}

/// Runs `batch` against `store`, stopping at the first failure, then reads the [`Summary`].
pub fn execute(store: &StateStore, batch: Batch) -> Answer {
    let mut replies = Vec::with_capacity(batch.ops.len());
    for op in batch.ops {
        match run(store, op) {
            Ok(r) => replies.push(r),
            Err(e) => {
                replies.push(Reply::Failed { why: e.to_string() });
                break;
            }
        }
    }
    Answer {
        replies,
        summary: summary(store),
        opened: OpenReport::default(),
    }
}

/// The status-socket state of `store` (a part that cannot be read is shown empty).
pub fn summary(store: &StateStore) -> Summary {
    Summary {
        backups: store.backups().unwrap_or_default(),
        restore: store.restore_record().ok().flatten(),
        recipients: store.backup_recipients().unwrap_or_default(),
    }
}

fn run(store: &StateStore, op: Op) -> Result<Reply, Error> {
    Ok(match op {
        Op::Load => Reply::Record {
            record: store.load()?,
        },
        Op::Save { record } => {
            store.save(&record)?;
            Reply::Done
        }
        Op::SaveInvite { doc } => {
            store.save_invite(&doc)?;
            Reply::Done
        }
        Op::Invite => Reply::Invite {
            doc: store.invite()?,
        },
        Op::AppendHistory { event } => {
            store.append_history(&event)?;
            Reply::Done
        }
        Op::PutBackup { meta, age_file } => Reply::Seq {
            seq: store.put_backup(&meta, &age_file)?,
        },
        Op::RecordRestore { record } => {
            store.record_restore(&record)?;
            Reply::Done
        }
        Op::AcknowledgeRestore { at_unix_ms } => Reply::Acknowledged {
            was_restored: store.acknowledge_restore(at_unix_ms)?,
        },
        Op::SetBackupRecipients { recipients } => {
            store.set_backup_recipients(&recipients)?;
            Reply::Done
        }
        Op::BackupFile { kind, seq } => Reply::File {
            bytes: store.backup_file(&kind, seq)?,
        },
    })
}

/// The helper's side: opens the database at `path` (rebuilding it if corrupt), runs `batch`,
/// and closes it again. An error here means the database could not be opened at all.
pub fn open_and_execute(path: &std::path::Path, batch: Batch) -> Result<Answer, Error> {
    let opened = StateStore::open(path)?;
    let report = OpenReport::from(&opened);
    let mut answer = execute(&opened.store, batch);
    answer.opened = report;
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str) -> HistoryEvent {
        HistoryEvent {
            at_unix_ms: 1,
            kind: kind.into(),
            detail: String::new(),
        }
    }

    #[test]
    fn a_batch_runs_in_order_and_survives_a_reopen_through_json() {
        let d = tempfile::tempdir().expect("tempdir");
        let path = d.path().join("state.sled");
        let record = Record::default();
        let batch = Batch {
            ops: vec![
                Op::Save {
                    record: record.clone(),
                },
                Op::AppendHistory {
                    event: event("started"),
                },
                Op::SetBackupRecipients {
                    recipients: vec!["age1xyz".into()],
                },
                Op::Load,
            ],
        };
        // Through JSON, as the helper process gets it.
        let json = serde_json::to_string(&batch).expect("encode");
        let batch: Batch = serde_json::from_str(&json).expect("decode");
        let answer = open_and_execute(&path, batch).expect("open");
        assert!(answer.opened.created);
        assert_eq!(answer.replies.len(), 4);
        assert_eq!(
            answer.replies.last(),
            Some(&Reply::Record {
                record: Some(record)
            })
        );
        assert_eq!(answer.summary.recipients, vec!["age1xyz".to_string()]);
        // A second process (here: a second open) sees it all.
        let again = open_and_execute(
            &path,
            Batch {
                ops: vec![Op::Load],
            },
        )
        .expect("reopen");
        assert!(!again.opened.created);
        assert_eq!(again.summary.recipients, vec!["age1xyz".to_string()]);
    }

    #[test]
    fn what_is_not_stored_reads_as_absent_not_as_a_failure() {
        let d = tempfile::tempdir().expect("tempdir");
        let path = d.path().join("state.sled");
        let opened = StateStore::open(&path).expect("open");
        let answer = execute(
            &opened.store,
            Batch {
                ops: vec![
                    Op::BackupFile {
                        kind: "full".into(),
                        seq: 9,
                    },
                    Op::AcknowledgeRestore { at_unix_ms: 5 },
                ],
            },
        );
        assert_eq!(
            answer.replies,
            vec![
                Reply::File { bytes: None },
                Reply::Acknowledged {
                    was_restored: false
                }
            ]
        );
    }
}
