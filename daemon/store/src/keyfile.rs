//! The identity key file `charon-enr-private-key` (`formats.md §5.1`): 64 lower-case hex
//! characters, no `0x`, no newline, mode 0600.
//!
//! Reading is strict and specific: every malformed file gets its own [`KeyProblem`], and a key
//! file readable by group or others is refused (with the `chmod 600` fix) before its content
//! is even parsed. Writing only ever creates (see [`crate::atomic`]). Secret bytes pass only
//! through dkgd-crypto's zeroizing containers; errors never quote the content.

use crate::atomic;
use crate::error::{Error, KeyProblem};
use crate::key_lock::KeyLock;
use dkgd_crypto::k1::K1SecretKey;
use dkgd_crypto::secret::SecretBytes;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// File name of the identity key inside a data directory (charon's name).
pub const KEY_FILE_NAME: &str = "charon-enr-private-key";

/// Permission bits of a created key file.
pub const KEY_FILE_MODE: u32 = 0o600;

/// Largest file we read as a key candidate (64 hex characters plus generous whitespace).
const MAX_KEY_FILE_BYTES: usize = 4096;

/// A key read from a file outside the data directory, for `dkgd enr import`.
#[derive(Debug)]
pub struct ImportedKey {
    /// The validated key.
    pub key: K1SecretKey,
    /// The source file's permission bits when group or others could read it (the operator
    /// should be told to delete or protect that copy); `None` when it was private.
    pub loose_mode: Option<u32>,
}

impl KeyLock {
    /// Path of the key file this lock protects.
    pub fn key_path(&self) -> PathBuf {
        self.dir().join(KEY_FILE_NAME)
    }

    /// Whether anything (file, directory, even a dangling symlink) sits at the key path.
    pub fn key_exists(&self) -> Result<bool, Error> {
        let p = self.key_path();
        match p.symlink_metadata() {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io("inspecting", &p, e)),
        }
    }

    /// Reads and validates the data directory's key. Refuses symlinks, non-files, files
    /// readable by group or others ([`Error::UnsafePermissions`]) and malformed content
    /// ([`Error::InvalidKey`]).
    pub fn read_key(&self) -> Result<K1SecretKey, Error> {
        let path = self.key_path();
        let file = open_key_file(&path, true)?;
        let mode = file_mode(&file, &path)?;
        if mode & 0o077 != 0 {
            return Err(Error::UnsafePermissions { file: path, mode });
        }
        decode_file(file, &path)
    }

    /// Creates the data directory's key file from `key` (mode 0600, atomic, fsynced). Fails
    /// with [`Error::AlreadyExists`] and changes nothing when a key is already there: there is
    /// no way to overwrite key material.
    pub fn create_key(&self, key: &K1SecretKey) -> Result<PathBuf, Error> {
        let text = encode_key_hex(key);
        atomic::create_new(
            self.dir(),
            KEY_FILE_NAME,
            text.expose_secret(),
            KEY_FILE_MODE,
        )
    }
}

/// Reads a key for import from any path (symlinks followed, since the source may be a mounted
/// backup). Content rules are the same as for the data directory's key; loose permissions are
/// reported in [`ImportedKey::loose_mode`] rather than refused, since backup media such as
/// FAT-formatted USB sticks cannot express 0600.
pub fn read_import_source(path: &Path) -> Result<ImportedKey, Error> {
    let file = open_key_file(path, false)?;
    let mode = file_mode(&file, path)?;
    let key = decode_file(file, path)?;
    Ok(ImportedKey {
        key,
        loose_mode: (mode & 0o077 != 0).then_some(mode),
    })
}

/// Opens a key file for reading, checking that it is a regular file.
fn open_key_file(path: &Path, refuse_symlink: bool) -> Result<File, Error> {
    let mut flags = nix::libc::O_CLOEXEC | nix::libc::O_NONBLOCK;
    if refuse_symlink {
        flags |= nix::libc::O_NOFOLLOW;
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(nix::libc::ENOENT) => Error::NotFound {
                path: path.to_path_buf(),
            },
            Some(nix::libc::ELOOP) if refuse_symlink => Error::NotAFile {
                path: path.to_path_buf(),
                found: "a symbolic link",
            },
            _ => Error::io("opening", path, e),
        })?;
    crate::fsutil::ensure_regular_file(file, path)
}

fn file_mode(file: &File, path: &Path) -> Result<u32, Error> {
    file.metadata()
        .map(|m| m.permissions().mode() & 0o7777)
        .map_err(|e| Error::io("inspecting", path, e))
}

/// Reads at most [`MAX_KEY_FILE_BYTES`] into a zeroizing buffer and decodes it.
fn decode_file(mut file: File, path: &Path) -> Result<K1SecretKey, Error> {
    let invalid = |why| Error::InvalidKey {
        file: path.to_path_buf(),
        why,
    };
    // One allocation, never grown: no stray copies of the content in freed memory.
    let mut buf = SecretBytes::<{ MAX_KEY_FILE_BYTES + 1 }>::zeroed();
    let mut len = 0;
    loop {
        let Some(rest) = buf
            .expose_secret_mut()
            .get_mut(len..)
            .filter(|r| !r.is_empty())
        else {
            let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
            return Err(invalid(KeyProblem::TooLarge { bytes }));
        };
        match file.read(rest) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io("reading", path, e)),
        }
    }
    let content = buf.expose_secret().get(..len).unwrap_or_default();
    let scalar = parse_key_hex(content).map_err(invalid)?;
    K1SecretKey::from_bytes(scalar.expose_secret()).map_err(|_| invalid(KeyProblem::NotAScalar))
}

/// Parses key-file content (`formats.md §5.1`): surrounding whitespace is ignored, then
/// exactly 64 hex digits (either case, as charon's decoder accepts) must remain.
pub fn parse_key_hex(content: &[u8]) -> Result<SecretBytes<32>, KeyProblem> {
    let t = content.trim_ascii();
    if t.is_empty() {
        return Err(KeyProblem::Empty);
    }
    if t.len() >= 2 && t.get(..2).is_some_and(|p| p.eq_ignore_ascii_case(b"0x")) {
        return Err(KeyProblem::HexPrefix);
    }
    let head = t.get(..64).unwrap_or(t);
    if let Some(offset) = head.iter().position(|c| !c.is_ascii_hexdigit()) {
        return Err(KeyProblem::NonHex { offset });
    }
    let tail = t.get(64..).unwrap_or_default();
    if t.len() < 64 || tail.iter().all(u8::is_ascii_hexdigit) && !tail.is_empty() {
        return Err(KeyProblem::WrongLength { found: t.len() });
    }
    if !tail.is_empty() {
        return Err(KeyProblem::TrailingGarbage { extra: tail.len() });
    }
    let mut out = SecretBytes::<32>::zeroed();
    for (byte, pair) in out.expose_secret_mut().iter_mut().zip(head.chunks_exact(2)) {
        let (hi, lo) = match pair {
            [h, l] => (nibble(*h), nibble(*l)),
            _ => return Err(KeyProblem::WrongLength { found: t.len() }),
        };
        *byte = (hi << 4) | lo;
    }
    Ok(out)
}

/// Value of one ASCII hex digit (already validated).
fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// The key-file content for `key`: 64 lower-case hex characters, nothing else.
pub fn encode_key_hex(key: &K1SecretKey) -> SecretBytes<64> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let scalar = key.expose_secret();
    let mut out = SecretBytes::<64>::zeroed();
    for (pair, b) in out
        .expose_secret_mut()
        .chunks_exact_mut(2)
        .zip(scalar.iter())
    {
        if let [hi, lo] = pair {
            *hi = DIGITS[usize::from(b >> 4)];
            *lo = DIGITS[usize::from(b & 0x0f)];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DataDir;
    use std::os::unix::fs::MetadataExt;

    /// charon's k1util test key (shared/vectors/charon/vectors.md, "secp256k1 signing").
    const HEX: &str = "41d3ff12045b73c870529fe44f70dca2745bafbe1698ffc3c8759eef3cfbaee1";

    fn parse(s: &str) -> Result<[u8; 32], KeyProblem> {
        parse_key_hex(s.as_bytes()).map(|b| *b.expose_secret())
    }

    #[test]
    fn accepts_charon_format_and_whitespace() {
        let want: [u8; 32] = hex_literal(HEX);
        assert_eq!(parse(HEX), Ok(want));
        assert_eq!(parse(&format!("{HEX}\n")), Ok(want));
        assert_eq!(parse(&format!("  \t{HEX}\r\n\n")), Ok(want));
        assert_eq!(parse(&HEX.to_uppercase()), Ok(want));
    }

    #[test]
    fn each_malformation_has_its_own_problem() {
        let cases: Vec<(String, KeyProblem)> = vec![
            (String::new(), KeyProblem::Empty),
            (" \n\t".into(), KeyProblem::Empty),
            (format!("0x{HEX}"), KeyProblem::HexPrefix),
            (HEX[..63].into(), KeyProblem::WrongLength { found: 63 }),
            (format!("{HEX}a"), KeyProblem::WrongLength { found: 65 }),
            (
                format!("{HEX}{HEX}"),
                KeyProblem::WrongLength { found: 128 },
            ),
            (
                format!("{}g{}", &HEX[..10], &HEX[11..]),
                KeyProblem::NonHex { offset: 10 },
            ),
            ("zz".into(), KeyProblem::NonHex { offset: 0 }),
            (
                format!("{HEX}\n# backup"),
                KeyProblem::TrailingGarbage { extra: 9 },
            ),
            (
                format!("{HEX} {HEX}"),
                KeyProblem::TrailingGarbage { extra: 65 },
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse(&input).map(|_| ()), Err(want.clone()), "{input:?}");
            let msg = want.to_string();
            assert!(!msg.contains(&HEX[..8]), "{msg}");
        }
    }

    #[test]
    fn encodes_lower_case_hex_exactly() {
        let key = K1SecretKey::from_bytes(&hex_literal(HEX)).unwrap();
        assert_eq!(encode_key_hex(&key).expose_secret(), HEX.as_bytes());
    }

    fn locked_dir() -> (tempfile::TempDir, KeyLock) {
        let d = tempfile::tempdir().unwrap();
        let lock = DataDir::open(d.path())
            .unwrap()
            .lock_key("dkgd test")
            .unwrap();
        (d, lock)
    }

    fn write_key(lock: &KeyLock, content: &[u8], mode: u32) {
        std::fs::write(lock.key_path(), content).unwrap();
        std::fs::set_permissions(lock.key_path(), PermissionsExt::from_mode(mode)).unwrap();
    }

    #[test]
    fn create_then_read_round_trips_with_mode_0600() {
        let (_d, lock) = locked_dir();
        assert!(!lock.key_exists().unwrap());
        let mut rng = rand_core::OsRng;
        let key = K1SecretKey::generate(&mut rng);
        let path = lock.create_key(&key).unwrap();
        assert_eq!(path.metadata().unwrap().mode() & 0o7777, 0o600);
        let text = std::fs::read(&path).unwrap();
        assert_eq!(text.len(), 64);
        assert!(text.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')));
        let back = lock.read_key().unwrap();
        assert_eq!(*back.expose_secret(), *key.expose_secret());
        // No second create, whatever the key.
        let other = K1SecretKey::generate(&mut rng);
        assert!(matches!(
            lock.create_key(&other),
            Err(Error::AlreadyExists { .. })
        ));
        assert_eq!(std::fs::read(&path).unwrap(), text);
    }

    #[test]
    fn loose_permissions_are_refused_with_the_fix() {
        let (_d, lock) = locked_dir();
        for mode in [0o644, 0o640, 0o604, 0o660] {
            write_key(&lock, HEX.as_bytes(), mode);
            let err = lock.read_key().unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, Error::UnsafePermissions { .. }), "{msg}");
            let fix = format!("chmod 600 {}", lock.key_path().display());
            assert!(msg.contains(&fix), "{msg}");
            assert!(!msg.contains(HEX), "{msg}");
        }
        write_key(&lock, HEX.as_bytes(), 0o400);
        lock.read_key().unwrap();
    }

    #[test]
    fn bad_files_get_specific_errors() {
        let (_d, lock) = locked_dir();
        let zero = "0".repeat(64);
        let order = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
        for (content, want) in [
            (zero.as_str(), KeyProblem::NotAScalar),
            (order, KeyProblem::NotAScalar),
            ("abc", KeyProblem::WrongLength { found: 3 }),
        ] {
            write_key(&lock, content.as_bytes(), 0o600);
            match lock.read_key() {
                Err(Error::InvalidKey { why, .. }) => assert_eq!(why, want),
                other => panic!("{content}: {other:?}"),
            }
        }
        write_key(&lock, &vec![b'a'; 5000], 0o600);
        assert!(matches!(
            lock.read_key(),
            Err(Error::InvalidKey {
                why: KeyProblem::TooLarge { bytes: 5000 },
                ..
            })
        ));
    }

    #[test]
    fn non_files_are_refused() {
        let (d, lock) = locked_dir();
        assert!(matches!(lock.read_key(), Err(Error::NotFound { .. })));
        std::fs::create_dir(lock.key_path()).unwrap();
        assert!(matches!(
            lock.read_key(),
            Err(Error::NotAFile {
                found: "a directory",
                ..
            })
        ));
        std::fs::remove_dir(lock.key_path()).unwrap();
        let real = d.path().join("real");
        std::fs::write(&real, HEX).unwrap();
        std::fs::set_permissions(&real, PermissionsExt::from_mode(0o600)).unwrap();
        std::os::unix::fs::symlink(&real, lock.key_path()).unwrap();
        assert!(matches!(
            lock.read_key(),
            Err(Error::NotAFile {
                found: "a symbolic link",
                ..
            })
        ));
        // The import source may be a symlink (e.g. into a mounted backup) and loose.
        std::fs::set_permissions(&real, PermissionsExt::from_mode(0o644)).unwrap();
        let imported = read_import_source(&lock.key_path()).unwrap();
        assert_eq!(imported.loose_mode, Some(0o644));
        assert_eq!(*imported.key.expose_secret(), hex_literal(HEX));
    }

    fn hex_literal(s: &str) -> [u8; 32] {
        let v = dkgd_testkit::unhex(s);
        v.try_into().unwrap()
    }
}
