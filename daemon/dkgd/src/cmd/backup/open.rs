//! `dkgd backup verify` and `dkgd backup restore`: open a backup, check it completely, and
//! (restore) write it into a new box's data dir.
//!
//! The complete check restores the backup into a private temporary directory (mode 0700,
//! in `/dev/shm` when writable, removed afterwards) and runs `dkgd verify --decrypt` on it: the lock's hashes and
//! signatures, the deposit files against the lock, every keystore decrypting to this
//! operator's share, and the key being the operator's. A restore runs that check first and
//! writes nothing unless it passes.

use super::{from_backup, passphrase};
use crate::cli::{BackupOpenArgs, BackupRestoreArgs};
use crate::exit::{Code, Failure};
use anyhow::anyhow;
use dkgd_backup::{Bundle, Kind, Unlock};
use dkgd_formats::verify::Report;
use std::fs::DirBuilder;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// `dkgd backup verify FILE [--identity F | --passphrase]`.
pub(super) fn verify(args: &BackupOpenArgs) -> Result<Code, Failure> {
    let bytes = dkgd_backup::read_backup_file(&args.file).map_err(from_backup)?;
    let info = dkgd_backup::inspect(&bytes, &args.file).map_err(from_backup)?;
    println!(
        "{}: age v1, {} bytes, encrypted to {}",
        args.file.display(),
        info.bytes,
        if info.passphrase {
            "a passphrase".to_owned()
        } else {
            format!("{} age public key(s)", info.x25519_recipients)
        }
    );
    let Some(unlock) = unlock(args)? else {
        println!("contents not checked: give --identity FILE (or --passphrase) to check them");
        return Ok(Code::Ok);
    };
    super::super::harden_process()?;
    let bundle = dkgd_backup::open(&bytes, unlock, &args.file).map_err(from_backup)?;
    print_manifest(&bundle);
    let report = check(&bundle)?;
    Ok(print_report(report.as_ref()))
}

/// `dkgd backup restore FILE --identity F --data-dir D --i-understand-…`.
pub(super) fn restore(args: &BackupRestoreArgs) -> Result<Code, Failure> {
    if !args.old_box_gone {
        return Err(Failure::new(
            Code::Usage,
            anyhow!(
                "restore needs --i-understand-the-old-box-must-never-run-again; nothing was changed"
            ),
            "a key running on two boxes gets the cluster's validators slashed: wipe or destroy \
             the old box (or its SD card) first, then add the flag",
        ));
    }
    let dir = super::config(&args.state.dir, args.state.state_dir.as_ref())?.data_dir;
    let bytes = dkgd_backup::read_backup_file(&args.open.file).map_err(from_backup)?;
    dkgd_backup::inspect(&bytes, &args.open.file).map_err(from_backup)?;
    let Some(unlock) = unlock(&args.open)? else {
        return Err(Failure::new(
            Code::Usage,
            anyhow!("restore needs --identity FILE or --passphrase; nothing was changed"),
            "give the owner's age identity file (AGE-SECRET-KEY-1…)",
        ));
    };
    super::super::harden_process()?;
    // Refuse a box with a key or artifacts before any work, and open and check the whole
    // backup before touching the target at all.
    if dir.is_dir() {
        dkgd_backup::preflight(&dir).map_err(from_backup)?;
    }
    let bundle = dkgd_backup::open(&bytes, unlock, &args.open.file).map_err(from_backup)?;
    print_manifest(&bundle);
    let report = check(&bundle)?;
    if print_report(report.as_ref()) != Code::Ok {
        return Err(Failure::new(
            Code::Failed,
            anyhow!("the backup does not verify; nothing was restored"),
            "use another copy of the backup",
        ));
    }
    // Hold the key lock while writing so neither the daemon nor a ceremony starts
    // meanwhile; check the target again under it.
    let data_dir = dkgd_store::DataDir::open_or_create(&dir).map_err(|e| from_backup(e.into()))?;
    let lock = data_dir
        .lock_key("dkgd backup restore")
        .map_err(|e| from_backup(e.into()))?;
    let written = dkgd_backup::restore(&bundle, &lock).map_err(from_backup)?;
    for p in &written {
        println!("restored {}", p.display());
    }
    let m = bundle.manifest();
    super::stored::record_restore(
        &args.state,
        &dkgd_store::state::RestoreRecord {
            restored_unix_ms: super::stored::now_ms(),
            peer_id: m.peer_id.clone(),
            lock_hash: m.lock_hash.clone(),
            from_file: args.open.file.display().to_string(),
            acknowledged_unix_ms: None,
        },
    );
    tracing::warn!(
        data_dir = %dir.display(),
        peer_id = %bundle.manifest().peer_id,
        "restored a backup: the box it came from must never run again"
    );
    println!(
        "Restored {} files into {}. The box this backup came from must never run again: two \
         boxes with one key get validators slashed.",
        written.len(),
        dir.display()
    );
    Ok(Code::Ok)
}

/// The unlock method the flags ask for; `None` when neither was given.
fn unlock(args: &BackupOpenArgs) -> Result<Option<Unlock>, Failure> {
    if args.passphrase {
        return Ok(Some(Unlock::Passphrase(passphrase::read(false)?)));
    }
    let Some(path) = &args.identity else {
        return Ok(None);
    };
    // Identity files are small; the content is a secret and stays in zeroizing buffers.
    let meta = std::fs::metadata(path).map_err(|e| {
        Failure::new(
            Code::Usage,
            anyhow!("cannot read {}: {e}", path.display()),
            "give the age identity file (AGE-SECRET-KEY-1…) with --identity",
        )
    })?;
    if meta.len() > 64 * 1024 {
        return Err(from_backup(dkgd_backup::Error::BadIdentity {
            file: path.clone(),
            line: 0,
        }));
    }
    let text = zeroize::Zeroizing::new(std::fs::read(path).map_err(|e| {
        Failure::new(
            Code::Usage,
            anyhow!("cannot read {}: {e}", path.display()),
            "check the path and its permissions",
        )
    })?);
    let ids = dkgd_backup::parse_identities(&text, path).map_err(from_backup)?;
    Ok(Some(Unlock::Identities(ids)))
}

fn print_manifest(bundle: &Bundle) {
    let m = bundle.manifest();
    println!(
        "{} backup of {} made {} by dkgd {}",
        match m.kind {
            Kind::Key => "key-only",
            Kind::Full => "full",
        },
        m.peer_id,
        m.created,
        m.dkgd_version
    );
    if let (Some(name), Some(hash)) = (&m.cluster_name, &m.lock_hash) {
        println!("cluster {name:?}, lock {hash}");
    }
    println!(
        "PASS         manifest: {} files, every SHA-256 matches; the key is this ENR's{}",
        m.files.len(),
        if m.kind == Kind::Full {
            " and an operator's in the lock"
        } else {
            ""
        }
    );
}

/// For a full backup, the data-dir verification of a temporary restore.
fn check(bundle: &Bundle) -> Result<Option<Report>, Failure> {
    if bundle.manifest().kind != Kind::Full {
        return Ok(None);
    }
    let tmp = TempDir::new()?;
    let lock = dkgd_store::DataDir::open(&tmp.0)
        .and_then(|d| d.lock_key("dkgd backup verify"))
        .map_err(|e| from_backup(e.into()))?;
    dkgd_backup::restore(bundle, &lock).map_err(from_backup)?;
    drop(lock);
    crate::cmd::verify::verify_data_dir(&tmp.0, true).map(Some)
}

/// Prints the checks and a result line; returns the exit code they make.
fn print_report(report: Option<&Report>) -> Code {
    let Some(r) = report else {
        println!("result: key-only backup verified");
        return Code::Ok;
    };
    for c in &r.checks {
        println!("{c}");
    }
    let s = r.summary();
    println!("result: {s}");
    if s.failed > 0 {
        Code::Failed
    } else {
        Code::Ok
    }
}

/// A private directory (mode 0700) in memory when possible (`/dev/shm`, so restored keys never
/// reach the SD card), else under the system temp dir; removed with what was restored into it
/// when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self, Failure> {
        let shm = Path::new("/dev/shm");
        let in_memory = std::env::var_os("TMPDIR").is_none()
            && shm.is_dir()
            && nix::unistd::access(shm, nix::unistd::AccessFlags::W_OK).is_ok();
        let base = if in_memory {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = base.join(format!("dkgd-backup-verify.{}.{nanos}", std::process::id()));
        DirBuilder::new().mode(0o700).create(&path).map_err(|e| {
            Failure::new(
                Code::Failed,
                anyhow!(
                    "cannot create a private directory in {}: {e}",
                    base.display()
                ),
                "set TMPDIR to a writable directory",
            )
        })?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        remove_tree(&self.0);
    }
}

/// Removes a temporary tree we created; read-only files (0400/0444) need their directory
/// writable, which it is.
fn remove_tree(p: &Path) {
    let _ = std::fs::remove_dir_all(p);
}
