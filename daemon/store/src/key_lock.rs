//! The single-instance key lock: `flock(LOCK_EX|LOCK_NB)` on `charon-enr-private-key.lock`.
//!
//! Why charon's file name and content (`formats.md §5.1`): charon has no OS lock, only a JSON
//! heartbeat it rewrites every second and treats as "in use" while younger than 5 s. Using the
//! same file and a superset of its JSON lets the two programs exclude each other:
//!
//! * **dkgd vs dkgd** is decided by the `flock` alone. The kernel drops it when the holder's
//!   process dies, so neither a stale file nor a quick restart can fool it; the file content
//!   only *names* the holder (`"pid"`, `"command"`) for the error message.
//! * **charon vs dkgd**: we write `{"command":"dkgd …","timestamp":"<RFC 3339>","pid":N}`, which
//!   charon's JSON decoder reads as its own heartbeat (unknown fields are ignored), so charon
//!   refuses to start while the timestamp is under 5 s old. Long-running holders call
//!   [`KeyLock::refresh`] every second, as charon does. In the other direction, charon takes no
//!   `flock`, so after locking we read the file: a heartbeat *without* our `"pid"` field and
//!   younger than 5 s means a live charon, and we back off with [`Error::InUse`].
//!
//! The lock file is never deleted (as in charon): unlinking on exit would let a late opener
//! lock a different inode than the current holder. If the path is replaced while we wait,
//! the inode check after locking notices and retries.

use crate::error::{Error, Holder};
use crate::fsutil::creation_error;
use crate::timestamp::{format_rfc3339, parse_rfc3339, UnixTime};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// File name of the lock, next to the key (charon's name).
pub const LOCK_FILE_NAME: &str = "charon-enr-private-key.lock";

/// How long a charon heartbeat keeps the key "in use" (charon's own rule).
pub const CHARON_HEARTBEAT_SECS: i64 = 5;

/// How long to wait for a holder that has just locked to record its PID and command.
const HOLDER_WRITE_GRACE: Duration = Duration::from_millis(500);

/// The lock file is small JSON; anything longer is not ours or charon's.
const MAX_LOCK_FILE_BYTES: usize = 4096;

/// Proof that this process holds the exclusive key lock of one data directory. Key files can
/// only be read or created through it. Released when dropped (or when the process dies).
#[derive(Debug)]
pub struct KeyLock {
    dir: PathBuf,
    path: PathBuf,
    file: Flock<File>,
    command: String,
}

/// The JSON in the lock file; every field optional so that charon's, ours and junk all parse.
#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
struct LockContent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pid: Option<u32>,
}

impl KeyLock {
    /// Takes the key lock of `dir` (which must exist) for `command` (e.g. `dkgd enr show`),
    /// without waiting: a held lock is [`Error::InUse`] naming the holder.
    pub fn acquire(dir: &Path, command: &str) -> Result<Self, Error> {
        let path = dir.join(LOCK_FILE_NAME);
        // A path swapped between open and flock is retried; more than a few swaps is an attack
        // or a bug, not a race.
        for _ in 0..8 {
            let file = open_lock_file(dir, &path)?;
            let file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(f) => f,
                Err((file, Errno::EWOULDBLOCK)) => {
                    let c = holder_content(&file);
                    return Err(Error::InUse {
                        dir: dir.to_path_buf(),
                        holder: Holder::Dkgd {
                            pid: c.pid,
                            command: c.command,
                        },
                    });
                }
                Err((_, e)) => return Err(Error::io("locking", &path, e.into())),
            };
            if !same_inode(&file, &path)? {
                continue;
            }
            let previous = read_content(&file);
            if let Some(holder) = live_charon(&previous, now()) {
                return Err(Error::InUse {
                    dir: dir.to_path_buf(),
                    holder,
                });
            }
            let mut lock = Self {
                dir: dir.to_path_buf(),
                path,
                file,
                command: command.to_owned(),
            };
            lock.refresh()?;
            return Ok(lock);
        }
        Err(Error::Io {
            op: "locking (the file keeps being replaced)",
            path,
            source: io::Error::from(io::ErrorKind::Other),
        })
    }

    /// Rewrites the heartbeat (command, current time, our PID). Holders that run longer than
    /// a few seconds call this every second so that charon sees the key as in use.
    pub fn refresh(&mut self) -> Result<(), Error> {
        let content = LockContent {
            command: Some(self.command.clone()),
            timestamp: Some(format_rfc3339(now())),
            pid: Some(std::process::id()),
        };
        let bytes = serde_json::to_vec(&content)
            .map_err(|_| Error::Internal("serialising the lock file content"))?;
        // Overwrite in place, then cut: a reader never sees an empty file.
        self.file
            .write_all_at(&bytes, 0)
            .and_then(|()| self.file.set_len(bytes.len() as u64))
            .map_err(|e| Error::io("writing", &self.path, e))
    }

    /// The data directory this lock protects.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn now() -> UnixTime {
    UnixTime::from_system(SystemTime::now())
}

/// Opens (creating if needed, mode 0644) the lock file without following symlinks.
pub(crate) fn open_lock_file(dir: &Path, path: &Path) -> Result<File, Error> {
    let existed = path.symlink_metadata().is_ok();
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC | nix::libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(nix::libc::ELOOP) => Error::NotAFile {
                path: path.to_path_buf(),
                found: "a symbolic link",
            },
            Some(nix::libc::EISDIR) => Error::NotAFile {
                path: path.to_path_buf(),
                found: "a directory",
            },
            _ if existed => Error::io("opening", path, e),
            _ => creation_error("creating", dir, path, e),
        })?;
    crate::fsutil::ensure_regular_file(file, path)
}

/// Whether `path` still names the inode we locked.
fn same_inode(file: &File, path: &Path) -> Result<bool, Error> {
    let ours = file
        .metadata()
        .map_err(|e| Error::io("inspecting", path, e))?;
    Ok(match path.symlink_metadata() {
        Ok(m) => m.dev() == ours.dev() && m.ino() == ours.ino(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => return Err(Error::io("inspecting", path, e)),
    })
}

/// Best-effort read of the lock file content (from offset 0); junk reads as empty.
fn read_content(file: &File) -> LockContent {
    let mut buf = vec![0u8; MAX_LOCK_FILE_BYTES];
    let mut len = 0;
    while let Some(rest) = buf.get_mut(len..).filter(|r| !r.is_empty()) {
        match file.read_at(rest, len as u64) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return LockContent::default(),
        }
    }
    buf.truncate(len);
    serde_json::from_slice(&buf).unwrap_or_default()
}

/// The content a current holder wrote. A holder that has just taken the lock may not have
/// written yet (it writes right after locking), so an unnamed holder is re-read for a moment.
fn holder_content(file: &File) -> LockContent {
    let give_up = Instant::now() + HOLDER_WRITE_GRACE;
    loop {
        let c = read_content(file);
        if c.pid.is_some() || Instant::now() >= give_up {
            return c;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A heartbeat left by charon (no `pid` field: charon never writes one) that is younger than
/// [`CHARON_HEARTBEAT_SECS`] at `now`. Future timestamps count as fresh, as in charon.
fn live_charon(c: &LockContent, now: UnixTime) -> Option<Holder> {
    if c.pid.is_some() {
        return None;
    }
    let ts = parse_rfc3339(c.timestamp.as_deref()?)?;
    let age = ts.secs_until(now);
    (age < CHARON_HEARTBEAT_SECS).then(|| Holder::Charon {
        command: c.command.clone().unwrap_or_else(|| "charon".to_owned()),
        age_secs: u64::try_from(age).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(path: &Path) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    #[test]
    fn second_open_file_description_is_refused_with_our_pid() {
        let d = tempfile::tempdir().unwrap();
        let first = KeyLock::acquire(d.path(), "dkgd test one").unwrap();
        let err = KeyLock::acquire(d.path(), "dkgd test two").unwrap_err();
        let msg = err.to_string();
        let pid = std::process::id();
        assert!(
            msg.contains(&format!("in use by PID {pid} (dkgd test one)")),
            "{msg}"
        );
        drop(first);
        let again = KeyLock::acquire(d.path(), "dkgd test two").unwrap();
        assert_eq!(content(again.path())["command"], "dkgd test two");
    }

    #[test]
    fn writes_a_charon_compatible_heartbeat() {
        let d = tempfile::tempdir().unwrap();
        let mut lock = KeyLock::acquire(d.path(), "dkgd enr show").unwrap();
        lock.refresh().unwrap();
        let v = content(lock.path());
        assert_eq!(v["command"], "dkgd enr show");
        assert_eq!(v["pid"], std::process::id());
        let ts = v["timestamp"].as_str().unwrap();
        assert!(parse_rfc3339(ts).is_some(), "{ts}");
        assert_eq!(lock.path().metadata().unwrap().mode() & 0o7777 & !0o644, 0);
    }

    #[test]
    fn stale_files_do_not_block() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(LOCK_FILE_NAME);
        // A fresh-looking file left by a dead dkgd (it has a pid): the flock decides.
        let fresh = format_rfc3339(now());
        std::fs::write(
            &p,
            format!(r#"{{"command":"dkgd dkg","timestamp":"{fresh}","pid":1}}"#),
        )
        .unwrap();
        drop(KeyLock::acquire(d.path(), "dkgd a").unwrap());
        // An old charon heartbeat, and junk.
        for junk in [
            r#"{"command":"charon dkg","timestamp":"2020-01-01T00:00:00Z"}"#,
            "not json at all, quite a lot longer than the new content will be",
            "",
        ] {
            std::fs::write(&p, junk).unwrap();
            let lock = KeyLock::acquire(d.path(), "dkgd b").unwrap();
            assert_eq!(content(lock.path())["command"], "dkgd b");
        }
    }

    #[test]
    fn live_charon_heartbeat_blocks() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(LOCK_FILE_NAME);
        let fresh = format_rfc3339(now());
        let beat = format!(
            r#"{{"command":"charon dkg","timestamp":"{fresh}","cluster_lock_hash":"0xab"}}"#
        );
        std::fs::write(&p, &beat).unwrap();
        let err = KeyLock::acquire(d.path(), "dkgd a").unwrap_err();
        assert!(
            matches!(
                err,
                Error::InUse {
                    holder: Holder::Charon { .. },
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("charon dkg"), "{err}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), beat, "left untouched");
    }

    #[test]
    fn heartbeat_age_rule() {
        let t0 = UnixTime {
            secs: 1_000_000,
            nanos: 0,
        };
        let beat = |ts: &str| LockContent {
            command: Some("charon run".into()),
            timestamp: Some(ts.into()),
            pid: None,
        };
        let at = |secs| UnixTime { secs, nanos: 0 };
        let ts = format_rfc3339(t0);
        assert!(live_charon(&beat(&ts), at(t0.secs + 4)).is_some());
        assert!(live_charon(&beat(&ts), at(t0.secs + 5)).is_none());
        assert!(
            live_charon(&beat(&ts), at(t0.secs - 100)).is_some(),
            "future"
        );
        assert!(live_charon(&beat("garbage"), at(t0.secs)).is_none());
    }

    #[test]
    fn symlink_and_directory_lock_paths_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("elsewhere");
        std::os::unix::fs::symlink(&target, d.path().join(LOCK_FILE_NAME)).unwrap();
        let err = KeyLock::acquire(d.path(), "dkgd").unwrap_err();
        assert!(
            matches!(
                err,
                Error::NotAFile {
                    found: "a symbolic link",
                    ..
                }
            ),
            "{err}"
        );
        assert!(!target.exists(), "symlink was not followed");

        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join(LOCK_FILE_NAME)).unwrap();
        let err = KeyLock::acquire(d.path(), "dkgd").unwrap_err();
        assert!(
            matches!(
                err,
                Error::NotAFile {
                    found: "a directory",
                    ..
                }
            ),
            "{err}"
        );
    }
}
