//! The backups `dkgd run` keeps in its state database: `dkgd backup list`, the record of a
//! restore, and `dkgd backup acknowledge-restore`. sled allows one process at a time, so these
//! take the daemon's run lock first (exit 75 while `dkgd run` is running).

use crate::cli::BackupStateArgs;
use crate::exit::{Code, Failure};
use anyhow::anyhow;
use dkgd_store::state::{RestoreRecord, RunLock, StateStore, STATE_DB_NAME};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// `--state-dir`, else `DKGD_STATE_DIR`, else the config file's, else the data dir (as
/// `dkgd run`).
pub(super) fn state_dir(args: &BackupStateArgs) -> Result<PathBuf, Failure> {
    super::config(&args.dir, args.state_dir.as_ref()).map(|c| c.state_dir)
}

/// The state database with the daemon's run lock held; `None` when there is none yet.
fn open(args: &BackupStateArgs) -> Result<Option<(RunLock, StateStore)>, Failure> {
    let dir = state_dir(args)?;
    if !dir.join(STATE_DB_NAME).exists() {
        return Ok(None);
    }
    let lock = RunLock::acquire(&dir).map_err(|e| match e {
        dkgd_store::Error::InUse { .. } => Failure::new(
            Code::TempFail,
            e,
            "dkgd run is running: `dkgd status` shows its backups; stop it (systemctl stop dkgd) \
             to use this command",
        ),
        e => Failure::new(Code::Failed, e, "check the state dir and its permissions"),
    })?;
    let opened = StateStore::open(&dir.join(STATE_DB_NAME)).map_err(|e| {
        Failure::new(
            Code::Failed,
            e,
            "the state database is unusable; the data dir's files are the source of truth",
        )
    })?;
    Ok(Some((lock, opened.store)))
}

/// `dkgd backup list`.
pub(super) fn list(args: &BackupStateArgs) -> Result<Code, Failure> {
    let Some((_lock, store)) = open(args)? else {
        println!(
            "no stored backups: {} has no state database (dkgd run has not run there)",
            state_dir(args)?.display()
        );
        return Ok(Code::Ok);
    };
    let all = store.backups().map_err(db_failure)?;
    if all.is_empty() {
        println!("no stored backups (configure backup_recipients so that dkgd run takes them)");
    }
    for m in &all {
        println!(
            "{:>6}  {:<4}  {}  {:>8} B  {}{}",
            m.seq,
            m.kind,
            dkgd_store::rfc3339_seconds(i64::try_from(m.created_unix_ms / 1000).unwrap_or(0)),
            m.bytes,
            m.lock_hash.as_deref().unwrap_or("(no lock yet)"),
            m.exported_to
                .as_deref()
                .map(|p| format!("  exported to {p}"))
                .unwrap_or_default()
        );
    }
    if let Some(r) = store.restore_record().map_err(db_failure)? {
        println!("{}", restore_line(&r));
    }
    Ok(Code::Ok)
}

/// `dkgd backup acknowledge-restore`.
pub(super) fn acknowledge(args: &BackupStateArgs) -> Result<Code, Failure> {
    let Some((_lock, store)) = open(args)? else {
        println!("nothing to acknowledge: this box was not restored from a backup");
        return Ok(Code::Ok);
    };
    if store.acknowledge_restore(now_ms()).map_err(db_failure)? {
        println!("acknowledged: the box the backup came from is gone for good");
    } else {
        println!("nothing to acknowledge: this box was not restored from a backup");
    }
    Ok(Code::Ok)
}

/// Records a restore for the daemon's status warning (best effort: the files are restored
/// whatever happens here).
pub(super) fn record_restore(args: &BackupStateArgs, record: &RestoreRecord) {
    let Ok(dir) = state_dir(args) else {
        eprintln!("warning: the restore is not recorded (the state dir is not configured)");
        return;
    };
    let result = RunLock::acquire(&dir)
        .and_then(|lock| StateStore::open(&dir.join(STATE_DB_NAME)).map(|o| (lock, o.store)))
        .and_then(|(_lock, store)| store.record_restore(record));
    if let Err(e) = result {
        eprintln!(
            "warning: the restore is not recorded in {} ({e}); the daemon will not show the \
             restore warning",
            dir.display()
        );
    }
}

/// A restore record as one line.
fn restore_line(r: &RestoreRecord) -> String {
    let when = dkgd_store::rfc3339_seconds(i64::try_from(r.restored_unix_ms / 1000).unwrap_or(0));
    match r.acknowledged_unix_ms {
        None => format!(
            "restored from {} on {when}; NOT acknowledged: the old box must never run again",
            r.from_file
        ),
        Some(_) => format!("restored from {} on {when}; acknowledged", r.from_file),
    }
}

/// The time now, Unix milliseconds.
pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn db_failure(e: dkgd_store::Error) -> Failure {
    Failure::new(
        Code::Failed,
        anyhow!(e),
        "the state database is unusable; the data dir's files are the source of truth",
    )
}
