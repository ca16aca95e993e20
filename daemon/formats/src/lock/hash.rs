//! `lock_hash` of every version (formats.md §3.2, §10).
//!
//! `lock_hash = SHA-256(definition_root ‖ validators_root)` where `definition_root` is the
//! definition-hash container (with the stored config hash) and the validator container depends
//! on the version: v1.8+ partial deposits list, v1.7 deposit + registration containers, v1.6 the
//! deposit fields spliced flat (charon's quirk), v1.3–v1.5 key + shares, v1.0–v1.2 legacy text.

use super::validator::{pubkey_root, DepositData};
use super::write::single_deposit;
use super::{BuilderRegistration, DistValidator, Lock};
use crate::definition::Version;
use crate::error::{Error, FieldProblem};
use crate::json::to_eth_hex;
use crate::ssz::{self, Root, SszError};

/// `List[DistValidator, 65536]`.
const MAX_VALIDATORS: usize = 65536;
/// `List[Bytes48, 256]` and `List[DepositData, 256]`.
const MAX_SHARES: usize = 256;

fn at<T>(field: String, r: Result<T, SszError>) -> Result<T, Error> {
    r.map_err(|e| Error::field(field, FieldProblem::Ssz(e)))
}

/// The lock hash, given the root of the definition container.
pub(crate) fn lock_hash(lock: &Lock, def_root: &Root) -> Result<Root, Error> {
    let v = lock.version();
    let roots = lock
        .validators
        .iter()
        .enumerate()
        .map(|(i, dv)| validator_root(dv, v, i))
        .collect::<Result<Vec<_>, _>>()?;
    let list = if v <= Version::V1_2 {
        let tree = at(
            "distributed_validators".into(),
            ssz::merkleize(&roots, roots.len()),
        )?;
        ssz::mix_in_length(&tree, roots.len())
    } else {
        at(
            "distributed_validators".into(),
            ssz::list_of_roots(&roots, MAX_VALIDATORS),
        )?
    };
    Ok(ssz::hash_pair(def_root, &list))
}

fn validator_root(dv: &DistValidator, v: Version, i: usize) -> Result<Root, Error> {
    let path = |f: &str| format!("distributed_validators[{i}].{f}");
    if v <= Version::V1_2 {
        // Key as its 0x-hex text, shares raw, list limit = mix-in = count (formats.md §10).
        let key = ssz::raw_leaf(to_eth_hex(&dv.public_key).as_bytes());
        let shares: Vec<Root> = dv
            .public_shares
            .iter()
            .filter_map(|s| ssz::raw_leaf(s))
            .collect();
        let n = dv.public_shares.len();
        let tree = at(path("public_shares"), ssz::merkleize(&shares, n))?;
        let mut leaves: Vec<Root> = key.into_iter().collect();
        leaves.push(ssz::mix_in_length(&tree, n));
        return Ok(ssz::container(&leaves));
    }
    let share_roots: Vec<Root> = dv.public_shares.iter().map(pubkey_root).collect();
    let shares = at(
        path("public_shares"),
        ssz::list_of_roots(&share_roots, MAX_SHARES),
    )?;
    let key = if v <= Version::V1_4 {
        ssz::raw_leaf(&dv.public_key).unwrap_or([0; 32])
    } else {
        pubkey_root(&dv.public_key)
    };
    let mut f = vec![key, shares];
    let reg = || {
        dv.builder_registration
            .as_ref()
            .map_or_else(BuilderRegistration::empty_root, BuilderRegistration::root)
    };
    let single = || -> Result<[Root; 4], Error> {
        Ok(single_deposit(dv, i)?.map_or_else(DepositData::empty_leaves, DepositData::leaves))
    };
    match v {
        Version::V1_6 => f.extend(single()?),
        Version::V1_7 => {
            f.push(ssz::container(&single()?));
            f.push(reg());
        }
        v if v >= Version::V1_8 => {
            let roots: Vec<Root> = dv.deposit_data.iter().map(DepositData::root).collect();
            f.push(at(
                path("partial_deposit_data"),
                ssz::list_of_roots(&roots, MAX_SHARES),
            )?);
            f.push(reg());
        }
        _ => {}
    }
    Ok(ssz::container(&f))
}
