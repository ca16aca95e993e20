//! `cluster-definition.json` bytes → `Definition::from_json`; whatever parses is hashed,
//! validated, verified and written, and the written bytes must read back to the same value.

#![no_main]

use dkgd_formats::definition::Definition;
use dkgd_formats::verify::{verify_definition, Status};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(def) = Definition::from_json(data) else {
        return;
    };
    // `from_json` already hashed the content, so hashing cannot fail now.
    let hashes = def.check_hashes().expect("a parsed definition hashes");
    let _ = def.validate();
    let report = verify_definition(&def);
    let s = report.summary();
    assert_eq!(
        s.passed + s.failed + s.unverifiable + s.skipped,
        report.checks.len()
    );
    // A hash line passes exactly when the stored hash matches the content.
    let passes = |name: &str| report.status_of(name) == Some(Status::Pass);
    assert_eq!(passes("config_hash"), hashes.config_hash.matches());
    assert_eq!(passes("definition_hash"), hashes.definition_hash.matches());
    let json = def.to_json().expect("a parsed definition can be written");
    let again = Definition::from_json(&json).expect("a written definition re-reads");
    assert_eq!(again, def);
});
