//! One module per subcommand; [`dispatch`] routes the parsed command line.

mod backup;
mod create;
mod demo;
mod dkg;
pub(crate) mod enr;
mod input;
mod pair;
mod pairing;
mod preflight;
mod relay;
pub(crate) mod run;
mod status;
pub(crate) mod store_failure;
mod verify;

use crate::cli::Command;
use crate::exit::{Code, Failure};

/// Runs one parsed command. Commands that compute with BLS first run the known-answer
/// self-test on this CPU (charon once shipped a BLS build that produced wrong keys on some
/// CPUs), so a broken backend stops before it touches any key or verdict.
pub(crate) fn dispatch(command: Command) -> Result<Code, Failure> {
    if matches!(command, Command::Dkg(_) | Command::Relay(_)) {
        die_with_supervisor()?;
    }
    if matches!(
        command,
        Command::Verify(_) | Command::Demo(_) | Command::Dkg(_) | Command::Run(_)
    ) {
        let started = std::time::Instant::now();
        dkgd_crypto::selftest::check().map_err(|e| {
            Failure::new(
                Code::Failed,
                e,
                "do not run a ceremony on this machine; report the CPU model and dkgd version",
            )
        })?;
        tracing::debug!(
            elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            "BLS self-test passed"
        );
    }
    match command {
        Command::Verify(args) => verify::run(&args),
        Command::Enr(args) => enr::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Create(args) => create::run(&args),
        Command::Relay(args) => relay::run(&args),
        Command::Dkg(args) => dkg::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Status(args) => status::run(&args),
        Command::Backup(args) => backup::run(&args),
        Command::PairingCode(args) => pairing::run(&args),
        Command::Pair(args) => pair::run(&args),
        Command::StateHelper(args) => run::state_helper(&args),
    }
}

/// Hardens the process (no core dumps, not dumpable) before a command touches key material.
pub(crate) fn harden_process() -> Result<(), Failure> {
    dkgd_node::harden::harden_process().map_err(|e| {
        Failure::new(
            Code::Failed,
            e,
            "this kernel refused to disable core dumps; report this with your OS version",
        )
    })
}

/// A `dkgd dkg` or `dkgd relay` started by `dkgd run` or `dkgd demo` dies with it (issue 12
/// §2: no orphans holding the key lock); exits at once if the supervisor is already gone.
fn die_with_supervisor() -> Result<(), Failure> {
    use dkgd_node::supervised::{self, Error};
    match supervised::die_with_parent() {
        Ok(_) => Ok(()),
        Err(e @ Error::ParentGone { .. }) => Err(Failure::new(
            Code::Failed,
            e,
            "nothing was started; the supervising dkgd is gone",
        )),
        Err(e) => Err(Failure::new(
            Code::Failed,
            e,
            "report this with your OS version; run without the supervisor meanwhile",
        )),
    }
}
