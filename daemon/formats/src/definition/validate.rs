//! Structural load-time checks that need no cryptography (formats.md §2.5, §3.5).
//!
//! These are *findings*, not errors: `dkgd verify` reports each one on its own line, and test
//! data with random signatures still parses and hash-checks. Cryptographic checks (EIP-712,
//! ENR, BLS, node signatures) are done elsewhere.

use super::{Definition, Version};
use std::fmt;

/// One problem found in a definition or lock, with the JSON path it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// JSON path, e.g. `cluster_definition.operators[1]`.
    pub field: String,
    /// What is wrong.
    pub problem: Problem,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// The kinds of structural problem (formats.md §2.5, §3.5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// `len(validators)` (or of `distributed_validators`) differs from `num_validators`.
    #[error("{found} entries, but num_validators is {num_validators}")]
    ValidatorCount {
        /// `num_validators`.
        num_validators: u64,
        /// Entries found.
        found: usize,
    },
    /// A deposit amount below 1 ETH.
    #[error("{gwei} Gwei is below the minimum of {min_gwei} Gwei (1 ETH)")]
    DepositTooSmall {
        /// The amount.
        gwei: u64,
        /// The minimum.
        min_gwei: u64,
    },
    /// A deposit amount above 32 ETH (2048 ETH with compounding).
    #[error("{gwei} Gwei is above the maximum of {max_gwei} Gwei")]
    DepositTooLarge {
        /// The amount.
        gwei: u64,
        /// The maximum.
        max_gwei: u64,
    },
    /// Deposit amounts sum to less than 32 ETH.
    #[error("amounts sum to {sum_gwei} Gwei, less than 32 ETH")]
    DepositSumTooSmall {
        /// The sum.
        sum_gwei: u128,
    },
    /// v1.0–v1.2 definitions carry no signatures at all.
    #[error("signatures are not allowed in {version} definitions")]
    UnexpectedSignature {
        /// The definition version.
        version: Version,
    },
    /// Only one of an operator's two signatures is present.
    #[error("has only one of config_signature and enr_signature")]
    HalfSigned,
    /// Some operators signed and others did not.
    #[error("{signed} operators signed but {unsigned} did not: all or none must sign")]
    PartiallySigned {
        /// Operators with signatures.
        signed: usize,
        /// Operators without.
        unsigned: usize,
    },
    /// Operators signed but the creator did not.
    #[error("operators signed, so the creator must sign too")]
    CreatorUnsigned,
    /// A validator's public share count differs from the operator count.
    #[error("{found} public shares for {operators} operators")]
    ShareCount {
        /// Number of operators.
        operators: usize,
        /// Shares found.
        found: usize,
    },
    /// A distributed validator key that appeared before.
    #[error("duplicate of distributed_validators[{first}].distributed_public_key")]
    DuplicateValidatorKey {
        /// Index of the first occurrence.
        first: usize,
    },
    /// A public share that appeared before in the same validator.
    #[error("duplicate of public_shares[{first}]")]
    DuplicateShare {
        /// Index of the first occurrence.
        first: usize,
    },
    /// v1.7+ validators need a builder registration.
    #[error("missing (required from v1.7)")]
    MissingBuilderRegistration,
    /// v1.7+ locks need one node signature per operator.
    #[error("{found} node signatures for {operators} operators")]
    NodeSignatureCount {
        /// Number of operators.
        operators: usize,
        /// Signatures found.
        found: usize,
    },
    /// A signature of the wrong size.
    #[error("must be {expected} bytes, got {found}")]
    WrongLength {
        /// Required size.
        expected: usize,
        /// Size found.
        found: usize,
    },
}

/// 1 ETH in Gwei.
pub(crate) const ONE_ETH_GWEI: u64 = 1_000_000_000;

/// Checks of formats.md §2.5 for a definition (paths relative to the definition).
pub(crate) fn definition(def: &Definition) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut push = |field: String, problem: Problem| out.push(Finding { field, problem });
    let v = def.version;

    if v >= Version::V1_5 {
        let found = def.validators.as_ref().map_or(0, Vec::len);
        if u64::try_from(found).ok() != Some(def.num_validators) {
            push(
                "validators".into(),
                Problem::ValidatorCount {
                    num_validators: def.num_validators,
                    found,
                },
            );
        }
    }

    let amounts = def.deposit_amounts();
    let max_gwei = if def.is_compounding() { 2048 } else { 32 } * ONE_ETH_GWEI;
    for (i, &gwei) in amounts.iter().enumerate() {
        let field = format!("deposit_amounts[{i}]");
        if gwei < ONE_ETH_GWEI {
            push(
                field,
                Problem::DepositTooSmall {
                    gwei,
                    min_gwei: ONE_ETH_GWEI,
                },
            );
        } else if gwei > max_gwei {
            push(field, Problem::DepositTooLarge { gwei, max_gwei });
        }
    }
    let sum_gwei: u128 = amounts.iter().map(|&a| u128::from(a)).sum();
    if !amounts.is_empty() && sum_gwei < u128::from(32 * ONE_ETH_GWEI) {
        push(
            "deposit_amounts".into(),
            Problem::DepositSumTooSmall { sum_gwei },
        );
    }

    let ops = def.operators();
    if v <= Version::V1_2 {
        for (i, op) in ops.iter().enumerate() {
            if !op.is_unsigned() {
                push(
                    format!("operators[{i}]"),
                    Problem::UnexpectedSignature { version: v },
                );
            }
        }
        if !def.creator.config_signature.is_empty() {
            push(
                "creator.config_signature".into(),
                Problem::UnexpectedSignature { version: v },
            );
        }
        return out;
    }
    for (i, op) in ops.iter().enumerate() {
        if op.config_signature.is_empty() != op.enr_signature.is_empty() {
            push(format!("operators[{i}]"), Problem::HalfSigned);
        }
    }
    let unsigned = ops.iter().filter(|op| op.is_unsigned()).count();
    let signed = ops.len() - unsigned;
    if signed > 0 && unsigned > 0 {
        push(
            "operators".into(),
            Problem::PartiallySigned { signed, unsigned },
        );
    }
    if v == Version::V1_3 && !def.creator.config_signature.is_empty() {
        push(
            "creator.config_signature".into(),
            Problem::UnexpectedSignature { version: v },
        );
    }
    if v >= Version::V1_4 && signed > 0 && def.creator.config_signature.is_empty() {
        push("creator.config_signature".into(), Problem::CreatorUnsigned);
    }
    out
}
