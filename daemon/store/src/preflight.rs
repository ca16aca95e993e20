//! Before a ceremony starts: prove that the data dir can take its artifacts (issue 12 §1).
//!
//! A node whose data dir is read-only or full must find out before step 1, not at the commit
//! after the whole ceremony (when the other nodes already hold their keys). [`check_room`]:
//!
//! ```text
//!  statvfs(dir)     read-only mount?               ──▶ NotWritable (EROFS)
//!                   free bytes / files < estimate  ──▶ NoSpace
//!  probe file       .dkgd-probe.<pid>: O_CREAT|O_EXCL 0600, write, fchmod 0400 (and read
//!                   the mode back), fsync, unlink, fsync dir   ── refused? ──▶ NotWritable / Io
//! ```
//!
//! Nothing is left behind: the probe is removed on every path (the directory's mtime changes).
//! The estimate ([`ArtifactEstimate`]) rounds every file up to whole blocks and adds a 4×
//! margin, so ordinary file-system overhead never makes a passing preflight fail at commit.

use crate::error::Error;
use crate::fsutil::{creation_error, sync_dir};
use std::fs::{OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Safety factor over the estimated size.
pub const MARGIN: u64 = 4;

/// What one node's artifacts take, before the margin (sizes from charon-format artifacts of
/// the demo and the CI matrix, rounded up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArtifactEstimate {
    /// Validators in the cluster.
    pub validators: u64,
    /// Operators in the cluster (each adds a public share per validator to the lock).
    pub operators: u64,
    /// `deposit-data*.json` files (one per deposit amount).
    pub deposit_files: u64,
}

/// Bytes per keystore JSON (EIP-2335, pbkdf2 or scrypt: about 0.8 KiB).
const KEYSTORE_BYTES: u64 = 1024;
/// Bytes per password file.
const PASSWORD_BYTES: u64 = 64;
/// Bytes per validator in one deposit file (about 0.7 KiB of JSON).
const DEPOSIT_BYTES: u64 = 1024;
/// Bytes per validator in the lock, without public shares (keys, signatures, partial deposit
/// data, builder registration).
const LOCK_BYTES_PER_VALIDATOR: u64 = 2048;
/// Bytes per public share in the lock (a 96-hex-digit key, quotes, comma, indent).
const LOCK_BYTES_PER_SHARE: u64 = 128;
/// The lock's fixed part: the embedded definition, signatures.
const LOCK_BYTES_FIXED: u64 = 16 * 1024;

impl ArtifactEstimate {
    /// Files and directories written: two per validator, the deposit files, the lock, the
    /// seal, the staging and `validator_keys` directories, and one temporary file at a time.
    pub fn files(&self) -> u64 {
        self.validators
            .saturating_mul(2)
            .saturating_add(self.deposit_files)
            .saturating_add(5)
    }

    /// Bytes on disk with every file rounded up to whole `block` bytes, margin not included.
    pub fn bytes(&self, block: u64) -> u64 {
        let block = block.max(512);
        let round = |n: u64| n.div_ceil(block).saturating_mul(block);
        let v = self.validators;
        let keystores = round(KEYSTORE_BYTES)
            .saturating_add(round(PASSWORD_BYTES))
            .saturating_mul(v);
        let deposits = round(DEPOSIT_BYTES.saturating_mul(v)).saturating_mul(self.deposit_files);
        let per_validator = LOCK_BYTES_PER_VALIDATOR
            .saturating_add(LOCK_BYTES_PER_SHARE.saturating_mul(self.operators));
        let lock = round(LOCK_BYTES_FIXED.saturating_add(per_validator.saturating_mul(v)));
        // The seal and the two directories.
        let small = round(1).saturating_mul(3);
        keystores
            .saturating_add(deposits)
            .saturating_add(lock)
            .saturating_add(small)
    }
}

/// Free room in a data dir, as [`check_room`] found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Room {
    /// Free bytes for unprivileged writers.
    pub available_bytes: u64,
    /// Free inodes for unprivileged writers (`u64::MAX`: no limit reported).
    pub available_files: u64,
    /// Needed bytes, margin included.
    pub needed_bytes: u64,
    /// Needed files.
    pub needed_files: u64,
}

impl Room {
    /// Whether the room suffices.
    pub fn suffices(&self) -> bool {
        self.available_bytes >= self.needed_bytes && self.available_files >= self.needed_files
    }
}

/// Proves that `dir` (an existing directory) is writable by this process, takes files whose
/// mode can be set, and has room for `estimate` with the [`MARGIN`]. Changes nothing.
// statvfs fields are u32 on 32-bit targets (armv7 Pis), u64 elsewhere.
#[allow(clippy::useless_conversion)]
pub fn check_room(dir: &Path, estimate: &ArtifactEstimate) -> Result<Room, Error> {
    let st = nix::sys::statvfs::statvfs(dir)
        .map_err(|e| Error::io("checking the free space of", dir, e.into()))?;
    if st.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY) {
        return Err(creation_error(
            "creating",
            dir,
            dir,
            std::io::Error::from_raw_os_error(nix::libc::EROFS),
        ));
    }
    let frag = u64::from(st.fragment_size()).max(1);
    let block = u64::from(st.block_size()).max(frag);
    let (bavail, files, favail) = (
        u64::from(st.blocks_available()),
        u64::from(st.files()),
        u64::from(st.files_available()),
    );
    let room = Room {
        available_bytes: bavail.saturating_mul(frag),
        // File systems without an inode limit (btrfs) report 0 files in total.
        available_files: if files == 0 { u64::MAX } else { favail },
        needed_bytes: estimate.bytes(block).saturating_mul(MARGIN),
        needed_files: estimate.files(),
    };
    if !room.suffices() {
        return Err(Error::NoSpace {
            dir: dir.to_path_buf(),
            available_bytes: room.available_bytes,
            available_files: room.available_files,
            needed_bytes: room.needed_bytes,
            needed_files: room.needed_files,
        });
    }
    probe(dir)?;
    Ok(room)
}

/// Creates, fills, chmods, fsyncs and removes a probe file in `dir`.
fn probe(dir: &Path) -> Result<(), Error> {
    let path = dir.join(format!(".dkgd-probe.{}", std::process::id()));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(&path)
        .map_err(|e| creation_error("creating", dir, &path, e))?;
    let filled = file
        .write_all(b"dkgd preflight\n")
        .map_err(|e| Error::io("writing", &path, e))
        .and_then(|()| {
            file.set_permissions(Permissions::from_mode(0o400))
                .map_err(|e| Error::io("setting the mode of", &path, e))
        })
        .and_then(|()| {
            let mode = file
                .metadata()
                .map_err(|e| Error::io("inspecting", &path, e))?
                .permissions()
                .mode();
            if mode & 0o777 == 0o400 {
                Ok(())
            } else {
                // A file system that ignores modes (vfat, some network mounts) cannot keep
                // key files owner-only.
                Err(Error::io(
                    "setting the mode of",
                    &path,
                    std::io::Error::new(
                        std::io::ErrorKind::Unsupported,
                        format!(
                            "the file system kept mode {:04o} instead of 0400",
                            mode & 0o777
                        ),
                    ),
                ))
            }
        })
        .and_then(|()| file.sync_all().map_err(|e| Error::io("fsyncing", &path, e)));
    drop(file);
    let removed = std::fs::remove_file(&path).map_err(|e| Error::io("removing", &path, e));
    filled?;
    removed?;
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est(v: u64) -> ArtifactEstimate {
        ArtifactEstimate {
            validators: v,
            operators: 4,
            deposit_files: 1,
        }
    }

    #[test]
    fn the_estimate_grows_with_validators_and_block_size() {
        assert!(est(100).bytes(4096) > est(1).bytes(4096));
        assert!(est(10).bytes(4096) > est(10).bytes(512));
        // 2 files per validator at a 4 KiB block each dominate small clusters.
        assert!(est(10).bytes(4096) >= 10 * 2 * 4096);
        assert_eq!(est(10).files(), 26);
        // No overflow on absurd input.
        assert_eq!(est(u64::MAX).bytes(4096), u64::MAX);
    }

    #[test]
    fn a_writable_dir_with_room_passes_and_is_left_as_it_was() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("keep"), b"x").unwrap();
        let room = check_room(d.path(), &est(1)).unwrap();
        assert!(room.suffices());
        assert!(room.needed_bytes >= est(1).bytes(512) * MARGIN);
        let names: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["keep"]);
    }

    #[test]
    fn too_little_room_is_no_space_and_writes_nothing() {
        let d = tempfile::tempdir().unwrap();
        let huge = ArtifactEstimate {
            validators: u64::MAX / 1_000_000,
            operators: 10,
            deposit_files: 1,
        };
        let e = check_room(d.path(), &huge).unwrap_err();
        assert!(matches!(e, Error::NoSpace { .. }), "{e}");
        assert!(e.to_string().contains("need about"), "{e}");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_missing_dir_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        assert!(check_room(&d.path().join("nope"), &est(1)).is_err());
    }
}
