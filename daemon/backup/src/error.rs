//! The one error type of dkgd-backup (style §3 rule 3). Every variant names the file (the
//! backup, or the data-dir file) and, through [`Error::hint`], the operator's next step.
//! No message quotes key material, passphrases or identities.

use crate::names::PathProblem;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Everything that can go wrong while making, opening or restoring a backup.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// None of the identities unlocks the backup (wrong identity file).
    #[error("{}: none of the given identities can decrypt this backup", file.display())]
    NoMatchingIdentity {
        /// The backup file.
        file: PathBuf,
    },
    /// The passphrase does not unlock the backup.
    #[error("{}: wrong passphrase", file.display())]
    WrongPassphrase {
        /// The backup file.
        file: PathBuf,
    },
    /// The backup is locked differently from how we tried to open it.
    #[error("{}: {why}", file.display())]
    WrongUnlock {
        /// The backup file.
        file: PathBuf,
        /// "encrypted to a passphrase" / "encrypted to age public keys".
        why: &'static str,
    },
    /// The file is not an age file (or an age version we do not know).
    #[error("{}: not an age-encrypted dkgd backup: {why}", file.display())]
    NotABackup {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        why: &'static str,
    },
    /// The age file is damaged: a flipped byte or a truncated file fails authentication.
    #[error("{}: the backup is damaged or truncated ({why}); nothing in it can be trusted", file.display())]
    Damaged {
        /// The backup file.
        file: PathBuf,
        /// What failed.
        why: &'static str,
    },
    /// A file inside the backup, or its manifest, is unacceptable.
    #[error("{}: {}{why}", file.display(), entry_prefix(entry))]
    Invalid {
        /// The backup file (or the data-dir file being backed up).
        file: PathBuf,
        /// The bundle entry concerned, when there is one.
        entry: Option<String>,
        /// What is wrong.
        why: Problem,
    },
    /// A file is larger than this kind of file can be; it was not read.
    #[error("{} is {bytes} bytes, over the {limit}-byte limit for {what}; it was not read", path.display())]
    TooLarge {
        /// The file (or `backup:entry`).
        path: PathBuf,
        /// Its size.
        bytes: u64,
        /// The limit.
        limit: u64,
        /// What kind of file.
        what: &'static str,
    },
    /// A recipient string is not an age X25519 public key.
    #[error("backup recipient {given:?} is not an age public key (age1…): {why}")]
    BadRecipient {
        /// What was given (public, safe to echo).
        given: String,
        /// The parser's complaint.
        why: &'static str,
    },
    /// No recipient was given.
    #[error("no backup recipient: give an age public key (age1…) or a passphrase")]
    NoRecipient,
    /// An identity file line is not an age X25519 identity. The line is not quoted.
    #[error("{} line {line}: not an age identity (AGE-SECRET-KEY-1…)", file.display())]
    BadIdentity {
        /// The identity file.
        file: PathBuf,
        /// 1-based line number.
        line: usize,
    },
    /// A restore target already holds a key or artifacts. Nothing was changed.
    #[error(
        "{} already exists: a backup is only restored into a data dir without a key or \
         ceremony artifacts; nothing was changed",
        path.display()
    )]
    NotEmpty {
        /// The existing path.
        path: PathBuf,
    },
    /// A dkgd-store failure (key lock, atomic writes, commit).
    #[error(transparent)]
    Store(#[from] dkgd_store::Error),
    /// Any other I/O failure.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What we were doing.
        op: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A bug in dkgd: please report it.
    #[error("internal error (a bug in dkgd, please report it): {0}")]
    Internal(&'static str),
}

fn entry_prefix(entry: &Option<String>) -> String {
    match entry {
        Some(e) => format!("{e}: "),
        None => String::new(),
    }
}

/// What is wrong with a bundle, one of its entries, or a data-dir file being backed up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The entry's path is not acceptable.
    Path(PathProblem),
    /// The entry is a symlink, directory, device… (only regular files are allowed).
    NotAFile,
    /// The same path twice.
    Duplicate,
    /// The archive itself does not parse.
    Archive,
    /// No `manifest.json`, or it is not the first entry.
    NoManifest,
    /// The manifest does not parse.
    ManifestSyntax(String),
    /// Written by a newer dkgd.
    NewerFormat(u32),
    /// The manifest lists a file the archive lacks.
    Missing,
    /// The archive holds a file the manifest does not list.
    Unlisted,
    /// Contents differ from the manifest's SHA-256 or size.
    HashMismatch,
    /// No identity key in the bundle or data dir.
    NoKey,
    /// The key file does not hold a valid secp256k1 key (content not quoted).
    BadKey,
    /// The manifest's peer ID or ENR is not the key's.
    IdentityMismatch,
    /// The lock does not parse.
    BadLock(String),
    /// The manifest's lock hash, cluster name or kind disagrees with the lock.
    LockMismatch(&'static str),
    /// The key is not any operator's in the lock.
    NotAnOperator,
    /// A keystore without its password file, or the reverse.
    Unpaired,
    /// Keystores or deposit data without a lock.
    ArtifactsWithoutLock,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path(p) => write!(f, "refused: {p}"),
            Self::NotAFile => f.write_str("refused: not a regular file (symlink, directory or device)"),
            Self::Duplicate => f.write_str("refused: the archive holds this path twice"),
            Self::Archive => f.write_str("the archive inside the backup does not parse"),
            Self::NoManifest => f.write_str("manifest.json is missing or not the first entry"),
            Self::ManifestSyntax(e) => write!(f, "manifest.json does not parse: {e}"),
            Self::NewerFormat(v) => write!(
                f,
                "written by a newer dkgd (backup format version {v}); use that version to open it"
            ),
            Self::Missing => f.write_str("listed in the manifest but not in the archive"),
            Self::Unlisted => f.write_str("in the archive but not listed in the manifest"),
            Self::HashMismatch => f.write_str("content differs from the manifest's SHA-256 or size"),
            Self::NoKey => f.write_str("no charon-enr-private-key: a backup always holds the identity key"),
            Self::BadKey => f.write_str("not a valid charon key (64 hex characters of a secp256k1 key)"),
            Self::IdentityMismatch => f.write_str("the manifest's peer ID or ENR is not the key's"),
            Self::BadLock(e) => write!(f, "cluster-lock.json does not parse: {e}"),
            Self::LockMismatch(what) => write!(f, "the manifest's {what} disagrees with cluster-lock.json"),
            Self::NotAnOperator => f.write_str(
                "the key is not any operator's in cluster-lock.json (key and artifacts belong to different boxes)",
            ),
            Self::Unpaired => f.write_str("a keystore needs both keystore-N.json and keystore-N.txt"),
            Self::ArtifactsWithoutLock => {
                f.write_str("keystores or deposit data without cluster-lock.json")
            }
        }
    }
}

impl Error {
    /// The I/O variant, built from parts.
    pub(crate) fn io(op: &'static str, path: &Path, source: io::Error) -> Self {
        Self::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }

    /// An [`Error::Invalid`] about `entry` of `file`.
    pub(crate) fn invalid(file: &Path, entry: Option<&str>, why: Problem) -> Self {
        Self::Invalid {
            file: file.to_path_buf(),
            entry: entry.map(str::to_owned),
            why,
        }
    }

    /// One line telling the operator what to do next.
    pub fn hint(&self) -> String {
        match self {
            Self::NoMatchingIdentity { .. } => {
                "use the identity file whose public key (age1…) was \
                the box's backup recipient; `age-keygen -y FILE` prints an identity's public key"
                    .into()
            }
            Self::WrongPassphrase { .. } => "try again with the passphrase given at export".into(),
            Self::WrongUnlock { why, .. } if why.contains("passphrase") => {
                "add --passphrase (it is read from the terminal or stdin)".into()
            }
            Self::WrongUnlock { .. } => "give --identity FILE (an age identity file)".into(),
            Self::NotABackup { .. } => {
                "check that FILE is a backup made by dkgd backup export".into()
            }
            Self::Damaged { .. } | Self::Invalid { .. } => {
                "use another copy of the backup; this one must not be restored".into()
            }
            Self::TooLarge { .. } => "check that the path names the right file".into(),
            Self::BadRecipient { .. } | Self::NoRecipient => {
                "give the owner's public key as printed by age-keygen or dkgd backup keygen".into()
            }
            Self::BadIdentity { .. } => {
                "give the identity file written by age-keygen or dkgd backup keygen".into()
            }
            Self::NotEmpty { .. } => {
                "restore onto a new box (an empty data dir); never into a box \
                that has run with a key"
                    .into()
            }
            Self::Store(_) | Self::Io { .. } => {
                "check the path, its permissions and the free space, then retry".into()
            }
            Self::Internal(_) => "this is a bug in dkgd; please report it".into(),
        }
    }
}
