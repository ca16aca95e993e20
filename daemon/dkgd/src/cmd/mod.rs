//! One module per subcommand; [`dispatch`] routes the parsed command line.

mod demo;
mod enr;
mod verify;

use crate::cli::Command;
use crate::exit::{Code, Failure};

/// Runs one parsed command.
pub(crate) fn dispatch(command: Command) -> Result<Code, Failure> {
    match command {
        Command::Verify(args) => verify::run(&args),
        Command::Enr(args) => enr::run(&args),
        Command::Demo(args) => demo::run(&args),
    }
}
