//! The one error type of dkgd-store (style §3 rule 3): every variant names the path involved
//! and, where the operator can fix it, says how.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Everything that can go wrong in dkgd-store. Messages never contain key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key file's content is not a charon key (`formats.md §5.1`). Nothing was changed.
    #[error("{} is not a valid charon key file: {why}", file.display())]
    InvalidKey {
        /// The file that was read.
        file: PathBuf,
        /// What is wrong with its content.
        why: KeyProblem,
    },
    /// A key file can be read by group or others. The file is refused until fixed.
    #[error(
        "{} is readable by group or others (mode {mode:04o}); a key file must be mode 0600, \
         fix with: chmod 600 {}",
        file.display(),
        shell_quote(file)
    )]
    UnsafePermissions {
        /// The key file.
        file: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A path that must be a regular file is something else (directory, symlink, device…).
    #[error("{} is {found}, expected a regular file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What was found there ("a directory", "a symbolic link", …).
        found: &'static str,
    },
    /// A path that must be a directory is something else.
    #[error("{} is {found}, expected a directory", path.display())]
    NotADirectory {
        /// The path.
        path: PathBuf,
        /// What was found there.
        found: &'static str,
    },
    /// The data dir already holds DKG artifacts (charon's rule: no `cluster-lock.json`,
    /// `validator_keys/` or `deposit-data*` before a ceremony). Nothing was written.
    #[error(
        "{} already exists: this data dir holds the artifacts of an earlier ceremony; they were \
         left unchanged",
        path.display()
    )]
    NotClean {
        /// The artifact found.
        path: PathBuf,
    },
    /// A file this crate would create already exists; it was left untouched.
    #[error("{} already exists; it was left unchanged", path.display())]
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
    },
    /// A file that must exist does not.
    #[error("{} does not exist", path.display())]
    NotFound {
        /// The missing path.
        path: PathBuf,
    },
    /// A directory cannot be written to (permissions or a read-only file system).
    #[error("cannot create files in {dir}; it must be writable by uid {uid}", dir = dir.display())]
    NotWritable {
        /// The directory.
        dir: PathBuf,
        /// Our effective user id (the one that needs write access).
        uid: u32,
        /// The OS error.
        source: io::Error,
    },
    /// The data dir's file system has too little room for what is about to be written.
    /// Nothing was written.
    #[error(
        "{} has room for {available_bytes} more bytes and {available_files} more files, but the \
         ceremony's artifacts need about {needed_bytes} bytes and {needed_files} files \
         (a 4× margin over the estimate)",
        dir.display()
    )]
    NoSpace {
        /// The data directory.
        dir: PathBuf,
        /// Free bytes for unprivileged writers (`statvfs` `f_bavail × f_frsize`).
        available_bytes: u64,
        /// Free inodes for unprivileged writers (`u64::MAX` where the file system has no limit).
        available_files: u64,
        /// What the artifacts are estimated to need, margin included.
        needed_bytes: u64,
        /// Files and directories the artifacts create.
        needed_files: u64,
    },
    /// Another process holds the key lock.
    #[error("the key in {} is in use by {holder}", dir.display())]
    InUse {
        /// The data directory whose key is locked.
        dir: PathBuf,
        /// Who holds it, as far as the lock file tells.
        holder: Holder,
    },
    /// Any other I/O failure.
    #[error("{op} {}", path.display())]
    Io {
        /// What we were doing ("reading", "creating", "fsyncing directory", …).
        op: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The daemon's state database failed (sled). It is rebuilt from the data dir when it is
    /// corrupt; this error is for what rebuilding cannot fix.
    #[error("{op} the state database {}: {source}", path.display())]
    StateDb {
        /// What we were doing ("opening", "writing", "flushing", …).
        op: &'static str,
        /// The database directory.
        path: PathBuf,
        /// sled's error.
        source: sled::Error,
    },
    /// The helper process that runs the daemon's state database operations failed (it could
    /// not start, or its answer could not be read); the helper's own error is in `why`.
    #[error("the state database {}: {why}", path.display())]
    StateHelper {
        /// The database directory.
        path: PathBuf,
        /// What went wrong.
        why: String,
    },
    /// Another process kept the state database open for longer than an open waits.
    #[error(
        "the state database {} is busy: another process (a dkgd command or state helper) kept it open for {waited_secs} s; stop that process or try again",
        path.display()
    )]
    StateDbBusy {
        /// The database directory.
        path: PathBuf,
        /// How long the open waited.
        waited_secs: u64,
    },
    /// A value in the state database does not decode (damaged, or written by a newer dkgd).
    #[error("the {what} in the state database {} cannot be read: {why}", path.display())]
    StateDecode {
        /// The database directory.
        path: PathBuf,
        /// Which value ("record", "history event").
        what: &'static str,
        /// The decoder's complaint.
        why: String,
    },
    /// A freshly created state database is unusable as well (disk or file system trouble).
    #[error(
        "the state database {} is unusable even after rebuilding it: {why}; check the disk",
        path.display()
    )]
    StateDbUnusable {
        /// The database directory.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// A bug in dkgd: please report it.
    #[error("internal error (a bug in dkgd, please report it): {0}")]
    Internal(&'static str),
}

/// What is wrong with a key file's content. No variant carries key bytes or characters.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyProblem {
    /// The file is empty (or only whitespace).
    Empty,
    /// Bigger than any plausible key file; not read.
    TooLarge {
        /// Its size in bytes.
        bytes: u64,
    },
    /// The content starts with `0x`, which charon does not accept.
    HexPrefix,
    /// All hex, but not 64 characters.
    WrongLength {
        /// The number of characters found (after trimming whitespace).
        found: usize,
    },
    /// A character that is not a hex digit, within the 64 key characters.
    NonHex {
        /// 0-based character offset after leading whitespace.
        offset: usize,
    },
    /// 64 hex characters followed by something else.
    TrailingGarbage {
        /// How many bytes follow the 64 key characters (after trimming whitespace).
        extra: usize,
    },
    /// 64 hex characters, but the number is zero or not below the secp256k1 group order.
    NotAScalar,
}

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the file is empty; expected 64 hex characters"),
            Self::TooLarge { bytes } => write!(
                f,
                "the file is {bytes} bytes long; expected 64 hex characters"
            ),
            Self::HexPrefix => f.write_str(
                "the key starts with 0x; charon's format is 64 hex characters without a prefix",
            ),
            Self::WrongLength { found } => write!(
                f,
                "wrong length: {found} hex characters, expected exactly 64"
            ),
            Self::NonHex { offset } => write!(
                f,
                "character {} is not a hex digit (0-9, a-f)",
                offset.saturating_add(1)
            ),
            Self::TrailingGarbage { extra } => write!(
                f,
                "trailing garbage: {extra} unexpected bytes after the 64 hex characters"
            ),
            Self::NotAScalar => f.write_str(
                "the value is not a valid secp256k1 private key (zero or not below the group order)",
            ),
        }
    }
}

/// Who holds a key lock, as recorded in the lock file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Holder {
    /// A dkgd process (it holds the `flock`).
    Dkgd {
        /// Its process id, if the lock file names one.
        pid: Option<u32>,
        /// The command it runs, e.g. `dkgd enr show`.
        command: Option<String>,
    },
    /// A charon process, seen through its heartbeat (`formats.md §5.1`).
    Charon {
        /// The command in the heartbeat, e.g. `charon dkg`.
        command: String,
        /// Seconds since the last heartbeat.
        age_secs: u64,
    },
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dkgd {
                pid: Some(pid),
                command: Some(c),
            } => write!(f, "PID {pid} ({c})"),
            Self::Dkgd {
                pid: Some(pid),
                command: None,
            } => write!(f, "PID {pid}"),
            Self::Dkgd { pid: None, .. } => {
                f.write_str("another process (it did not record its PID)")
            }
            Self::Charon { command, age_secs } => write!(
                f,
                "a running charon ({command}, last heartbeat {age_secs}s ago)"
            ),
        }
    }
}

impl Error {
    /// The I/O variant, built from parts (shorthand used throughout the crate).
    pub(crate) fn io(op: &'static str, path: &Path, source: io::Error) -> Self {
        Self::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Quotes a path for a copy-pasteable shell command (single quotes when needed).
pub fn shell_quote(path: &Path) -> String {
    let s = path.to_string_lossy();
    let plain = !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+' | ',' | ':' | '@')
        });
    if plain {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(shell_quote(Path::new("/a/b.c")), "/a/b.c");
        assert_eq!(shell_quote(Path::new("/a b/c")), "'/a b/c'");
        assert_eq!(shell_quote(Path::new("/it's")), r"'/it'\''s'");
    }

    #[test]
    fn permission_error_names_the_fix() {
        let e = Error::UnsafePermissions {
            file: PathBuf::from("/d/charon-enr-private-key"),
            mode: 0o644,
        };
        let s = e.to_string();
        assert!(s.contains("chmod 600 /d/charon-enr-private-key"), "{s}");
        assert!(s.contains("0644"), "{s}");
    }

    #[test]
    fn holder_display() {
        let h = Holder::Dkgd {
            pid: Some(1234),
            command: Some("dkgd dkg".into()),
        };
        assert_eq!(h.to_string(), "PID 1234 (dkgd dkg)");
    }
}
