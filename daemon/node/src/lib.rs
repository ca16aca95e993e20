//! dkgd-node: the process shell around the dkgd libraries. For now it holds only
//! [`harden`], the process hardening every key-using command runs at start.
//!
//! What it does and does not do:
//! * OS-facing code: resource limits, `prctl`, `mlock`. It is the one crate allowed `unsafe`
//!   (lowered from `forbid` to `deny` in its Cargo.toml), and only in [`harden`], with one
//!   `#[allow(unsafe_code)]` and a `// SAFETY:` comment per function.
//! * No secrets of its own, no file or network I/O.
//!
//! ```text
//!  dkgd <key command> ──▶ harden::harden_process()     RLIMIT_CORE=0, PR_SET_DUMPABLE=0
//!                     ──▶ load key (dkgd-store)
//!                     ──▶ harden::lock_in_memory(&key) mlock, or a warning when refused
//! ```

pub mod driver;
pub mod harden;
