//! Checks of a cluster lock (formats.md §3.2–§3.6, §7).

use super::definition::structure;
use super::{short_hex, verify_definition, Report};
use crate::definition::Version;
use crate::enr::Enr;
use crate::lock::{DistValidator, Lock};
use crate::network::{self, Network};
use crate::signing;
use dkgd_crypto::bls::{self, BlsPublicKey, BlsSignature};

/// Runs every lock check: the definition's, then lock hash, node signatures, the BLS aggregate,
/// public-share interpolation, builder registrations and the lock's deposit data.
pub fn verify_lock(lock: &Lock) -> Report {
    let mut r = verify_definition(&lock.definition);
    // The definition's own findings were reported above; keep only the lock-level ones.
    let findings = lock
        .validate()
        .into_iter()
        .filter(|f| !f.field.starts_with("cluster_definition"))
        .collect();
    structure(&mut r, "lock", findings);
    let hash = lock_hash(&mut r, lock);
    let net = network::by_fork_version(&lock.definition.fork_version).ok();
    if let Some(hash) = hash {
        node_signatures(&mut r, lock, &hash);
        aggregate(&mut r, lock, &hash);
    }
    for (v, dv) in lock.validators.iter().enumerate() {
        public_shares(&mut r, lock, v, dv);
        match net {
            Some(net) => {
                registration(&mut r, lock, v, dv, net);
                deposits(&mut r, lock, v, dv, net);
            }
            None => unknown_network(&mut r, lock, v, dv),
        }
    }
    r
}

fn lock_hash(r: &mut Report, lock: &Lock) -> Option<[u8; 32]> {
    match lock.compute_lock_hash() {
        Ok(computed) => match lock.lock_hash {
            Some(s) if s == computed => {
                r.pass("lock_hash", short_hex(&s));
                Some(s)
            }
            Some(s) => {
                r.fail(
                    "lock_hash",
                    format!(
                        "stored {} but content hashes to {}",
                        short_hex(&s),
                        short_hex(&computed)
                    ),
                );
                Some(s)
            }
            None => {
                r.fail(
                    "lock_hash",
                    format!("missing; content hashes to {}", short_hex(&computed)),
                );
                None
            }
        },
        Err(e) => {
            r.fail("lock_hash", format!("cannot hash: {e}"));
            lock.lock_hash
        }
    }
}

fn node_signatures(r: &mut Report, lock: &Lock, hash: &[u8; 32]) {
    if lock.version() < Version::V1_7 {
        r.skip(
            "node_signatures",
            format!("not part of {} locks", lock.version().as_str()),
        );
        return;
    }
    let ops = lock.operators();
    if lock.node_signatures.len() != ops.len() {
        r.fail(
            "node_signatures",
            format!(
                "{} signatures for {} operators",
                lock.node_signatures.len(),
                ops.len()
            ),
        );
        return;
    }
    for (i, (sig, op)) in lock.node_signatures.iter().zip(ops).enumerate() {
        let name = format!("node_signatures[{i}]");
        let enr = match Enr::parse(&op.enr) {
            Ok(e) => e,
            Err(e) => {
                r.fail(
                    name,
                    format!("operator {i}'s ENR is invalid ({e}), so its key is unknown"),
                );
                continue;
            }
        };
        // Like charon, only r‖s is checked against the ENR key; v is not trusted.
        if sig.len() != 65 {
            r.fail(
                name,
                format!("{} bytes; a node signature is 65 bytes r‖s‖v", sig.len()),
            );
            continue;
        }
        match enr.public_key().verify_digest(hash, sig) {
            Ok(()) => r.pass(name, format!("secp256k1 by peer {}", enr.peer_id())),
            Err(e) => r.fail(
                name,
                format!(
                    "not a valid signature by operator {i}'s ENR key (peer {}): {e}",
                    enr.peer_id()
                ),
            ),
        }
    }
}

fn aggregate(r: &mut Report, lock: &Lock, hash: &[u8; 32]) {
    const NAME: &str = "signature_aggregate";
    let sig = match BlsSignature::from_bytes(&lock.signature_aggregate) {
        Ok(s) => s,
        Err(e) => return r.fail(NAME, format!("invalid BLS signature: {e}")),
    };
    let mut keys = Vec::new();
    for (v, dv) in lock.validators.iter().enumerate() {
        for (i, share) in dv.public_shares.iter().enumerate() {
            match BlsPublicKey::from_bytes(share) {
                Ok(k) => keys.push(k),
                Err(e) => {
                    return r.fail(
                        NAME,
                        format!("distributed_validators[{v}].public_shares[{i}]: {e}"),
                    );
                }
            }
        }
    }
    match bls::fast_aggregate_verify(&keys, hash, &sig) {
        Ok(()) => r.pass(
            NAME,
            format!("BLS over lock_hash by all {} public shares", keys.len()),
        ),
        Err(e) => r.fail(NAME, format!("does not verify over lock_hash: {e}")),
    }
}

/// charon's share consistency (§3.5): the first `t` shares interpolate to the validator key, and
/// so does each further share substituted for the last of them.
fn public_shares(r: &mut Report, lock: &Lock, v: usize, dv: &DistValidator) {
    let name = format!("distributed_validators[{v}].public_shares");
    let t = usize::try_from(lock.definition.threshold).unwrap_or(usize::MAX);
    if t == 0 || dv.public_shares.len() < t {
        return r.fail(
            name,
            format!(
                "{} shares, fewer than threshold {t}",
                dv.public_shares.len()
            ),
        );
    }
    let mut shares = Vec::with_capacity(dv.public_shares.len());
    for (i, s) in dv.public_shares.iter().enumerate() {
        match BlsPublicKey::from_bytes(s) {
            Ok(k) => shares.push((u32::try_from(i + 1).unwrap_or(u32::MAX), k)),
            Err(e) => return r.fail(name, format!("share {i}: {e}")),
        }
    }
    let group = match BlsPublicKey::from_bytes(&dv.public_key) {
        Ok(k) => k,
        Err(e) => return r.fail(name, format!("distributed_public_key: {e}")),
    };
    let mut subset: Vec<(u32, BlsPublicKey)> = shares[..t].to_vec();
    for extra in std::iter::once(None).chain(shares[t..].iter().map(Some)) {
        if let Some(e) = extra {
            subset[t - 1] = *e;
        }
        let ok = bls::interpolate_public_key(&subset).map(|k| k == group);
        if !matches!(ok, Ok(true)) {
            let which: Vec<u32> = subset.iter().map(|s| s.0).collect();
            return r.fail(
                name,
                format!("shares at x={which:?} do not interpolate to the validator key"),
            );
        }
    }
    r.pass(
        name,
        format!(
            "{} shares consistent with {}",
            shares.len(),
            short_hex(&dv.public_key)
        ),
    );
}

/// Without a known network there is no signing domain: say so for every signed message
/// rather than leaving its line out.
fn unknown_network(r: &mut Report, lock: &Lock, v: usize, dv: &DistValidator) {
    const WHY: &str =
        "cannot verify: fork_version is not a known network, so the signing domain is unknown";
    if lock.version() >= Version::V1_7 && dv.builder_registration.is_some() {
        r.fail(
            format!("distributed_validators[{v}].builder_registration"),
            WHY,
        );
    }
    for k in 0..dv.deposit_data.len() {
        r.fail(
            format!("distributed_validators[{v}].deposit_data[{k}]"),
            WHY,
        );
    }
}

fn registration(r: &mut Report, lock: &Lock, v: usize, dv: &DistValidator, net: &Network) {
    let name = format!("distributed_validators[{v}].builder_registration");
    if lock.version() < Version::V1_7 {
        return;
    }
    let Some(reg) = &dv.builder_registration else {
        return r.fail(name, "missing (mandatory from v1.7)");
    };
    let Some(fee) = lock
        .definition
        .validator_addresses(v)
        .and_then(|a| a.fee_recipient_address.bytes())
    else {
        return r.fail(
            name,
            format!("definition has no fee recipient for validator {v}"),
        );
    };
    // Rebuilt as charon does: pubkey and fee recipient from the definition, not the message.
    let root = signing::registration_signing_root(
        net.genesis_fork_version,
        &fee,
        reg.message.gas_limit,
        reg.message.timestamp,
        &dv.public_key,
    );
    let verdict = BlsPublicKey::from_bytes(&dv.public_key)
        .and_then(|pk| BlsSignature::from_bytes(&reg.signature).map(|s| (pk, s)))
        .and_then(|(pk, s)| pk.verify(&root, &s));
    match verdict {
        Ok(()) => r.pass(
            name,
            format!(
                "gas limit {}, timestamp {}",
                reg.message.gas_limit, reg.message.timestamp
            ),
        ),
        Err(e) => r.fail(
            name,
            format!("signature does not verify for the rebuilt message: {e}"),
        ),
    }
}

fn deposits(r: &mut Report, lock: &Lock, v: usize, dv: &DistValidator, net: &Network) {
    if dv.deposit_data.is_empty() {
        return;
    }
    let def = &lock.definition;
    let Some(addr) = def
        .validator_addresses(v)
        .and_then(|a| a.withdrawal_address.bytes())
    else {
        return r.fail(
            format!("distributed_validators[{v}].deposit_data"),
            "definition has no withdrawal address for this validator",
        );
    };
    let wc = signing::withdrawal_credentials(&addr, def.is_compounding());
    for (k, dd) in dv.deposit_data.iter().enumerate() {
        let name = format!("distributed_validators[{v}].deposit_data[{k}]");
        if dd.pubkey != dv.public_key {
            r.fail(name, "pubkey is not the validator's distributed_public_key");
        } else if dd.withdrawal_credentials != wc {
            r.fail(
                name,
                format!(
                    "withdrawal credentials {} do not match the definition",
                    short_hex(&dd.withdrawal_credentials)
                ),
            );
        } else {
            match dd.verify(net, k) {
                Ok(()) => r.pass(name, format!("{} gwei", dd.amount)),
                Err(e) => r.fail(name, e.to_string()),
            }
        }
    }
}
