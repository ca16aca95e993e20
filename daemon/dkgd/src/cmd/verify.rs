//! `dkgd verify PATH`: check a definition, a lock or a data dir (in progress).

use crate::cli::VerifyArgs;
use crate::exit::{Code, Failure};

/// Runs `dkgd verify`.
pub(crate) fn run(args: &VerifyArgs) -> Result<Code, Failure> {
    Err(Failure::new(
        Code::Usage,
        anyhow::anyhow!("verify of {} is not implemented yet", args.path.display()),
        "wait for the formats work to land",
    ))
}
