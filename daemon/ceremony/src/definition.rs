//! Signed cluster definitions for local clusters (tests, demos, `dkgd create`): the operators
//! are local identity keys that also act as their EIP-712 wallets (formats.md §2, §4), as
//! charon's own test tooling does.
//!
//! ```text
//!  LocalClusterConfig + operator keys + creator key
//!    ─▶ operators {address = eth address of key, enr = Enr::create(key)}, creator {address}
//!    ─▶ config_hash ─▶ config/enr/creator EIP-712 signatures ─▶ definition_hash
//! ```

use dkgd_crypto::k1::{eip55_checksum, K1SecretKey};
use dkgd_formats::definition::{
    Address, Creator, Definition, Operator, ValidatorAddresses, Version,
};
use dkgd_formats::eip712;
use dkgd_formats::enr::Enr;
use dkgd_formats::network::Network;
use rand_core::CryptoRngCore;

use crate::duties::DEFAULT_GAS_LIMIT;
use crate::error::Error;

/// charon's recommended threshold: `ceil(2n/3)`.
pub fn default_threshold(operators: usize) -> u64 {
    u64::try_from(operators.saturating_mul(2).div_ceil(3)).unwrap_or(u64::MAX)
}

/// What a local cluster definition says, apart from its operators.
#[derive(Debug, Clone)]
pub struct LocalClusterConfig {
    /// Format version (v1.6 – v1.11).
    pub version: Version,
    /// The network (its genesis fork version goes into `fork_version`).
    pub network: &'static Network,
    /// `name`.
    pub name: String,
    /// `timestamp`, verbatim (the caller reads the clock; e.g. RFC 3339).
    pub timestamp: String,
    /// `threshold`; `None` means [`default_threshold`].
    pub threshold: Option<u64>,
    /// `num_validators`.
    pub num_validators: u64,
    /// Every validator's fee recipient.
    pub fee_recipient: [u8; 20],
    /// Every validator's withdrawal address.
    pub withdrawal_address: [u8; 20],
    /// `deposit_amounts` in Gwei (v1.8+; ignored before).
    pub deposit_amounts: Option<Vec<u64>>,
    /// `compounding` (v1.10+; ignored before).
    pub compounding: bool,
    /// `target_gas_limit` (v1.10+; ignored before).
    pub target_gas_limit: u64,
    /// `dkg_algorithm`.
    pub dkg_algorithm: String,
}

impl LocalClusterConfig {
    /// A config with charon's defaults: default threshold, `dkg_algorithm` "default", gas
    /// limit 30 000 000, no custom amounts, no compounding, empty name and timestamp, and
    /// **placeholder** addresses `0x1111…` (fee recipient) and `0x2222…` (withdrawal): set real
    /// ones for anything but tests and demos.
    pub fn new(version: Version, network: &'static Network, num_validators: u64) -> Self {
        LocalClusterConfig {
            version,
            network,
            name: String::new(),
            timestamp: String::new(),
            threshold: None,
            num_validators,
            fee_recipient: [0x11; 20],
            withdrawal_address: [0x22; 20],
            deposit_amounts: None,
            compounding: false,
            target_gas_limit: DEFAULT_GAS_LIMIT,
            dkg_algorithm: "default".to_string(),
        }
    }
}

/// A definition for `operators` (in operator order) signed by those keys and by `creator`
/// with real EIP-712 signatures, hashes computed. `rng` draws the `uuid`.
pub fn definition_for_local_cluster<R: CryptoRngCore + ?Sized>(
    config: &LocalClusterConfig,
    operators: &[K1SecretKey],
    creator: &K1SecretKey,
    rng: &mut R,
) -> Result<Definition, Error> {
    let version = config.version;
    if !(Version::V1_6..=Version::V1_11).contains(&version) {
        return Err(Error::InvalidInput {
            what: "definition version",
            why: "local clusters are created as v1.6.0 – v1.11.0",
        });
    }
    let chain_id = config.network.chain_id;
    let address = |k: &K1SecretKey| {
        Address::parse(&eip55_checksum(&k.public_key().eth_address()))
            .map_err(|_| Error::Internal("an EIP-55 address parses"))
    };
    let addresses = ValidatorAddresses {
        fee_recipient_address: address_text(&config.fee_recipient)?,
        withdrawal_address: address_text(&config.withdrawal_address)?,
    };
    let mut def = Definition::blank(version);
    def.name.clone_from(&config.name);
    def.uuid = uuid(rng);
    def.timestamp.clone_from(&config.timestamp);
    def.num_validators = config.num_validators;
    def.threshold = config
        .threshold
        .unwrap_or_else(|| default_threshold(operators.len()));
    def.dkg_algorithm.clone_from(&config.dkg_algorithm);
    def.fork_version = config.network.genesis_fork_version;
    def.operators = Some(
        operators
            .iter()
            .map(|k| {
                Ok(Operator {
                    address: address(k)?,
                    enr: Enr::create(k).to_text().to_string(),
                    config_signature: Vec::new(),
                    enr_signature: Vec::new(),
                    nonce: 0,
                })
            })
            .collect::<Result<_, Error>>()?,
    );
    def.creator = Creator {
        address: address(creator)?,
        config_signature: Vec::new(),
    };
    let count = usize::try_from(config.num_validators).map_err(|_| Error::InvalidInput {
        what: "num_validators",
        why: "too large",
    })?;
    def.validators = Some(vec![addresses; count]);
    if version >= Version::V1_8 {
        def.deposit_amounts.clone_from(&config.deposit_amounts);
    }
    if version >= Version::V1_10 {
        def.target_gas_limit = config.target_gas_limit;
        def.compounding = config.compounding;
    }

    let config_hash = def
        .compute_config_hash()
        .map_err(|_| Error::Internal("hashing a new definition"))?;
    def.config_hash = Some(config_hash);
    let op_digest = eip712::operator_config_hash_digest(version.as_str(), chain_id, &config_hash);
    for (op, key) in def.operators.iter_mut().flatten().zip(operators) {
        op.config_signature = key.sign_digest(&op_digest).to_vec();
        op.enr_signature = key
            .sign_digest(&eip712::enr_digest(chain_id, &op.enr))
            .to_vec();
    }
    def.creator.config_signature = creator
        .sign_digest(&eip712::creator_config_hash_digest(chain_id, &config_hash))
        .to_vec();
    def.with_hashes_recomputed()
        .map_err(|_| Error::Internal("hashing a new definition"))
}

fn address_text(bytes: &[u8; 20]) -> Result<Address, Error> {
    Address::parse(&eip55_checksum(bytes)).map_err(|_| Error::Internal("an EIP-55 address parses"))
}

/// charon's definition uuid: RFC 4122 version-4 text in upper case.
fn uuid<R: CryptoRngCore + ?Sized>(rng: &mut R) -> String {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    if let Some(x) = b.get_mut(6) {
        *x = (*x & 0x0f) | 0x40;
    }
    if let Some(x) = b.get_mut(8) {
        *x = (*x & 0x3f) | 0x80;
    }
    let h = hex::encode_upper(b);
    let part = |r: std::ops::Range<usize>| h.get(r).unwrap_or_default();
    format!(
        "{}-{}-{}-{}-{}",
        part(0..8),
        part(8..12),
        part(12..16),
        part(16..20),
        part(20..32)
    )
}
