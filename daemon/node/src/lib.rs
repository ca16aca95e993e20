//! dkgd-node: the process shell around the dkgd libraries: [`harden`] (process hardening every
//! key-using command runs at start), [`driver`] (the networked ceremony over libp2p),
//! [`session`] (one node's ceremony session: host, driver, key-lock heartbeat), and the
//! appliance daemon `dkgd run`: [`lifecycle`] (sans-IO state machine), [`run`] (the tokio
//! loop, ceremony child, inbox), [`status`] (Unix-socket HTTP API), [`notify`] (systemd),
//! [`config`] and [`logging`]; [`supervised`] makes supervised children die with their parent.
//!
//! What it does and does not do:
//! * OS-facing code: resource limits, `prctl`, `mlock`. It is the one crate allowed `unsafe`
//!   (lowered from `forbid` to `deny` in its Cargo.toml), and only in [`harden`], with one
//!   `#[allow(unsafe_code)]` and a `// SAFETY:` comment per function.
//! * No secrets of its own. `dkgd run` reads and writes the data dir only through dkgd-store
//!   (plus the inbox file it adopts), and serves its status on a Unix socket.
//!
//! ```text
//!  dkgd <key command> ──▶ harden::harden_process()     RLIMIT_CORE=0, PR_SET_DUMPABLE=0
//!                     ──▶ load key (dkgd-store)
//!                     ──▶ harden::lock_in_memory(&key) mlock, or a warning when refused
//!
//!  dkgd run ──▶ run::run_daemon(config, hooks) ── Lifecycle ◀─inputs── inbox, timers, child, signals
//!                                      └─ watch<Snapshot> ──▶ status::server (read-only)
//! ```

pub mod config;
pub mod driver;
pub mod harden;
pub mod lifecycle;
pub mod logging;
pub mod notify;
pub mod run;
pub mod session;
pub mod status;
pub mod supervised;
