//! Children that die with their supervisor (issue 12 §2: no orphans).
//!
//! `dkgd run` starts its ceremony as a `dkgd dkg` child, and `dkgd demo` starts a `dkgd relay`
//! and one `dkgd dkg` per node. If the supervisor is SIGKILLed (or crashes), nothing it does
//! can stop its children: an orphaned `dkgd dkg` would keep holding the key lock. So the child
//! arranges its own death, with no `unsafe`:
//!
//! ```text
//!  supervisor: Command … .env(PARENT_PID_ENV, <own pid>)       (supervise_command)
//!  child, first thing:  prctl(PR_SET_PDEATHSIG, SIGTERM)        (die_with_parent)
//!                       getppid() != PARENT_PID_ENV?  ──▶ the parent died before the
//!                                                          prctl: exit at once
//! ```
//!
//! The kernel sends the signal when the *thread* that forked the child exits, not the process.
//! Both supervisors spawn from the thread that lives as long as the process (`dkgd run` on
//! its current-thread runtime, `dkgd demo` from `main`); a supervisor that spawned from a
//! short-lived thread would see its children killed early.
//!
//! Without the variable (an operator's own `dkgd dkg`), nothing changes.

use nix::sys::signal::Signal;
use nix::unistd::{getppid, Pid};

/// The variable that carries the supervisor's PID to the child.
pub const PARENT_PID_ENV: &str = "DKGD_PARENT_PID";

/// Marks `cmd` as a supervised child of this process (see the module docs).
pub fn supervise_command(cmd: &mut std::process::Command) {
    cmd.env(PARENT_PID_ENV, std::process::id().to_string());
}

/// [`supervise_command`] for tokio's `Command`.
pub fn supervise_tokio_command(cmd: &mut tokio::process::Command) {
    cmd.env(PARENT_PID_ENV, std::process::id().to_string());
}

/// Why a supervised child must not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The supervisor is already gone (we were re-parented before we could watch it).
    #[error("the supervising dkgd process {parent} is gone (our parent is now PID {now})")]
    ParentGone {
        /// The supervisor's PID from [`PARENT_PID_ENV`].
        parent: i32,
        /// Our parent now (usually 1 or a subreaper).
        now: i32,
    },
    /// The kernel refused `PR_SET_PDEATHSIG` (should not happen on Linux).
    #[error("cannot ask the kernel to stop this process with its supervisor: {0}")]
    Prctl(nix::errno::Errno),
}

/// Called first by commands that a supervisor may start (`dkgd dkg`, `dkgd relay`): when
/// [`PARENT_PID_ENV`] is set, asks for SIGTERM when the parent dies and fails if it already
/// has. Returns whether the process is supervised. A malformed variable is ignored (with a
/// warning): the death signal is still set, only the race check is skipped.
pub fn die_with_parent() -> Result<bool, Error> {
    let Some(raw) = std::env::var_os(PARENT_PID_ENV) else {
        return Ok(false);
    };
    set_death_signal()?;
    let expected = raw.to_str().and_then(|s| s.trim().parse::<i32>().ok());
    match expected {
        Some(parent) => check_parent(parent, getppid()),
        None => {
            tracing::warn!(
                variable = PARENT_PID_ENV,
                "not a process ID; cannot check that the supervisor is still there"
            );
            Ok(true)
        }
    }
}

#[cfg(target_os = "linux")]
fn set_death_signal() -> Result<(), Error> {
    nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).map_err(Error::Prctl)
}

#[cfg(not(target_os = "linux"))]
fn set_death_signal() -> Result<(), Error> {
    let _ = Signal::SIGTERM;
    Ok(())
}

/// `Ok(true)` when our parent is still `parent`.
fn check_parent(parent: i32, now: Pid) -> Result<bool, Error> {
    if now.as_raw() == parent {
        Ok(true)
    } else {
        Err(Error::ParentGone {
            parent,
            now: now.as_raw(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_parent_is_refused() {
        assert_eq!(check_parent(42, Pid::from_raw(42)), Ok(true));
        let e = check_parent(42, Pid::from_raw(1));
        assert_eq!(e, Err(Error::ParentGone { parent: 42, now: 1 }));
        let text = e.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("42") && text.contains("PID 1"), "{text}");
    }

    #[test]
    fn the_supervisor_pid_is_passed_on() {
        let mut c = std::process::Command::new("true");
        supervise_command(&mut c);
        let pid = std::process::id().to_string();
        assert!(c
            .get_envs()
            .any(|(k, v)| k == PARENT_PID_ENV && v == Some(std::ffi::OsStr::new(&pid))));
    }
}
