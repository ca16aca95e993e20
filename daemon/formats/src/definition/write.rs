//! Writing a definition as charon does, per version (formats.md §1.3, §2.2, §10): key order,
//! `null` vs `[]`, omitted-when-empty `name`/`timestamp`, base64 in v1.0/v1.1.

use super::read::{encode, Enc};
use super::{Address, Definition, ValidatorAddresses, Version};
use crate::error::{Error, FieldProblem};
use crate::json::to_eth_hex;
use serde_json::{Map, Value};

impl Definition {
    /// The JSON value charon would write for this definition (object keys in charon's order).
    pub(crate) fn to_value(&self) -> Result<Value, Error> {
        let v = self.version;
        let enc = if v.uses_base64() {
            Enc::Base64
        } else {
            Enc::Hex
        };
        let mut m = Map::new();
        if !self.name.is_empty() {
            m.insert("name".into(), self.name.clone().into());
        }
        if v >= Version::V1_4 {
            let mut c = Map::new();
            c.insert("address".into(), address(&self.creator.address));
            c.insert(
                "config_signature".into(),
                encode(&self.creator.config_signature, enc).into(),
            );
            m.insert("creator".into(), Value::Object(c));
        }
        let operators = match &self.operators {
            None => Value::Null,
            Some(ops) => Value::Array(
                ops.iter()
                    .map(|op| {
                        let mut o = Map::new();
                        o.insert("address".into(), address(&op.address));
                        o.insert("enr".into(), op.enr.clone().into());
                        if v <= Version::V1_1 {
                            o.insert("nonce".into(), op.nonce.into());
                        }
                        o.insert(
                            "config_signature".into(),
                            encode(&op.config_signature, enc).into(),
                        );
                        o.insert(
                            "enr_signature".into(),
                            encode(&op.enr_signature, enc).into(),
                        );
                        Value::Object(o)
                    })
                    .collect(),
            ),
        };
        m.insert("operators".into(), operators);
        m.insert("uuid".into(), self.uuid.clone().into());
        m.insert("version".into(), v.as_str().into());
        if !self.timestamp.is_empty() {
            m.insert("timestamp".into(), self.timestamp.clone().into());
        }
        m.insert("num_validators".into(), self.num_validators.into());
        m.insert("threshold".into(), self.threshold.into());
        if v >= Version::V1_5 {
            let validators = match &self.validators {
                None => Value::Null,
                Some(list) => Value::Array(
                    list.iter()
                        .map(|va| {
                            let mut o = Map::new();
                            o.insert(
                                "fee_recipient_address".into(),
                                address(&va.fee_recipient_address),
                            );
                            o.insert("withdrawal_address".into(), address(&va.withdrawal_address));
                            Value::Object(o)
                        })
                        .collect(),
                ),
            };
            m.insert("validators".into(), validators);
        } else {
            let shared = self.legacy_addresses()?;
            if !shared.fee_recipient_address.is_empty() {
                m.insert(
                    "fee_recipient_address".into(),
                    address(&shared.fee_recipient_address),
                );
            }
            if !shared.withdrawal_address.is_empty() {
                m.insert(
                    "withdrawal_address".into(),
                    address(&shared.withdrawal_address),
                );
            }
        }
        m.insert("dkg_algorithm".into(), self.dkg_algorithm.clone().into());
        m.insert("fork_version".into(), to_eth_hex(&self.fork_version).into());
        if v >= Version::V1_8 {
            let amounts = match &self.deposit_amounts {
                None => Value::Null,
                Some(list) => Value::Array(list.iter().map(|a| a.to_string().into()).collect()),
            };
            m.insert("deposit_amounts".into(), amounts);
        }
        if v >= Version::V1_9 {
            m.insert(
                "consensus_protocol".into(),
                self.consensus_protocol.clone().into(),
            );
        }
        if v >= Version::V1_10 {
            m.insert("target_gas_limit".into(), self.target_gas_limit.into());
            m.insert("compounding".into(), self.compounding.into());
        }
        let hash = |h: &Option<[u8; 32]>| encode(h.as_ref().map_or(&[][..], |h| &h[..]), enc);
        m.insert("config_hash".into(), hash(&self.config_hash).into());
        m.insert("definition_hash".into(), hash(&self.definition_hash).into());
        Ok(Value::Object(m))
    }

    /// The single address pair of a v1.0–v1.4 definition: all entries of `validators` must be
    /// equal (formats.md §10); none → empty addresses.
    pub(crate) fn legacy_addresses(&self) -> Result<ValidatorAddresses, Error> {
        let list = self.validators.as_deref().unwrap_or(&[]);
        match list.split_first() {
            None => Ok(ValidatorAddresses::default()),
            Some((first, rest)) => {
                if rest.iter().any(|x| x != first) {
                    return Err(Error::field(
                        "validators",
                        FieldProblem::DifferingLegacyAddresses,
                    ));
                }
                Ok(first.clone())
            }
        }
    }
}

fn address(a: &Address) -> Value {
    Value::String(a.as_str().to_string())
}
