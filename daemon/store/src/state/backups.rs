//! Automatic backups kept in the state database: versioned records of age files (already
//! encrypted to the owner; the box cannot read them), the last [`BACKUPS_KEPT`] of each kind.
//!
//! ```text
//!  tree "backups"       key: kind byte ‖ seq (u64 BE)  value: BackupMeta (JSON, versioned)
//!  tree "backup-files"  key: the same                  value: the age file's bytes
//!  put_backup: file, then meta, trim the kind to BACKUPS_KEPT (meta first), flush
//! ```
//!
//! A crash between the two inserts leaves a file without meta, which no listing shows and
//! the next trim removes; the previous backups are never touched before the new one is in.
//! Like everything in sled here, these are copies: the data dir stays the source of truth.

use super::StateStore;
use crate::error::Error;
use serde::{Deserialize, Serialize};

/// How many backups of each kind are kept.
pub const BACKUPS_KEPT: usize = 5;
/// Version of [`BackupMeta`]'s encoding.
const META_VERSION: u32 = 1;
const META_TREE: &[u8] = b"backups";
/// Key (in the backups tree's own namespace, kind byte 0xff) of the last restore.
const RESTORE_KEY: &[u8] = b"\xffrestore";
/// Key (same namespace) of the recipients the owner set through the status socket.
const RECIPIENTS_KEY: &[u8] = b"\xffrecipients";
const FILE_TREE: &[u8] = b"backup-files";

/// One stored backup (public facts only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupMeta {
    /// Encoding version ([`META_VERSION`]).
    pub version: u32,
    /// Sequence number (increasing across kinds; set by [`StateStore::put_backup`]).
    pub seq: u64,
    /// `key` (identity key only) or `full` (key and ceremony artifacts).
    pub kind: String,
    /// When it was made, Unix milliseconds.
    pub created_unix_ms: u64,
    /// SHA-256 over the paths and hashes of the files it holds: equal fingerprints mean the
    /// same content.
    pub fingerprint: String,
    /// Size of the age file.
    pub bytes: u64,
    /// The key's peer ID.
    pub peer_id: String,
    /// The lock hash, for a full backup.
    pub lock_hash: Option<String>,
    /// Where it was also written (an export directory), if anywhere.
    pub exported_to: Option<String>,
}

/// A restore from a backup, shown as a status warning until the owner acknowledges it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreRecord {
    /// When the backup was restored, Unix milliseconds.
    pub restored_unix_ms: u64,
    /// The restored key's peer ID.
    pub peer_id: String,
    /// The lock hash of a full backup.
    pub lock_hash: Option<String>,
    /// The backup file restored from.
    pub from_file: String,
    /// When the owner confirmed that the old box is gone (Unix milliseconds).
    pub acknowledged_unix_ms: Option<u64>,
}

fn kind_byte(kind: &str) -> u8 {
    match kind {
        "key" => 0,
        "full" => 1,
        _ => 2,
    }
}

fn db_err<'a>(store: &'a StateStore, op: &'static str) -> impl Fn(sled::Error) -> Error + 'a {
    move |source| Error::StateDb {
        op,
        path: store.path.clone(),
        source,
    }
}

impl StateStore {
    /// Stores a new backup of `meta.kind` (its `seq` is assigned here and returned), then
    /// drops the oldest beyond [`BACKUPS_KEPT`] of that kind, and flushes.
    pub fn put_backup(&self, meta: &BackupMeta, age_file: &[u8]) -> Result<u64, Error> {
        let meta_tree = self
            .db
            .open_tree(META_TREE)
            .map_err(db_err(self, "opening"))?;
        let files = self
            .db
            .open_tree(FILE_TREE)
            .map_err(db_err(self, "opening"))?;
        let seq = self.db.generate_id().map_err(db_err(self, "writing"))?;
        let kind = kind_byte(&meta.kind);
        let mut key = vec![kind];
        key.extend_from_slice(&seq.to_be_bytes());
        let stored = BackupMeta {
            version: META_VERSION,
            seq,
            ..meta.clone()
        };
        let value = serde_json::to_vec(&stored)
            .map_err(|_| Error::Internal("backup meta encodes as JSON"))?;
        files
            .insert(&key, age_file)
            .map_err(db_err(self, "writing"))?;
        meta_tree
            .insert(&key, value)
            .map_err(db_err(self, "writing"))?;
        // Trim: keep the newest BACKUPS_KEPT of this kind (meta first, then its file).
        let keys: Vec<sled::IVec> = meta_tree
            .scan_prefix([kind])
            .keys()
            .collect::<Result<_, _>>()
            .map_err(db_err(self, "reading"))?;
        let excess = keys.len().saturating_sub(BACKUPS_KEPT);
        for old in keys.iter().take(excess) {
            meta_tree.remove(old).map_err(db_err(self, "writing"))?;
            files.remove(old).map_err(db_err(self, "writing"))?;
        }
        // Files whose meta never made it in (a crash between the inserts).
        let orphans: Vec<sled::IVec> = files
            .scan_prefix([kind])
            .keys()
            .filter_map(Result::ok)
            .filter(|k| !meta_tree.contains_key(k).unwrap_or(true))
            .collect();
        for o in orphans {
            files.remove(o).map_err(db_err(self, "writing"))?;
        }
        self.db.flush().map_err(db_err(self, "flushing"))?;
        Ok(seq)
    }

    /// Every stored backup, oldest first within each kind (`key` before `full`). Records
    /// that do not decode (written by a newer dkgd) are skipped.
    pub fn backups(&self) -> Result<Vec<BackupMeta>, Error> {
        let meta_tree = self
            .db
            .open_tree(META_TREE)
            .map_err(db_err(self, "opening"))?;
        let mut out = Vec::new();
        for item in meta_tree.iter() {
            let (_, v) = item.map_err(db_err(self, "reading"))?;
            if let Ok(m) = serde_json::from_slice::<BackupMeta>(&v) {
                if m.version == META_VERSION {
                    out.push(m);
                }
            }
        }
        Ok(out)
    }

    /// The newest stored backup of `kind`.
    pub fn latest_backup(&self, kind: &str) -> Result<Option<BackupMeta>, Error> {
        Ok(self
            .backups()?
            .into_iter()
            .filter(|m| m.kind == kind)
            .max_by_key(|m| m.seq))
    }

    /// Records a restore (replacing any earlier record) and flushes.
    pub fn record_restore(&self, record: &RestoreRecord) -> Result<(), Error> {
        self.put_meta_json(RESTORE_KEY, record)
    }

    /// The last restore, if this box was restored from a backup.
    pub fn restore_record(&self) -> Result<Option<RestoreRecord>, Error> {
        self.meta_json(RESTORE_KEY)
    }

    /// Marks the last restore acknowledged at `at_unix_ms`; `false` when there is none.
    pub fn acknowledge_restore(&self, at_unix_ms: u64) -> Result<bool, Error> {
        let Some(mut r) = self.restore_record()? else {
            return Ok(false);
        };
        r.acknowledged_unix_ms = Some(at_unix_ms);
        self.record_restore(&r)?;
        Ok(true)
    }

    /// Stores the backup recipients the owner set through the status socket (replacing the
    /// earlier ones; they are public keys) and flushes.
    pub fn set_backup_recipients(&self, recipients: &[String]) -> Result<(), Error> {
        self.put_meta_json(RECIPIENTS_KEY, &recipients)
    }

    /// The recipients set through the status socket (empty when none were).
    pub fn backup_recipients(&self) -> Result<Vec<String>, Error> {
        Ok(self.meta_json(RECIPIENTS_KEY)?.unwrap_or_default())
    }

    /// Writes `value` as JSON under `key` of the backups tree's 0xff namespace, then flushes.
    fn put_meta_json(&self, key: &[u8], value: &impl Serialize) -> Result<(), Error> {
        let meta_tree = self
            .db
            .open_tree(META_TREE)
            .map_err(db_err(self, "opening"))?;
        self.put_json(&meta_tree, key, value)
    }

    /// The JSON value under `key` of that namespace.
    fn meta_json<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, Error> {
        let meta_tree = self
            .db
            .open_tree(META_TREE)
            .map_err(db_err(self, "opening"))?;
        self.get_json(&meta_tree, key)
    }

    /// The age file of backup `seq` of `kind`.
    pub fn backup_file(&self, kind: &str, seq: u64) -> Result<Option<Vec<u8>>, Error> {
        let files = self
            .db
            .open_tree(FILE_TREE)
            .map_err(db_err(self, "opening"))?;
        let mut key = vec![kind_byte(kind)];
        key.extend_from_slice(&seq.to_be_bytes());
        Ok(files
            .get(key)
            .map_err(db_err(self, "reading"))?
            .map(|v| v.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(kind: &str, fp: &str) -> BackupMeta {
        BackupMeta {
            version: 0,
            seq: 0,
            kind: kind.into(),
            created_unix_ms: 1,
            fingerprint: fp.into(),
            bytes: 3,
            peer_id: "16Uiu2HA".into(),
            lock_hash: None,
            exported_to: None,
        }
    }

    #[test]
    fn a_restore_is_recorded_until_acknowledged() {
        let d = tempfile::tempdir().unwrap();
        let s = StateStore::open(&d.path().join("state.sled"))
            .unwrap()
            .store;
        assert_eq!(s.restore_record().unwrap(), None);
        assert!(!s.acknowledge_restore(5).unwrap());
        let r = RestoreRecord {
            restored_unix_ms: 1,
            peer_id: "16Uiu2HA".into(),
            lock_hash: None,
            from_file: "box.age".into(),
            acknowledged_unix_ms: None,
        };
        s.record_restore(&r).unwrap();
        s.put_backup(&meta("key", "k"), b"x").unwrap();
        assert_eq!(s.backups().unwrap().len(), 1, "the record is not a backup");
        assert!(s.acknowledge_restore(7).unwrap());
        assert_eq!(
            s.restore_record().unwrap().unwrap().acknowledged_unix_ms,
            Some(7)
        );
    }

    #[test]
    fn recipients_set_over_the_socket_persist_and_are_not_backups() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("state.sled");
        {
            let s = StateStore::open(&path).unwrap().store;
            assert!(s.backup_recipients().unwrap().is_empty());
            s.set_backup_recipients(&["age1a".into(), "age1b".into()])
                .unwrap();
            s.put_backup(&meta("key", "k"), b"x").unwrap();
            assert_eq!(s.backups().unwrap().len(), 1);
        }
        let s = StateStore::open(&path).unwrap().store;
        assert_eq!(s.backup_recipients().unwrap(), vec!["age1a", "age1b"]);
        s.set_backup_recipients(&["age1c".into()]).unwrap();
        assert_eq!(s.backup_recipients().unwrap(), vec!["age1c"]);
    }

    #[test]
    fn a_file_without_meta_is_invisible_and_trimmed() {
        // As left by a crash between the two inserts of put_backup.
        let d = tempfile::tempdir().unwrap();
        let s = StateStore::open(&d.path().join("state.sled"))
            .unwrap()
            .store;
        let first = s.put_backup(&meta("full", "a"), b"first").unwrap();
        let files = s.db.open_tree(FILE_TREE).unwrap();
        let mut orphan = vec![1u8];
        orphan.extend_from_slice(&u64::MAX.to_be_bytes());
        files.insert(&orphan, &b"half"[..]).unwrap();
        assert_eq!(s.backups().unwrap().len(), 1);
        assert_eq!(s.latest_backup("full").unwrap().unwrap().seq, first);
        s.put_backup(&meta("full", "b"), b"second").unwrap();
        assert!(files.get(&orphan).unwrap().is_none());
        assert_eq!(s.backup_file("full", first).unwrap().unwrap(), b"first");
    }

    #[test]
    fn keeps_the_newest_five_per_kind_and_survives_reopening() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("state.sled");
        {
            let s = StateStore::open(&path).unwrap().store;
            s.put_backup(&meta("key", "k0"), b"age-key").unwrap();
            for i in 0..8 {
                s.put_backup(
                    &meta("full", &format!("f{i}")),
                    format!("age{i}").as_bytes(),
                )
                .unwrap();
            }
            let all = s.backups().unwrap();
            assert_eq!(
                all.iter().filter(|m| m.kind == "full").count(),
                BACKUPS_KEPT
            );
            assert_eq!(all.iter().filter(|m| m.kind == "key").count(), 1);
        }
        let s = StateStore::open(&path).unwrap().store;
        let latest = s.latest_backup("full").unwrap().unwrap();
        assert_eq!(latest.fingerprint, "f7");
        assert_eq!(s.backup_file("full", latest.seq).unwrap().unwrap(), b"age7");
        let oldest = s
            .backups()
            .unwrap()
            .into_iter()
            .filter(|m| m.kind == "full")
            .map(|m| m.fingerprint)
            .collect::<Vec<_>>();
        assert_eq!(oldest, ["f3", "f4", "f5", "f6", "f7"]);
        assert_eq!(s.latest_backup("key").unwrap().unwrap().fingerprint, "k0");
    }
}
