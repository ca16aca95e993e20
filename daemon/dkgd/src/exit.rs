//! Exit codes (a documented contract, see README "Exit codes") and error reporting.

use std::process::ExitCode;

/// The exit codes dkgd uses. Numbers follow sysexits where one fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    /// Everything succeeded / every check passed.
    Ok = 0,
    /// A ceremony failed, or a verification check failed.
    Failed = 1,
    /// Usage, configuration or input error; nothing was changed.
    Usage = 2,
    /// Verification: nothing failed, but some signatures cannot be verified offline.
    Unverifiable = 3,
    /// `dkgd dkg`: complete here (published after every peer staged), but a peer did not
    /// confirm the ceremony's end.
    Unconfirmed = 4,
    /// The data dir's file system has no room for the artifacts (sysexits `EX_CANTCREAT`).
    NoSpace = 73,
    /// Another process holds the key lock; retry later.
    TempFail = 75,
    /// Permissions: a file or directory has unsafe or insufficient permissions.
    NoPerm = 77,
}

impl From<Code> for ExitCode {
    fn from(c: Code) -> Self {
        ExitCode::from(c as u8)
    }
}

/// A command failure: the error chain, the exit code, and one line telling the operator what
/// to do next.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: Code,
    pub(crate) error: anyhow::Error,
    pub(crate) hint: Option<String>,
}

impl Failure {
    /// A failure with a code and a hint.
    pub(crate) fn new(
        code: Code,
        error: impl Into<anyhow::Error>,
        hint: impl Into<String>,
    ) -> Self {
        Self {
            code,
            error: error.into(),
            hint: Some(hint.into()),
        }
    }

    /// Prints the failure to stderr once and returns its exit code.
    pub(crate) fn report(self) -> ExitCode {
        eprintln!("error: {}", chain(self.error.as_ref()));
        if let Some(h) = self.hint {
            eprintln!("hint: {h}");
        }
        self.code.into()
    }
}

/// An error and its causes as one line (the ceremony's helper: the peers read the same
/// form in abort reasons).
pub(crate) use dkgd_ceremony::error::chain;

/// Whether log output may carry ANSI colours: only on a terminal, and never with `NO_COLOR`
/// set (<https://no-color.org>). Log files, pipes to a supervisor and the journal get plain
/// text.
pub(crate) fn ansi_wanted() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Installs the stderr tracing subscriber. `RUST_LOG` overrides the default `info` filter.
pub(crate) fn init_logging(format: crate::cli::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi_wanted())
        .with_writer(std::io::stderr);
    let _ = match format {
        crate::cli::LogFormat::Text => builder.try_init(),
        crate::cli::LogFormat::Json => builder.json().try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_os_cause_reaches_the_one_line_message() {
        let e = dkgd_store::Error::Io {
            op: "writing",
            path: "/data/validator_keys/keystore-0.json".into(),
            source: std::io::Error::from_raw_os_error(nix::libc::ENOSPC),
        };
        let line = chain(&e);
        assert!(
            line.starts_with("writing /data/validator_keys/keystore-0.json: "),
            "{line}"
        );
        assert!(line.contains("No space left on device"), "{line}");
        let wrapped = anyhow::Error::new(e).context("committing the artifacts");
        let line = chain(wrapped.as_ref());
        assert!(
            line.starts_with("committing the artifacts: writing "),
            "{line}"
        );
        assert_eq!(line.matches("No space left on device").count(), 1, "{line}");
    }
}
