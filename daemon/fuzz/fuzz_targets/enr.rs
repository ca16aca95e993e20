//! libFuzzer entry for `dkgd_fuzzing::enr` (what it checks is documented there).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dkgd_fuzzing::enr(data));
