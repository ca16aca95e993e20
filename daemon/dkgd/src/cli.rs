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
    /// Run a complete local ceremony: N `dkgd dkg` processes and a local relay on 127.0.0.1,
    /// then verify every data dir.
    Demo(DemoArgs),
    /// Create files for a local cluster (a signed cluster definition).
    Create(CreateArgs),
    /// Run a circuit-relay v2 server that cluster nodes behind NAT meet through.
    Relay(RelayArgs),
    /// Take part in a DKG ceremony over libp2p (like `charon dkg`) and write this node's
    /// artifacts; exit 0 only with a committed data dir that verifies.
    Dkg(DkgArgs),
    /// Run the appliance daemon: create the identity, wait for a definition, run the
    /// ceremony (retrying with backoff) and serve the status socket (under systemd).
    Run(RunArgs),
    /// Show the running daemon's status (from its status socket).
    Status(StatusArgs),
    /// Encrypted backups of the key and artifacts (age files): keygen, export, verify,
    /// restore.
    Backup(BackupArgs),
    /// Print the pairing code (dkg1…) of a cluster invite, for the creator to hand out, or
    /// read one back (--show).
    PairingCode(PairingCodeArgs),
    /// Give the running daemon a pairing code (dkg1…, a launchpad invite link, or
    /// `0x<config hash> <network>`): it fetches, checks and accepts the cluster invite.
    Pair(PairArgs),
    /// Run one batch of state database operations for `dkgd run` (JSON on stdin and
    /// stdout), so that the daemon opens sled only around transitions.
    #[command(hide = true)]
    StateHelper(StateHelperArgs),
}

/// Arguments of the hidden `dkgd state-helper`.
#[derive(Debug, clap::Args)]
pub(crate) struct StateHelperArgs {
    /// The state database directory (state.sled).
    #[arg(long)]
    pub(crate) db: PathBuf,
}

/// Arguments of `dkgd pair`.
#[derive(Debug, clap::Args)]
pub(crate) struct PairArgs {
    /// The pairing code, the launchpad invite link, or a 0x config hash followed by the
    /// network name.
    #[arg(required = true, num_args = 1..=2, value_name = "CODE")]
    pub(crate) code: Vec<String>,
    /// The daemon's status socket [default: $DKGD_SOCKET or /run/dkgd/status.sock].
    #[arg(long)]
    pub(crate) socket: Option<PathBuf>,
}

/// Arguments of `dkgd pairing-code`.
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["config_hash", "definition", "show"]))]
pub(crate) struct PairingCodeArgs {
    /// The definition's config hash (0x + 64 hex digits), or a launchpad invite link.
    #[arg(long)]
    pub(crate) config_hash: Option<String>,
    /// The network the invite is for (mainnet, hoodi, sepolia, gnosis, …); needed with a bare
    /// config hash.
    #[arg(long)]
    pub(crate) network: Option<String>,
    /// A cluster-definition.json to take the config hash and network from.
    #[arg(long, conflicts_with_all = ["config_hash", "network"])]
    pub(crate) definition: Option<PathBuf>,
    /// Read a pairing code (or link) and print the config hash and network it names.
    #[arg(long, conflicts_with_all = ["config_hash", "definition"])]
    pub(crate) show: Option<String>,
}

/// Arguments of `dkgd backup`.
#[derive(Debug, clap::Args)]
pub(crate) struct BackupArgs {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: BackupCommand,
}

/// The `dkgd backup` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum BackupCommand {
    /// Create an age identity for the owner (for owners without `age-keygen`); the box
    /// keeps only its public key (age1…) as backup recipient.
    Keygen(BackupKeygenArgs),
    /// Write an encrypted backup of the data dir's key and artifacts to FILE.
    Export(BackupExportArgs),
    /// Check a backup: its age header, or with --identity/--passphrase every file, the lock,
    /// every keystore and that the key is the operator's.
    Verify(BackupOpenArgs),
    /// Restore a backup onto a new box (a data dir without key or artifacts).
    Restore(BackupRestoreArgs),
    /// List the automatic backups `dkgd run` keeps in its state database (through its
    /// status socket while it runs).
    List(BackupStateArgs),
    /// Confirm that the box a restored backup came from is gone for good; clears the
    /// status warning (through the status socket while the daemon runs).
    AcknowledgeRestore(BackupStateArgs),
    /// Set the owner's age public key(s) the automatic backups are encrypted to (added to
    /// backup_recipients from the config; replaces those set before this way). The daemon
    /// takes a new backup for them at once.
    SetRecipient(BackupSetRecipientArgs),
}

/// Arguments of `dkgd backup set-recipient`.
#[derive(Debug, clap::Args)]
pub(crate) struct BackupSetRecipientArgs {
    /// age public keys (age1…); never a secret key.
    #[arg(required = true, value_name = "AGE1…")]
    pub(crate) recipients: Vec<String>,
    #[command(flatten)]
    pub(crate) state: BackupStateArgs,
}

/// Where the daemon keeps its state (as `dkgd run`).
#[derive(Debug, clap::Args)]
pub(crate) struct BackupStateArgs {
    #[command(flatten)]
    pub(crate) dir: BackupDirArgs,
    /// State dir holding state.sled [default: $DKGD_STATE_DIR or the data dir].
    #[arg(long)]
    pub(crate) state_dir: Option<PathBuf>,
    /// The running daemon's status socket [default: $DKGD_SOCKET, the config's, or
    /// /run/dkgd/status.sock].
    #[arg(long)]
    pub(crate) socket: Option<PathBuf>,
}

/// Arguments of `dkgd backup keygen`.
#[derive(Debug, clap::Args)]
pub(crate) struct BackupKeygenArgs {
    /// Write the identity to this new file (mode 0600) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}

/// The data dir options of the backup commands (as `dkgd run`).
#[derive(Debug, clap::Args)]
pub(crate) struct BackupDirArgs {
    /// Data dir holding charon-enr-private-key and the artifacts [default: $DKGD_DATA_DIR,
    /// the config file's data_dir, or /var/lib/dkgd].
    #[arg(long)]
    pub(crate) data_dir: Option<PathBuf>,
    /// `dkgd run`'s TOML config file (also DKGD_CONFIG): its data_dir, state_dir and
    /// backup_recipients apply.
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
}

/// Arguments of `dkgd backup export`.
#[derive(Debug, clap::Args)]
pub(crate) struct BackupExportArgs {
    /// The backup file to create (refused if it exists).
    pub(crate) file: PathBuf,
    #[command(flatten)]
    pub(crate) dir: BackupDirArgs,
    /// An age public key (age1…) to encrypt to (repeatable) [default:
    /// $DKGD_BACKUP_RECIPIENTS, comma-separated].
    #[arg(long = "recipient", value_name = "AGE1…")]
    pub(crate) recipients: Vec<String>,
    /// Encrypt to a passphrase instead (read from the terminal, or the first line of stdin).
    #[arg(long, conflicts_with = "recipients")]
    pub(crate) passphrase: bool,
}

/// How to open a backup (shared by verify and restore).
#[derive(Debug, clap::Args)]
pub(crate) struct BackupOpenArgs {
    /// The backup file.
    pub(crate) file: PathBuf,
    /// An age identity file (AGE-SECRET-KEY-1… lines, as age-keygen writes).
    #[arg(long, value_name = "FILE")]
    pub(crate) identity: Option<PathBuf>,
    /// The backup is encrypted to a passphrase (read from the terminal, or stdin).
    #[arg(long, conflicts_with = "identity")]
    pub(crate) passphrase: bool,
}

/// Arguments of `dkgd backup restore`.
#[derive(Debug, clap::Args)]
pub(crate) struct BackupRestoreArgs {
    #[command(flatten)]
    pub(crate) open: BackupOpenArgs,
    #[command(flatten)]
    pub(crate) state: BackupStateArgs,
    /// Confirms that the box this backup came from is gone for good: two boxes running one
    /// key get the cluster's validators slashed.
    #[arg(long = "i-understand-the-old-box-must-never-run-again")]
    pub(crate) old_box_gone: bool,
}

/// Arguments of `dkgd run`. Every setting is also a key of the TOML config file and a
/// `DKGD_*` environment variable (precedence: flag > environment > file > default).
#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// TOML config file (also DKGD_CONFIG).
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// Data dir: identity key and artifacts [default: /var/lib/dkgd].
    #[arg(long)]
    pub(crate) data_dir: Option<PathBuf>,
    /// State dir: state.sled/, inbox/ and dkgd-run.lock [default: the data dir].
    #[arg(long)]
    pub(crate) state_dir: Option<PathBuf>,
    /// Status socket path [default: /run/dkgd/status.sock].
    #[arg(long)]
    pub(crate) socket: Option<PathBuf>,
    /// Group (name or id) allowed to read the status socket.
    #[arg(long)]
    pub(crate) socket_group: Option<String>,
    /// A relay multiaddr or http(s):// URL for the ceremony (repeatable).
    #[arg(long = "relay")]
    pub(crate) relays: Vec<String>,
    /// TCP multiaddr the ceremony listens on (repeatable).
    #[arg(long)]
    pub(crate) listen: Vec<String>,
    /// A peer's direct address for the ceremony, PEERID=MULTIADDR (repeatable).
    #[arg(long = "peer-addr")]
    pub(crate) peer_addrs: Vec<String>,
    /// First retry delay after a failed ceremony, seconds [default: 10].
    #[arg(long)]
    pub(crate) backoff_initial_secs: Option<u64>,
    /// Largest retry delay, seconds [default: 600].
    #[arg(long)]
    pub(crate) backoff_max_secs: Option<u64>,
    /// Growth factor of the retry delay [default: 2].
    #[arg(long)]
    pub(crate) backoff_factor: Option<f64>,
    /// Use the low-cost test KDF for keystores (refused on mainnet and gnosis).
    #[arg(long)]
    pub(crate) insecure_keystores: bool,
    /// The Obol API pairing codes are resolved against [default: $DKGD_API_URL or
    /// https://api.obol.tech]; http:// only to a loopback address.
    #[arg(long)]
    pub(crate) api_url: Option<String>,
    /// Another file a pairing code is read from, besides <state dir>/inbox/pairing-code
    /// (e.g. the boot partition's dkgd/pairing-code) [default: $DKGD_PAIRING_FILE].
    #[arg(long)]
    pub(crate) pairing_file: Option<PathBuf>,
}

/// Arguments of `dkgd status`.
#[derive(Debug, clap::Args)]
pub(crate) struct StatusArgs {
    /// The daemon's status socket [default: $DKGD_SOCKET or /run/dkgd/status.sock].
    #[arg(long)]
    pub(crate) socket: Option<PathBuf>,
    /// Print the raw status JSON (API version 1) for scripts.
    #[arg(long)]
    pub(crate) json: bool,
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
    /// A relay multiaddr or http(s):// URL (repeatable).
    #[arg(long)]
    pub(crate) relay: Vec<String>,
    /// Use the low-cost test KDF for keystores (refused on mainnet and gnosis).
    #[arg(long)]
    pub(crate) insecure_keystores: bool,
    /// Bound on each step and barrier, in seconds [default: scales with operators and
    /// validators: 60 s, plus 0.15 s per operator × validator beyond 200].
    #[arg(long = "timeout", value_name = "SECONDS")]
    pub(crate) timeout_secs: Option<u64>,
    /// Once every operator has connected, how long a peer may stay disconnected before the
    /// ceremony aborts naming it, in seconds (above twice the 30 s sync response timeout, so
    /// a hung stream can heal first).
    #[arg(
        long = "peer-loss-timeout",
        value_name = "SECONDS",
        default_value_t = 75
    )]
    pub(crate) peer_loss_timeout_secs: u64,
    /// Bound on waiting for every operator to connect before step 1, in seconds [default:
    /// none: late joiners are normal; every 30 s the log names whom the node waits for].
    #[arg(long = "connect-timeout", value_name = "SECONDS")]
    pub(crate) connect_timeout_secs: Option<u64>,
    /// charon wire profile: `auto` (default) or v1.7 … v1.11. `auto` starts with the
    /// definition's default (v1.11 for a v1.11.0 definition, else v1.10), listens for the
    /// peers' versions before speaking and switches, before step 1, to the one every peer
    /// speaks. A version forces that profile.
    #[arg(
        long,
        value_name = "auto|VERSION",
        default_value = "auto",
        overrides_with = "compat"
    )]
    pub(crate) compat: String,
    /// Print progress as one JSON object per stdout line (the format of
    /// `dkgd_node::run::progress`), for `dkgd run`.
    #[arg(long = "progress-json")]
    pub(crate) progress: bool,
    /// Run no ceremony: publish the artifacts an earlier ceremony of this definition staged
    /// and set aside unpublished (`.dkgd-staging.unpublished-<n>`), after verifying them. For
    /// when another operator's node completed that ceremony. Give the lock hash when several
    /// kept sets are of this definition.
    #[arg(long = "publish-kept", value_name = "LOCK_HASH", num_args = 0..=1)]
    pub(crate) publish_kept: Option<Option<String>>,
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
    /// Connect the nodes directly (each listens on 127.0.0.1) instead of through the relay.
    #[arg(long)]
    pub(crate) direct: bool,
    /// Overall deadline for the ceremony, in seconds.
    #[arg(long = "timeout", value_name = "SECONDS", default_value_t = 300)]
    pub(crate) timeout_secs: u64,
}

/// Arguments of `dkgd create`.
#[derive(Debug, clap::Args)]
pub(crate) struct CreateArgs {
    /// What to create.
    #[command(subcommand)]
    pub(crate) command: CreateCommand,
}

/// The `dkgd create` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum CreateCommand {
    /// A signed cluster-definition.json whose operators are local identity keys (each key
    /// also signs as its operator's wallet).
    ClusterDefinition(CreateDefinitionArgs),
}

/// Arguments of `dkgd create cluster-definition`.
#[derive(Debug, clap::Args)]
pub(crate) struct CreateDefinitionArgs {
    /// An operator's data dir holding charon-enr-private-key (repeatable, in operator order;
    /// at least 3).
    #[arg(long = "operator-dir", required = true, value_name = "DIR")]
    pub(crate) operator_dirs: Vec<PathBuf>,
    /// A data dir whose key signs as the creator [default: a fresh random key].
    #[arg(long, value_name = "DIR")]
    pub(crate) creator_dir: Option<PathBuf>,
    /// Cluster name [default: "dkgd local T-of-N"].
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Number of validators.
    #[arg(long, default_value_t = 1)]
    pub(crate) validators: u64,
    /// Signing threshold [default: ceil(2n/3), charon's default].
    #[arg(long)]
    pub(crate) threshold: Option<u64>,
    /// Network (its genesis fork version goes into the definition).
    #[arg(long, default_value = "hoodi")]
    pub(crate) network: String,
    /// Definition version (v1.6.0 to v1.11.0).
    #[arg(long = "definition-version", default_value = "v1.10.0")]
    pub(crate) definition_version: String,
    /// Every validator's fee recipient, 0x-hex [default on test networks: 0x1111…1111;
    /// required on mainnet and gnosis].
    #[arg(long, value_name = "0xADDRESS")]
    pub(crate) fee_recipient: Option<String>,
    /// Every validator's withdrawal address, 0x-hex [default on test networks: 0x2222…2222;
    /// required on mainnet and gnosis].
    #[arg(long, value_name = "0xADDRESS")]
    pub(crate) withdrawal_address: Option<String>,
    /// The file to create (refused if it exists).
    #[arg(long, value_name = "FILE")]
    pub(crate) output: PathBuf,
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
