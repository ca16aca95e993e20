//! dkgd-store: everything dkgd writes to disk goes through here (atomic, fsynced, never
//! overwriting key material), plus the identity key file and the single-instance key lock.
//!
//! What it does and does not do:
//! * Blocking `std::fs` I/O only (the async shell wraps it in `spawn_blocking`); no network,
//!   no `unsafe`, no logging (errors carry everything the caller needs to report).
//! * Files are only ever *created* ([`atomic::create_new`]); there is no API to replace or
//!   delete a file, so key material cannot be overwritten or removed through this crate.
//! * Secret key bytes pass only through dkgd-crypto's zeroizing types, and no error message
//!   quotes a key file's content.
//!
//! ```text
//!  DataDir::open_or_create(".charon")
//!      └─ lock_key("dkgd enr create") ──▶ KeyLock   flock on charon-enr-private-key.lock
//!            ├─ read_key()   ──▶ K1SecretKey        strict: 0600, regular file, 64 hex
//!            └─ create_key() ──▶ atomic::create_new temp → fsync → rename(no-replace) → fsync dir
//! ```
//!
//! The daemon's state database ([`state`], sled 0.34.7) is the one place that is not a plain
//! file: it holds history only and is rebuilt from the data dir when unreadable.
//!
//! Formats: `shared/spec/formats.md §5.1` (key file and charon's lock file).

pub mod atomic;
pub mod commit;
pub mod datadir;
pub mod error;
mod fsutil;
pub mod key_lock;
pub mod keyfile;
pub mod preflight;
pub mod state;
mod timestamp;

pub use datadir::DataDir;
pub use error::{Error, Holder, KeyProblem};
pub use key_lock::{KeyLock, LOCK_FILE_NAME};
pub use keyfile::{read_import_source, ImportedKey, KEY_FILE_NAME};
pub use timestamp::{now_rfc3339_seconds, rfc3339_seconds};
