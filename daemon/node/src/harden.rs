//! Process hardening for commands that hold secret keys (style.md §3 rule 9).
//!
//! * [`harden_process`]: no core dumps (`RLIMIT_CORE` soft and hard limit 0) and not dumpable
//!   (`PR_SET_DUMPABLE` 0, which also stops other processes of the same user from attaching
//!   with ptrace or reading `/proc/<pid>/mem`). Both calls only ever lower privileges, so the
//!   kernel grants them to any process; a failure therefore is an error, not a warning.
//! * [`lock_in_memory`]: `mlock(2)` of the pages holding one secret, so it never reaches swap.
//!   The kernel may refuse (no `CAP_IPC_LOCK` and `RLIMIT_MEMLOCK` exhausted, or a container
//!   seccomp policy): that degrades to a logged warning, never a failure, because a swap-less
//!   Raspberry Pi is the common case and refusing to run would help nobody.
//!
//! We lock individual values rather than calling `mlockall`: `MCL_FUTURE` would make every
//! later allocation count against `RLIMIT_MEMLOCK` (64 KiB on older kernels) and fail. Locked
//! pages stay locked until the process exits (no `munlock`, since two secrets may share a page
//! and `mlock` does not nest); callers lock long-lived secrets once, after boxing them so their
//! address is stable.
//!
//! * [`tune_allocator`] and [`release_free_memory`]: glibc malloc settings that keep a
//!   ceremony's peak memory near what it uses (issue 16), not hardening but the same kind of
//!   libc call.
//!
//! This is the only module in dkgd allowed `unsafe` code: three small functions below.

use nix::errno::Errno;

/// Errors of process hardening.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The kernel refused a hardening call that only lowers privileges (should never happen).
    #[error("process hardening failed: {call}: {source}")]
    Harden {
        /// The system call, e.g. `setrlimit(RLIMIT_CORE, 0)`.
        call: &'static str,
        /// The OS error.
        source: Errno,
    },
}

/// Disables core dumps and makes the process non-dumpable. Run at the start of every command
/// that will hold a secret key, before the key is read.
pub fn harden_process() -> Result<(), Error> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    setrlimit(Resource::RLIMIT_CORE, 0, 0).map_err(|source| Error::Harden {
        call: "setrlimit(RLIMIT_CORE, 0)",
        source,
    })?;
    debug_assert_eq!(getrlimit(Resource::RLIMIT_CORE).ok(), Some((0, 0)));
    set_non_dumpable()?;
    tracing::debug!(rlimit_core = 0, dumpable = false, "process hardened");
    Ok(())
}

#[cfg(target_os = "linux")]
fn set_non_dumpable() -> Result<(), Error> {
    use nix::sys::prctl;
    prctl::set_dumpable(false).map_err(|source| Error::Harden {
        call: "prctl(PR_SET_DUMPABLE, 0)",
        source,
    })?;
    match prctl::get_dumpable() {
        Ok(false) => Ok(()),
        Ok(true) => Err(Error::Harden {
            call: "prctl(PR_GET_DUMPABLE)",
            source: Errno::EPERM,
        }),
        Err(source) => Err(Error::Harden {
            call: "prctl(PR_GET_DUMPABLE)",
            source,
        }),
    }
}

#[cfg(not(target_os = "linux"))]
fn set_non_dumpable() -> Result<(), Error> {
    tracing::warn!("PR_SET_DUMPABLE is Linux-only; relying on RLIMIT_CORE=0 alone");
    Ok(())
}

/// Whether a secret's pages were locked into RAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum MemoryLock {
    /// The pages are locked and will not be swapped out.
    Locked,
    /// The kernel refused (the warning has been logged); the secret may reach swap.
    Refused(Errno),
    /// Nothing to lock (a zero-sized value).
    Empty,
}

/// Locks the pages holding `value` into RAM (`mlock(2)`). `what` names the secret in the
/// warning logged when the kernel refuses; a refusal never fails the caller.
///
/// `value` should live on the heap (e.g. in a `Box`) so that it does not move afterwards.
pub fn lock_in_memory<T: ?Sized>(value: &T, what: &'static str) -> MemoryLock {
    let len = std::mem::size_of_val(value);
    let addr = std::ptr::from_ref(value).cast::<u8>();
    let outcome = match mlock_range(addr, len) {
        None => MemoryLock::Empty,
        Some(Ok(())) => MemoryLock::Locked,
        Some(Err(e)) => MemoryLock::Refused(e),
    };
    match outcome {
        MemoryLock::Locked => tracing::debug!(secret = what, bytes = len, "secret locked in RAM"),
        MemoryLock::Refused(e) => tracing::warn!(
            secret = what,
            errno = %e,
            hint = refusal_hint(e),
            "could not mlock secret memory; continuing without it (it may reach swap)"
        ),
        MemoryLock::Empty => {}
    }
    outcome
}

/// What an operator can do about a refused `mlock`.
fn refusal_hint(e: Errno) -> &'static str {
    match e {
        Errno::ENOMEM | Errno::EAGAIN => {
            "raise RLIMIT_MEMLOCK (systemd: LimitMEMLOCK=) or grant CAP_IPC_LOCK"
        }
        Errno::EPERM => "grant CAP_IPC_LOCK (systemd: AmbientCapabilities=CAP_IPC_LOCK)",
        _ => "disable swap on this machine to keep secrets off disk",
    }
}

/// `mlock` of `[addr, addr + len)`; `None` for an empty range.
#[allow(unsafe_code)]
fn mlock_range(addr: *const u8, len: usize) -> Option<Result<(), Errno>> {
    let start = std::ptr::NonNull::new(addr.cast_mut())?;
    if len == 0 {
        return None;
    }
    // SAFETY: `mlock` neither reads nor writes the memory; it only pins the pages that
    // contain the range. The range comes from a live reference (`lock_in_memory`), so it lies
    // within one allocation and is mapped. Linux rounds `addr` down to a page boundary itself.
    Some(unsafe { nix::sys::mman::mlock(start.cast(), len) })
}

/// glibc's allocator for a process that handles megabyte-sized messages on several threads:
/// at most two malloc arenas (not 8 per core, each keeping its own freed memory), and a fixed
/// 128 KiB mmap threshold, so that large buffers are returned to the kernel when freed instead
/// of raising glibc's dynamic threshold and staying in the heap. Call first in `main`, before
/// any thread starts. Elsewhere than glibc it does nothing.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use nix::libc::{M_ARENA_MAX, M_MMAP_THRESHOLD};
        for (param, value) in [(M_ARENA_MAX, 2), (M_MMAP_THRESHOLD, 128 * 1024)] {
            if glibc_mallopt(param, value) != 1 {
                tracing::debug!(
                    param,
                    value,
                    "mallopt refused a setting; using glibc's default"
                );
            }
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn glibc_mallopt(param: nix::libc::c_int, value: nix::libc::c_int) -> nix::libc::c_int {
    // SAFETY: `mallopt` only changes allocator tunables; both parameters are documented glibc
    // settings with in-range values, and it is safe to call at any time.
    unsafe { nix::libc::mallopt(param, value) }
}

/// Hands free heap pages back to the kernel (`malloc_trim(0)`, glibc only): called when a
/// ceremony step ends, so that one step's transient messages do not stay resident for the
/// rest of the ceremony. Takes a few milliseconds.
#[allow(unsafe_code)]
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only releases memory glibc's allocator holds as free; no live
    // allocation is touched.
    unsafe {
        nix::libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hardening_sticks() {
        harden_process().unwrap();
        let core = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_CORE);
        assert_eq!(core, Ok((0, 0)));
        #[cfg(target_os = "linux")]
        assert_eq!(nix::sys::prctl::get_dumpable(), Ok(false));
        // Idempotent.
        harden_process().unwrap();
    }

    #[test]
    fn allocator_tuning_keeps_allocation_working() {
        tune_allocator();
        let big = vec![7u8; 1 << 20];
        drop(big);
        release_free_memory();
        assert_eq!(
            vec![1u8; 4096].iter().map(|b| u64::from(*b)).sum::<u64>(),
            4096
        );
    }

    #[test]
    fn mlock_locks_or_degrades_but_never_fails() {
        let secret = Box::new([0x5au8; 32]);
        let outcome = lock_in_memory(&*secret, "test secret");
        assert!(
            matches!(outcome, MemoryLock::Locked | MemoryLock::Refused(_)),
            "{outcome:?}"
        );
        let empty: Box<[u8]> = Box::new([]);
        assert_eq!(lock_in_memory(&*empty, "empty"), MemoryLock::Empty);
    }

    #[test]
    fn refusals_have_actionable_hints() {
        assert!(refusal_hint(Errno::ENOMEM).contains("RLIMIT_MEMLOCK"));
        assert!(refusal_hint(Errno::EPERM).contains("CAP_IPC_LOCK"));
        assert!(refusal_hint(Errno::ENOSYS).contains("swap"));
    }
}
