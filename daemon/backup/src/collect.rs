//! Gathering a data dir's key and artifacts for a new backup. Only regular files are read
//! (symlinks refused, never followed), each one's size is checked before reading, and unknown
//! files are left out and reported rather than failing an automatic backup.

use crate::bundle::{Bundle, Entry, Meta};
use crate::error::Error;
use crate::names::{is_deposit_name, EntryKind, DEFINITION, KEY, KEYS_DIR, LOCK};
use crate::{MAX_BUNDLE_BYTES, MAX_ENTRIES, MAX_ENTRY_BYTES};
use dkgd_crypto::secret::SecretVec;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// A new bundle and the data-dir files that were left out of it.
#[derive(Debug)]
pub struct Collected {
    /// The bundle.
    pub bundle: Bundle,
    /// Files in `validator_keys/` (or `deposit-data*` look-alikes) that no backup holds.
    pub skipped: Vec<PathBuf>,
}

/// Builds a bundle from the data dir `dir`: the key (required), and when present the
/// definition, lock, deposit-data files and keystores. The caller holds the key lock if the
/// files may change meanwhile.
pub fn collect(dir: &Path, meta: &Meta) -> Result<Collected, Error> {
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    let mut total = 0usize;
    let mut add = |rel: String, kind: EntryKind, entries: &mut Vec<Entry>| -> Result<bool, Error> {
        let path = dir.join(&rel);
        let Some(content) = read_regular(&path, MAX_ENTRY_BYTES)? else {
            return Ok(false);
        };
        total = total.saturating_add(content.len()).saturating_add(1024);
        if total > MAX_BUNDLE_BYTES || entries.len() >= MAX_ENTRIES {
            return Err(Error::TooLarge {
                path: dir.to_path_buf(),
                bytes: total as u64,
                limit: MAX_BUNDLE_BYTES as u64,
                what: "a backup",
            });
        }
        entries.push(Entry::new(rel, kind, content));
        Ok(true)
    };
    if !add(KEY.to_owned(), EntryKind::Key, &mut entries)? {
        return Err(Error::invalid(
            &dir.join(KEY),
            None,
            crate::error::Problem::NoKey,
        ));
    }
    add(DEFINITION.to_owned(), EntryKind::Definition, &mut entries)?;
    add(LOCK.to_owned(), EntryKind::Lock, &mut entries)?;
    for name in list(dir)? {
        if name.starts_with("deposit-data") {
            if is_deposit_name(&name) {
                add(name, EntryKind::Deposit, &mut entries)?;
            } else {
                skipped.push(dir.join(name));
            }
        }
    }
    let keys = dir.join(KEYS_DIR);
    match fs::symlink_metadata(&keys) {
        Ok(m) if m.is_dir() => {
            for name in list(&keys)? {
                let rel = format!("{KEYS_DIR}/{name}");
                match EntryKind::of(&rel) {
                    Ok(kind) => {
                        add(rel, kind, &mut entries)?;
                    }
                    Err(_) => skipped.push(keys.join(name)),
                }
            }
        }
        Ok(_) => return Err(Error::invalid(&keys, None, crate::error::Problem::NotAFile)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("inspecting", &keys, e)),
    }
    let bundle = Bundle::assemble(dir, entries, meta)?;
    Ok(Collected { bundle, skipped })
}

/// Sorted names of a directory's entries (non-UTF-8 names are skipped: no backup holds one).
fn list(dir: &Path) -> Result<Vec<String>, Error> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map_err(|e| Error::io("listing", dir, e))?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names)
}

/// Reads a regular file of at most `limit` bytes into a zeroizing buffer sized once;
/// `Ok(None)` when nothing is there. Symlinks and non-files are refused.
pub(crate) fn read_regular(path: &Path, limit: usize) -> Result<Option<SecretVec>, Error> {
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC | nix::libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => {
            return Err(Error::invalid(path, None, crate::error::Problem::NotAFile))
        }
        Err(e) => return Err(Error::io("opening", path, e)),
    };
    read_open(file, path, limit).map(Some)
}

fn read_open(mut file: File, path: &Path, limit: usize) -> Result<SecretVec, Error> {
    let meta = file
        .metadata()
        .map_err(|e| Error::io("inspecting", path, e))?;
    if !meta.is_file() {
        return Err(Error::invalid(path, None, crate::error::Problem::NotAFile));
    }
    if meta.len() > limit as u64 {
        return Err(Error::TooLarge {
            path: path.to_path_buf(),
            bytes: meta.len(),
            limit: limit as u64,
            what: "a data-dir file",
        });
    }
    let len = usize::try_from(meta.len()).map_err(|_| Error::Internal("file size"))?;
    // One byte of slack detects a file that grew since fstat.
    let mut buf = Zeroizing::new(Vec::with_capacity(len.saturating_add(1)));
    (&mut file)
        .take(len as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io("reading", path, e))?;
    if buf.len() != len {
        return Err(Error::io(
            "reading",
            path,
            io::Error::other("the file changed while it was read; retry"),
        ));
    }
    Ok(SecretVec::new(std::mem::take(&mut *buf)))
}
