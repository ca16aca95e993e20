//! `dkgd run` configuration: a TOML file, `DKGD_*` environment variables and command-line
//! flags, in that order of increasing precedence (flag > env > file > default).
//!
//! | TOML key | environment | default |
//! |---|---|---|
//! | `data_dir` | `DKGD_DATA_DIR` | `/var/lib/dkgd` (key `charon-enr-private-key`, artifacts) |
//! | `state_dir` | `DKGD_STATE_DIR` | the data dir (holds `state.sled/`, `inbox/`, `dkgd-run.lock`) |
//! | `socket` | `DKGD_SOCKET` | `/run/dkgd/status.sock` |
//! | `socket_group` | `DKGD_SOCKET_GROUP` | none (the daemon's own group) |
//! | `relays` | `DKGD_RELAYS` (comma-separated) | none |
//! | `listen` | `DKGD_LISTEN` (comma-separated) | none |
//! | `peer_addrs` | `DKGD_PEER_ADDRS` (comma-separated `PEERID=MULTIADDR`) | none |
//! | `backoff_initial_secs` | `DKGD_BACKOFF_INITIAL_SECS` | 10 |
//! | `backoff_max_secs` | `DKGD_BACKOFF_MAX_SECS` | 600 |
//! | `backoff_factor` | `DKGD_BACKOFF_FACTOR` | 2.0 |
//! | `insecure_keystores` | `DKGD_INSECURE_KEYSTORES` (`true`/`false`) | false |
//! | `backup_recipients` | `DKGD_BACKUP_RECIPIENTS` (comma-separated `age1…`) | none (status warns) |
//! | `backup_export_dir` | `DKGD_BACKUP_EXPORT_DIR` | none (backups stay in `state.sled`) |

use crate::lifecycle::{Backoff, BackoffError};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default data dir.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/dkgd";
/// Default status socket.
pub const DEFAULT_SOCKET: &str = "/run/dkgd/status.sock";
/// Largest config file read.
const MAX_CONFIG_BYTES: u64 = 64 * 1024;

/// The validated configuration of `dkgd run`.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// charon-style data dir: identity key and artifacts.
    pub data_dir: PathBuf,
    /// Where `state.sled/`, `inbox/` and `dkgd-run.lock` live.
    pub state_dir: PathBuf,
    /// The status socket's path.
    pub socket: PathBuf,
    /// Group (name or numeric id) that may read the status socket.
    pub socket_group: Option<String>,
    /// Relays passed to the ceremony (`--relay`).
    pub relays: Vec<String>,
    /// Listen addresses passed to the ceremony (`--listen`).
    pub listen: Vec<String>,
    /// Direct peer addresses passed to the ceremony (`--peer-addr`).
    pub peer_addrs: Vec<String>,
    /// Retry delays after a failed ceremony.
    pub backoff: Backoff,
    /// Use the low-cost test KDF for keystores (`--insecure-keystores`).
    pub insecure_keystores: bool,
    /// The owner's age public keys (`age1…`, validated) that automatic backups are
    /// encrypted to; none means no automatic backups (and a status warning).
    pub backup_recipients: Vec<String>,
    /// A directory (USB stick, boot partition) that gets a copy of each new backup.
    pub backup_export_dir: Option<PathBuf>,
    /// The Obol API that pairing codes are resolved against.
    pub api_url: dkgd_invite::api::ApiUrl,
    /// A second place a pairing code is read from (the boot partition of a headless box),
    /// besides `<state dir>/inbox/pairing-code`.
    pub pairing_file: Option<PathBuf>,
    /// Zero-touch: the operator's wallet address whose invites the box looks for itself.
    pub operator_address: Option<[u8; 20]>,
    /// POST the lock to the Obol API after a complete ceremony (like `charon dkg --publish`).
    pub publish_lock: bool,
}

impl Config {
    /// `<state dir>/inbox`.
    pub fn inbox(&self) -> PathBuf {
        self.state_dir.join("inbox")
    }
}

/// The TOML file (and the shape every layer fills): unknown keys are an error.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// See [`Config::data_dir`].
    pub data_dir: Option<PathBuf>,
    /// See [`Config::state_dir`].
    pub state_dir: Option<PathBuf>,
    /// See [`Config::socket`].
    pub socket: Option<PathBuf>,
    /// See [`Config::socket_group`].
    pub socket_group: Option<String>,
    /// See [`Config::relays`].
    pub relays: Option<Vec<String>>,
    /// See [`Config::listen`].
    pub listen: Option<Vec<String>>,
    /// See [`Config::peer_addrs`].
    pub peer_addrs: Option<Vec<String>>,
    /// First retry delay, seconds.
    pub backoff_initial_secs: Option<u64>,
    /// Largest retry delay, seconds.
    pub backoff_max_secs: Option<u64>,
    /// Growth factor of the retry delay.
    pub backoff_factor: Option<f64>,
    /// See [`Config::insecure_keystores`].
    pub insecure_keystores: Option<bool>,
    /// See [`Config::backup_recipients`].
    pub backup_recipients: Option<Vec<String>>,
    /// See [`Config::backup_export_dir`].
    pub backup_export_dir: Option<PathBuf>,
    /// `api_url`: the Obol API (default `https://api.obol.tech`).
    pub api_url: Option<String>,
    /// `pairing_file`: another file a pairing code is read from (e.g. on the boot partition).
    pub pairing_file: Option<PathBuf>,
    /// `operator_address`: zero-touch mode, poll the API for this operator's invites.
    pub operator_address: Option<String>,
    /// `publish_lock`: POST the lock to the API after a complete ceremony.
    pub publish_lock: Option<bool>,
}

/// A configuration problem; each names where the bad value came from.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read the config file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is too large to be a config file.
    #[error("the config file {} is {bytes} bytes; a config file is at most 64 KiB", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
    },
    /// The file is not valid TOML for this schema (unknown key, wrong type…).
    #[error("the config file {}: {why}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message (names the key and line).
        why: String,
    },
    /// An environment variable has a bad value.
    #[error("environment variable {name}: {why}")]
    Env {
        /// The variable.
        name: &'static str,
        /// What is wrong.
        why: String,
    },
    /// The backoff settings are inconsistent.
    #[error("backoff: {0}")]
    Backoff(#[from] BackoffError),
    /// A backup recipient is not an age public key.
    #[error("backup_recipients: {0}")]
    BackupRecipient(String),
    /// `operator_address` is not an Ethereum address.
    #[error("operator_address {0:?} is not an Ethereum address (0x followed by 40 hex digits)")]
    OperatorAddress(String),
    /// `api_url` is not an acceptable API URL.
    #[error("api_url: {0}")]
    ApiUrl(dkgd_invite::api::BadApiUrl),
}

impl Settings {
    /// Reads a TOML config file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let read = |source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        };
        let len = std::fs::metadata(path).map_err(read)?.len();
        if len > MAX_CONFIG_BYTES {
            return Err(ConfigError::TooLarge {
                path: path.to_path_buf(),
                bytes: len,
            });
        }
        let text = std::fs::read_to_string(path).map_err(read)?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            why: e.to_string().trim_end().to_owned(),
        })
    }

    /// Reads the `DKGD_*` variables through `get` (pass `|k| std::env::var(k).ok()`).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let list = |name: &str| {
            get(name).map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
        };
        Ok(Self {
            data_dir: get("DKGD_DATA_DIR").map(PathBuf::from),
            state_dir: get("DKGD_STATE_DIR").map(PathBuf::from),
            socket: get("DKGD_SOCKET").map(PathBuf::from),
            socket_group: get("DKGD_SOCKET_GROUP"),
            relays: list("DKGD_RELAYS"),
            listen: list("DKGD_LISTEN"),
            peer_addrs: list("DKGD_PEER_ADDRS"),
            backoff_initial_secs: parsed(&get, "DKGD_BACKOFF_INITIAL_SECS")?,
            backoff_max_secs: parsed(&get, "DKGD_BACKOFF_MAX_SECS")?,
            backoff_factor: parsed(&get, "DKGD_BACKOFF_FACTOR")?,
            insecure_keystores: parsed(&get, "DKGD_INSECURE_KEYSTORES")?,
            backup_recipients: list("DKGD_BACKUP_RECIPIENTS"),
            backup_export_dir: get("DKGD_BACKUP_EXPORT_DIR").map(PathBuf::from),
            api_url: get("DKGD_API_URL"),
            pairing_file: get("DKGD_PAIRING_FILE").map(PathBuf::from),
            operator_address: get("DKGD_OPERATOR_ADDRESS"),
            publish_lock: parsed(&get, "DKGD_PUBLISH_LOCK")?,
        })
    }

    /// `self` with every value that `over` sets replaced by `over`'s.
    pub fn overlay(self, over: Settings) -> Self {
        Self {
            data_dir: over.data_dir.or(self.data_dir),
            state_dir: over.state_dir.or(self.state_dir),
            socket: over.socket.or(self.socket),
            socket_group: over.socket_group.or(self.socket_group),
            relays: over.relays.or(self.relays),
            listen: over.listen.or(self.listen),
            peer_addrs: over.peer_addrs.or(self.peer_addrs),
            backoff_initial_secs: over.backoff_initial_secs.or(self.backoff_initial_secs),
            backoff_max_secs: over.backoff_max_secs.or(self.backoff_max_secs),
            backoff_factor: over.backoff_factor.or(self.backoff_factor),
            insecure_keystores: over.insecure_keystores.or(self.insecure_keystores),
            backup_recipients: over.backup_recipients.or(self.backup_recipients),
            backup_export_dir: over.backup_export_dir.or(self.backup_export_dir),
            api_url: over.api_url.or(self.api_url),
            pairing_file: over.pairing_file.or(self.pairing_file),
            operator_address: over.operator_address.or(self.operator_address),
            publish_lock: over.publish_lock.or(self.publish_lock),
        }
    }

    /// Fills defaults and validates.
    pub fn resolve(self) -> Result<Config, ConfigError> {
        let data_dir = self
            .data_dir
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let backoff = Backoff::new(
            Duration::from_secs(self.backoff_initial_secs.unwrap_or(10)),
            Duration::from_secs(self.backoff_max_secs.unwrap_or(600)),
            self.backoff_factor.unwrap_or(2.0),
        )?;
        let backup_recipients =
            dkgd_backup::parse_recipients(self.backup_recipients.unwrap_or_default())
                .map_err(|e| ConfigError::BackupRecipient(e.to_string()))?
                .iter()
                .map(ToString::to_string)
                .collect();
        Ok(Config {
            state_dir: self.state_dir.unwrap_or_else(|| data_dir.clone()),
            data_dir,
            socket: self.socket.unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET)),
            socket_group: self.socket_group.filter(|g| !g.is_empty()),
            relays: self.relays.unwrap_or_default(),
            listen: self.listen.unwrap_or_default(),
            peer_addrs: self.peer_addrs.unwrap_or_default(),
            backoff,
            insecure_keystores: self.insecure_keystores.unwrap_or(false),
            backup_recipients,
            backup_export_dir: self.backup_export_dir,
            api_url: dkgd_invite::api::ApiUrl::parse(
                self.api_url
                    .as_deref()
                    .unwrap_or(dkgd_invite::api::DEFAULT_API_URL),
            )
            .map_err(ConfigError::ApiUrl)?,
            pairing_file: self.pairing_file.filter(|p| !p.as_os_str().is_empty()),
            operator_address: match self.operator_address.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(text) => Some(parse_address(text)?),
            },
            publish_lock: self.publish_lock.unwrap_or(false),
        })
    }
}

/// Builds the configuration: `file` (if any) < environment (`env`) < `flags`.
pub fn load(
    file: Option<&Path>,
    env: impl Fn(&str) -> Option<String>,
    flags: Settings,
) -> Result<Config, ConfigError> {
    let base = match file {
        Some(p) => Settings::from_file(p)?,
        None => Settings::default(),
    };
    base.overlay(Settings::from_env(env)?)
        .overlay(flags)
        .resolve()
}

fn parse_address(text: &str) -> Result<[u8; 20], ConfigError> {
    let bad = || ConfigError::OperatorAddress(text.to_owned());
    let body = text.strip_prefix("0x").ok_or_else(bad)?;
    let mut out = [0u8; 20];
    if body.len() != 40 {
        return Err(bad());
    }
    hex::decode_to_slice(body, &mut out).map_err(|_| bad())?;
    Ok(out)
}

fn parsed<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<T>, ConfigError>
where
    T::Err: std::fmt::Display,
{
    get(name)
        .map(|v| {
            v.trim().parse::<T>().map_err(|e| ConfigError::Env {
                name,
                why: format!("{v:?}: {e}"),
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn defaults() {
        let c = load(None, env(&[]), Settings::default()).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/dkgd"));
        assert_eq!(c.state_dir, PathBuf::from("/var/lib/dkgd"));
        assert_eq!(c.inbox(), PathBuf::from("/var/lib/dkgd/inbox"));
        assert_eq!(c.socket, PathBuf::from("/run/dkgd/status.sock"));
        assert_eq!(c.backoff, Backoff::default());
        assert!(!c.insecure_keystores && c.relays.is_empty());
    }

    #[test]
    fn flag_beats_env_beats_file() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("dkgd.toml");
        std::fs::write(
            &f,
            "data_dir = \"/file\"\nsocket = \"/file.sock\"\nrelays = [\"r1\", \"r2\"]\n\
             backoff_initial_secs = 1\nbackoff_factor = 3.0\n",
        )
        .unwrap();
        let e = env(&[
            ("DKGD_SOCKET", "/env.sock"),
            ("DKGD_DATA_DIR", "/env"),
            ("DKGD_LISTEN", "a, b"),
        ]);
        let flags = Settings {
            data_dir: Some("/flag".into()),
            ..Settings::default()
        };
        let c = load(Some(&f), e, flags).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/flag"));
        assert_eq!(c.socket, PathBuf::from("/env.sock"));
        assert_eq!(c.relays, ["r1", "r2"]);
        assert_eq!(c.listen, ["a", "b"]);
        assert_eq!(c.backoff.delay(2), Duration::from_secs(3));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("dkgd.toml");
        std::fs::write(&f, "data_dri = \"/x\"\n").unwrap();
        let e = load(Some(&f), env(&[]), Settings::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("data_dri") && e.contains("dkgd.toml"), "{e}");
        let e = load(
            None,
            env(&[("DKGD_BACKOFF_FACTOR", "fast")]),
            Settings::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("DKGD_BACKOFF_FACTOR"), "{e}");
        let e = load(
            None,
            env(&[("DKGD_BACKOFF_MAX_SECS", "1")]),
            Settings::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("backoff_max_secs"), "{e}");
    }
}
