//! Whole ceremonies between in-memory [`dkgd_ceremony::Ceremony`] values: every frame goes
//! through the real framing and protocol routing, time moves only to the next deadline, and
//! a step cap catches livelock. The driver's off-loop work runs inline.
//!
//! ```text
//!   Net ──route (Links: latency, loss, duplicates, partitions)──▶ in flight, per-link order
//!       ──deliver (Mutator)──▶ Ceremony::handle_frame ──poll_transmit──▶ queue ──route …
//!       ──to_commit / to_publish──▶ handle_commit / handle_published   (a `cannot_stage` node fails)
//!       ──nothing due──▶ jump to the next deadline, arrival or crash/restart ──▶ handle_timeout
//! ```
//!
//! The only orchestrator is the real [`dkgd_ceremony::Ceremony`]; this crate only moves its
//! frames. [`run_cluster`] runs an honest ceremony for tests that need real artifacts;
//! [`sweep`] runs seeded faults and checks the cluster-wide invariants; the `cluster` fuzz
//! target (`dkgd-fuzzing`) lets the fuzzer's input decide which frames change and how. This crate does no I/O
//! and reads no clock (style.md §2: `sim` depends on crypto, formats and ceremony only).

mod cluster;
mod deliver;
pub mod links;
mod mutate;
mod net;
pub mod sweep;

pub use cluster::{operator_order, run_cluster, ClusterError};
pub use links::{Links, Route, SeededLinks};
pub use mutate::{BadPartial, Mutator, SeededTamper, TapeMutator};
pub use net::{config, Action, Net, MAX_STEPS};

use dkgd_ceremony::definition::{definition_for_local_cluster, LocalClusterConfig};
use dkgd_ceremony::Error;
use dkgd_crypto::k1::K1SecretKey;
use dkgd_formats::definition::Definition;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// `n` operator keys and a creator key, all derived from `seed`.
pub fn keys(n: usize, seed: u64) -> (Vec<K1SecretKey>, K1SecretKey) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let ops = (0..n).map(|_| K1SecretKey::generate(&mut rng)).collect();
    (ops, K1SecretKey::generate(&mut rng))
}

/// A signed definition of `config` for the operators `ops`, created by `creator`, with
/// randomness (UUID, salts) from a fixed seed so that the same inputs give the same bytes.
pub fn definition(
    config: &LocalClusterConfig,
    ops: &[K1SecretKey],
    creator: &K1SecretKey,
) -> Result<Definition, Error> {
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    definition_for_local_cluster(config, ops, creator, &mut rng)
}
