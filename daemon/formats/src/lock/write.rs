//! Writing a lock as charon does, per version (formats.md §1.3, §3.1, §10).

use super::{BuilderRegistration, DepositData, DistValidator, Lock};
use crate::definition::read::{encode, Enc};
use crate::definition::Version;
use crate::error::{Error, FieldProblem};
use crate::json::to_eth_hex;
use serde_json::{Map, Value};

impl Lock {
    /// The JSON value charon would write for this lock.
    pub(crate) fn to_value(&self) -> Result<Value, Error> {
        let v = self.version();
        let enc = if v.uses_base64() {
            Enc::Base64
        } else {
            Enc::Hex
        };
        let mut m = Map::new();
        m.insert(
            "cluster_definition".into(),
            self.definition
                .to_value()
                .map_err(|e| e.within("cluster_definition"))?,
        );
        let validators = self
            .validators
            .iter()
            .enumerate()
            .map(|(i, dv)| validator(dv, v, enc, i))
            .collect::<Result<Vec<_>, _>>()?;
        m.insert("distributed_validators".into(), Value::Array(validators));
        m.insert(
            "signature_aggregate".into(),
            encode(&self.signature_aggregate, enc).into(),
        );
        let hash = self.lock_hash.as_ref().map_or(&[][..], |h| &h[..]);
        m.insert("lock_hash".into(), encode(hash, enc).into());
        if v >= Version::V1_7 {
            let sigs = self
                .node_signatures
                .iter()
                .map(|s| Value::String(to_eth_hex(s)))
                .collect();
            m.insert("node_signatures".into(), Value::Array(sigs));
        }
        Ok(Value::Object(m))
    }
}

fn validator(dv: &DistValidator, v: Version, enc: Enc, index: usize) -> Result<Value, Error> {
    let mut m = Map::new();
    m.insert(
        "distributed_public_key".into(),
        to_eth_hex(&dv.public_key).into(),
    );
    if !dv.public_shares.is_empty() {
        let shares = dv
            .public_shares
            .iter()
            .map(|s| Value::String(encode(s, enc)))
            .collect();
        m.insert("public_shares".into(), Value::Array(shares));
    }
    if v == Version::V1_6 || v == Version::V1_7 {
        let single = single_deposit(dv, index)?;
        m.insert("deposit_data".into(), deposit(single));
    }
    if v >= Version::V1_7 {
        m.insert(
            "builder_registration".into(),
            registration(dv.builder_registration.as_ref()),
        );
    }
    if v >= Version::V1_8 && !dv.deposit_data.is_empty() {
        let list = dv.deposit_data.iter().map(|d| deposit(Some(d))).collect();
        m.insert("partial_deposit_data".into(), Value::Array(list));
    }
    Ok(Value::Object(m))
}

/// The single deposit of a v1.6/v1.7 validator (at most one).
pub(crate) fn single_deposit(
    dv: &DistValidator,
    index: usize,
) -> Result<Option<&DepositData>, Error> {
    match dv.deposit_data.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        many => Err(Error::field(
            format!("distributed_validators[{index}].deposit_data"),
            FieldProblem::TooManyDeposits { found: many.len() },
        )),
    }
}

fn deposit(d: Option<&DepositData>) -> Value {
    let mut m = Map::new();
    let (pk, wc, amount, sig) = match d {
        Some(d) => (
            to_eth_hex(&d.pubkey),
            to_eth_hex(&d.withdrawal_credentials),
            d.amount,
            to_eth_hex(&d.signature),
        ),
        None => (String::new(), String::new(), 0, String::new()),
    };
    m.insert("pubkey".into(), pk.into());
    m.insert("withdrawal_credentials".into(), wc.into());
    m.insert("amount".into(), amount.to_string().into());
    m.insert("signature".into(), sig.into());
    Value::Object(m)
}

fn registration(r: Option<&BuilderRegistration>) -> Value {
    let mut msg = Map::new();
    let (fee, gas, ts, pk, sig) = match r {
        Some(r) => (
            to_eth_hex(&r.message.fee_recipient),
            r.message.gas_limit,
            r.message.timestamp,
            to_eth_hex(&r.message.pubkey),
            to_eth_hex(&r.signature),
        ),
        None => (String::new(), 0, 0, String::new(), String::new()),
    };
    msg.insert("fee_recipient".into(), fee.into());
    msg.insert("gas_limit".into(), gas.into());
    msg.insert("timestamp".into(), ts.into());
    msg.insert("pubkey".into(), pk.into());
    let mut m = Map::new();
    m.insert("message".into(), Value::Object(msg));
    m.insert("signature".into(), sig.into());
    Value::Object(m)
}
