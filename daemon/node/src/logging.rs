//! Where `dkgd run` logs go: the systemd journal (structured fields such as `DKGD_STATE`,
//! `STEP`, `PEER`) when started by systemd, else human-readable stderr. The binary installs
//! the subscriber (style §3 rule 6); this module only decides and builds the journald layer.

use std::path::Path;

/// journald's native socket.
const JOURNALD_SOCKET: &str = "/run/systemd/journal/socket";

/// Whether to log to journald: stderr is connected to the journal (`JOURNAL_STREAM` set) and
/// journald's socket exists.
pub fn journald_wanted() -> bool {
    std::env::var_os("JOURNAL_STREAM").is_some() && Path::new(JOURNALD_SOCKET).exists()
}

/// The journald layer with our fields unprefixed (a `dkgd_state` field is stored as
/// `DKGD_STATE`) and `SYSLOG_IDENTIFIER=dkgd`. An error means: fall back to stderr.
pub fn journald_layer() -> std::io::Result<tracing_journald::Layer> {
    Ok(tracing_journald::layer()?
        .with_field_prefix(None)
        .with_syslog_identifier("dkgd".to_owned()))
}
