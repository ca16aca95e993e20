//! Which paths a bundle may hold, what each one is, and the mode it gets on disk.
//!
//! A path is accepted only if it is one of the names below, spelled exactly: relative, with
//! `/` separators, no `.` or `..` components, no empty components, no other directory than
//! `validator_keys/`. Anything else (absolute paths, traversal, unknown files) is refused
//! before a single byte of its content is read.
//!
//! | path | mode in the archive; on restore |
//! |---|---|
//! | `manifest.json` | 0444; not restored |
//! | `charon-enr-private-key` | 0600 (`dkgd_store::keyfile::KEY_FILE_MODE`) |
//! | `cluster-definition.json` | 0644 (as `dkgd run` accepts a definition) |
//! | `cluster-lock.json`, `deposit-data*.json` | 0444 |
//! | `validator_keys/keystore-N.json` | 0444 |
//! | `validator_keys/keystore-N.txt` | 0400 |
//!
//! The lock, deposit files and keystores are restored through `dkgd_store::commit`, so they
//! get exactly the modes a ceremony's commit gives them.

use std::fmt;

/// The manifest's path inside a bundle (always the first entry).
pub const MANIFEST: &str = "manifest.json";
/// The identity key (charon's name).
pub const KEY: &str = dkgd_store::KEY_FILE_NAME;
/// The cluster definition, when the data dir holds one.
pub const DEFINITION: &str = "cluster-definition.json";
/// The cluster lock.
pub const LOCK: &str = "cluster-lock.json";
/// The keystore directory.
pub const KEYS_DIR: &str = "validator_keys";

/// Longest deposit-data file name accepted.
const MAX_DEPOSIT_NAME: usize = 64;
/// Largest keystore index accepted (far above any cluster's validator count).
const MAX_KEYSTORE_INDEX: u32 = 999_999;

/// What a bundle entry is, decided from its path alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    /// `manifest.json`.
    Manifest,
    /// `charon-enr-private-key`.
    Key,
    /// `cluster-definition.json`.
    Definition,
    /// `cluster-lock.json`.
    Lock,
    /// `deposit-data*.json`.
    Deposit,
    /// `validator_keys/keystore-N.json` (N, 0-based as charon numbers them).
    KeystoreJson(u32),
    /// `validator_keys/keystore-N.txt`.
    KeystorePassword(u32),
}

impl EntryKind {
    /// Classifies `path`, refusing anything that is not an exact, known bundle path.
    pub fn of(path: &str) -> Result<Self, PathProblem> {
        if path.is_empty() {
            return Err(PathProblem::Empty);
        }
        if path.starts_with('/') {
            return Err(PathProblem::Absolute);
        }
        if path.contains('\0') || path.contains('\\') {
            return Err(PathProblem::BadCharacter);
        }
        let parts: Vec<&str> = path.split('/').collect();
        if parts.contains(&"..") {
            return Err(PathProblem::Traversal);
        }
        if parts.iter().any(|p| p.is_empty() || *p == ".") {
            return Err(PathProblem::NotCanonical);
        }
        match parts.as_slice() {
            [MANIFEST] => Ok(Self::Manifest),
            [KEY] => Ok(Self::Key),
            [DEFINITION] => Ok(Self::Definition),
            [LOCK] => Ok(Self::Lock),
            [name] if is_deposit_name(name) => Ok(Self::Deposit),
            [KEYS_DIR, name] => keystore(name).ok_or(PathProblem::Unknown),
            [_, _, _, ..] => Err(PathProblem::TooDeep),
            _ => Err(PathProblem::Unknown),
        }
    }

    /// Permission bits of this file in the archive and after a restore.
    pub fn mode(self) -> u32 {
        match self {
            Self::Manifest => 0o444,
            Self::Key => dkgd_store::keyfile::KEY_FILE_MODE,
            Self::Definition => 0o644,
            Self::Lock | Self::Deposit | Self::KeystoreJson(_) => 0o444,
            Self::KeystorePassword(_) => 0o400,
        }
    }

    /// Whether the file holds secret material (key or keystore password).
    pub fn is_secret(self) -> bool {
        matches!(self, Self::Key | Self::KeystorePassword(_))
    }
}

/// `deposit-data*.json` with a plain, bounded name (what charon and dkgd write).
pub fn is_deposit_name(name: &str) -> bool {
    name.len() <= MAX_DEPOSIT_NAME
        && name.starts_with("deposit-data")
        && name.ends_with(".json")
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// `keystore-N.json` / `keystore-N.txt` with a canonical decimal N.
fn keystore(name: &str) -> Option<EntryKind> {
    let rest = name.strip_prefix("keystore-")?;
    let (digits, json) = match (rest.strip_suffix(".json"), rest.strip_suffix(".txt")) {
        (Some(d), _) => (d, true),
        (None, Some(d)) => (d, false),
        (None, None) => return None,
    };
    let canonical = !digits.is_empty()
        && digits.len() <= 6
        && digits.bytes().all(|c| c.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    let n: u32 = digits.parse().ok().filter(|_| canonical)?;
    if n > MAX_KEYSTORE_INDEX {
        return None;
    }
    Some(if json {
        EntryKind::KeystoreJson(n)
    } else {
        EntryKind::KeystorePassword(n)
    })
}

/// Why a path cannot be in a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathProblem {
    /// The empty path.
    Empty,
    /// Starts with `/`.
    Absolute,
    /// Has a `..` component.
    Traversal,
    /// Has an empty or `.` component.
    NotCanonical,
    /// NUL or backslash.
    BadCharacter,
    /// More than one directory level.
    TooDeep,
    /// Not a file a backup holds.
    Unknown,
}

impl fmt::Display for PathProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "an empty path",
            Self::Absolute => "an absolute path",
            Self::Traversal => "a path that climbs out of the data dir (..)",
            Self::NotCanonical => "a path with an empty or '.' component",
            Self::BadCharacter => "a path with a NUL or backslash character",
            Self::TooDeep => "a path nested deeper than validator_keys/",
            Self::Unknown => "not a file a dkgd backup holds",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_paths_are_classified() {
        assert_eq!(EntryKind::of("manifest.json"), Ok(EntryKind::Manifest));
        assert_eq!(EntryKind::of("charon-enr-private-key"), Ok(EntryKind::Key));
        assert_eq!(
            EntryKind::of("deposit-data-32eth.json"),
            Ok(EntryKind::Deposit)
        );
        assert_eq!(
            EntryKind::of("validator_keys/keystore-12.txt"),
            Ok(EntryKind::KeystorePassword(12))
        );
        assert_eq!(
            EntryKind::of("validator_keys/keystore-0.json"),
            Ok(EntryKind::KeystoreJson(0))
        );
    }

    #[test]
    fn hostile_paths_are_refused() {
        for (p, want) in [
            ("", PathProblem::Empty),
            ("/etc/passwd", PathProblem::Absolute),
            ("../charon-enr-private-key", PathProblem::Traversal),
            ("validator_keys/../../x", PathProblem::Traversal),
            ("./cluster-lock.json", PathProblem::NotCanonical),
            ("validator_keys//keystore-0.json", PathProblem::NotCanonical),
            ("validator_keys/a/keystore-0.json", PathProblem::TooDeep),
            ("a\\b", PathProblem::BadCharacter),
            ("authorized_keys", PathProblem::Unknown),
            ("validator_keys/keystore-01.json", PathProblem::Unknown),
            ("validator_keys/keystore-.json", PathProblem::Unknown),
            ("validator_keys/evil.sh", PathProblem::Unknown),
            ("deposit-data/../x.json", PathProblem::Traversal),
            ("deposit-data$(x).json", PathProblem::Unknown),
        ] {
            assert_eq!(EntryKind::of(p), Err(want), "{p:?}");
        }
    }

    #[test]
    fn modes_match_a_ceremony() {
        assert_eq!(EntryKind::Key.mode(), 0o600);
        assert_eq!(EntryKind::KeystorePassword(0).mode(), 0o400);
        assert_eq!(EntryKind::KeystoreJson(0).mode(), 0o444);
        assert_eq!(EntryKind::Lock.mode(), 0o444);
    }
}
