//! Reading a definition from a JSON value, per version (formats.md §2.2, §2.3, §10).

use super::read::{decimal, Enc, Obj};
use super::{Creator, Definition, Operator, ValidatorAddresses, Version};
use crate::error::{Error, FieldProblem};
use serde_json::Value;

impl Definition {
    /// Reads a definition from a parsed JSON value. Paths in errors are relative to the
    /// definition object (a lock prefixes `cluster_definition`).
    pub(crate) fn from_value(value: &Value) -> Result<Definition, Error> {
        let o = Obj::new(value, String::new())?;
        let version_text = o.string("version")?;
        let version = Version::parse(&version_text).ok_or_else(|| Error::UnsupportedVersion {
            field: "version".to_string(),
            version: version_text,
        })?;
        let enc = if version.uses_base64() {
            Enc::Base64
        } else {
            Enc::Hex
        };

        let fork_version = if version <= Version::V1_2 {
            // Hashed as its text in v1.0–v1.2.
            o.canonical_hex::<4>("fork_version")?
        } else {
            o.fixed::<4>("fork_version", Enc::Hex)?
        };

        let operators = match o.array("operators")? {
            None => None,
            Some(list) => Some(
                list.iter()
                    .enumerate()
                    .map(|(i, v)| operator(v, format!("operators[{i}]"), version, enc))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };

        let creator = if version >= Version::V1_4 {
            match o.object("creator")? {
                None => Creator::default(),
                Some(c) => Creator {
                    address: c.address("address")?,
                    config_signature: signature(&c, "config_signature", version, enc)?,
                },
            }
        } else {
            Creator::default()
        };

        let validators = if version >= Version::V1_5 {
            match o.array("validators")? {
                None => None,
                Some(list) => Some(
                    list.iter()
                        .enumerate()
                        .map(|(i, v)| {
                            let vo = Obj::new(v, format!("validators[{i}]"))?;
                            addresses(&vo)
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                ),
            }
        } else {
            Some(vec![addresses(&o)?])
        };

        let deposit_amounts = if version >= Version::V1_8 {
            match o.array("deposit_amounts")? {
                None => None,
                Some(list) => Some(
                    list.iter()
                        .enumerate()
                        .map(|(i, v)| decimal(v, &format!("deposit_amounts[{i}]")))
                        .collect::<Result<Vec<_>, _>>()?,
                ),
            }
        } else {
            None
        };

        let (consensus_protocol, target_gas_limit, compounding) = (
            if version >= Version::V1_9 {
                o.string("consensus_protocol")?
            } else {
                String::new()
            },
            if version >= Version::V1_10 {
                o.u64("target_gas_limit")?
            } else {
                0
            },
            version >= Version::V1_10 && o.bool("compounding")?,
        );

        Ok(Definition {
            version,
            name: o.string("name")?,
            uuid: o.string("uuid")?,
            timestamp: o.string("timestamp")?,
            num_validators: o.u64("num_validators")?,
            threshold: o.u64("threshold")?,
            dkg_algorithm: o.string("dkg_algorithm")?,
            fork_version,
            operators,
            creator,
            validators,
            deposit_amounts,
            consensus_protocol,
            target_gas_limit,
            compounding,
            config_hash: o.opt_fixed::<32>("config_hash", enc)?,
            definition_hash: o.opt_fixed::<32>("definition_hash", enc)?,
        })
    }
}

fn operator(v: &Value, path: String, version: Version, enc: Enc) -> Result<Operator, Error> {
    let o = Obj::new(v, path)?;
    Ok(Operator {
        address: o.address("address")?,
        enr: o.string("enr")?,
        config_signature: signature(&o, "config_signature", version, enc)?,
        enr_signature: signature(&o, "enr_signature", version, enc)?,
        nonce: if version <= Version::V1_1 {
            o.u64("nonce")?
        } else {
            0
        },
    })
}

fn addresses(o: &Obj<'_>) -> Result<ValidatorAddresses, Error> {
    Ok(ValidatorAddresses {
        fee_recipient_address: o.address("fee_recipient_address")?,
        withdrawal_address: o.address("withdrawal_address")?,
    })
}

/// Largest number of 65-byte signatures in a v1.11 multi-signature (`List[Bytes65, 32]`).
pub(crate) const MAX_MULTI_SIGS: usize = 32;

/// Reads a secp256k1 signature field and checks its size for the version (formats.md §2.3):
/// empty or 65 bytes before v1.11; empty or k × 65 bytes (k ≤ 32) in v1.11.
fn signature(o: &Obj<'_>, key: &str, version: Version, enc: Enc) -> Result<Vec<u8>, Error> {
    let sig = o.bytes(key, enc)?;
    check_signature_len(sig.len(), version).map_err(|p| Error::field(o.path_of(key), p))?;
    Ok(sig)
}

/// The signature-size rule of formats.md §2.3.
pub(crate) fn check_signature_len(len: usize, version: Version) -> Result<(), FieldProblem> {
    let (pieces, rest) = (len / 65, len % 65);
    let ok = if version >= Version::V1_11 {
        rest == 0 && pieces <= MAX_MULTI_SIGS
    } else {
        len == 0 || len == 65
    };
    if ok {
        Ok(())
    } else if version >= Version::V1_11 {
        Err(FieldProblem::BadSignatureLength {
            allowed: "empty or a multiple of 65 bytes (at most 32 signatures)",
            found: len,
        })
    } else {
        Err(FieldProblem::BadSignatureLength {
            allowed: "empty or 65 bytes",
            found: len,
        })
    }
}
