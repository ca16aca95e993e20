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
        let mut msg = format!("error: {}", self.error);
        for cause in self.error.chain().skip(1) {
            msg.push_str(&format!(": {cause}"));
        }
        eprintln!("{msg}");
        if let Some(h) = self.hint {
            eprintln!("hint: {h}");
        }
        self.code.into()
    }
}

/// Installs the stderr tracing subscriber. `RUST_LOG` overrides the default `info` filter.
pub(crate) fn init_logging(format: crate::cli::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        crate::cli::LogFormat::Text => builder.try_init(),
        crate::cli::LogFormat::Json => builder.json().try_init(),
    };
}
