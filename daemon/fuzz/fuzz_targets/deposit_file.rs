//! `deposit-data*.json` bytes → `parse_deposit_file`; every parsed entry is verified (roots,
//! network, BLS signature), and whole-file verification agrees with the per-entry verdicts.

#![no_main]

use dkgd_formats::deposit::{parse_deposit_file, verify_deposit_file};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(entries) = parse_deposit_file(data) else {
        return;
    };
    let mut all_ok = true;
    for (i, e) in entries.iter().enumerate() {
        let _ = e.deposit.root();
        all_ok &= e.verify(i, None).is_ok();
    }
    assert_eq!(verify_deposit_file(data, None).is_ok(), all_ok);
});
