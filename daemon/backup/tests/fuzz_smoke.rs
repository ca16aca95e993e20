//! Smoke fuzzing of the bundle parser that CI runs in a second or two (style §3.14; the
//! long-running libFuzzer target is `daemon/fuzz/fuzz_targets/backup_bundle.rs`).
//!
//! Byte flips, truncations, insertions and random bytes applied to a real archive (a data dir
//! written by an in-process ceremony) go through `Bundle::from_tar`: nothing may panic, and
//! whatever is accepted must still be a bundle whose every file matches its manifest.

#![allow(clippy::unwrap_used)]

mod support;

use dkgd_backup::{collect, Bundle, Meta};
use proptest::prelude::*;
use proptest::sample::Index;
use std::path::Path;
use std::sync::OnceLock;

/// The archive of operator 0's full data dir.
fn archive() -> &'static [u8] {
    static A: OnceLock<(tempfile::TempDir, Vec<u8>)> = OnceLock::new();
    &A.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let dir = support::full_dir(tmp.path());
        let meta = Meta {
            dkgd_version: "fuzz".into(),
            created_unix_secs: 0,
        };
        let tar = collect(&dir, &meta).unwrap().bundle.to_tar().unwrap();
        (tmp, tar.expose_secret().to_vec())
    })
    .1
}

/// Parses and, on success, checks the bundle is self-consistent.
fn check(bytes: &[u8]) {
    if let Ok(b) = Bundle::from_tar(bytes, Path::new("fuzz.age")) {
        let m = b.manifest();
        assert_eq!(m.files.len(), b.entries().len());
        for (rec, e) in m.files.iter().zip(b.entries()) {
            assert_eq!(rec.path, e.path());
            assert_eq!(
                rec.sha256,
                dkgd_backup::manifest::sha256_hex(e.expose_secret())
            );
        }
    }
}

#[test]
fn the_real_archive_parses() {
    Bundle::from_tar(archive(), Path::new("fuzz.age")).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn flipped_bytes_never_panic(at in any::<Index>(), bit in 0u8..8) {
        let mut b = archive().to_vec();
        let i = at.index(b.len());
        b[i] ^= 1 << bit;
        check(&b);
    }

    #[test]
    fn truncations_never_panic(at in any::<Index>()) {
        let b = archive();
        check(&b[..at.index(b.len())]);
    }

    #[test]
    fn insertions_never_panic(at in any::<Index>(), junk in prop::collection::vec(any::<u8>(), 1..600)) {
        let mut b = archive().to_vec();
        let i = at.index(b.len());
        b.splice(i..i, junk);
        check(&b);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        check(&bytes);
    }
}
