//! `cluster-lock.json` bytes → `Lock::from_json`; whatever parses is hashed, validated, verified
//! (BLS, secp256k1, EIP-712, deposits, registrations) and written, and the written bytes must
//! read back to the same value.

#![no_main]

use dkgd_formats::lock::Lock;
use dkgd_formats::verify::verify_lock;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(lock) = Lock::from_json(data) else {
        return;
    };
    let _ = lock.check_hashes().expect("a parsed lock hashes");
    let _ = lock.validate();
    let report = verify_lock(&lock);
    let s = report.summary();
    assert_eq!(
        s.passed + s.failed + s.unverifiable + s.skipped,
        report.checks.len()
    );
    let json = lock.to_json().expect("a parsed lock can be written");
    let again = Lock::from_json(&json).expect("a written lock re-reads");
    assert_eq!(again, lock);
});
