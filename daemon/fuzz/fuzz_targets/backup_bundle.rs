//! The plaintext of a backup (a tar archive) → `Bundle::from_tar`. Whatever is accepted must be
//! a bundle whose every file matches its manifest, in order.

#![no_main]

use dkgd_backup::Bundle;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
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
});
