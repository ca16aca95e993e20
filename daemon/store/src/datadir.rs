//! The data directory (charon's `--data-dir`, default `.charon`): where the key, its lock and
//! the ceremony artifacts live.

use crate::error::Error;
use crate::fsutil::describe;
use crate::key_lock::KeyLock;
use std::fs::DirBuilder;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// Mode of a data directory we create: owner-only, as it holds the identity key and key
/// shares (charon creates it 0755; `formats.md §5.1`). Existing directories are left as they are.
pub const DATA_DIR_MODE: u32 = 0o700;

/// An existing data directory. Everything that touches the key starts here with
/// [`DataDir::lock_key`].
#[derive(Debug, Clone)]
pub struct DataDir {
    path: PathBuf,
}

impl DataDir {
    /// Opens an existing data directory ([`Error::NotFound`] / [`Error::NotADirectory`]
    /// otherwise). Symlinks to a directory are accepted.
    pub fn open(path: &Path) -> Result<Self, Error> {
        match path.metadata() {
            Ok(m) if m.is_dir() => Ok(Self {
                path: path.to_path_buf(),
            }),
            Ok(m) => Err(Error::NotADirectory {
                path: path.to_path_buf(),
                found: describe(&m.file_type()),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Error::NotFound {
                path: path.to_path_buf(),
            }),
            Err(e) => Err(Error::io("inspecting", path, e)),
        }
    }

    /// Opens the data directory, creating it (and missing parents) with mode 0700 first if
    /// it does not exist.
    pub fn open_or_create(path: &Path) -> Result<Self, Error> {
        match Self::open(path) {
            Err(Error::NotFound { .. }) => {}
            other => return other,
        }
        DirBuilder::new()
            .recursive(true)
            .mode(DATA_DIR_MODE)
            .create(path)
            .map_err(|e| {
                let parent = nearest_existing_ancestor(path);
                crate::fsutil::creation_error("creating", &parent, path, e)
            })?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::fsutil::sync_dir(parent)?;
        }
        Self::open(path)
    }

    /// The directory's path, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Path of the identity key file in this directory.
    pub fn key_path(&self) -> PathBuf {
        self.path.join(crate::keyfile::KEY_FILE_NAME)
    }

    /// Takes the exclusive key lock for `command` (recorded for other processes' error
    /// messages, e.g. `dkgd enr show`). Fails with [`Error::InUse`] naming the holder, without
    /// waiting. See [`crate::lock`] for the protocol.
    pub fn lock_key(&self, command: &str) -> Result<KeyLock, Error> {
        KeyLock::acquire(&self.path, command)
    }
}

/// The closest ancestor of `path` that exists (where a failed `mkdir -p` was refused).
fn nearest_existing_ancestor(path: &Path) -> PathBuf {
    path.ancestors()
        .skip(1)
        .find(|a| a.as_os_str().is_empty() || a.exists())
        .map(|a| {
            if a.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                a.to_path_buf()
            }
        })
        .unwrap_or_else(|| PathBuf::from("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn creates_missing_dirs_owner_only() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a/b/.charon");
        let dd = DataDir::open_or_create(&p).unwrap();
        assert_eq!(dd.path(), p);
        // umask may clear bits but never add any.
        let mode = p.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & !DATA_DIR_MODE, 0, "{mode:o}");
        DataDir::open_or_create(&p).unwrap();
    }

    #[test]
    fn open_reports_missing_and_non_directories() {
        let d = tempfile::tempdir().unwrap();
        let missing = d.path().join("nope");
        assert!(matches!(
            DataDir::open(&missing),
            Err(Error::NotFound { .. })
        ));
        let file = d.path().join("file");
        std::fs::write(&file, b"").unwrap();
        for r in [DataDir::open(&file), DataDir::open_or_create(&file)] {
            assert!(
                matches!(
                    r,
                    Err(Error::NotADirectory {
                        found: "a regular file",
                        ..
                    })
                ),
                "{r:?}"
            );
        }
    }
}
