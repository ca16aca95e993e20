//! Automatic backups (README "Backups"): when there is something new to protect (the key
//! after first boot, everything after a complete ceremony), the data dir is backed up with
//! dkgd-backup, encrypted to the configured owner keys, kept in sled (last 5 per kind) and
//! written to the export directory if one is configured. Without a recipient nothing is
//! taken and the status warns that the keys exist only on this box.
//!
//! ```text
//!  state change ─▶ wanted kind (key | full) ─▶ collect ─▶ same files as the newest stored
//!                  backup of that kind? ── yes ─▶ nothing to do
//!                                         no ──▶ tar ─▶ age ─▶ sled ─▶ export dir (atomic)
//! ```
//!
//! Blocking (file reads, scrypt-free X25519 encryption, a sled flush): the shell runs it in
//! `spawn_blocking`.

use super::state::StateDb;
use crate::status::model::BackupStatus;
use dkgd_backup::{Kind, Meta, Seal};
use dkgd_store::state::BackupMeta;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The status warning shown while no recipient is configured.
pub(super) const NO_RECIPIENT_WARNING: &str =
    "no backup recipient: this box's keys exist only here";

/// The start of the status warning shown after a restore until the owner acknowledges it.
pub(super) const RESTORED_WARNING: &str =
    "RESTORED FROM A BACKUP: the box it came from must never run again";

/// Settings of the automatic backups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct AutoBackup {
    /// age public keys (`age1…`), already validated.
    pub(super) recipients: Vec<String>,
    /// Where a copy of each new backup is written, if anywhere.
    pub(super) export_dir: Option<PathBuf>,
    /// The kind last made sure of in this process (the work is skipped until it changes).
    pub(super) done: Option<Kind>,
}

/// What one attempt did.
#[derive(Debug)]
pub(super) enum Outcome {
    /// A new backup was stored (and exported, when the path is set).
    Taken(BackupMeta),
    /// The newest stored backup of the kind already holds these files.
    Unchanged,
    /// The data dir does not hold what the kind needs yet (e.g. no lock for a full backup).
    NotYet,
    /// No recipient configured.
    NoRecipient,
}

impl AutoBackup {
    /// The settings of `cfg`, with the recipients the owner set through the status socket
    /// (kept in `store`) added to the configured ones.
    pub(super) fn new(cfg: &crate::config::Config, store: &StateDb) -> Self {
        let stored = store.backup_recipients().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the backup recipients set through the status socket");
            Vec::new()
        });
        Self {
            recipients: merged(&cfg.backup_recipients, &stored),
            export_dir: cfg.backup_export_dir.clone(),
            done: None,
        }
    }
}

/// The configured recipients, then the socket-set ones not already among them.
pub(super) fn merged(configured: &[String], stored: &[String]) -> Vec<String> {
    let mut all = configured.to_vec();
    for r in stored {
        if !all.contains(r) {
            all.push(r.clone());
        }
    }
    all
}

/// Answers one backup request from the status socket; `true` when the recipients changed
/// (the caller then takes a new backup for them).
pub(super) async fn answer(
    cmd: crate::status::Command,
    store: std::sync::Arc<StateDb>,
    auto: &mut AutoBackup,
    configured: &[String],
) -> bool {
    use crate::status::Command;
    let task_failed = || "the state database task failed".to_owned();
    match cmd {
        Command::ListBackups { reply } => {
            let all = super::blocking(move || store.backups().map_err(|e| e.to_string()))
                .await
                .unwrap_or_else(|| Err(task_failed()));
            let _ = reply.send(all);
            false
        }
        Command::AcknowledgeRestore { reply } => {
            let at = now_unix_ms();
            let done =
                super::blocking(move || store.acknowledge_restore(at).map_err(|e| e.to_string()))
                    .await
                    .unwrap_or_else(|| Err(task_failed()));
            if done == Ok(true) {
                tracing::info!("the owner acknowledged the restore: the box the backup came from is gone for good");
            }
            let _ = reply.send(done);
            false
        }
        Command::SetBackupRecipients { recipients, reply } => {
            let set = recipients.clone();
            let saved = super::blocking(move || {
                store.set_backup_recipients(&set).map_err(|e| e.to_string())
            })
            .await
            .unwrap_or_else(|| Err(task_failed()));
            if let Err(e) = saved {
                let _ = reply.send(Err(e));
                return false;
            }
            auto.recipients = merged(configured, &recipients);
            tracing::info!(
                recipients = auto.recipients.len(),
                "backup recipients set through the status socket"
            );
            let _ = reply.send(Ok(auto.recipients.len()));
            true
        }
    }
}

/// Logs what an attempt did (one line for a new backup, nothing when nothing changed).
pub(super) fn log(outcome: &Outcome) {
    match outcome {
        Outcome::Taken(m) => tracing::info!(
            kind = %m.kind,
            bytes = m.bytes,
            seq = m.seq,
            exported_to = ?m.exported_to,
            "automatic backup stored"
        ),
        Outcome::NoRecipient => tracing::warn!("{NO_RECIPIENT_WARNING}"),
        Outcome::Unchanged | Outcome::NotYet => {}
    }
}

/// `status` with the backup facts and, without a recipient, the warning.
pub(super) fn with_backup(
    mut status: crate::status::model::Status,
    store: &StateDb,
    auto: &AutoBackup,
) -> crate::status::model::Status {
    status.backup = self::status(store, auto.recipients.len());
    if let Ok(Some(r)) = store.restore_record() {
        if r.acknowledged_unix_ms.is_none() {
            let when =
                dkgd_store::rfc3339_seconds(i64::try_from(r.restored_unix_ms / 1000).unwrap_or(0));
            status.warnings.push(format!(
                "{RESTORED_WARNING} (restored from {} on {when}); once it is wiped, stop dkgd \
                 and run: dkgd backup acknowledge-restore",
                r.from_file
            ));
        }
    }
    if auto.recipients.is_empty() {
        status.warnings.push(NO_RECIPIENT_WARNING.to_owned());
    }
    status
}

/// Makes sure the newest stored backup of `want` holds the data dir's current files.
pub(super) fn ensure(
    data_dir: &Path,
    store: &StateDb,
    recipients: &[String],
    export_dir: Option<&Path>,
    want: Kind,
) -> Result<Outcome, String> {
    if recipients.is_empty() {
        return Ok(Outcome::NoRecipient);
    }
    if let Some(dir) = export_dir {
        remove_stale_temps(dir);
    }
    let to = dkgd_backup::parse_recipients(recipients).map_err(|e| e.to_string())?;
    let now_ms = now_unix_ms();
    let meta = Meta {
        dkgd_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_unix_secs: i64::try_from(now_ms / 1000).unwrap_or(i64::MAX),
    };
    let collected = dkgd_backup::collect(data_dir, &meta).map_err(|e| e.to_string())?;
    let manifest = collected.bundle.manifest();
    if manifest.kind != want {
        return Ok(Outcome::NotYet);
    }
    let kind = kind_name(want);
    let fingerprint = fingerprint(manifest, recipients);
    let latest = store.latest_backup(kind).map_err(|e| e.to_string())?;
    if latest.is_some_and(|m| m.fingerprint == fingerprint) {
        return Ok(Outcome::Unchanged);
    }
    let plain = collected.bundle.to_tar().map_err(|e| e.to_string())?;
    let sealed = dkgd_backup::encrypt(&plain, Seal::Recipients(to)).map_err(|e| e.to_string())?;
    let exported_to = match export_dir {
        Some(dir) => {
            let name = file_name(&manifest.peer_id, kind, &manifest.created);
            match dkgd_store::atomic::create_new(dir, &name, &sealed, 0o600) {
                Ok(p) => Some(p.display().to_string()),
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "cannot write the backup to the export directory; it is kept in the state database");
                    None
                }
            }
        }
        None => None,
    };
    let record = BackupMeta {
        version: 0,
        seq: 0,
        kind: kind.to_owned(),
        created_unix_ms: now_ms,
        fingerprint,
        bytes: sealed.len() as u64,
        peer_id: manifest.peer_id.clone(),
        lock_hash: manifest.lock_hash.clone(),
        exported_to,
    };
    let seq = store
        .put_backup(&record, &sealed)
        .map_err(|e| e.to_string())?;
    Ok(Outcome::Taken(BackupMeta { seq, ..record }))
}

/// Removes temporary files an earlier daemon left in the export dir when it was killed
/// mid-write (`.dkgd-backup-….age.tmp.<pid>.<n>`: never a finished backup, never a key; the
/// run lock guarantees no other daemon writes there meanwhile).
fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.filter_map(Result::ok) {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(".dkgd-backup-") && name.contains(".age.tmp.") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// The backup part of the status document.
pub(super) fn status(store: &StateDb, recipients: usize) -> BackupStatus {
    let all = store.backups().unwrap_or_default();
    let last = all.iter().max_by_key(|m| m.created_unix_ms);
    BackupStatus {
        recipients: u32::try_from(recipients).unwrap_or(u32::MAX),
        count: u32::try_from(all.len()).unwrap_or(u32::MAX),
        last_kind: last.map(|m| m.kind.clone()),
        last_unix: last.map(|m| m.created_unix_ms / 1000),
        last_exported_to: last.and_then(|m| m.exported_to.clone()),
    }
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Key => "key",
        Kind::Full => "full",
    }
}

/// SHA-256 over every file's path and hash and the recipients: the backup's content and who
/// can open it, whatever its time (a new recipient gets a new backup).
fn fingerprint(m: &dkgd_backup::Manifest, recipients: &[String]) -> String {
    let mut h = Sha256::new();
    let mut to: Vec<&String> = recipients.iter().collect();
    to.sort();
    for r in to {
        h.update(r.as_bytes());
        h.update([0]);
    }
    for f in &m.files {
        h.update(f.path.as_bytes());
        h.update([0]);
        h.update(f.sha256.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

/// `dkgd-backup-<last 8 of the peer ID>-<kind>-<YYYYMMDDTHHMMSSZ>.age`.
fn file_name(peer_id: &str, kind: &str, created: &str) -> String {
    let short: String = peer_id
        .chars()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let stamp: String = created.chars().filter(|c| *c != '-' && *c != ':').collect();
    format!("dkgd-backup-{short}-{kind}-{stamp}.age")
}

fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A data dir with a fresh key, a state database, and an owner.
    fn setup() -> (tempfile::TempDir, PathBuf, StateDb, Vec<String>) {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("data");
        let lock = dkgd_store::DataDir::open_or_create(&dir)
            .unwrap()
            .lock_key("test")
            .unwrap();
        let key = dkgd_crypto::k1::K1SecretKey::generate(&mut rand_core::OsRng);
        lock.create_key(&key).unwrap();
        let (store, _, _) = StateDb::open(&d.path().join("state.sled"), None).unwrap();
        let owner = dkgd_backup::generate_identity();
        (d, dir, store, vec![owner.recipient])
    }

    #[test]
    fn a_key_backup_is_taken_once_and_exported() {
        let (d, dir, store, to) = setup();
        let export = d.path().join("usb");
        std::fs::create_dir(&export).unwrap();
        let first = ensure(&dir, &store, &to, Some(&export), Kind::Key).unwrap();
        let Outcome::Taken(m) = first else {
            panic!("{first:?}")
        };
        assert_eq!(m.kind, "key");
        let exported = PathBuf::from(m.exported_to.unwrap());
        assert_eq!(
            std::fs::read(&exported).unwrap(),
            store.backup_file("key", m.seq).unwrap().unwrap()
        );
        // A temporary file left by a killed daemon goes away with the next write.
        let stale = export.join(".dkgd-backup-x-key-y.age.tmp.1.0");
        std::fs::write(&stale, b"half").unwrap();
        // Nothing new to protect: no second backup, no second file.
        assert!(matches!(
            ensure(&dir, &store, &to, Some(&export), Kind::Key).unwrap(),
            Outcome::Unchanged
        ));
        assert_eq!(std::fs::read_dir(&export).unwrap().count(), 1);
        // No lock yet: a full backup waits.
        assert!(matches!(
            ensure(&dir, &store, &to, None, Kind::Full).unwrap(),
            Outcome::NotYet
        ));
        assert!(matches!(
            ensure(&dir, &store, &[], None, Kind::Key).unwrap(),
            Outcome::NoRecipient
        ));
        let st = status(&store, 1);
        assert_eq!((st.count, st.last_kind.as_deref()), (1, Some("key")));
    }

    #[test]
    fn no_recipient_puts_the_warning_in_the_status() {
        let (_d, _dir, store, _) = setup();
        let s = with_backup(
            crate::status::model::Status::default(),
            &store,
            &AutoBackup::default(),
        );
        assert_eq!(s.warnings, [NO_RECIPIENT_WARNING]);
        assert_eq!(s.backup.recipients, 0);
        store
            .record_restore(&dkgd_store::state::RestoreRecord {
                restored_unix_ms: 0,
                peer_id: String::new(),
                lock_hash: None,
                from_file: "box.age".into(),
                acknowledged_unix_ms: None,
            })
            .unwrap();
        let s = with_backup(
            crate::status::model::Status::default(),
            &store,
            &AutoBackup::default(),
        );
        assert!(
            s.warnings[0].starts_with(RESTORED_WARNING),
            "{:?}",
            s.warnings
        );
        store.acknowledge_restore(1).unwrap();
        let s = with_backup(
            crate::status::model::Status::default(),
            &store,
            &AutoBackup::default(),
        );
        assert_eq!(s.warnings, [NO_RECIPIENT_WARNING]);
    }

    #[test]
    fn export_file_names_are_plain() {
        assert_eq!(
            file_name("16Uiu2HAmABCDEFGH", "full", "2026-12-03T20:12:45Z"),
            "dkgd-backup-ABCDEFGH-full-20261203T201245Z.age"
        );
    }
}
