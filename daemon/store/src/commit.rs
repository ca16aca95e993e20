//! All-or-nothing commit of a ceremony's artifacts into a data dir (formats.md §9).
//!
//! ```text
//!  preflight     no cluster-lock.json, validator_keys/ or deposit-data* yet   (else NotClean)
//!  stage         .dkgd-staging/{validator_keys/keystore-N.{json,txt} (0400, dir 0700),
//!                deposit-data*.json (0444),
//!                cluster-lock.json}: every file created O_EXCL, fsynced; dirs fsynced
//!  seal          .dkgd-staging/COMMIT written atomically   ◀── the commit point   [stage]
//!  publish       rename validator_keys/, then deposit files, then cluster-lock.json LAST
//!                (each without replacing), fsync the data dir; remove COMMIT and the empty
//!                staging dir                                                     [publish]
//! ```
//!
//! [`commit`] does both at once. A ceremony calls [`stage`] before it tells its peers it has
//! written, and [`publish`] only once every peer said so (issue 12 §1): a node that cannot
//! stage keeps every node from publishing. A ceremony that aborts after staging calls
//! [`withhold`], which renames the sealed staging dir to `.dkgd-staging.unpublished-<n>`
//! (kept, never published by itself).
//!
//! A crash before the seal leaves the old state plus an unsealed staging dir, which the next
//! [`recover`] moves aside (never deletes: it may hold key shares). A crash after the seal is
//! rolled forward by [`recover`]. So `cluster-lock.json` present ⇔ the commit completed.

use crate::atomic::{create_new, rename_noreplace};
use crate::error::Error;
use crate::fsutil::sync_dir;
use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// Name of the staging directory inside the data dir.
pub const STAGING_DIR: &str = ".dkgd-staging";
const SEAL: &str = "COMMIT";
const LOCK_FILE: &str = "cluster-lock.json";
const KEYS_DIR: &str = "validator_keys";

/// One validator keystore and its password (file names `keystore-<index>.{json,txt}`).
pub struct KeystoreArtifact<'a> {
    /// Validator index in the lock.
    pub index: usize,
    /// EIP-2335 JSON (written 0400: encrypted, but owner-only like every secret-bearing file;
    /// charon writes 0444).
    pub json: &'a [u8],
    /// Password file content (written 0400).
    pub password: &'a [u8],
}

/// Everything one node writes after a successful ceremony.
pub struct Artifacts<'a> {
    /// `cluster-lock.json` bytes (written 0444).
    pub lock_json: &'a [u8],
    /// `(file name, bytes)` of each `deposit-data*.json` (written 0444).
    pub deposit_files: Vec<(&'a str, &'a [u8])>,
    /// The keystores.
    pub keystores: Vec<KeystoreArtifact<'a>>,
}

/// Fails with [`Error::NotClean`] if `dir` already holds artifacts (charon's rule).
pub fn preflight(dir: &Path) -> Result<(), Error> {
    for name in [LOCK_FILE, KEYS_DIR] {
        let p = dir.join(name);
        if p.symlink_metadata().is_ok() {
            return Err(Error::NotClean { path: p });
        }
    }
    let entries = fs::read_dir(dir).map_err(|e| Error::io("listing", dir, e))?;
    for e in entries {
        let e = e.map_err(|e| Error::io("listing", dir, e))?;
        if e.file_name().to_string_lossy().starts_with("deposit-data") {
            return Err(Error::NotClean { path: e.path() });
        }
    }
    Ok(())
}

/// Writes `artifacts` into `dir` all-or-nothing (see the module docs). Returns the paths
/// published, lock last.
pub fn commit(dir: &Path, artifacts: &Artifacts<'_>) -> Result<Vec<PathBuf>, Error> {
    stage(dir, artifacts)?;
    publish(dir)
}

/// Writes `artifacts` into a sealed staging dir inside `dir` without publishing them (see the
/// module docs): after it returns, a crash rolls the commit forward, and [`publish`] or
/// [`withhold`] ends it.
pub fn stage(dir: &Path, artifacts: &Artifacts<'_>) -> Result<(), Error> {
    recover(dir)?;
    preflight(dir)?;
    let staging = dir.join(STAGING_DIR);
    make_dir(&staging, 0o700)?;
    let keys = staging.join(KEYS_DIR);
    make_dir(&keys, 0o700)?;
    for k in &artifacts.keystores {
        create_new(&keys, &format!("keystore-{}.json", k.index), k.json, 0o400)?;
        create_new(
            &keys,
            &format!("keystore-{}.txt", k.index),
            k.password,
            0o400,
        )?;
    }
    for (name, bytes) in &artifacts.deposit_files {
        if !name.starts_with("deposit-data") || !name.ends_with(".json") {
            return Err(Error::Internal(
                "deposit file names start with deposit-data",
            ));
        }
        create_new(&staging, name, bytes, 0o444)?;
    }
    create_new(&staging, LOCK_FILE, artifacts.lock_json, 0o444)?;
    sync_dir(&keys)?;
    create_new(&staging, SEAL, b"sealed\n", 0o400)?;
    Ok(())
}

/// Sets a sealed staging dir aside as `.dkgd-staging.unpublished-<n>` (never deleted: it holds
/// key shares), so that no restart publishes it; returns where it went (`None`: there was no
/// staging dir).
pub fn withhold(dir: &Path) -> Result<Option<PathBuf>, Error> {
    set_aside(dir, "unpublished")
}

/// The staged sets [`withhold`] kept aside in `dir`, oldest first.
pub fn kept(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let prefix = format!("{STAGING_DIR}.unpublished-");
    let mut found: Vec<(u32, PathBuf)> = fs::read_dir(dir)
        .map_err(|e| Error::io("listing", dir, e))?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let n = name.strip_prefix(&prefix)?.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    found.sort();
    Ok(found.into_iter().map(|(_, p)| p).collect())
}

/// Publishes a staged set that [`withhold`] kept aside at `kept` (inside `dir`): it becomes
/// the staging dir again and is published. Returns the paths published, lock last.
pub fn publish_kept(dir: &Path, kept: &Path) -> Result<Vec<PathBuf>, Error> {
    recover(dir)?;
    preflight(dir)?;
    if !kept.join(SEAL).is_file() {
        return Err(Error::NotFound {
            path: kept.join(SEAL),
        });
    }
    rename_noreplace(kept, &dir.join(STAGING_DIR))?;
    sync_dir(dir)?;
    publish(dir)
}

/// Completes a sealed commit left by a crash, or moves an unsealed staging dir aside to
/// `.dkgd-staging.abandoned-<n>` (never deleting it). Does nothing when there is none.
pub fn recover(dir: &Path) -> Result<Option<PathBuf>, Error> {
    let staging = dir.join(STAGING_DIR);
    if staging.symlink_metadata().is_err() {
        return Ok(None);
    }
    if staging.join(SEAL).is_file() {
        publish(dir)?;
        return Ok(None);
    }
    set_aside(dir, "abandoned")
}

/// Renames the staging dir to the first free `.dkgd-staging.<what>-<n>`.
fn set_aside(dir: &Path, what: &str) -> Result<Option<PathBuf>, Error> {
    let staging = dir.join(STAGING_DIR);
    if staging.symlink_metadata().is_err() {
        return Ok(None);
    }
    for n in 0u32.. {
        let aside = dir.join(format!("{STAGING_DIR}.{what}-{n}"));
        if aside.symlink_metadata().is_err() {
            rename_noreplace(&staging, &aside)?;
            sync_dir(dir)?;
            return Ok(Some(aside));
        }
    }
    Err(Error::Internal("no free name for an abandoned staging dir"))
}

/// Moves a sealed staging dir's content into place, lock last; idempotent. Returns the paths
/// published, lock last.
pub fn publish(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let staging = dir.join(STAGING_DIR);
    let mut names: Vec<String> = fs::read_dir(&staging)
        .map_err(|e| Error::io("listing", &staging, e))?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n != SEAL && n != LOCK_FILE)
        .collect();
    // validator_keys first, then deposit files; the lock last marks completion.
    names.sort_by_key(|n| (n != KEYS_DIR, n.clone()));
    if staging.join(LOCK_FILE).exists() {
        names.push(LOCK_FILE.to_string());
    }
    let mut published = Vec::new();
    for name in names {
        let to = dir.join(&name);
        rename_noreplace(&staging.join(&name), &to)?;
        published.push(to);
    }
    sync_dir(dir)?;
    // Only the seal (no key material) and the now-empty directory are removed.
    fs::remove_file(staging.join(SEAL)).map_err(|e| Error::io("removing", &staging, e))?;
    fs::remove_dir(&staging).map_err(|e| Error::io("removing", &staging, e))?;
    sync_dir(dir)?;
    Ok(published)
}

fn make_dir(path: &Path, mode: u32) -> Result<(), Error> {
    DirBuilder::new()
        .mode(mode)
        .create(path)
        .map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => Error::AlreadyExists {
                path: path.to_path_buf(),
            },
            _ => crate::fsutil::creation_error(
                "creating directory",
                path.parent().unwrap_or(path),
                path,
                e,
            ),
        })?;
    sync_dir(path.parent().unwrap_or(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample<'a>() -> Artifacts<'a> {
        Artifacts {
            lock_json: b"{}",
            deposit_files: vec![
                ("deposit-data.json", b"[]"),
                ("deposit-data-1eth.json", b"[]"),
            ],
            keystores: vec![
                KeystoreArtifact {
                    index: 0,
                    json: b"{}",
                    password: b"pw0",
                },
                KeystoreArtifact {
                    index: 1,
                    json: b"{}",
                    password: b"pw1",
                },
            ],
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn commits_everything_with_modes() {
        use std::os::unix::fs::MetadataExt;
        let d = tempfile::tempdir().unwrap();
        let published = commit(d.path(), &sample()).unwrap();
        assert_eq!(published.last().unwrap(), &d.path().join(LOCK_FILE));
        assert_eq!(
            names(d.path()),
            [
                "cluster-lock.json",
                "deposit-data-1eth.json",
                "deposit-data.json",
                "validator_keys"
            ]
        );
        let mode = |p: &Path| p.metadata().unwrap().mode() & 0o777;
        assert_eq!(mode(&d.path().join(LOCK_FILE)), 0o444);
        assert_eq!(mode(&d.path().join("validator_keys/keystore-1.txt")), 0o400);
        assert_eq!(
            mode(&d.path().join("validator_keys/keystore-1.json")),
            0o400
        );
        assert_eq!(mode(&d.path().join("validator_keys")), 0o700);
        assert_eq!(mode(&d.path().join("deposit-data.json")), 0o444);
    }

    #[test]
    fn refuses_a_dirty_data_dir_and_changes_nothing() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("deposit-data-8eth.json"), b"x").unwrap();
        let before = names(d.path());
        assert!(matches!(
            commit(d.path(), &sample()),
            Err(Error::NotClean { .. })
        ));
        assert_eq!(names(d.path()), before);
    }

    #[test]
    fn a_sealed_staging_dir_is_rolled_forward() {
        let d = tempfile::tempdir().unwrap();
        commit(d.path(), &sample()).unwrap();
        // Simulate a crash after the seal and two renames: move things back into staging.
        let st = d.path().join(STAGING_DIR);
        fs::create_dir(&st).unwrap();
        fs::rename(d.path().join(LOCK_FILE), st.join(LOCK_FILE)).unwrap();
        fs::rename(
            d.path().join("deposit-data.json"),
            st.join("deposit-data.json"),
        )
        .unwrap();
        fs::write(st.join(SEAL), b"sealed\n").unwrap();
        assert_eq!(recover(d.path()).unwrap(), None);
        assert!(d.path().join(LOCK_FILE).is_file());
        assert!(d.path().join("deposit-data.json").is_file());
        assert!(!st.exists());
    }

    #[test]
    fn staged_artifacts_are_invisible_until_published() {
        let d = tempfile::tempdir().unwrap();
        stage(d.path(), &sample()).unwrap();
        assert_eq!(names(d.path()), [STAGING_DIR]);
        let published = publish(d.path()).unwrap();
        assert_eq!(published.last().unwrap(), &d.path().join(LOCK_FILE));
        assert!(d.path().join("validator_keys/keystore-0.json").is_file());
        assert!(!d.path().join(STAGING_DIR).exists());
    }

    #[test]
    fn withheld_artifacts_are_kept_and_never_rolled_forward() {
        let d = tempfile::tempdir().unwrap();
        stage(d.path(), &sample()).unwrap();
        let kept = withhold(d.path()).unwrap().unwrap();
        assert_eq!(kept, d.path().join(format!("{STAGING_DIR}.unpublished-0")));
        assert_eq!(self::kept(d.path()).unwrap(), std::slice::from_ref(&kept));
        assert!(kept.join(KEYS_DIR).join("keystore-1.json").is_file());
        assert_eq!(recover(d.path()).unwrap(), None);
        assert!(!d.path().join(LOCK_FILE).exists());
        // A retry may stage again next to the kept set.
        stage(d.path(), &sample()).unwrap();
        assert_eq!(
            withhold(d.path()).unwrap().unwrap(),
            d.path().join(format!("{STAGING_DIR}.unpublished-1"))
        );
        assert_eq!(withhold(d.path()).unwrap(), None);
        // A kept set can still be published, once, into a clean data dir.
        publish_kept(d.path(), &kept).unwrap();
        assert!(d.path().join("validator_keys/keystore-1.json").is_file());
        assert!(!kept.exists());
        let other = d.path().join(format!("{STAGING_DIR}.unpublished-1"));
        assert!(matches!(
            publish_kept(d.path(), &other),
            Err(Error::NotClean { .. })
        ));
    }

    #[test]
    fn an_unsealed_staging_dir_is_moved_aside_not_deleted() {
        let d = tempfile::tempdir().unwrap();
        let st = d.path().join(STAGING_DIR);
        fs::create_dir_all(st.join(KEYS_DIR)).unwrap();
        fs::write(st.join(KEYS_DIR).join("keystore-0.json"), b"k").unwrap();
        let aside = recover(d.path()).unwrap().unwrap();
        assert!(aside.join(KEYS_DIR).join("keystore-0.json").is_file());
        assert!(!st.exists());
        assert!(!d.path().join(LOCK_FILE).exists());
    }
}
