//! Checks of a cluster definition (formats.md §2.4, §2.5, §4, §5).

use super::{short_hex, Report, Status};
use crate::definition::{Definition, Version};
use crate::eip712::{self, SigCheck};
use crate::enr::Enr;
use crate::network::{self, Network};
use std::collections::HashMap;

/// Runs every definition check: structure, both hashes, network, ENRs, operator and creator
/// EIP-712 signatures. Also used for the definition inside a lock.
pub fn verify_definition(def: &Definition) -> Report {
    let mut r = Report::default();
    structure(&mut r, "definition", def.validate());
    hashes(&mut r, def);
    let net = match network::by_fork_version(&def.fork_version) {
        Ok(n) => {
            r.pass(
                "network",
                format!("{} (fork version {})", n.name, def.fork_version_hex()),
            );
            Some(n)
        }
        Err(e) => {
            r.fail("network", e.to_string());
            None
        }
    };
    enrs(&mut r, def);
    signatures(&mut r, def, net);
    r
}

/// One line for a clean structure, or one failure per finding.
pub(super) fn structure(r: &mut Report, what: &str, findings: Vec<crate::definition::Finding>) {
    if findings.is_empty() {
        r.pass(
            format!("{what} structure"),
            "fields, counts and sizes consistent",
        );
    }
    for f in findings {
        r.fail(format!("{what} structure"), f.to_string());
    }
}

fn hashes(r: &mut Report, def: &Definition) {
    match def.check_hashes() {
        Ok(h) => {
            for (name, c) in [
                ("config_hash", h.config_hash),
                ("definition_hash", h.definition_hash),
            ] {
                match c.stored {
                    Some(s) if c.matches() => r.pass(name, short_hex(&s)),
                    Some(s) => r.fail(
                        name,
                        format!(
                            "stored {} but content hashes to {}",
                            short_hex(&s),
                            short_hex(&c.computed)
                        ),
                    ),
                    None => r.fail(
                        name,
                        format!("missing; content hashes to {}", short_hex(&c.computed)),
                    ),
                }
            }
        }
        Err(e) => r.fail("config_hash", format!("cannot hash: {e}")),
    }
}

fn enrs(r: &mut Report, def: &Definition) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, op) in def.operators().iter().enumerate() {
        let name = format!("operators[{i}].enr");
        if op.enr.is_empty() {
            r.fail(name, "no ENR yet: the operator has not joined (accepted the invite) so no DKG is possible");
            continue;
        }
        match Enr::parse(&op.enr) {
            Ok(enr) => {
                let id = enr.peer_id().to_string();
                if let Some(first) = seen.insert(id.clone(), i) {
                    r.fail(
                        name,
                        format!("same identity key as operators[{first}] (peer {id})"),
                    );
                } else {
                    r.pass(name, format!("peer {id}"));
                }
            }
            Err(e) => r.fail(name, e.to_string()),
        }
    }
}

fn signatures(r: &mut Report, def: &Definition, net: Option<&Network>) {
    if def.version < Version::V1_3 {
        r.skip(
            "operator signatures",
            format!("{} definitions carry no signatures", def.version.as_str()),
        );
        return;
    }
    let Some(config_hash) = def.config_hash else {
        r.fail(
            "operator signatures",
            "no config_hash to verify signatures against",
        );
        return;
    };
    let chain_id = net.map(|n| n.chain_id);
    let ops = def.operators();
    if ops.iter().all(|o| o.is_unsigned()) {
        r.skip(
            "operator signatures",
            "operators are unsigned (solo or create-cluster flow)",
        );
    } else {
        for (i, op) in ops.iter().enumerate() {
            let Some(addr) = op.address.bytes() else {
                r.fail(
                    format!("operators[{i}].address"),
                    "signed operator without an address",
                );
                continue;
            };
            let digests = chain_id.map(|c| {
                (
                    eip712::operator_config_hash_digest(def.version.as_str(), c, &config_hash),
                    eip712::enr_digest(c, &op.enr),
                )
            });
            let cfg = digests.map(|d| d.0);
            let enr = digests.map(|d| d.1);
            sig(
                r,
                format!("operators[{i}].config_signature"),
                def,
                cfg,
                &addr,
                &op.config_signature,
            );
            sig(
                r,
                format!("operators[{i}].enr_signature"),
                def,
                enr,
                &addr,
                &op.enr_signature,
            );
        }
    }
    if def.version < Version::V1_4 {
        return;
    }
    let creator = &def.creator;
    match creator.address.bytes() {
        None if creator.config_signature.is_empty() => {
            r.skip("creator.config_signature", "no creator");
        }
        None => r.fail(
            "creator.config_signature",
            "signature without a creator address",
        ),
        Some(addr) => {
            let d = chain_id.map(|c| eip712::creator_config_hash_digest(c, &config_hash));
            sig(
                r,
                "creator.config_signature".into(),
                def,
                d,
                &addr,
                &creator.config_signature,
            );
        }
    }
}

fn sig(
    r: &mut Report,
    name: String,
    def: &Definition,
    digest: Option<[u8; 32]>,
    addr: &[u8; 20],
    sig: &[u8],
) {
    let Some(digest) = digest else {
        r.fail(
            name,
            "unknown network: EIP-712 chain id cannot be derived from fork_version",
        );
        return;
    };
    if sig.is_empty() {
        r.fail(
            name,
            "missing (every signed definition needs all signatures)",
        );
        return;
    }
    if sig.len() != 65 && def.version < Version::V1_11 {
        r.fail(
            name,
            format!(
                "{} bytes; before v1.11 a signature is exactly 65 bytes",
                sig.len()
            ),
        );
        return;
    }
    match eip712::check_signature(&digest, addr, sig) {
        SigCheck::Valid => r.pass(name, format!("EIP-712 by {}", eip712::Address(*addr))),
        SigCheck::Invalid(e) => r.fail(name, e.to_string()),
        SigCheck::NotVerifiableOffline(e) => r.push(name, Status::Unverifiable, e.to_string()),
    }
}
