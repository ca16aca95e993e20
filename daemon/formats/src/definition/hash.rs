//! `config_hash` and `definition_hash` of every version (formats.md §2.4, §10).
//!
//! * v1.5 – v1.11: SSZ containers (§2.4), signatures `Bytes65` or, in v1.11, `List[Bytes65, 32]`.
//! * v1.3 / v1.4: ByteList strings, but addresses, fork version, signatures and the config hash
//!   are appended *raw* (empty → no leaf).
//! * v1.0 – v1.2: every string appended raw as text; operators list with limit = mix-in = count;
//!   the definition hash does not include the config hash.

use super::parse::{check_signature_len, MAX_MULTI_SIGS};
use super::{Definition, Version};
use crate::error::{Error, FieldProblem};
use crate::json::to_eth_hex;
use crate::ssz::{self, Root, SszError};

/// Which of the two definition hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `config_hash`: excludes operator ENRs and all signatures.
    Config,
    /// `definition_hash`: everything, ending with the stored config hash.
    Definition,
}

/// Operator list limit (`List[Operator, 256]`).
const MAX_OPERATORS: usize = 256;
/// Validator list limit (`List[ValidatorAddresses, 65536]`).
const MAX_VALIDATORS: usize = 65536;
/// Deposit amount list limit (`List[uint64, 256]`).
const MAX_DEPOSIT_AMOUNTS: usize = 256;

/// Attaches a field path to an SSZ size error.
fn at<T>(field: impl Into<String>, r: Result<T, SszError>) -> Result<T, Error> {
    r.map_err(|e| Error::field(field, FieldProblem::Ssz(e)))
}

/// The root of a definition container of the given kind.
pub(crate) fn root(def: &Definition, kind: Kind) -> Result<Root, Error> {
    match def.version {
        v if v >= Version::V1_5 => modern(def, kind),
        Version::V1_3 | Version::V1_4 => raw_append(def, kind),
        _ => legacy(def, kind),
    }
}

/// Strings hashed as `ByteList[max]` (shared by v1.3+).
fn text(field: &str, s: &str, max: usize) -> Result<Root, Error> {
    at(field, ssz::byte_list(s.as_bytes(), max))
}

/// A secp256k1 signature field as hashed in v1.5+ (formats.md §2.4 `SIG`). Sizes other than
/// those of formats.md §2.3 are rejected rather than left-padded.
fn sig(field: String, bytes: &[u8], version: Version) -> Result<Root, Error> {
    check_signature_len(bytes.len(), version).map_err(|p| Error::field(field.clone(), p))?;
    if version >= Version::V1_11 {
        let pieces = bytes
            .chunks_exact(65)
            .map(|c| ssz::bytes_n(c, 65))
            .collect::<Result<Vec<_>, _>>();
        let pieces = at(field.clone(), pieces)?;
        at(field, ssz::list_of_roots(&pieces, MAX_MULTI_SIGS))
    } else {
        at(field, ssz::bytes_n(bytes, 65))
    }
}

fn bytes20(a: &[u8; 20]) -> Result<Root, Error> {
    at("address", ssz::bytes_n(a, 20))
}

/// v1.5 – v1.11 (formats.md §2.4).
fn modern(def: &Definition, kind: Kind) -> Result<Root, Error> {
    let v = def.version;
    let mut f = vec![
        text("uuid", &def.uuid, 64)?,
        text("name", &def.name, 256)?,
        text("version", v.as_str(), 16)?,
        text("timestamp", &def.timestamp, 32)?,
        ssz::uint64(def.num_validators),
        ssz::uint64(def.threshold),
        text("dkg_algorithm", &def.dkg_algorithm, 32)?,
        at("fork_version", ssz::bytes_n(&def.fork_version, 4))?,
    ];
    let mut ops = Vec::new();
    for (i, op) in def.operators().iter().enumerate() {
        let addr = bytes20(&op.address.hash_bytes())?;
        ops.push(match kind {
            Kind::Config => ssz::container(&[addr]),
            Kind::Definition => ssz::container(&[
                addr,
                text(&format!("operators[{i}].enr"), &op.enr, 1024)?,
                sig(
                    format!("operators[{i}].config_signature"),
                    &op.config_signature,
                    v,
                )?,
                sig(
                    format!("operators[{i}].enr_signature"),
                    &op.enr_signature,
                    v,
                )?,
            ]),
        });
    }
    f.push(at("operators", ssz::list_of_roots(&ops, MAX_OPERATORS))?);
    let creator = bytes20(&def.creator.address.hash_bytes())?;
    f.push(match kind {
        Kind::Config => ssz::container(&[creator]),
        Kind::Definition => ssz::container(&[
            creator,
            sig(
                "creator.config_signature".into(),
                &def.creator.config_signature,
                v,
            )?,
        ]),
    });
    let mut vals = Vec::new();
    for va in def.validators.as_deref().unwrap_or(&[]) {
        vals.push(ssz::container(&[
            bytes20(&va.fee_recipient_address.hash_bytes())?,
            bytes20(&va.withdrawal_address.hash_bytes())?,
        ]));
    }
    f.push(at("validators", ssz::list_of_roots(&vals, MAX_VALIDATORS))?);
    if v >= Version::V1_8 {
        f.push(at(
            "deposit_amounts",
            ssz::list_of_u64(def.deposit_amounts(), MAX_DEPOSIT_AMOUNTS),
        )?);
    }
    if v >= Version::V1_9 {
        f.push(text("consensus_protocol", &def.consensus_protocol, 256)?);
    }
    if v >= Version::V1_10 {
        f.push(ssz::uint64(def.target_gas_limit));
        f.push(ssz::boolean(def.compounding));
    }
    if kind == Kind::Definition {
        let stored = def.config_hash.unwrap_or([0; 32]);
        f.push(at("config_hash", ssz::bytes_n(&stored, 32))?);
    }
    Ok(ssz::container(&f))
}

/// Container of raw leaves; a container without leaves has the zero root (formats.md §10).
fn raw_container(leaves: &[Root]) -> Root {
    if leaves.is_empty() {
        [0; 32]
    } else {
        ssz::container(leaves)
    }
}

/// v1.3 / v1.4: ByteList strings, raw-appended binary fields (formats.md §10).
fn raw_append(def: &Definition, kind: Kind) -> Result<Root, Error> {
    let v = def.version;
    let shared = def.legacy_addresses()?;
    let mut leaves = vec![
        text("uuid", &def.uuid, 64)?,
        text("name", &def.name, 256)?,
        text("version", v.as_str(), 16)?,
        text("timestamp", &def.timestamp, 32)?,
        ssz::uint64(def.num_validators),
        ssz::uint64(def.threshold),
    ];
    let raw_addr = |a: &super::Address| a.bytes().and_then(|b| ssz::raw_leaf(&b));
    leaves.extend(raw_addr(&shared.fee_recipient_address));
    leaves.extend(raw_addr(&shared.withdrawal_address));
    leaves.push(text("dkg_algorithm", &def.dkg_algorithm, 32)?);
    leaves.extend(ssz::raw_leaf(&def.fork_version));
    let mut ops = Vec::new();
    for (i, op) in def.operators().iter().enumerate() {
        let mut ol: Vec<Root> = raw_addr(&op.address).into_iter().collect();
        if kind == Kind::Definition {
            ol.push(text(&format!("operators[{i}].enr"), &op.enr, 1024)?);
            ol.extend(ssz::raw_leaf(&op.config_signature));
            ol.extend(ssz::raw_leaf(&op.enr_signature));
        }
        ops.push(raw_container(&ol));
    }
    leaves.push(at("operators", ssz::list_of_roots(&ops, MAX_OPERATORS))?);
    if v == Version::V1_4 {
        let mut cl: Vec<Root> = raw_addr(&def.creator.address).into_iter().collect();
        if kind == Kind::Definition {
            cl.extend(ssz::raw_leaf(&def.creator.config_signature));
        }
        leaves.push(raw_container(&cl));
    }
    if kind == Kind::Definition {
        if let Some(h) = def.config_hash {
            leaves.extend(ssz::raw_leaf(&h));
        }
    }
    Ok(ssz::container(&leaves))
}

/// v1.0 – v1.2: everything appended raw, strings as their text (formats.md §10).
fn legacy(def: &Definition, kind: Kind) -> Result<Root, Error> {
    let v = def.version;
    let shared = def.legacy_addresses()?;
    let raw = |s: &str| ssz::raw_leaf(s.as_bytes());
    let mut leaves: Vec<Root> = Vec::new();
    leaves.extend(raw(&def.uuid));
    leaves.extend(raw(&def.name));
    leaves.extend(raw(v.as_str()));
    leaves.push(ssz::uint64(def.num_validators));
    leaves.push(ssz::uint64(def.threshold));
    leaves.extend(raw(shared.fee_recipient_address.as_str()));
    leaves.extend(raw(shared.withdrawal_address.as_str()));
    leaves.extend(raw(&def.dkg_algorithm));
    leaves.extend(raw(&to_eth_hex(&def.fork_version)));
    let ops = def.operators();
    let mut op_leaves = Vec::new();
    for op in ops {
        match kind {
            Kind::Config => op_leaves.extend(raw(op.address.as_str())),
            Kind::Definition => {
                let mut ol: Vec<Root> = Vec::new();
                ol.extend(raw(op.address.as_str()));
                ol.extend(raw(&op.enr));
                if v <= Version::V1_1 {
                    ol.push(ssz::uint64(op.nonce));
                }
                ol.extend(ssz::raw_leaf(&op.config_signature));
                ol.extend(ssz::raw_leaf(&op.enr_signature));
                op_leaves.push(raw_container(&ol));
            }
        }
    }
    let list = at("operators", ssz::merkleize(&op_leaves, ops.len()))?;
    leaves.push(ssz::mix_in_length(&list, ops.len()));
    let with_timestamp = match kind {
        Kind::Config => true,
        Kind::Definition => v >= Version::V1_1,
    };
    if with_timestamp {
        leaves.extend(raw(&def.timestamp));
    }
    Ok(ssz::container(&leaves))
}

#[cfg(test)]
mod tests {
    use super::super::{Address, Creator, Operator, ValidatorAddresses};
    use super::*;

    fn addr(c: &str) -> Address {
        Address::parse(&format!("0x{}", c.repeat(40))).unwrap()
    }

    /// charon's "baseDef" (vectors.md); its fixed roots are checked in tests/model_vectors.rs.
    fn base_def(version: Version) -> Definition {
        let mut d = Definition::blank(version);
        d.uuid = "f4c00e58-1a54-4e55-8d76-2b2a6d4c3f9a".into();
        d.name = "test-cluster-3of4".into();
        d.timestamp = "2024-06-15T12:00:00Z".into();
        d.num_validators = 2;
        d.threshold = 3;
        d.dkg_algorithm = "default".into();
        d.fork_version = [0x00, 0x00, 0x10, 0x20];
        d.operators = Some(
            [
                ("1", "enr:-Iu4QNHNMf"),
                ("2", "enr:-Iu4QABCDef"),
                ("3", "enr:-Iu4QXYZghi"),
            ]
            .iter()
            .map(|(c, enr)| Operator {
                address: addr(c),
                enr: (*enr).into(),
                ..Operator::default()
            })
            .collect(),
        );
        d.creator = Creator {
            address: addr("1"),
            config_signature: vec![],
        };
        let va = ValidatorAddresses {
            fee_recipient_address: addr("a"),
            withdrawal_address: addr("b"),
        };
        d.validators = Some(vec![va.clone(), va]);
        d
    }

    #[test]
    fn size_limits_name_fields() {
        let mut d = base_def(Version::V1_10);
        d.name = "x".repeat(257);
        let e = root(&d, Kind::Config).unwrap_err();
        assert_eq!(e.field_path(), Some("name"));
        let mut d = base_def(Version::V1_11);
        if let Some(ops) = d.operators.as_mut() {
            ops[1].enr_signature = vec![1; 65 * 33];
        }
        let e = root(&d, Kind::Definition).unwrap_err();
        assert_eq!(e.field_path(), Some("operators[1].enr_signature"));
        let mut d = base_def(Version::V1_5);
        d.operators = Some(vec![Operator::default(); 257]);
        assert_eq!(
            root(&d, Kind::Config).unwrap_err().field_path(),
            Some("operators")
        );
    }
}
