//! Smoke fuzzing of what the Obol API sends (issue 12 §7): random bytes and byte edits of a
//! real signed definition go through the untrusted-definition checks. Nothing may panic, and
//! whatever passes still has the pairing code's config hash and names this box.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use dkgd_ceremony::definition::{definition_for_local_cluster, LocalClusterConfig};
use dkgd_crypto::k1::K1SecretKey;
use dkgd_formats::definition::Version;
use dkgd_formats::enr::Enr;
use dkgd_formats::network::HOODI;
use dkgd_formats::pairing::PairingCode;
use dkgd_invite::check_definition;
use proptest::prelude::*;
use proptest::sample::Index;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::sync::OnceLock;

struct Seed {
    json: Vec<u8>,
    code: PairingCode,
    enr: Enr,
}

fn seed() -> &'static Seed {
    static SEED: OnceLock<Seed> = OnceLock::new();
    SEED.get_or_init(|| {
        let ops: Vec<K1SecretKey> = (1..=4u8)
            .map(|i| K1SecretKey::from_bytes(&[i; 32]).unwrap())
            .collect();
        let creator = K1SecretKey::from_bytes(&[9; 32]).unwrap();
        let mut config = LocalClusterConfig::new(Version::V1_10, &HOODI, 2);
        config.timestamp = "2026-12-04T00:00:00Z".to_owned();
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let def = definition_for_local_cluster(&config, &ops, &creator, &mut rng).unwrap();
        Seed {
            json: def.to_json().unwrap(),
            code: PairingCode::new(&HOODI, def.config_hash.unwrap()),
            enr: Enr::create(&ops[1]),
        }
    })
}

#[test]
fn the_seed_passes() {
    let s = seed();
    let checked = check_definition(&s.json, &s.code, &s.enr).unwrap();
    assert_eq!(checked.our_index, Some(1));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let s = seed();
        prop_assert!(check_definition(&bytes, &s.code, &s.enr).is_err());
    }

    #[test]
    fn edited_definitions_never_panic_and_never_pass_as_another(
        edits in proptest::collection::vec((any::<Index>(), any::<u8>()), 1..4),
        cut in any::<Index>(),
    ) {
        let s = seed();
        let mut bytes = s.json.clone();
        for (at, b) in &edits {
            let i = at.index(bytes.len());
            bytes[i] = *b;
        }
        for candidate in [&bytes[..], &bytes[..cut.index(bytes.len() + 1)]] {
            if let Ok(c) = check_definition(candidate, &s.code, &s.enr) {
                // An edit the hash does not cover (white space, key order) may pass; then it
                // is still this invite and this box.
                prop_assert_eq!(c.definition.config_hash, Some(s.code.config_hash));
                prop_assert_eq!(c.our_index, Some(1));
            }
        }
    }
}
