//! libFuzzer entry for `dkgd_fuzzing::status_request` (what it checks is documented there).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dkgd_fuzzing::status_request(data));
