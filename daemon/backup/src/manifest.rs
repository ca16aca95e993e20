//! `manifest.json`, the first entry of every bundle: who the backup belongs to and the SHA-256
//! of every other file. Public data only (no key, no password).
//!
//! ```json
//! { "format": "dkgd-backup", "format_version": 1, "dkgd_version": "0.1.0",
//!   "created": "2026-12-03T20:00:00Z", "kind": "full",
//!   "peer_id": "16Uiu2HA…", "enr": "enr:-…",
//!   "cluster_name": "…", "lock_hash": "0x…",
//!   "files": [ { "path": "charon-enr-private-key", "bytes": 64, "sha256": "…" }, … ] }
//! ```

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `format` value of every manifest.
pub const FORMAT: &str = "dkgd-backup";
/// The manifest format version this dkgd writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// What a backup protects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Only the identity key (before a ceremony).
    Key,
    /// The key and the artifacts of a completed ceremony.
    Full,
}

/// One file of the bundle as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRecord {
    /// Path inside the bundle (and the data dir).
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
}

impl FileRecord {
    /// The record of `content` at `path`.
    pub(crate) fn of(path: &str, content: &[u8]) -> Self {
        Self {
            path: path.to_owned(),
            bytes: content.len() as u64,
            sha256: sha256_hex(content),
        }
    }

    /// Whether `content` is what this record describes.
    pub(crate) fn matches(&self, content: &[u8]) -> bool {
        self.bytes == content.len() as u64 && self.sha256 == sha256_hex(content)
    }
}

/// The manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] when written by this dkgd.
    pub format_version: u32,
    /// The dkgd version that wrote it.
    pub dkgd_version: String,
    /// When the backup was made, RFC 3339 UTC (`YYYY-MM-DDTHH:MM:SSZ`).
    pub created: String,
    /// Key only, or key and artifacts.
    pub kind: Kind,
    /// The key's libp2p peer ID (`16Uiu2HA…`).
    pub peer_id: String,
    /// The key's ENR as `dkgd enr show` prints it.
    pub enr: String,
    /// The cluster's name, from the lock.
    pub cluster_name: Option<String>,
    /// The lock's `lock_hash`, `0x`-hex.
    pub lock_hash: Option<String>,
    /// Every other file of the bundle, in archive order.
    pub files: Vec<FileRecord>,
}

/// The two fields read before anything else, so a newer format gets a clear message rather
/// than a complaint about an unknown field.
#[derive(Deserialize)]
pub(crate) struct Probe {
    pub(crate) format: Option<String>,
    pub(crate) format_version: Option<u32>,
}

impl Manifest {
    /// The manifest as pretty JSON (what goes into the archive).
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
