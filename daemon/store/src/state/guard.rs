//! One opener of a state database at a time, across processes: an exclusive `flock` on
//! `<db>.lock` beside it, held for as long as the [`super::StateStore`] lives. Opening waits for
//! it (bounded), so a `dkgd state-helper` orphaned by a killed daemon finishes its batch before
//! the next daemon's helper opens the database, instead of that helper mistaking the first
//! one's open-in-progress marker for a crash. The kernel drops the lock when its holder dies.

use crate::error::Error;
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long an open waits for another process's open database before giving up.
pub(super) const GUARD_WAIT: Duration = Duration::from_secs(10);
const GUARD_POLL: Duration = Duration::from_millis(20);

/// The held lock; released on drop.
#[derive(Debug)]
pub(super) struct Guard {
    _file: Flock<File>,
}

/// `<db>.lock`.
pub(super) fn guard_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    db.with_file_name(name)
}

impl Guard {
    /// Takes the lock of the database at `db`, waiting at most `wait`.
    pub(super) fn take(db: &Path, wait: Duration) -> Result<Self, Error> {
        let path = guard_path(db);
        let dir = match db.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let started = Instant::now();
        let mut file = crate::key_lock::open_lock_file(dir, &path)?;
        loop {
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(held) => return Ok(Self { _file: held }),
                Err((back, Errno::EWOULDBLOCK)) if started.elapsed() < wait => {
                    file = back;
                    std::thread::sleep(GUARD_POLL);
                }
                Err((_, Errno::EWOULDBLOCK)) => {
                    return Err(Error::StateDbBusy {
                        path: db.to_path_buf(),
                        waited_secs: wait.as_secs(),
                    })
                }
                Err((_, e)) => return Err(Error::io("locking", &path, e.into())),
            }
        }
    }
}
