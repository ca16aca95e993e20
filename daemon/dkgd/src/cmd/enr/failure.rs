//! `dkgd enr` hints for dkgd-store errors; the exit codes come from the one shared mapping
//! ([`crate::cmd::store_failure`]).

use crate::cmd::store_failure::{default_hint, with_hint};
use crate::exit::Failure;
use dkgd_store::Error;
use std::path::Path;

/// A store error as a command failure: the shared exit code and the operator's next step.
/// `dir` is the data directory the command was given (for copy-pasteable hints).
pub(super) fn from_store(e: Error, dir: &Path) -> Failure {
    let d = shell(dir);
    let hint = match &e {
        Error::NotADirectory { path, .. } => format!(
            "--data-dir must name a directory; {} is not one",
            path.display()
        ),
        Error::AlreadyExists { path } => format!(
            "{} was left as it was; see the existing ENR with: dkgd enr show --data-dir {d}",
            path.display()
        ),
        Error::NotFound { path } if path.as_path() == dir => {
            format!("no data directory at {d}; create a key with: dkgd enr create --data-dir {d}")
        }
        _ => default_hint(&e, dir),
    };
    with_hint(e, hint)
}

/// A path quoted for copy-pasting into a shell.
pub(super) fn shell(p: &Path) -> String {
    crate::cmd::store_failure::shell(p)
}
