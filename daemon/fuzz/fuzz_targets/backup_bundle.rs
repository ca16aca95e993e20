//! libFuzzer entry for `dkgd_fuzzing::backup_bundle` (what it checks is documented there).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dkgd_fuzzing::backup_bundle(data));
