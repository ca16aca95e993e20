//! The backups `dkgd run` keeps in its state database: `dkgd backup list`, the record of a
//! restore, `dkgd backup acknowledge-restore` and `dkgd backup set-recipient`. sled allows one
//! process at a time: with the daemon stopped these take its run lock and open the database;
//! while it runs, they ask it through its status socket (`GET /backups`, `POST /backup/…`).

use crate::cli::{BackupSetRecipientArgs, BackupStateArgs};
use crate::exit::{Code, Failure};
use anyhow::anyhow;
use dkgd_store::state::{BackupMeta, RestoreRecord, RunLock, StateStore, STATE_DB_NAME};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// `--state-dir`, else `DKGD_STATE_DIR`, else the config file's, else the data dir (as
/// `dkgd run`).
pub(super) fn state_dir(args: &BackupStateArgs) -> Result<PathBuf, Failure> {
    super::config(&args.dir, args.state_dir.as_ref()).map(|c| c.state_dir)
}

/// How the state database is reached.
enum Access {
    /// No database yet (dkgd run has not run there).
    Nothing,
    /// Opened here, with the daemon's run lock held.
    Local(RunLock, StateStore),
    /// The daemon runs: ask it through this socket.
    Daemon(PathBuf),
}

/// The state database with the daemon's run lock held, or the daemon's socket.
fn open(args: &BackupStateArgs) -> Result<Access, Failure> {
    let cfg = super::config(&args.dir, args.state_dir.as_ref())?;
    let dir = cfg.state_dir.clone();
    if !dir.join(STATE_DB_NAME).exists() {
        return Ok(Access::Nothing);
    }
    let lock = match RunLock::acquire(&dir) {
        Ok(lock) => lock,
        Err(dkgd_store::Error::InUse { .. }) => {
            let socket = args.socket.clone().unwrap_or(cfg.socket);
            return Ok(Access::Daemon(socket));
        }
        Err(e) => {
            return Err(Failure::new(
                Code::Failed,
                e,
                "check the state dir and its permissions",
            ))
        }
    };
    let opened = StateStore::open(&dir.join(STATE_DB_NAME)).map_err(|e| {
        Failure::new(
            Code::Failed,
            e,
            "the state database is unusable; the data dir's files are the source of truth",
        )
    })?;
    Ok(Access::Local(lock, opened.store))
}

/// One request to the running daemon; the JSON answer of a 200, or the failure.
fn ask_daemon(
    socket: &std::path::Path,
    method: hyper::Method,
    path: &str,
    body: Option<String>,
) -> Result<serde_json::Value, Failure> {
    let answer = crate::cmd::status::ask(socket, method, path, body)?;
    let why = answer.error_text();
    let fail = |code, hint: &str| {
        Err(Failure::new(
            code,
            anyhow!("the daemon refused: {why}"),
            hint,
        ))
    };
    match answer.code.as_u16() {
        200 => serde_json::from_slice(&answer.body)
            .map_err(|e| crate::cmd::status::bad_answer(socket, &format!("not JSON: {e}"))),
        400 | 413 => fail(Code::Usage, "check the age public keys (age1…)"),
        403 => fail(Code::NoPerm, "run it with sudo, or as the daemon's user"),
        _ => fail(Code::Failed, "see `dkgd status` and the daemon's journal"),
    }
}

/// `dkgd backup list`.
pub(super) fn list(args: &BackupStateArgs) -> Result<Code, Failure> {
    let (all, store) = match open(args)? {
        Access::Nothing => {
            println!(
                "no stored backups: {} has no state database (dkgd run has not run there)",
                state_dir(args)?.display()
            );
            return Ok(Code::Ok);
        }
        Access::Local(_lock, store) => (store.backups().map_err(db_failure)?, Some(store)),
        Access::Daemon(socket) => {
            let v = ask_daemon(&socket, hyper::Method::GET, "/backups", None)?;
            let all: Vec<BackupMeta> = serde_json::from_value(v["backups"].clone())
                .map_err(|e| crate::cmd::status::bad_answer(&socket, &format!("backups: {e}")))?;
            (all, None)
        }
    };
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
    match store {
        Some(store) => {
            if let Some(r) = store.restore_record().map_err(db_failure)? {
                println!("{}", restore_line(&r));
            }
        }
        None => println!("(listed by the running daemon; `dkgd status` shows any restore warning)"),
    }
    Ok(Code::Ok)
}

/// `dkgd backup acknowledge-restore`.
pub(super) fn acknowledge(args: &BackupStateArgs) -> Result<Code, Failure> {
    let done = match open(args)? {
        Access::Nothing => false,
        Access::Local(_lock, store) => store.acknowledge_restore(now_ms()).map_err(db_failure)?,
        Access::Daemon(socket) => {
            let v = ask_daemon(
                &socket,
                hyper::Method::POST,
                "/backup/acknowledge-restore",
                Some(String::new()),
            )?;
            v["acknowledged"].as_bool().unwrap_or(false)
        }
    };
    if done {
        println!("acknowledged: the box the backup came from is gone for good");
    } else {
        println!("nothing to acknowledge: this box was not restored from a backup");
    }
    Ok(Code::Ok)
}

/// `dkgd backup set-recipient`.
pub(super) fn set_recipients(args: &BackupSetRecipientArgs) -> Result<Code, Failure> {
    if let Err(e) = dkgd_backup::parse_recipients(&args.recipients) {
        return Err(Failure::new(
            Code::Usage,
            anyhow!("backup recipient: {e}"),
            "give the owner's age public key (age1…), as printed by age-keygen or dkgd backup keygen",
        ));
    }
    let n = match open(&args.state)? {
        Access::Daemon(socket) => {
            let v = ask_daemon(
                &socket,
                hyper::Method::POST,
                "/backup/recipients",
                Some(args.recipients.join("\n")),
            )?;
            v["recipients"].as_u64().unwrap_or(0)
        }
        Access::Local(_lock, store) => {
            store
                .set_backup_recipients(&args.recipients)
                .map_err(db_failure)?;
            args.recipients.len() as u64
        }
        Access::Nothing => {
            return Err(Failure::new(
                Code::Failed,
                anyhow!(
                    "{} has no state database: dkgd run has not run there",
                    state_dir(&args.state)?.display()
                ),
                "start dkgd run first (or set backup_recipients in its config)",
            ))
        }
    };
    println!("backups are now encrypted to {n} recipient(s); the daemon takes a new backup for them when it runs");
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
