//! Unit-test harness: plans for small signed local clusters.

mod exchange;

use dkgd_crypto::k1::K1SecretKey;
use dkgd_formats::definition::Version;
use dkgd_formats::network::HOODI;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::definition::{definition_for_local_cluster, LocalClusterConfig};
use crate::plan::Plan;

/// `n` operator keys and the plan of operator `me` for a v1.10 hoodi cluster of `v` validators.
pub(crate) fn cluster(n: usize, v: u64, me: usize) -> (Vec<K1SecretKey>, Plan) {
    let mut rng = ChaCha20Rng::seed_from_u64(42);
    let keys: Vec<K1SecretKey> = (0..n).map(|_| K1SecretKey::generate(&mut rng)).collect();
    let creator = K1SecretKey::generate(&mut rng);
    let config = LocalClusterConfig::new(Version::V1_10, &HOODI, v);
    let def = definition_for_local_cluster(&config, &keys, &creator, &mut rng).unwrap();
    let plan = Plan::new(def, &keys[me].public_key()).unwrap();
    (keys, plan)
}
