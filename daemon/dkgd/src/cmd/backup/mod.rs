//! `dkgd backup keygen | export | verify | restore | list | acknowledge-restore`: encrypted backups of a box's key and
//! ceremony artifacts as standard age files (dkgd-backup), working on the data dir directly
//! (the daemon need not run; while it or a ceremony holds the key lock, export and restore
//! exit 75).
//!
//! Exit codes:
//! * 0: done; for `verify`, every check passed.
//! * 1: the backup is damaged, inconsistent, or a check failed (nothing was restored).
//! * 2: usage or input error: wrong identity or passphrase, missing flag, bad recipient, the
//!   output file exists, or the restore target already holds a key or artifacts (nothing
//!   was changed).
//! * 75: the key lock is held (the daemon is creating the key, or a ceremony runs); retry.
//! * 77: permissions: a directory is not writable, or a key file is unsafe.

mod open;
mod passphrase;
mod stored;

use crate::cli::{BackupArgs, BackupCommand, BackupDirArgs, BackupExportArgs, BackupKeygenArgs};
use crate::exit::{Code, Failure};
use anyhow::anyhow;
use dkgd_backup::{Error, ExposeSecret, Meta, Seal};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Runs `dkgd backup …`.
pub(crate) fn run(args: &BackupArgs) -> Result<Code, Failure> {
    match &args.command {
        BackupCommand::Keygen(a) => keygen(a),
        BackupCommand::Export(a) => export(a),
        BackupCommand::Verify(a) => open::verify(a),
        BackupCommand::Restore(a) => open::restore(a),
        BackupCommand::List(a) => stored::list(a),
        BackupCommand::AcknowledgeRestore(a) => stored::acknowledge(a),
        BackupCommand::SetRecipient(a) => stored::set_recipients(a),
    }
}

/// The `dkgd run` configuration these commands share, with `dkgd run`'s precedence: flag >
/// `DKGD_*` environment > config file (`--config` or `DKGD_CONFIG`) > default.
fn config(
    args: &BackupDirArgs,
    state_dir: Option<&PathBuf>,
) -> Result<dkgd_node::config::Config, Failure> {
    let file = args
        .config
        .clone()
        .or_else(|| std::env::var_os("DKGD_CONFIG").map(PathBuf::from));
    let flags = dkgd_node::config::Settings {
        data_dir: args.data_dir.clone(),
        state_dir: state_dir.cloned(),
        ..dkgd_node::config::Settings::default()
    };
    dkgd_node::config::load(file.as_deref(), |k| std::env::var(k).ok(), flags).map_err(|e| {
        Failure::new(
            Code::Usage,
            e,
            "fix the setting named above (the same file and variables as dkgd run)",
        )
    })
}

/// `dkgd backup keygen`: a new age identity, shown (or written) once.
fn keygen(args: &BackupKeygenArgs) -> Result<Code, Failure> {
    super::harden_process()?;
    let id = dkgd_backup::generate_identity();
    let text = zeroize::Zeroizing::new(format!(
        "# created: {}\n# public key: {}\n{}\n",
        dkgd_store::now_rfc3339_seconds(),
        id.recipient,
        id.secret.expose_secret()
    ));
    match &args.output {
        Some(path) => {
            let (dir, name) = split(path)?;
            dkgd_store::atomic::create_new(&dir, &name, text.as_bytes(), 0o600)
                .map_err(|e| from_backup(Error::Store(e)))?;
            println!("{}", id.recipient);
            eprintln!(
                "Wrote the identity to {}. Keep it off the box (a password manager or paper); \
                 configure the box with its public key above.",
                path.display()
            );
        }
        None => {
            print!("{}", *text);
            eprintln!("Public key: {}", id.recipient);
        }
    }
    Ok(Code::Ok)
}

/// `dkgd backup export FILE`: collect, encrypt, write FILE (new, 0600) atomically.
fn export(args: &BackupExportArgs) -> Result<Code, Failure> {
    super::harden_process()?;
    let cfg = config(&args.dir, None)?;
    let dir = cfg.data_dir;
    // Validate everything before the first read of a secret.
    let (out_dir, out_name) = split(&args.file)?;
    if args.file.symlink_metadata().is_ok() {
        return Err(Failure::new(
            Code::Usage,
            anyhow!("{} already exists", args.file.display()),
            "choose a new file name; a backup never replaces a file",
        ));
    }
    let seal = if args.passphrase {
        Seal::Passphrase(passphrase::read(true)?)
    } else {
        // --recipient, else backup_recipients (DKGD_BACKUP_RECIPIENTS or the config file).
        let given = if args.recipients.is_empty() {
            &cfg.backup_recipients
        } else {
            &args.recipients
        };
        let to = dkgd_backup::parse_recipients(given).map_err(from_backup)?;
        if to.is_empty() {
            return Err(from_backup(Error::NoRecipient));
        }
        Seal::Recipients(to)
    };
    let data_dir = dkgd_store::DataDir::open(&dir).map_err(|e| from_backup(e.into()))?;
    let _lock = data_dir
        .lock_key("dkgd backup export")
        .map_err(|e| from_backup(e.into()))?;
    let started = Instant::now();
    let meta = Meta {
        dkgd_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_unix_secs: now_unix(),
    };
    let (bytes, collected) = dkgd_backup::export(&dir, &meta, seal).map_err(from_backup)?;
    dkgd_store::atomic::create_new(&out_dir, &out_name, &bytes, 0o600)
        .map_err(|e| from_backup(e.into()))?;
    let m = collected.bundle.manifest();
    tracing::info!(
        file = %args.file.display(),
        bytes = bytes.len(),
        files = m.files.len(),
        elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "backup written"
    );
    println!(
        "Wrote {} ({} bytes): {} backup of {} ({} files{}).",
        args.file.display(),
        bytes.len(),
        match m.kind {
            dkgd_backup::Kind::Key => "key-only",
            dkgd_backup::Kind::Full => "full",
        },
        m.peer_id,
        m.files.len(),
        m.lock_hash
            .as_deref()
            .map(|h| format!(", lock {h}"))
            .unwrap_or_default()
    );
    for p in &collected.skipped {
        eprintln!(
            "warning: {} is not part of a backup; it was left out",
            p.display()
        );
    }
    println!("Check it on another machine with: dkgd backup verify FILE --identity KEY");
    Ok(Code::Ok)
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A new file's directory and name (for dkgd-store's atomic create).
fn split(path: &Path) -> Result<(PathBuf, String), Failure> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| {
            Failure::new(
                Code::Usage,
                anyhow!("{} does not name a file", path.display()),
                "give a file name such as box-backup.age",
            )
        })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((dir, name))
}

/// A dkgd-backup error as a command failure with its exit code and hint.
fn from_backup(e: Error) -> Failure {
    use dkgd_store::Error as S;
    let code = match &e {
        Error::Damaged { .. } | Error::Invalid { .. } | Error::NotABackup { .. } => Code::Failed,
        Error::Store(S::InUse { .. }) => Code::TempFail,
        Error::Store(S::UnsafePermissions { .. } | S::NotWritable { .. }) => Code::NoPerm,
        Error::Store(S::Io { .. }) | Error::Io { .. } | Error::Internal(_) => Code::Failed,
        _ => Code::Usage,
    };
    let hint = match &e {
        Error::Store(S::InUse { .. }) => {
            "the daemon or a ceremony holds the key right now; retry in a minute".to_owned()
        }
        Error::Store(S::NotFound { path }) => format!(
            "{} does not exist; give the box's data dir with --data-dir",
            path.display()
        ),
        Error::Store(S::AlreadyExists { path }) => format!(
            "{} was left as it was; choose a new file name",
            path.display()
        ),
        _ => e.hint(),
    };
    Failure::new(code, e, hint)
}
