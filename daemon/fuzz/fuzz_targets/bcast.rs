//! libFuzzer entry for `dkgd_fuzzing::bcast` (what it checks is documented there).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dkgd_fuzzing::bcast(data));
