//! `dkgd create cluster-definition`: a signed cluster-definition.json for a local cluster whose
//! operators are identity keys on this machine (formats.md §2, §4). Each operator's ENR key
//! doubles as its EIP-712 wallet, as in charon's own test tooling; the creator is a fresh key
//! unless `--creator-dir` names one.
//!
//! Everything is validated before the first read of a key and the first write: operator count
//! (charon creates definitions for n ≥ 3, `cmd/createcluster.go`), threshold 2 ≤ t ≤ n
//! (charon-dkg-protocol.md §1.2), version, network and addresses (the placeholder addresses
//! are refused on mainnet and gnosis). Keys are read through dkgd-store under the key lock;
//! the output is created atomically and never replaces an existing file.
//!
//! [`DefinitionPlan`] is shared with `dkgd demo`, which makes its definition the same way.

use super::store_failure::store_failure;
use crate::cli::{CreateArgs, CreateCommand, CreateDefinitionArgs};
use crate::exit::{Code, Failure};
use anyhow::anyhow;
use dkgd_ceremony::definition::{
    default_threshold, definition_for_local_cluster, LocalClusterConfig,
};
use dkgd_crypto::k1::{eip55_checksum, K1SecretKey};
use dkgd_formats::definition::Version;
use dkgd_formats::network::{self, Network};
use dkgd_store::DataDir;
use std::path::{Path, PathBuf};

/// charon creates definitions for at least this many operators (`cmd/createcluster.go`).
pub(crate) const MIN_OPERATORS: usize = 3;
/// FROST share indices fit in a byte, and a definition lists at most 256 operators.
const MAX_OPERATORS: usize = 255;
/// dkgd's bound on `num_validators` for one definition.
const MAX_VALIDATORS: u64 = 10_000;
/// `LocalClusterConfig`'s placeholder fee recipient (`0x1111…`).
const PLACEHOLDER_FEE_RECIPIENT: [u8; 20] = [0x11; 20];
/// `LocalClusterConfig`'s placeholder withdrawal address (`0x2222…`).
const PLACEHOLDER_WITHDRAWAL: [u8; 20] = [0x22; 20];

/// Runs `dkgd create …`.
pub(crate) fn run(args: &CreateArgs) -> Result<Code, Failure> {
    match &args.command {
        CreateCommand::ClusterDefinition(a) => cluster_definition(a),
    }
}

/// What a caller asks for, as given on its command line (validated by [`DefinitionPlan::new`]).
pub(crate) struct DefinitionRequest<'a> {
    /// Number of operators.
    pub(crate) operators: usize,
    /// The flag that sets the operators, for messages (`--operator-dir`, `--nodes`).
    pub(crate) operators_flag: &'static str,
    /// `--threshold`; `None` means ceil(2n/3).
    pub(crate) threshold: Option<u64>,
    /// `--validators`.
    pub(crate) validators: u64,
    /// `--definition-version`.
    pub(crate) version: &'a str,
    /// `--network`.
    pub(crate) network: &'a str,
    /// `--fee-recipient`; `None` means the placeholder (test networks only).
    pub(crate) fee_recipient: Option<&'a str>,
    /// `--withdrawal-address`; `None` means the placeholder (test networks only).
    pub(crate) withdrawal_address: Option<&'a str>,
}

/// A validated definition request: every field is known to be acceptable.
pub(crate) struct DefinitionPlan {
    /// Number of operators.
    pub(crate) operators: usize,
    /// Signing threshold.
    pub(crate) threshold: u64,
    /// Number of validators.
    pub(crate) validators: u64,
    /// Definition format version.
    pub(crate) version: Version,
    /// The network.
    pub(crate) network: &'static Network,
    fee_recipient: [u8; 20],
    withdrawal_address: [u8; 20],
}

impl DefinitionPlan {
    /// Validates a request. The error names the flag at fault (a usage error).
    pub(crate) fn new(req: &DefinitionRequest<'_>) -> anyhow::Result<Self> {
        let n = req.operators;
        if !(MIN_OPERATORS..=MAX_OPERATORS).contains(&n) {
            return Err(anyhow!(
                "{}: {n} operator(s) given; a cluster has {MIN_OPERATORS} to {MAX_OPERATORS}",
                req.operators_flag
            ));
        }
        let threshold = req.threshold.unwrap_or_else(|| default_threshold(n));
        if threshold < 2 || threshold > n as u64 {
            return Err(anyhow!(
                "--threshold {threshold}: must be between 2 and the number of operators ({n})"
            ));
        }
        if !(1..=MAX_VALIDATORS).contains(&req.validators) {
            return Err(anyhow!(
                "--validators {}: must be 1 to {MAX_VALIDATORS}",
                req.validators
            ));
        }
        let version = Version::parse(req.version)
            .filter(|v| v.dkg_supported())
            .ok_or_else(|| {
                anyhow!(
                    "--definition-version {}: a DKG needs v1.6.0 to v1.11.0",
                    req.version
                )
            })?;
        let network =
            network::by_name(req.network).map_err(|e| anyhow!("--network {}: {e}", req.network))?;
        let real_money = matches!(network.name, "mainnet" | "gnosis");
        let fee_recipient = address("--fee-recipient", req.fee_recipient, real_money)?
            .unwrap_or(PLACEHOLDER_FEE_RECIPIENT);
        let withdrawal_address =
            address("--withdrawal-address", req.withdrawal_address, real_money)?
                .unwrap_or(PLACEHOLDER_WITHDRAWAL);
        Ok(Self {
            operators: n,
            threshold,
            validators: req.validators,
            version,
            network,
            fee_recipient,
            withdrawal_address,
        })
    }

    /// The signed definition as charon's JSON: operator i is `operators[i]`, signing its
    /// config and ENR; `creator` signs the config hash (formats.md §4).
    pub(crate) fn signed_json(
        &self,
        name: &str,
        operators: &[K1SecretKey],
        creator: &K1SecretKey,
    ) -> Result<Vec<u8>, Failure> {
        let bug = |e: anyhow::Error| {
            Failure::new(
                Code::Failed,
                e,
                "this is a bug in dkgd; please report it with the command line",
            )
        };
        let mut cfg = LocalClusterConfig::new(self.version, self.network, self.validators);
        cfg.name = name.to_owned();
        cfg.timestamp = dkgd_store::now_rfc3339_seconds();
        cfg.threshold = Some(self.threshold);
        cfg.fee_recipient = self.fee_recipient;
        cfg.withdrawal_address = self.withdrawal_address;
        let def = definition_for_local_cluster(&cfg, operators, creator, &mut rand_core::OsRng)
            .map_err(|e| bug(anyhow!("cannot build the definition: {e}")))?;
        def.to_json()
            .map_err(|e| bug(anyhow!("cannot encode the definition: {e}")))
    }
}

/// Parses an optional `0x`-address flag. Mixed case must carry a valid EIP-55 checksum. On
/// mainnet and gnosis the address is required and may be neither a placeholder nor zero.
fn address(flag: &str, text: Option<&str>, real_money: bool) -> anyhow::Result<Option<[u8; 20]>> {
    let Some(text) = text else {
        if real_money {
            return Err(anyhow!(
                "{flag} is required on mainnet and gnosis (the default is a test placeholder \
                 whose funds nobody controls)"
            ));
        }
        return Ok(None);
    };
    let digits = text
        .strip_prefix("0x")
        .ok_or_else(|| anyhow!("{flag} {text:?}: expected 0x followed by 40 hex digits"))?;
    let bytes: [u8; 20] = hex::decode(digits)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| anyhow!("{flag} {text:?}: expected 0x followed by 40 hex digits"))?;
    let mixed = digits.chars().any(|c| c.is_ascii_uppercase())
        && digits.chars().any(|c| c.is_ascii_lowercase());
    if mixed && eip55_checksum(&bytes) != text {
        return Err(anyhow!(
            "{flag} {text:?}: the EIP-55 checksum does not match (a typo?); expected {}",
            eip55_checksum(&bytes)
        ));
    }
    let placeholder = bytes == PLACEHOLDER_FEE_RECIPIENT || bytes == PLACEHOLDER_WITHDRAWAL;
    if real_money && (placeholder || bytes == [0; 20]) {
        return Err(anyhow!(
            "{flag} {text}: a placeholder or zero address is refused on mainnet and gnosis"
        ));
    }
    Ok(Some(bytes))
}

/// `dkgd create cluster-definition`.
fn cluster_definition(args: &CreateDefinitionArgs) -> Result<Code, Failure> {
    let usage = |e: anyhow::Error| {
        Failure::new(
            Code::Usage,
            e,
            "see `dkgd create cluster-definition --help`; nothing was written",
        )
    };
    let plan = DefinitionPlan::new(&DefinitionRequest {
        operators: args.operator_dirs.len(),
        operators_flag: "--operator-dir",
        threshold: args.threshold,
        validators: args.validators,
        version: &args.definition_version,
        network: &args.network,
        fee_recipient: args.fee_recipient.as_deref(),
        withdrawal_address: args.withdrawal_address.as_deref(),
    })
    .map_err(usage)?;
    let (out_dir, out_name) = output_target(&args.output).map_err(usage)?;
    if args.output.symlink_metadata().is_ok() {
        return Err(Failure::new(
            Code::Usage,
            anyhow!(
                "{} already exists; it was left unchanged",
                args.output.display()
            ),
            "choose another --output (dkgd never overwrites a definition)",
        ));
    }

    super::harden_process()?;
    let mut keys = Vec::with_capacity(args.operator_dirs.len());
    for dir in &args.operator_dirs {
        let key = read_identity(dir, "--operator-dir")?;
        if let Some(j) = keys
            .iter()
            .position(|k: &K1SecretKey| k.public_key() == key.public_key())
        {
            return Err(usage(anyhow!(
                "--operator-dir {} holds the same key as operator {j} ({})",
                dir.display(),
                args.operator_dirs
                    .get(j)
                    .map_or_else(String::new, |d| d.display().to_string())
            )));
        }
        keys.push(key);
    }
    let creator = match &args.creator_dir {
        Some(dir) => read_identity(dir, "--creator-dir")?,
        None => K1SecretKey::generate(&mut rand_core::OsRng),
    };
    let _locked = dkgd_node::harden::lock_in_memory(keys.as_slice(), "operator keys");
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| format!("dkgd local {}-of-{}", plan.threshold, plan.operators));
    let json = plan.signed_json(&name, &keys, &creator)?;
    drop(keys);
    drop(creator);
    dkgd_store::atomic::create_new(&out_dir, &out_name, &json, 0o444)
        .map_err(|e| store_failure(e, &out_dir))?;
    let path = &args.output;
    println!(
        "Created {}: {} operators, threshold {}, {} validator(s), {} on {}",
        path.display(),
        plan.operators,
        plan.threshold,
        plan.validators,
        plan.version.as_str(),
        plan.network.name
    );
    println!("Check it with: dkgd verify {}", path.display());
    Ok(Code::Ok)
}

/// Splits `--output` into an existing directory and a plain file name.
fn output_target(output: &Path) -> anyhow::Result<(PathBuf, String)> {
    let name = output
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| anyhow!("--output {}: not a file name", output.display()))?;
    let dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(anyhow!(
            "--output {}: {} is not an existing directory",
            output.display(),
            dir.display()
        ));
    }
    Ok((dir, name.to_owned()))
}

/// Reads the identity key of data dir `dir` under its key lock (released on return).
fn read_identity(dir: &Path, flag: &str) -> Result<K1SecretKey, Failure> {
    let data_dir = DataDir::open(dir).map_err(|e| key_failure(e, dir, flag))?;
    let lock = data_dir
        .lock_key("dkgd create cluster-definition")
        .map_err(|e| key_failure(e, dir, flag))?;
    lock.read_key().map_err(|e| key_failure(e, dir, flag))
}

/// A store error while reading `flag DIR`'s key, with the exit code and the next step.
fn key_failure(e: dkgd_store::Error, dir: &Path, flag: &str) -> Failure {
    use dkgd_store::Error as E;
    let d = dkgd_store::error::shell_quote(dir);
    match &e {
        E::NotFound { .. } | E::NotADirectory { .. } | E::InvalidKey { .. } => Failure::new(
            super::store_failure::code(&e),
            anyhow!("{flag} {}: {e}", dir.display()),
            format!("create the key first with: dkgd enr create --data-dir {d}"),
        ),
        _ => store_failure(e, dir),
    }
}
