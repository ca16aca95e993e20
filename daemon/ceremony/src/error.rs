//! The crate's one error type (style.md §3.3), grouped by who is at fault: the definition or
//! the caller ([`Error::InvalidDefinition`], [`Error::InvalidInput`]), a peer
//! ([`Error::PeerMisbehaved`]), or this code ([`Error::Internal`]).

use dkgd_crypto::frost::FrostError;
use dkgd_crypto::k1::{K1Error, K1PublicKey};
use dkgd_crypto::keystore::KeystoreError;
use dkgd_formats::definition::{Finding, Version};
use dkgd_formats::deposit::DepositError;
use dkgd_formats::enr::EnrError;
use dkgd_formats::verify::Check;

use crate::duty::Duty;
use crate::index::{PeerIdx, ShareIdx, ValidatorIdx};
use crate::step::Step;

/// A ceremony failure. Any error aborts the ceremony; nothing has been written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The cluster definition cannot be used for a DKG (checked by [`crate::plan::Plan`]).
    #[error("cluster definition {field}: {0}", field = .0.field())]
    InvalidDefinition(#[from] DefinitionProblem),
    /// Caller input other than the definition is unusable.
    #[error("invalid {what}: {why}")]
    InvalidInput {
        /// What was given (e.g. `"operator keys"`).
        what: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A peer sent something wrong; `peer` is the one at fault.
    #[error("peer {peer} misbehaved in step {step}: {what}")]
    PeerMisbehaved {
        /// The peer at fault.
        peer: PeerIdx,
        /// The ceremony step.
        step: Step,
        /// What it did.
        what: Misbehaviour,
    },
    /// A FROST failure that names no peer (e.g. our own broadcast came back altered).
    #[error("dkg: {0}")]
    Dkg(#[source] FrostError),
    /// The assembled lock failed `verify_lock`: nothing may be written.
    #[error("the assembled cluster lock fails verification: {}", first_failure(.failures))]
    LockRejected {
        /// The checks that did not pass.
        failures: Vec<Check>,
    },
    /// Keystore encryption refused or failed (e.g. the insecure test KDF on mainnet).
    #[error("keystore encryption: {0}")]
    Keystore(#[source] KeystoreError),
    /// Rendering the deposit-data files failed.
    #[error("deposit data: {0}")]
    Deposit(#[source] DepositError),
    /// A bug in dkgd: please report it.
    #[error("internal error (a bug in dkgd, please report it): {0}")]
    Internal(&'static str),
}

fn first_failure(failures: &[Check]) -> String {
    match failures.first() {
        Some(c) if failures.len() > 1 => {
            format!(
                "{}: {} (and {} more)",
                c.check,
                c.detail,
                failures.len() - 1
            )
        }
        Some(c) => format!("{}: {}", c.check, c.detail),
        None => "no details".to_string(),
    }
}

impl Error {
    /// The peer at fault, if a peer is at fault.
    pub fn culprit(&self) -> Option<PeerIdx> {
        match self {
            Error::PeerMisbehaved { peer, .. } => Some(*peer),
            _ => None,
        }
    }

    /// The step a peer fault happened in.
    pub fn step(&self) -> Option<Step> {
        match self {
            Error::PeerMisbehaved { step, .. } => Some(*step),
            _ => None,
        }
    }
}

/// What a peer did wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Misbehaviour {
    /// A FROST message failed a check (the error names the share index and validator).
    #[error("{0}")]
    Frost(FrostError),
    /// A partial signature that is malformed or does not verify under the peer's public share.
    #[error("invalid partial signature for {duty}, validator {validator}")]
    InvalidPartialSignature {
        /// The duty.
        duty: Duty,
        /// The validator.
        validator: ValidatorIdx,
    },
    /// Partial signatures under a share index other than the sender's own.
    #[error("partial signatures for {duty} claim share index {claimed}")]
    WrongShareIndex {
        /// The duty.
        duty: Duty,
        /// The share index claimed.
        claimed: ShareIdx,
    },
    /// Partial signatures for another duty than the one being exchanged.
    #[error("sent partial signatures for {found} while {expected} was exchanged")]
    WrongDuty {
        /// The duty being exchanged.
        expected: Duty,
        /// The duty received.
        found: Duty,
    },
    /// Not exactly one partial signature per validator.
    #[error("{found} partial signatures for {duty}, expected one per validator ({expected})")]
    PartialCount {
        /// The duty.
        duty: Duty,
        /// Number of validators.
        expected: usize,
        /// Number received.
        found: usize,
    },
    /// No partial signatures for a duty.
    #[error("sent no partial signatures for {duty}")]
    MissingPartials {
        /// The duty.
        duty: Duty,
    },
    /// Two sets of partial signatures for one duty.
    #[error("sent partial signatures for {duty} twice")]
    DuplicatePartials {
        /// The duty.
        duty: Duty,
    },
    /// No node signature.
    #[error("sent no node signature")]
    MissingNodeSignature,
    /// Two node signatures.
    #[error("sent two node signatures")]
    DuplicateNodeSignature,
    /// A node signature that does not recover to the peer's ENR key.
    #[error("node signature over the lock hash is not by its ENR key: {0}")]
    InvalidNodeSignature(K1Error),
}

/// Why a definition cannot be used for a DKG. Every variant names its field ([`Self::field`]).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum DefinitionProblem {
    /// `charon dkg` accepts v1.6.0 – v1.11.0 only (formats.md §2.1).
    #[error("{version} is not supported for a DKG (v1.6.0 – v1.11.0 only)")]
    UnsupportedVersion {
        /// The definition's version.
        version: Version,
    },
    /// `dkg_algorithm: "pedersen"` (charon's kyber DKG) is not implemented.
    #[error("\"pedersen\" is not supported: dkgd implements charon's default FROST DKG only (use \"default\" or \"frost\")")]
    PedersenUnsupported,
    /// An algorithm charon does not know either.
    #[error("unknown DKG algorithm {algorithm:?} (expected \"default\" or \"frost\")")]
    UnknownAlgorithm {
        /// The value found.
        algorithm: String,
    },
    /// More than 255 operators (FROST ids are one byte).
    #[error("{operators} operators; a DKG supports at most 255")]
    TooManyOperators {
        /// Number of operators.
        operators: usize,
    },
    /// The threshold is not in `2 ..= n`.
    #[error("threshold {threshold} is outside 2 ..= {operators} (the number of operators)")]
    ThresholdOutOfRange {
        /// `threshold`.
        threshold: u64,
        /// Number of operators.
        operators: usize,
    },
    /// `num_validators` is 0 or above the supported maximum.
    #[error("{num_validators} validators; a DKG creates 1 ..= {max}")]
    ValidatorCountOutOfRange {
        /// `num_validators`.
        num_validators: u64,
        /// The maximum.
        max: u32,
    },
    /// `len(validators) != num_validators`.
    #[error("{found} entries but num_validators is {num_validators}")]
    ValidatorAddressCount {
        /// `num_validators`.
        num_validators: u64,
        /// Entries found.
        found: usize,
    },
    /// A validator lacks a fee recipient or withdrawal address.
    #[error("validator {validator} has no {which}")]
    MissingAddress {
        /// The validator.
        validator: ValidatorIdx,
        /// `fee_recipient_address` or `withdrawal_address`.
        which: &'static str,
    },
    /// `fork_version` is not a known network's genesis fork version.
    #[error("0x{} is not the genesis fork version of a network charon knows", hex::encode(.fork_version))]
    UnknownNetwork {
        /// The fork version.
        fork_version: [u8; 4],
    },
    /// An operator's ENR does not parse.
    #[error("{0}")]
    BadEnr(PeerIdx, #[source] EnrError),
    /// Two operators share one identity key.
    #[error("same identity key as operators[{first}]")]
    DuplicateOperator {
        /// The later operator.
        operator: PeerIdx,
        /// The earlier one.
        first: PeerIdx,
    },
    /// Our identity key is not among the operators' ENRs.
    #[error("no operator's ENR holds our identity key {0}")]
    NotAnOperator(K1PublicKey),
    /// A structural problem (formats.md §2.5), e.g. deposit amounts out of range.
    #[error("{}", .0.problem)]
    Structure(Finding),
    /// A hash or signature check of `verify_definition` failed (or cannot be decided offline,
    /// e.g. an ERC-1271 contract signature).
    #[error("{}", .0.detail)]
    Verification(Check),
}

impl DefinitionProblem {
    /// The JSON field at fault, e.g. `threshold` or `operators[2].enr`.
    pub fn field(&self) -> String {
        match self {
            Self::UnsupportedVersion { .. } => "version".into(),
            Self::PedersenUnsupported | Self::UnknownAlgorithm { .. } => "dkg_algorithm".into(),
            Self::TooManyOperators { .. } | Self::NotAnOperator(_) => "operators".into(),
            Self::ThresholdOutOfRange { .. } => "threshold".into(),
            Self::ValidatorCountOutOfRange { .. } => "num_validators".into(),
            Self::ValidatorAddressCount { .. } => "validators".into(),
            Self::MissingAddress { validator, which } => format!("validators[{validator}].{which}"),
            Self::UnknownNetwork { .. } => "fork_version".into(),
            Self::BadEnr(p, _) => format!("operators[{p}].enr"),
            Self::DuplicateOperator { operator, .. } => format!("operators[{operator}].enr"),
            Self::Structure(f) => f.field.clone(),
            Self::Verification(c) => c.check.clone(),
        }
    }
}

/// An error and its causes as one line, `outer: cause: root cause`, so that an OS error such
/// as "No space left on device" reaches whoever only keeps a string (the operator's terminal,
/// a peer reading our abort reason). A cause the message already ends with is not repeated.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !msg.ends_with(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        cause = c.source();
    }
    msg
}
