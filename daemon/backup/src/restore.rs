//! Restoring a checked bundle into a new box's data dir.
//!
//! ```text
//!  under the key lock:
//!  preflight   no key, definition, lock, validator_keys/, deposit-data*, staging dir  (else NotEmpty:
//!              nothing is written)
//!  definition  atomic::create_new 0644                   (if the backup has one)
//!  artifacts   commit::commit: keystores 0444/0400, deposit files and lock 0444, lock last
//!  key         atomic::create_new 0600, LAST: a key present means the restore completed
//! ```
//!
//! Every file is created, never replaced, through dkgd-store's atomic path, with exactly the
//! bytes (and modes) of the original box. A key that exists on two running boxes is how
//! validators get slashed: the caller must make the owner confirm that the old box is gone.

use crate::bundle::Bundle;
use crate::error::Error;
use crate::names::{EntryKind, DEFINITION, KEY, KEYS_DIR, LOCK};
use dkgd_store::commit::{Artifacts, KeystoreArtifact, STAGING_DIR};
use dkgd_store::KeyLock;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Fails with [`Error::NotEmpty`] if `dir` holds a key or anything a restore would write.
pub fn preflight(dir: &Path) -> Result<(), Error> {
    for name in [KEY, DEFINITION, LOCK, KEYS_DIR, STAGING_DIR] {
        let p = dir.join(name);
        match p.symlink_metadata() {
            Ok(_) => return Err(Error::NotEmpty { path: p }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("inspecting", &p, e)),
        }
    }
    for e in fs::read_dir(dir).map_err(|e| Error::io("listing", dir, e))? {
        let e = e.map_err(|e| Error::io("listing", dir, e))?;
        if e.file_name().to_string_lossy().starts_with("deposit-data") {
            return Err(Error::NotEmpty { path: e.path() });
        }
    }
    Ok(())
}

/// Writes `bundle` into the data dir of `lock` (see the module docs). Returns the paths
/// created, key last. Refuses, writing nothing, if the data dir is not empty of key and
/// artifacts.
pub fn restore(bundle: &Bundle, lock: &KeyLock) -> Result<Vec<PathBuf>, Error> {
    let dir = lock.dir();
    preflight(dir)?;
    let mut written = Vec::new();
    if let Some(def) = bundle.entry(DEFINITION) {
        written.push(dkgd_store::atomic::create_new(
            dir,
            DEFINITION,
            def.expose_secret(),
            EntryKind::Definition.mode(),
        )?);
    }
    if let Some(lock_entry) = bundle.entry(LOCK) {
        let artifacts = artifacts(bundle, lock_entry.expose_secret())?;
        written.extend(dkgd_store::commit::commit(dir, &artifacts)?);
    }
    let key = bundle
        .entry(KEY)
        .ok_or(Error::Internal("an opened bundle always holds a key"))?;
    written.push(dkgd_store::atomic::create_new(
        dir,
        KEY,
        key.expose_secret(),
        EntryKind::Key.mode(),
    )?);
    Ok(written)
}

/// The bundle's artifacts in the shape of a ceremony commit.
fn artifacts<'a>(bundle: &'a Bundle, lock_json: &'a [u8]) -> Result<Artifacts<'a>, Error> {
    let mut keystores = Vec::new();
    let mut deposit_files = Vec::new();
    for e in bundle.entries() {
        match e.kind() {
            EntryKind::Deposit => deposit_files.push((e.path(), e.expose_secret())),
            EntryKind::KeystoreJson(n) => {
                let pw_path = format!("{KEYS_DIR}/keystore-{n}.txt");
                let pw = bundle
                    .entry(&pw_path)
                    .ok_or(Error::Internal("an opened bundle pairs every keystore"))?;
                keystores.push(KeystoreArtifact {
                    index: usize::try_from(n)
                        .map_err(|_| Error::Internal("keystore index fits usize"))?,
                    json: e.expose_secret(),
                    password: pw.expose_secret(),
                });
            }
            _ => {}
        }
    }
    Ok(Artifacts {
        lock_json,
        deposit_files,
        keystores,
    })
}
