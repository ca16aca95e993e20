//! The one mapping of dkgd-store errors to exit codes (README "Exit codes"), shared by every
//! command, plus a default hint. Commands may word the hint for their situation
//! ([`with_hint`]), never the code.

use crate::exit::{Code, Failure};
use dkgd_store::{Error, Holder};
use std::path::Path;

/// The exit code for a store error.
pub(crate) fn code(e: &Error) -> Code {
    match e {
        Error::InvalidKey { .. }
        | Error::NotAFile { .. }
        | Error::NotADirectory { .. }
        | Error::AlreadyExists { .. }
        | Error::NotFound { .. }
        | Error::NotClean { .. } => Code::Usage,
        Error::UnsafePermissions { .. } | Error::NotWritable { .. } => Code::NoPerm,
        Error::InUse { .. } => Code::TempFail,
        Error::NoSpace { .. } => Code::NoSpace,
        Error::Io { source, .. } => io_code(source),
        _ => Code::Failed,
    }
}

/// The exit code for an OS error met while reading or writing the data dir.
pub(crate) fn io_code(e: &std::io::Error) -> Code {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::PermissionDenied | K::ReadOnlyFilesystem => Code::NoPerm,
        K::StorageFull | K::QuotaExceeded => Code::NoSpace,
        _ => Code::Failed,
    }
}

/// A store error as a failure: the shared code and a default hint. `dir` is the data
/// directory the command was given (for copy-pasteable hints).
pub(crate) fn store_failure(e: Error, dir: &Path) -> Failure {
    let hint = default_hint(&e, dir);
    with_hint(e, hint)
}

/// A store error as a failure with the shared code and the caller's hint.
pub(crate) fn with_hint(e: Error, hint: impl Into<String>) -> Failure {
    Failure::new(code(&e), e, hint)
}

/// The next step for the operator, for any command.
pub(crate) fn default_hint(e: &Error, dir: &Path) -> String {
    let d = shell(dir);
    match e {
        Error::InvalidKey { file, .. } => format!(
            "{} must hold exactly 64 hex characters (charon's format); restore it from your \
             backup. Nothing was changed.",
            file.display()
        ),
        Error::UnsafePermissions { file, .. } => format!(
            "run: chmod 600 {} (then check who may have copied it)",
            shell(file)
        ),
        Error::NotAFile { path, .. } => format!(
            "{} must be a regular file; move whatever is there aside",
            path.display()
        ),
        Error::NotADirectory { path, .. } => {
            format!(
                "{} must be a directory; nothing was changed",
                path.display()
            )
        }
        Error::AlreadyExists { .. } => "it was left unchanged; choose another path".into(),
        Error::NotFound { path } if path.as_path() == dir => format!(
            "no data directory at {d}; create it with a key: dkgd enr create --data-dir {d}"
        ),
        Error::NotFound { .. } => format!(
            "create a key with: dkgd enr create --data-dir {d} (or import one with: dkgd enr \
             import FILE --data-dir {d})"
        ),
        Error::NotClean { .. } => {
            format!("{d} already holds ceremony artifacts; use a fresh data dir")
        }
        Error::NotWritable {
            dir: blocked, uid, ..
        } => format!(
            "make {} writable by uid {uid} (chown/chmod, or remount read-write), or choose \
             another data dir; nothing was changed",
            shell(blocked)
        ),
        Error::InUse {
            holder: Holder::Dkgd { pid: Some(pid), .. },
            ..
        } => format!("wait for process {pid} to finish (or stop it), then retry"),
        Error::InUse {
            holder: Holder::Charon { .. },
            ..
        } => "stop charon before running dkgd on the same key (retry 5 s after it stopped)".into(),
        Error::InUse { .. } => "another process uses this key; retry when it has finished".into(),
        Error::NoSpace { .. } => format!(
            "free space on the file system of {d} (or choose a data dir on a bigger one); \
             nothing was changed"
        ),
        Error::Io { source, .. } => match io_code(source) {
            Code::NoPerm => "check the ownership and permissions of the path above".into(),
            Code::NoSpace => format!("free space on the file system of {d}, then retry"),
            _ => "check the path above (file system errors?) and retry".into(),
        },
        _ => "check the path above and retry".into(),
    }
}

/// A path quoted for copy-pasting into a shell.
pub(crate) fn shell(p: &Path) -> String {
    dkgd_store::error::shell_quote(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn io(errno: i32) -> Error {
        Error::Io {
            op: "writing",
            path: PathBuf::from("/d/x"),
            source: std::io::Error::from_raw_os_error(errno),
        }
    }

    #[test]
    fn one_code_per_cause() {
        let d = PathBuf::from("/d");
        let cases = [
            (Error::NotFound { path: d.clone() }, Code::Usage),
            (
                Error::UnsafePermissions {
                    file: d.join("k"),
                    mode: 0o644,
                },
                Code::NoPerm,
            ),
            (
                Error::NotWritable {
                    dir: d.clone(),
                    uid: 1,
                    source: std::io::Error::from_raw_os_error(nix::libc::EROFS),
                },
                Code::NoPerm,
            ),
            (io(nix::libc::EACCES), Code::NoPerm),
            (io(nix::libc::ENOSPC), Code::NoSpace),
            (io(nix::libc::EIO), Code::Failed),
            (
                Error::InUse {
                    dir: d.clone(),
                    holder: Holder::Dkgd {
                        pid: Some(7),
                        command: None,
                    },
                },
                Code::TempFail,
            ),
            (Error::NotClean { path: d.clone() }, Code::Usage),
        ];
        for (e, want) in cases {
            assert_eq!(code(&e), want, "{e}");
            assert!(!default_hint(&e, &d).is_empty());
        }
    }
}
