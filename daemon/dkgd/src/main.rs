//! The `dkgd` binary: command-line glue over the dkgd library crates.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
