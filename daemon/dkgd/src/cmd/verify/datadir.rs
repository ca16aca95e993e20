//! Data-dir verification: the lock, the deposit-data files against the lock, the keystores
//! against this node's public shares, and file permissions (formats.md §6, §7.4, §9).

use super::{parse_lock, read_capped};
use crate::exit::Failure;
use dkgd_crypto::keystore;
use dkgd_formats::deposit;
use dkgd_formats::enr::Enr;
use dkgd_formats::lock::Lock;
use dkgd_formats::network;
use dkgd_formats::verify::{self, Report, Status};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const LOCK: &str = "cluster-lock.json";
const KEY: &str = "charon-enr-private-key";

/// Verifies a data dir; a missing or unparsable lock is a usage failure.
pub(super) fn verify(dir: &Path, decrypt: bool) -> Result<Report, Failure> {
    let lock_path = dir.join(LOCK);
    let len = fs::metadata(&lock_path).map(|m| m.len()).map_err(|e| {
        Failure::new(
            crate::exit::Code::Usage,
            anyhow::anyhow!("no readable {LOCK} in {}: {e}", dir.display()),
            "a data dir holds cluster-lock.json, deposit-data*.json and validator_keys/",
        )
    })?;
    let lock = parse_lock(&lock_path, &read_capped(&lock_path, len)?)?;
    let mut r = verify::verify_lock(&lock);
    deposit_files(&mut r, dir, &lock);
    keystores(&mut r, dir, &lock, decrypt);
    permissions(&mut r, dir);
    Ok(r)
}

fn deposit_files(r: &mut Report, dir: &Path, lock: &Lock) {
    let net = network::by_fork_version(&lock.definition.fork_version).ok();
    // amount → the lock's deposits of that amount, keyed by pubkey.
    let mut expected: BTreeMap<u64, BTreeMap<[u8; 48], &deposit::DepositData>> = BTreeMap::new();
    for dv in &lock.validators {
        for dd in &dv.deposit_data {
            expected.entry(dd.amount).or_default().insert(dd.pubkey, dd);
        }
    }
    for (amount, by_key) in &expected {
        let name = deposit::deposit_file_name(*amount);
        let path = dir.join(&name);
        let bytes = match fs::metadata(&path).map(|m| m.len()) {
            Ok(len) if len <= dkgd_formats::error::MAX_INPUT_BYTES as u64 => fs::read(&path),
            Ok(len) => Err(std::io::Error::other(format!("{len} bytes is too large"))),
            Err(e) => Err(e),
        };
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) => {
                r.fail(name, format!("cannot read: {e}"));
                continue;
            }
        };
        let entries = match deposit::verify_deposit_file(&bytes, net) {
            Ok(e) => e,
            Err(e) => {
                r.fail(name, e.to_string());
                continue;
            }
        };
        let mismatch = entries.iter().position(|e| {
            by_key
                .get(&e.deposit.pubkey)
                .is_none_or(|d| **d != e.deposit)
        });
        match mismatch {
            Some(i) => r.fail(
                name,
                format!("entry {i} differs from the lock's deposit data"),
            ),
            None if entries.len() != by_key.len() => r.fail(
                name,
                format!(
                    "{} entries, but the lock has {} deposits of this amount",
                    entries.len(),
                    by_key.len()
                ),
            ),
            None => r.pass(
                name,
                format!("{} deposits verified and equal to the lock", entries.len()),
            ),
        }
    }
}

/// Which operator this data dir belongs to: from the key file's ENR if present, else from
/// where the first keystore's public key sits among the shares.
fn operator_index(dir: &Path, lock: &Lock, first_pubkey: Option<&[u8; 48]>) -> Option<usize> {
    let from_key = fs::read_to_string(dir.join(KEY))
        .ok()
        .and_then(|hex| dkgd_crypto::k1::K1SecretKey::from_hex(hex.trim()).ok())
        .map(|k| k.public_key().to_compressed());
    if let Some(pk) = from_key {
        return lock.operators().iter().position(|op| {
            Enr::parse(&op.enr).is_ok_and(|e| e.public_key().to_compressed() == pk)
        });
    }
    let first = first_pubkey?;
    lock.validators
        .first()?
        .public_shares
        .iter()
        .position(|s| s == first)
}

fn keystores(r: &mut Report, dir: &Path, lock: &Lock, decrypt: bool) {
    let kdir = dir.join("validator_keys");
    let read = |i: usize, ext: &str| fs::read(kdir.join(format!("keystore-{i}.{ext}")));
    let first = read(0, "json")
        .ok()
        .and_then(|j| keystore::read_pubkey(&j).ok());
    let Some(op) = operator_index(dir, lock, first.as_ref()) else {
        r.fail("validator_keys", "cannot tell which operator this data dir belongs to (no matching key file or keystore)");
        return;
    };
    for (i, dv) in lock.validators.iter().enumerate() {
        let name = format!("validator_keys/keystore-{i}.json");
        let (json, password) = match (read(i, "json"), read(i, "txt")) {
            (Ok(j), Ok(p)) => (j, p),
            (Err(e), _) => {
                r.fail(name, format!("cannot read: {e}"));
                continue;
            }
            (_, Err(e)) => {
                r.fail(
                    name,
                    format!("cannot read its password file keystore-{i}.txt: {e}"),
                );
                continue;
            }
        };
        let Some(share) = dv.public_shares.get(op) else {
            r.fail(name, format!("lock has no public share for operator {op}"));
            continue;
        };
        match keystore::read_pubkey(&json) {
            Ok(pk) if pk != *share => {
                r.fail(
                    name,
                    format!("holds a key that is not operator {op}'s share of validator {i}"),
                );
            }
            Ok(_) if decrypt => {
                let pw = String::from_utf8_lossy(&password).into_owned();
                match keystore::decrypt(&json, &pw) {
                    Ok(_) => r.pass(
                        name,
                        format!("decrypts to operator {op}'s share of validator {i}"),
                    ),
                    Err(e) => r.fail(name, format!("does not decrypt with keystore-{i}.txt: {e}")),
                }
            }
            Ok(_) => r.pass(
                name,
                format!("operator {op}'s share of validator {i} (not decrypted; use --decrypt)"),
            ),
            Err(e) => r.fail(name, e.to_string()),
        }
    }
    if let Ok(entries) = fs::read_dir(&kdir) {
        let extra = entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.ends_with(".json"))
            .count()
            .saturating_sub(lock.validators.len());
        if extra > 0 {
            r.fail(
                "validator_keys",
                format!(
                    "{extra} keystore(s) beyond the lock's {} validators",
                    lock.validators.len()
                ),
            );
        }
    }
}

/// Secrets readable only by the owner; nothing writable by group or others.
fn permissions(r: &mut Report, dir: &Path) {
    let mut files = vec![
        dir.to_path_buf(),
        dir.join(LOCK),
        dir.join(KEY),
        dir.join("validator_keys"),
    ];
    for d in [dir.to_path_buf(), dir.join("validator_keys")] {
        if let Ok(rd) = fs::read_dir(&d) {
            let mut names: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
            names.sort();
            files.extend(
                names
                    .into_iter()
                    .filter(|p| p.extension().is_some_and(|e| e == "json" || e == "txt")),
            );
        }
    }
    files.sort();
    files.dedup();
    let mut bad = Vec::new();
    let mut checked = 0;
    for p in &files {
        let Ok(meta) = fs::symlink_metadata(p) else {
            continue;
        };
        checked += 1;
        let mode = meta.permissions().mode() & 0o777;
        let rel = p.strip_prefix(dir).unwrap_or(p).display().to_string();
        let rel = if rel.is_empty() { ".".to_string() } else { rel };
        let secret = p.ends_with(KEY) || p.extension().is_some_and(|e| e == "txt");
        if meta.file_type().is_symlink() {
            bad.push(format!("{rel} is a symlink"));
        } else if mode & 0o022 != 0 {
            bad.push(format!(
                "{rel} is writable by group/others (mode {mode:04o})"
            ));
        } else if secret && mode & 0o044 != 0 {
            bad.push(format!("{rel} holds a secret but is readable by group/others (mode {mode:04o}; fix: chmod 400)"));
        }
    }
    if bad.is_empty() {
        r.pass(
            "permissions",
            format!("{checked} paths: secrets owner-only, nothing group/world-writable"),
        );
    }
    for b in bad {
        r.push("permissions", Status::Fail, b);
    }
}
