//! The `dkgd` binary: command-line glue over the dkgd library crates.
//!
//! `main` → [`run`] → exit code. Every command validates its whole input before its first
//! write, prints `error: <cause chain>` and one `hint:` line on failure, and maps failures to
//! the exit codes documented in the README (see [`exit`]).

mod cli;
mod cmd;
mod exit;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    dkgd_node::harden::tune_allocator();
    let cli = cli::Cli::parse();
    if matches!(cli.command, cli::Command::Run(_)) {
        cmd::run::init_logging(cli.log_format);
    } else {
        exit::init_logging(cli.log_format);
    }
    match cmd::dispatch(cli.command) {
        Ok(code) => code.into(),
        Err(failure) => failure.report(),
    }
}
