//! Whole ceremonies on `dkgd-sim`'s in-memory network (issue 4/5 acceptance): n ∈ {3, 4, 7, 10, 16}, t = ceil(2n/3),
//! V ∈ {1, 10}, every DKG version v1.6 – v1.11, compounding and custom amounts; each checked
//! with `verify_lock`, keystore decryption and deposit-file verification.

mod support;

use dkgd_ceremony::Error;
use dkgd_crypto::keystore::KdfStrength;
use dkgd_formats::definition::Version;
use dkgd_formats::deposit::GWEI_PER_ETH;
use dkgd_formats::network::{GNOSIS, GOERLI, HOLESKY, HOODI, MAINNET, SEPOLIA};
use dkgd_sim::{run_cluster, ClusterError};
use support::{definition, keys, Case};

#[test]
fn n3_v10_v1_6() {
    Case::new(3, 10, Version::V1_6, &GOERLI).run_and_check();
}

#[test]
fn n4_v1_v1_7() {
    Case::new(4, 1, Version::V1_7, &HOODI).run_and_check();
}

#[test]
fn n4_v10_v1_8_custom_amounts() {
    let mut c = Case::new(4, 10, Version::V1_8, &SEPOLIA);
    // De-duplicated and sorted: [8, 16, 32] ETH.
    c.deposit_amounts = Some([16, 8, 16, 32].map(|e| e * GWEI_PER_ETH).to_vec());
    c.run_and_check();
}

#[test]
fn n7_v1_v1_10_compounding() {
    let mut c = Case::new(7, 1, Version::V1_10, &HOODI);
    c.compounding = true;
    c.run_and_check();
}

#[test]
fn n7_v10_v1_11() {
    Case::new(7, 10, Version::V1_11, &HOODI).run_and_check();
}

#[test]
fn n10_v1_v1_9() {
    Case::new(10, 1, Version::V1_9, &HOLESKY).run_and_check();
}

#[test]
fn n10_v10_v1_10() {
    Case::new(10, 10, Version::V1_10, &HOODI).run_and_check();
}

#[test]
fn n16_v1_v1_11() {
    Case::new(16, 1, Version::V1_11, &SEPOLIA).run_and_check();
}

/// The one test at charon's real keystore cost (PBKDF2 2^18), on mainnet.
#[test]
fn n3_v1_v1_10_mainnet_full_kdf() {
    let mut c = Case::new(3, 1, Version::V1_10, &MAINNET);
    c.kdf = KdfStrength::Standard;
    c.run_and_check();
}

#[test]
fn insecure_kdf_refused_on_production_networks() {
    for net in [&MAINNET, &GNOSIS] {
        let err = Case::new(3, 1, Version::V1_10, net).run().unwrap_err();
        assert!(
            matches!(
                err,
                ClusterError::Setup(Error::InvalidInput {
                    what: "keystore KDF",
                    ..
                })
            ),
            "{err}"
        );
    }
}

#[test]
fn same_seed_same_artifacts() {
    let c = Case::new(3, 2, Version::V1_10, &HOODI);
    let (_, a) = c.run().unwrap();
    let (_, b) = c.run().unwrap();
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.lock_json, y.lock_json);
        assert_eq!(x.keystores[0].json, y.keystores[0].json);
    }
}

#[test]
fn keys_must_cover_every_operator_once() {
    let c = Case::new(3, 1, Version::V1_10, &HOODI);
    let (ops, creator) = keys(3, c.seed);
    let def = definition(&c.config(), &ops, &creator);
    let cfg = dkgd_sim::config();
    let err = run_cluster(&def, &ops[..2], 0, &cfg).unwrap_err();
    assert!(
        matches!(
            err,
            ClusterError::Setup(Error::InvalidInput {
                what: "operator keys",
                ..
            })
        ),
        "{err}"
    );
    let dup = [&ops[0], &ops[0], &ops[1]]
        .map(|k| dkgd_crypto::k1::K1SecretKey::from_bytes(&k.expose_secret()).unwrap());
    let err = run_cluster(&def, &dup, 0, &cfg).unwrap_err();
    assert!(
        matches!(
            err,
            ClusterError::Setup(Error::InvalidInput {
                what: "operator keys",
                ..
            })
        ),
        "{err}"
    );
}
