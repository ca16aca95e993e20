//! Command-line definition (clap). Each subcommand's arguments live here; behaviour lives in
//! `cmd/<subcommand>.rs`.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// dkgd: join an Ethereum distributed-validator cluster from a plug-in box.
#[derive(Debug, Parser)]
#[command(name = "dkgd", version, about, propagate_version = true)]
pub(crate) struct Cli {
    /// Log output format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub(crate) log_format: LogFormat,
    /// The command to run.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (for tests and log shippers).
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Verify a cluster-definition.json, a cluster-lock.json or a data dir.
    Verify(VerifyArgs),
    /// Create, show or import this node's identity (the ENR private key).
    Enr(EnrArgs),
    /// Run a complete local ceremony among N nodes (one process) and verify every data dir.
    Demo(DemoArgs),
    /// Run a circuit-relay v2 server that cluster nodes behind NAT meet through.
    Relay(RelayArgs),
    /// EXPERIMENTAL (does not complete yet, see issue 5): take part in a DKG ceremony over
    /// the network and write this node's artifacts.
    Dkg(DkgArgs),
}

/// Arguments of `dkgd dkg`.
#[derive(Debug, clap::Args)]
pub(crate) struct DkgArgs {
    /// The signed cluster-definition.json.
    #[arg(long)]
    pub(crate) definition: PathBuf,
    /// Where the identity key lives and the artifacts are written.
    #[arg(long, default_value = ".charon")]
    pub(crate) data_dir: PathBuf,
    /// TCP multiaddr to listen on, e.g. /ip4/0.0.0.0/tcp/3610 (repeatable).
    #[arg(long)]
    pub(crate) listen: Vec<String>,
    /// A peer's direct address, PEERID=MULTIADDR (repeatable).
    #[arg(long = "peer-addr")]
    pub(crate) peer_addr: Vec<String>,
    /// A relay multiaddr or http:// URL (repeatable).
    #[arg(long)]
    pub(crate) relay: Vec<String>,
    /// Use the low-cost test KDF for keystores (refused on mainnet and gnosis).
    #[arg(long)]
    pub(crate) insecure_keystores: bool,
}

/// Arguments of `dkgd relay`.
#[derive(Debug, clap::Args)]
pub(crate) struct RelayArgs {
    /// TCP multiaddr to listen on for libp2p, e.g. /ip4/0.0.0.0/tcp/3610 (repeatable).
    #[arg(long, required = true)]
    pub(crate) listen: Vec<String>,
    /// Serve the relay's ENR (/enr) and multiaddrs (/) over HTTP here, e.g. 127.0.0.1:3640;
    /// nodes can then use --relay http://HOST:PORT.
    #[arg(long)]
    pub(crate) http: Option<std::net::SocketAddr>,
    /// Advertise this public IP instead of the bound interface addresses.
    #[arg(long)]
    pub(crate) external_ip: Option<std::net::IpAddr>,
    /// Where the relay's identity key lives (created on first start).
    #[command(flatten)]
    pub(crate) dir: DataDirArgs,
}

/// Arguments of `dkgd demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// Number of nodes (operators).
    #[arg(long, default_value_t = 4)]
    pub(crate) nodes: usize,
    /// Signing threshold (default: ceil(2n/3), charon's default).
    #[arg(long)]
    pub(crate) threshold: Option<u64>,
    /// Number of validators to create.
    #[arg(long, default_value_t = 2)]
    pub(crate) validators: u64,
    /// Definition version (v1.6.0 to v1.11.0).
    #[arg(long = "definition-version", default_value = "v1.10.0")]
    pub(crate) definition_version: String,
    /// Network (its genesis fork version goes into the definition).
    #[arg(long, default_value = "hoodi")]
    pub(crate) network: String,
    /// Output directory (created; must be new or empty). Default: ./dkgd-demo-<pid>.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Use the low-cost test KDF for keystores (refused on mainnet and gnosis).
    #[arg(long)]
    pub(crate) insecure_keystores: bool,
}

/// Arguments of `dkgd verify`.
#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// A cluster-definition.json, a cluster-lock.json, or a data dir holding cluster-lock.json,
    /// deposit-data*.json and validator_keys/.
    pub(crate) path: PathBuf,
    /// Print one JSON document instead of lines.
    #[arg(long)]
    pub(crate) json: bool,
    /// For a data dir: also decrypt every keystore with its password file (slow: one full
    /// KDF per validator).
    #[arg(long)]
    pub(crate) decrypt: bool,
}

/// Arguments of `dkgd enr`.
#[derive(Debug, clap::Args)]
pub(crate) struct EnrArgs {
    /// What to do with the identity key.
    #[command(subcommand)]
    pub(crate) command: EnrCommand,
}

/// The `dkgd enr` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum EnrCommand {
    /// Create a new identity key (refuses if one exists) and print its ENR.
    Create(DataDirArgs),
    /// Print the ENR, libp2p peer ID and Ethereum address of the existing key.
    Show(EnrShowArgs),
    /// Import an existing charon key file (validated; never overwrites a key).
    Import(EnrImportArgs),
    /// Take the key lock and hold it for a while (for tests and maintenance).
    #[command(hide = true)]
    HoldLock(EnrHoldLockArgs),
}

/// The data directory option shared by the `enr` subcommands.
#[derive(Debug, clap::Args)]
pub(crate) struct DataDirArgs {
    /// Directory holding charon-enr-private-key (as charon's --data-dir).
    #[arg(long, default_value = ".charon")]
    pub(crate) data_dir: PathBuf,
}

/// Arguments of `dkgd enr show`.
#[derive(Debug, clap::Args)]
pub(crate) struct EnrShowArgs {
    #[command(flatten)]
    pub(crate) dir: DataDirArgs,
    /// Also print the ENR as a QR code for the terminal (scan it with a phone).
    #[arg(long, conflicts_with = "json")]
    pub(crate) qr: bool,
    /// Print one JSON document instead of lines.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Arguments of `dkgd enr import`.
#[derive(Debug, clap::Args)]
pub(crate) struct EnrImportArgs {
    /// A charon-enr-private-key file (64 hex characters) to copy into the data directory.
    pub(crate) file: PathBuf,
    #[command(flatten)]
    pub(crate) dir: DataDirArgs,
}

/// Arguments of `dkgd enr hold-lock`.
#[derive(Debug, clap::Args)]
pub(crate) struct EnrHoldLockArgs {
    #[command(flatten)]
    pub(crate) dir: DataDirArgs,
    /// How long to hold the lock.
    #[arg(long, default_value_t = 60)]
    pub(crate) seconds: u64,
}

#[cfg(test)]
mod tests {
    #[test]
    fn command_line_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
