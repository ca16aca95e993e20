//! Atomic creation of new files: the only way dkgd puts bytes on disk (style §3 rule 9).
//!
//! ```text
//!  .<name>.tmp.<pid>.<n>  O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600
//!        │ write all bytes, fchmod to the final mode, fsync
//!        ▼
//!  rename without replacing (renameat2 RENAME_NOREPLACE, or link + unlink where the file
//!        │ system lacks it)          ── target exists? → AlreadyExists, temp removed
//!        ▼
//!  fsync the directory               ── the new name survives a power cut
//! ```
//!
//! There is deliberately no "replace" and no "delete": a file created here (key material
//! included) can never be overwritten or removed through this crate. On any error the
//! temporary file is removed, so a failed write leaves the directory as it was.

use crate::error::Error;
use crate::fsutil::{creation_error, sync_dir};
use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinguishes temporary names of concurrent writes within one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Creates `dir/name` holding exactly `contents` with permission bits `mode`, atomically and
/// durably, failing with [`Error::AlreadyExists`] (and changing nothing) if the name exists.
///
/// `name` must be a single path component. Errors: [`Error::NotADirectory`] /
/// [`Error::NotFound`] for a bad `dir`, [`Error::NotWritable`] when `dir` refuses new files,
/// [`Error::Io`] otherwise. Returns the path of the new file.
pub fn create_new(dir: &Path, name: &str, contents: &[u8], mode: u32) -> Result<PathBuf, Error> {
    let target = checked_target(dir, name)?;
    // Refuse before the content ever touches the disk; the no-replace rename below still
    // closes the race with a file appearing meanwhile.
    if target.symlink_metadata().is_ok() {
        return Err(Error::AlreadyExists { path: target });
    }
    Staged::write(dir, name, contents, mode)?.commit()
}

/// Validates `name` and returns `dir/name`.
fn checked_target(dir: &Path, name: &str) -> Result<PathBuf, Error> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(Error::Internal(
            "atomic::create_new needs a plain file name",
        ));
    }
    match dir.metadata() {
        Ok(m) if m.is_dir() => Ok(dir.join(name)),
        Ok(m) => Err(Error::NotADirectory {
            path: dir.to_path_buf(),
            found: crate::fsutil::describe(&m.file_type()),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Error::NotFound {
            path: dir.to_path_buf(),
        }),
        Err(e) => Err(Error::io("inspecting", dir, e)),
    }
}

/// A fully written and fsynced temporary file, not yet visible under its final name.
/// Dropping it without [`Staged::commit`] removes it.
pub(crate) struct Staged {
    dir: PathBuf,
    temp: PathBuf,
    target: PathBuf,
    armed: bool,
}

impl Staged {
    /// Writes `contents` to a new temporary file beside `dir/name`.
    pub(crate) fn write(dir: &Path, name: &str, contents: &[u8], mode: u32) -> Result<Self, Error> {
        let target = checked_target(dir, name)?;
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".{name}.tmp.{}.{n}", std::process::id()));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
            .open(&temp)
            .map_err(|e| creation_error("creating", dir, &temp, e))?;
        // From here on the guard removes the temporary file on every early return.
        let staged = Self {
            dir: dir.to_path_buf(),
            temp,
            target,
            armed: true,
        };
        staged.fill(&mut file, contents, mode)?;
        Ok(staged)
    }

    fn fill(&self, file: &mut File, contents: &[u8], mode: u32) -> Result<(), Error> {
        file.write_all(contents)
            .map_err(|e| Error::io("writing", &self.temp, e))?;
        file.set_permissions(Permissions::from_mode(mode & 0o7777))
            .map_err(|e| Error::io("setting the mode of", &self.temp, e))?;
        file.sync_all()
            .map_err(|e| Error::io("fsyncing", &self.temp, e))
    }

    /// Moves the temporary file to its final name without replacing anything, then fsyncs
    /// the directory.
    pub(crate) fn commit(mut self) -> Result<PathBuf, Error> {
        rename_noreplace(&self.temp, &self.target)?;
        self.armed = false;
        sync_dir(&self.dir)?;
        Ok(self.target.clone())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if self.armed {
            // Best effort: nothing better to do if even this fails.
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// `rename(from, to)` that fails with [`Error::AlreadyExists`] instead of replacing `to`.
pub(crate) fn rename_noreplace(from: &Path, to: &Path) -> Result<(), Error> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use nix::errno::Errno;
        use nix::fcntl::{renameat2, RenameFlags};
        match renameat2(None, from, None, to, RenameFlags::RENAME_NOREPLACE) {
            Ok(()) => return Ok(()),
            Err(Errno::EEXIST) => {
                return Err(Error::AlreadyExists {
                    path: to.to_path_buf(),
                })
            }
            // File systems without RENAME_NOREPLACE: fall through to link + unlink.
            Err(Errno::EINVAL | Errno::ENOSYS | Errno::EOPNOTSUPP) => {}
            Err(e) => return Err(Error::io("renaming into place", to, e.into())),
        }
    }
    // link(2) never replaces an existing name.
    match std::fs::hard_link(from, to) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(Error::AlreadyExists {
                path: to.to_path_buf(),
            })
        }
        Err(e) => return Err(Error::io("linking into place", to, e)),
    }
    std::fs::remove_file(from).map_err(|e| Error::io("removing temporary", from, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn creates_with_exact_content_and_mode() {
        let d = tempfile::tempdir().unwrap();
        let p = create_new(d.path(), "f", b"hello", 0o600).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"hello");
        assert_eq!(p.metadata().unwrap().mode() & 0o777, 0o600);
        let q = create_new(d.path(), "g", b"", 0o644).unwrap();
        assert_eq!(q.metadata().unwrap().mode() & 0o777, 0o644);
        assert_eq!(names(d.path()), ["f", "g"]);
    }

    #[test]
    fn refuses_to_overwrite_and_changes_nothing() {
        let d = tempfile::tempdir().unwrap();
        let p = create_new(d.path(), "k", b"first", 0o600).unwrap();
        let before = p.metadata().unwrap();
        let err = create_new(d.path(), "k", b"second", 0o600).unwrap_err();
        assert!(matches!(err, Error::AlreadyExists { .. }), "{err}");
        assert_eq!(std::fs::read(&p).unwrap(), b"first");
        assert_eq!(p.metadata().unwrap().ino(), before.ino());
        assert_eq!(names(d.path()), ["k"]);
    }

    #[test]
    fn refuses_to_replace_a_symlink_or_directory() {
        let d = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/nonexistent", d.path().join("l")).unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        for n in ["l", "sub"] {
            let err = create_new(d.path(), n, b"x", 0o600).unwrap_err();
            assert!(matches!(err, Error::AlreadyExists { .. }), "{err}");
        }
        assert_eq!(names(d.path()), ["l", "sub"]);
    }

    #[test]
    fn late_conflict_leaves_no_temp_file() {
        // A file appearing between staging and commit: the no-replace rename must refuse it.
        let d = tempfile::tempdir().unwrap();
        let staged = Staged::write(d.path(), "k", b"new", 0o600).unwrap();
        assert_eq!(names(d.path()).len(), 1, "temp file staged");
        std::fs::write(d.path().join("k"), b"racer").unwrap();
        let err = staged.commit().unwrap_err();
        assert!(matches!(err, Error::AlreadyExists { .. }), "{err}");
        assert_eq!(std::fs::read(d.path().join("k")).unwrap(), b"racer");
        assert_eq!(names(d.path()), ["k"]);
    }

    #[test]
    fn dropped_stage_is_removed() {
        let d = tempfile::tempdir().unwrap();
        drop(Staged::write(d.path(), "k", b"abc", 0o600).unwrap());
        assert!(names(d.path()).is_empty());
    }

    #[test]
    fn bad_names_and_dirs_are_errors() {
        let d = tempfile::tempdir().unwrap();
        for n in ["", ".", "..", "a/b"] {
            assert!(matches!(
                create_new(d.path(), n, b"x", 0o600),
                Err(Error::Internal(_))
            ));
        }
        let missing = d.path().join("missing");
        assert!(matches!(
            create_new(&missing, "f", b"x", 0o600),
            Err(Error::NotFound { .. })
        ));
        let file = d.path().join("file");
        std::fs::write(&file, b"").unwrap();
        assert!(matches!(
            create_new(&file, "f", b"x", 0o600),
            Err(Error::NotADirectory { .. })
        ));
    }
}
