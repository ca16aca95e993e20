//! Maps dkgd-store errors to exit codes and one-line hints (README "Exit codes").

use crate::exit::{Code, Failure};
use dkgd_store::{Error, Holder};
use std::path::Path;

/// A store error as a command failure: the right exit code and the operator's next step.
/// `dir` is the data directory the command was given (for copy-pasteable hints).
pub(super) fn from_store(e: Error, dir: &Path) -> Failure {
    let d = shell(dir);
    let (code, hint) = match &e {
        Error::InvalidKey { file, .. } => (
            Code::Usage,
            format!(
                "{} must hold exactly 64 hex characters (charon's format); restore it from \
                 your backup. Nothing was changed.",
                file.display()
            ),
        ),
        Error::UnsafePermissions { file, .. } => (
            Code::NoPerm,
            format!(
                "run: chmod 600 {} (then check who may have copied it)",
                shell(file)
            ),
        ),
        Error::NotAFile { path, .. } => (
            Code::Usage,
            format!(
                "{} must be a regular file; move whatever is there aside",
                path.display()
            ),
        ),
        Error::NotADirectory { path, .. } => (
            Code::Usage,
            format!(
                "--data-dir must name a directory; {} is not one",
                path.display()
            ),
        ),
        Error::AlreadyExists { path } => (
            Code::Usage,
            format!(
                "{} was left as it was; see the existing ENR with: dkgd enr show --data-dir {d}",
                path.display()
            ),
        ),
        Error::NotFound { path } if path.as_path() == dir => (
            Code::Usage,
            format!("no data directory at {d}; create a key with: dkgd enr create --data-dir {d}"),
        ),
        Error::NotFound { .. } => (
            Code::Usage,
            format!(
                "create a key with: dkgd enr create --data-dir {d} (or import one with: dkgd enr \
                 import FILE --data-dir {d})"
            ),
        ),
        Error::NotWritable {
            dir: blocked, uid, ..
        } => (
            Code::NoPerm,
            format!(
                "make {} writable by uid {uid} (chown/chmod), or choose another --data-dir",
                shell(blocked)
            ),
        ),
        Error::InUse {
            holder: Holder::Dkgd { pid: Some(pid), .. },
            ..
        } => (
            Code::TempFail,
            format!("wait for process {pid} to finish (or stop it), then retry"),
        ),
        Error::InUse {
            holder: Holder::Charon { .. },
            ..
        } => (
            Code::TempFail,
            "stop charon before running dkgd on the same key (retry 5 s after it stopped)".into(),
        ),
        Error::InUse { .. } => (
            Code::TempFail,
            "another process uses this key; retry when it has finished".into(),
        ),
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied => (
            Code::NoPerm,
            "check the ownership and permissions of the path above".into(),
        ),
        _ => (
            Code::Failed,
            "check the path above (disk full? file system errors?) and retry".into(),
        ),
    };
    Failure::new(code, e, hint)
}

/// A path quoted for copy-pasting into a shell.
pub(super) fn shell(p: &Path) -> String {
    dkgd_store::error::shell_quote(p)
}
