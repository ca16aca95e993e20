//! `cluster-lock.json` bytes → `Lock::from_json`; whatever parses is hashed, validated, verified
//! (BLS, secp256k1, EIP-712, deposits, registrations) and written, and the written bytes must
//! read back to the same value.

#![no_main]

use dkgd_formats::lock::Lock;
use dkgd_formats::verify::{verify_lock, Status};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(lock) = Lock::from_json(data) else {
        return;
    };
    let hashes = lock.check_hashes().expect("a parsed lock hashes");
    let _ = lock.validate();
    let report = verify_lock(&lock);
    let s = report.summary();
    assert_eq!(
        s.passed + s.failed + s.unverifiable + s.skipped,
        report.checks.len()
    );
    // A hash line passes exactly when the stored hash matches the content.
    let passes = |name: &str| report.status_of(name) == Some(Status::Pass);
    assert_eq!(
        passes("config_hash"),
        hashes.definition.config_hash.matches()
    );
    assert_eq!(passes("lock_hash"), hashes.lock_hash.matches());
    let json = lock.to_json().expect("a parsed lock can be written");
    let again = Lock::from_json(&json).expect("a written lock re-reads");
    assert_eq!(again, lock);
});
