//! Structural lock checks that need no cryptography (formats.md §3.5, §3.4, §3.3).

use super::Lock;
use crate::definition::{Finding, Problem, Version};
use std::collections::HashMap;

/// Size of a secp256k1 `r‖s‖v` node signature.
const NODE_SIG_LEN: usize = 65;
/// Size of a BLS signature.
const BLS_SIG_LEN: usize = 96;

/// Checks of formats.md §2.5 (definition, prefixed `cluster_definition`) and §3.5.
pub(crate) fn lock(lock: &Lock) -> Vec<Finding> {
    let mut out: Vec<Finding> = lock
        .definition
        .validate()
        .into_iter()
        .map(|f| Finding {
            field: format!("cluster_definition.{}", f.field),
            problem: f.problem,
        })
        .collect();
    let mut push = |field: String, problem: Problem| out.push(Finding { field, problem });
    let v = lock.version();
    let def = &lock.definition;
    let operators = def.operators().len();

    if u64::try_from(lock.validators.len()).ok() != Some(def.num_validators) {
        push(
            "distributed_validators".into(),
            Problem::ValidatorCount {
                num_validators: def.num_validators,
                found: lock.validators.len(),
            },
        );
    }
    let mut keys: HashMap<&[u8; 48], usize> = HashMap::new();
    for (i, dv) in lock.validators.iter().enumerate() {
        let path = |f: &str| format!("distributed_validators[{i}].{f}");
        if let Some(&first) = keys.get(&dv.public_key) {
            push(
                path("distributed_public_key"),
                Problem::DuplicateValidatorKey { first },
            );
        } else {
            keys.insert(&dv.public_key, i);
        }
        if dv.public_shares.len() != operators {
            push(
                path("public_shares"),
                Problem::ShareCount {
                    operators,
                    found: dv.public_shares.len(),
                },
            );
        }
        let mut shares: HashMap<&[u8; 48], usize> = HashMap::new();
        for (j, share) in dv.public_shares.iter().enumerate() {
            if let Some(&first) = shares.get(share) {
                push(
                    path(&format!("public_shares[{j}]")),
                    Problem::DuplicateShare { first },
                );
            } else {
                shares.insert(share, j);
            }
        }
        if v >= Version::V1_7 && dv.builder_registration.is_none() {
            push(
                path("builder_registration"),
                Problem::MissingBuilderRegistration,
            );
        }
    }

    let agg = lock.signature_aggregate.len();
    let aggregate_optional = v <= Version::V1_1 && agg == 0;
    if agg != BLS_SIG_LEN && !aggregate_optional {
        push(
            "signature_aggregate".into(),
            Problem::WrongLength {
                expected: BLS_SIG_LEN,
                found: agg,
            },
        );
    }
    if v >= Version::V1_7 {
        if lock.node_signatures.len() != operators {
            push(
                "node_signatures".into(),
                Problem::NodeSignatureCount {
                    operators,
                    found: lock.node_signatures.len(),
                },
            );
        }
        for (i, sig) in lock.node_signatures.iter().enumerate() {
            if sig.len() != NODE_SIG_LEN {
                push(
                    format!("node_signatures[{i}]"),
                    Problem::WrongLength {
                        expected: NODE_SIG_LEN,
                        found: sig.len(),
                    },
                );
            }
        }
    }
    out
}
