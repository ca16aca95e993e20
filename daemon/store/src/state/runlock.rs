//! Single instance of `dkgd run` per state dir: `flock(LOCK_EX|LOCK_NB)` on
//! `<state dir>/dkgd-run.lock`, held for the daemon's lifetime. The kernel drops it when the
//! process dies (even by SIGKILL), so a stale file never blocks a restart; the file's content
//! only names the holder (`pid`) for the error message.
//!
//! This is deliberately not the key lock ([`crate::KeyLock`]): the daemon runs its ceremony
//! as a child process that takes the key lock itself.

use crate::error::{Error, Holder};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// File name of the daemon's single-instance lock inside the state dir.
pub const RUN_LOCK_FILE_NAME: &str = "dkgd-run.lock";

/// Proof that this process is the one `dkgd run` of a state dir. Released on drop.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
    _file: Flock<File>,
}

impl RunLock {
    /// Takes the lock in `dir` (which must exist) without waiting. A held lock is
    /// [`Error::InUse`] naming the holder's PID.
    pub fn acquire(dir: &Path) -> Result<Self, Error> {
        let path = dir.join(RUN_LOCK_FILE_NAME);
        let file = crate::key_lock::open_lock_file(dir, &path)?;
        let mut file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(f) => f,
            Err((mut file, Errno::EWOULDBLOCK)) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(Error::InUse {
                    dir: dir.to_path_buf(),
                    holder: Holder::Dkgd {
                        pid: text.trim().parse().ok(),
                        command: Some("dkgd run".to_owned()),
                    },
                });
            }
            Err((_, e)) => return Err(Error::io("locking", &path, e.into())),
        };
        let pid = format!("{}\n", std::process::id());
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(pid.as_bytes()))
            .map_err(|e| Error::io("writing", &path, e))?;
        Ok(Self { path, _file: file })
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_with_the_pid() {
        let d = tempfile::tempdir().unwrap();
        let first = RunLock::acquire(d.path()).unwrap();
        let err = RunLock::acquire(d.path()).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("PID {} (dkgd run)", std::process::id())),
            "{msg}"
        );
        drop(first);
        RunLock::acquire(d.path()).unwrap();
    }
}
