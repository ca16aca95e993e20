//! dkgd-backup: one age-encrypted file that holds everything a replacement box needs, and
//! the checks that make restoring it safe.
//!
//! What it does and does not do:
//! * Bytes and files only: blocking `std::fs` reads of a data dir, writes only through
//!   dkgd-store's atomic path (create, never replace); no network, no `unsafe`, no logging.
//! * The box encrypts to its owner's age X25519 public keys (or a passphrase); it never holds
//!   the matching secret. A backup opens with Debian's `age` and plain `tar`:
//!   `age -d -i key.txt box.age | tar x` gives charon-compatible files.
//! * Secret bytes (the key, keystore passwords, the whole archive) live only in zeroizing
//!   containers; no `Debug`, error or hint shows them.
//!
//! ```text
//!  data dir ──collect──▶ Bundle ──to_tar──▶ tar ──encrypt(Seal)──▶ age file
//!                        manifest.json first: versions, time, peer ID, ENR, cluster, lock
//!                        hash, SHA-256 of every file
//!  age file ──decrypt(Unlock)──▶ tar ──Bundle::from_tar──▶ Bundle (every hash, path, size
//!                        and the key ↔ lock operator checked) ──restore──▶ empty data dir
//! ```
//!
//! Archive layout and modes: [`names`]. Manifest: [`manifest`].

mod bundle;
mod collect;
mod crypt;
pub mod error;
mod facts;
pub mod manifest;
pub mod names;
mod restore;

pub use age::secrecy::{ExposeSecret, SecretString};
pub use bundle::{Bundle, Entry, Meta};
pub use collect::{collect, Collected};
pub use crypt::{
    decrypt, encrypt, generate_identity, inspect, parse_identities, parse_recipients, HeaderInfo,
    NewIdentity, Passphrase, Seal, Unlock,
};
pub use error::{Error, Problem};
pub use manifest::{Kind, Manifest};
pub use restore::{preflight, restore};

use std::path::Path;

/// Largest single file in a backup (as large as any definition, lock or deposit file
/// dkgd reads: `dkgd_formats::error::MAX_INPUT_BYTES`).
pub const MAX_ENTRY_BYTES: usize = dkgd_formats::error::MAX_INPUT_BYTES;
/// Largest manifest.
pub const MAX_MANIFEST_BYTES: usize = 8 * 1024 * 1024;
/// Most files in one backup (two per validator, far above any cluster).
pub const MAX_ENTRIES: usize = 40_000;
/// Largest archive inside a backup.
pub const MAX_BUNDLE_BYTES: usize = 64 * 1024 * 1024;
/// Largest backup file read (the archive plus age's overhead).
pub const MAX_BACKUP_FILE_BYTES: u64 = MAX_BUNDLE_BYTES as u64 + 1024 * 1024;

/// Makes a backup of the data dir `dir`: collect, archive, encrypt. Returns the age file's
/// bytes and the bundle (for its manifest and the files left out).
pub fn export(dir: &Path, meta: &Meta, to: Seal) -> Result<(Vec<u8>, Collected), Error> {
    let collected = collect(dir, meta)?;
    let plain = collected.bundle.to_tar()?;
    let sealed = encrypt(&plain, to)?;
    Ok((sealed, collected))
}

/// Opens a backup: decrypts it and checks every file against the manifest and the manifest
/// against the files (see [`Bundle::from_tar`]). `file` names it in errors.
pub fn open(cipher: &[u8], with: Unlock, file: &Path) -> Result<Bundle, Error> {
    if cipher.len() as u64 > MAX_BACKUP_FILE_BYTES {
        return Err(Error::TooLarge {
            path: file.to_path_buf(),
            bytes: cipher.len() as u64,
            limit: MAX_BACKUP_FILE_BYTES,
            what: "a backup",
        });
    }
    let plain = decrypt(cipher, with, file)?;
    Bundle::from_tar(plain.expose_secret(), file)
}

/// Reads a backup file, refusing one larger than [`MAX_BACKUP_FILE_BYTES`] before reading.
pub fn read_backup_file(path: &Path) -> Result<Vec<u8>, Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io("reading", path, e))?;
    if !meta.is_file() {
        return Err(Error::invalid(path, None, Problem::NotAFile));
    }
    if meta.len() > MAX_BACKUP_FILE_BYTES {
        return Err(Error::TooLarge {
            path: path.to_path_buf(),
            bytes: meta.len(),
            limit: MAX_BACKUP_FILE_BYTES,
            what: "a backup",
        });
    }
    std::fs::read(path).map_err(|e| Error::io("reading", path, e))
}
