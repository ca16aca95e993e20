//! Reading a lock from a JSON value, per version (formats.md §3.1, §10).

use super::{BuilderRegistration, DepositData, DistValidator, Lock, RegistrationMessage};
use crate::definition::read::{decimal, decode, fixed, number, sized, Enc, Obj};
use crate::definition::{Definition, Version};
use crate::error::{Error, FieldProblem};
use serde_json::Value;

impl Lock {
    /// Reads a lock from a parsed JSON value.
    pub(crate) fn from_value(value: &Value) -> Result<Lock, Error> {
        let o = Obj::new(value, String::new())?;
        let def_value = o
            .get("cluster_definition")
            .ok_or_else(|| Error::field("cluster_definition", FieldProblem::Missing))?;
        let definition =
            Definition::from_value(def_value).map_err(|e| e.within("cluster_definition"))?;
        let version = definition.version;
        let enc = if version.uses_base64() {
            Enc::Base64
        } else {
            Enc::Hex
        };
        let validators = match o.array("distributed_validators")? {
            None => Vec::new(),
            Some(list) => list
                .iter()
                .enumerate()
                .map(|(i, v)| validator(v, format!("distributed_validators[{i}]"), version, enc))
                .collect::<Result<Vec<_>, _>>()?,
        };
        let node_signatures = if version >= Version::V1_7 {
            match o.array("node_signatures")? {
                None => Vec::new(),
                Some(list) => list
                    .iter()
                    .enumerate()
                    .map(|(i, v)| decode(v, &format!("node_signatures[{i}]"), Enc::Hex))
                    .collect::<Result<Vec<_>, _>>()?,
            }
        } else {
            Vec::new()
        };
        Ok(Lock {
            definition,
            validators,
            signature_aggregate: o.bytes("signature_aggregate", enc)?,
            lock_hash: o.opt_fixed::<32>("lock_hash", enc)?,
            node_signatures,
        })
    }
}

fn validator(v: &Value, path: String, version: Version, enc: Enc) -> Result<DistValidator, Error> {
    let o = Obj::new(v, path)?;
    let public_key = if version <= Version::V1_2 {
        // Hashed as its text in v1.0–v1.2.
        o.canonical_hex::<48>("distributed_public_key")?
    } else {
        o.fixed::<48>("distributed_public_key", Enc::Hex)?
    };
    let public_shares = match o.array("public_shares")? {
        None => Vec::new(),
        Some(list) => list
            .iter()
            .enumerate()
            .map(|(i, s)| fixed::<48>(s, &o.path_of(&format!("public_shares[{i}]")), enc))
            .collect::<Result<Vec<_>, _>>()?,
    };
    let deposit_data = match version {
        Version::V1_6 | Version::V1_7 => match o.object("deposit_data")? {
            None => Vec::new(),
            Some(d) => deposit(&d, true)?.into_iter().collect(),
        },
        v if v >= Version::V1_8 => match o.array("partial_deposit_data")? {
            None => Vec::new(),
            Some(list) => list
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    let d = Obj::new(d, o.path_of(&format!("partial_deposit_data[{i}]")))?;
                    deposit(&d, false)?
                        .ok_or_else(|| Error::field(d.path_of("pubkey"), FieldProblem::Missing))
                })
                .collect::<Result<Vec<_>, _>>()?,
        },
        _ => Vec::new(),
    };
    let builder_registration = if version >= Version::V1_7 {
        match o.object("builder_registration")? {
            None => None,
            Some(r) => registration(&r)?,
        }
    } else {
        None
    };
    Ok(DistValidator {
        public_key,
        public_shares,
        deposit_data,
        builder_registration,
    })
}

/// Reads deposit data; the all-empty object (`amount` "0") is `None` when `allow_empty`.
fn deposit(o: &Obj<'_>, allow_empty: bool) -> Result<Option<DepositData>, Error> {
    let pubkey = o.bytes("pubkey", Enc::Hex)?;
    let withdrawal_credentials = o.bytes("withdrawal_credentials", Enc::Hex)?;
    let amount = match o.get("amount") {
        None => 0,
        Some(v) => decimal(v, &o.path_of("amount"))?,
    };
    let signature = o.bytes("signature", Enc::Hex)?;
    let all_empty = pubkey.is_empty()
        && withdrawal_credentials.is_empty()
        && amount == 0
        && signature.is_empty();
    if all_empty && allow_empty {
        return Ok(None);
    }
    Ok(Some(DepositData {
        pubkey: sized(pubkey, &o.path_of("pubkey"))?,
        withdrawal_credentials: sized(
            withdrawal_credentials,
            &o.path_of("withdrawal_credentials"),
        )?,
        amount,
        signature: sized(signature, &o.path_of("signature"))?,
    }))
}

/// Reads a builder registration; the all-empty object is `None`.
fn registration(o: &Obj<'_>) -> Result<Option<BuilderRegistration>, Error> {
    let signature = o.bytes("signature", Enc::Hex)?;
    let message = o.object("message")?;
    let (fee, gas_limit, timestamp, pubkey) = match &message {
        None => (Vec::new(), 0, 0, Vec::new()),
        Some(m) => (
            m.bytes("fee_recipient", Enc::Hex)?,
            match m.get("gas_limit") {
                None => 0,
                Some(v) => number(v, &m.path_of("gas_limit"))?,
            },
            m.u64("timestamp")?,
            m.bytes("pubkey", Enc::Hex)?,
        ),
    };
    if signature.is_empty()
        && fee.is_empty()
        && gas_limit == 0
        && timestamp == 0
        && pubkey.is_empty()
    {
        return Ok(None);
    }
    let mpath = |k: &str| match &message {
        Some(m) => m.path_of(k),
        None => o.path_of(&format!("message.{k}")),
    };
    Ok(Some(BuilderRegistration {
        message: RegistrationMessage {
            fee_recipient: sized(fee, &mpath("fee_recipient"))?,
            gas_limit,
            timestamp,
            pubkey: sized(pubkey, &mpath("pubkey"))?,
        },
        signature: sized(signature, &o.path_of("signature"))?,
    }))
}
