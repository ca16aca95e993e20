//! `cluster-definition.json` bytes → `Definition::from_json`; whatever parses is hashed,
//! validated, verified and written, and the written bytes must read back to the same value.

#![no_main]

use dkgd_formats::definition::Definition;
use dkgd_formats::verify::verify_definition;
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
    if hashes.all_match() {
        assert!(report.status_of("config_hash").is_some());
    }
    let json = def.to_json().expect("a parsed definition can be written");
    let again = Definition::from_json(&json).expect("a written definition re-reads");
    assert_eq!(again, def);
});
