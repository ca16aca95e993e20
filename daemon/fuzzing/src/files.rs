//! The file parsers: whatever parses must verify without panicking and write back to bytes
//! that read as the same value.

use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use dkgd_backup::Bundle;
use dkgd_formats::definition::Definition;
use dkgd_formats::deposit::{parse_deposit_file, verify_deposit_file};
use dkgd_formats::enr::Enr;
use dkgd_formats::lock::Lock;
use dkgd_formats::verify::{verify_definition, verify_lock, Report, Status};

fn counts_add_up(report: &Report) {
    let s = report.summary();
    assert_eq!(
        s.passed + s.failed + s.unverifiable + s.skipped,
        report.checks.len()
    );
}

/// `cluster-definition.json` bytes: hashed, validated, verified, written and re-read equal; a
/// hash line passes exactly when the stored hash matches the content.
pub fn definition(data: &[u8]) {
    let Ok(def) = Definition::from_json(data) else {
        return;
    };
    // `from_json` already hashed the content, so hashing cannot fail now.
    let hashes = def.check_hashes().expect("a parsed definition hashes");
    let _ = def.validate();
    let report = verify_definition(&def);
    counts_add_up(&report);
    let passes = |name: &str| report.status_of(name) == Some(Status::Pass);
    assert_eq!(passes("config_hash"), hashes.config_hash.matches());
    assert_eq!(passes("definition_hash"), hashes.definition_hash.matches());
    let json = def.to_json().expect("a parsed definition can be written");
    let again = Definition::from_json(&json).expect("a written definition re-reads");
    assert_eq!(again, def);
}

/// `cluster-lock.json` bytes: as [`definition`], with every lock check (BLS, secp256k1,
/// EIP-712, deposits, registrations).
pub fn lock(data: &[u8]) {
    let Ok(lock) = Lock::from_json(data) else {
        return;
    };
    let hashes = lock.check_hashes().expect("a parsed lock hashes");
    let _ = lock.validate();
    let report = verify_lock(&lock);
    counts_add_up(&report);
    let passes = |name: &str| report.status_of(name) == Some(Status::Pass);
    assert_eq!(
        passes("config_hash"),
        hashes.definition.config_hash.matches()
    );
    assert_eq!(passes("lock_hash"), hashes.lock_hash.matches());
    let json = lock.to_json().expect("a parsed lock can be written");
    let again = Lock::from_json(&json).expect("a written lock re-reads");
    assert_eq!(again, lock);
}

/// ENR text (input starting `enr:`), or a raw RLP record, base64-encoded first so that
/// mutations reach the RLP decoder. A parsed record prints as its text and re-parses equal.
pub fn enr(data: &[u8]) {
    let text = match data.strip_prefix(b"enr:") {
        Some(_) => match std::str::from_utf8(data) {
            Ok(t) => t.to_string(),
            Err(_) => return,
        },
        None => format!("enr:{}", URL_SAFE_NO_PAD.encode(data)),
    };
    let Ok(enr) = Enr::parse(&text) else {
        return;
    };
    assert_eq!(enr.to_text(), text);
    let _ = (enr.seq(), enr.ip(), enr.tcp(), enr.udp());
    let _ = enr.peer_id().to_string();
    assert_eq!(Enr::parse(enr.to_text()).expect("re-parses"), enr);
}

/// `deposit-data*.json` bytes: the file's verdict agrees with its entries'.
pub fn deposit_file(data: &[u8]) {
    let Ok(entries) = parse_deposit_file(data) else {
        return;
    };
    let mut all_ok = true;
    for (i, e) in entries.iter().enumerate() {
        let _ = e.deposit.root();
        all_ok &= e.verify(i, None).is_ok();
    }
    assert_eq!(verify_deposit_file(data, None).is_ok(), all_ok);
}

/// A backup's plaintext (tar): every accepted file matches its manifest entry.
pub fn backup_bundle(data: &[u8]) {
    let Ok(b) = Bundle::from_tar(data, Path::new("fuzz.age")) else {
        return;
    };
    let m = b.manifest();
    assert_eq!(m.files.len(), b.entries().len());
    for (rec, e) in m.files.iter().zip(b.entries()) {
        assert_eq!(rec.path, e.path());
        assert_eq!(
            rec.sha256,
            dkgd_backup::manifest::sha256_hex(e.expose_secret())
        );
    }
}
