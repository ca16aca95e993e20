//! How the network treats each frame: latency (which reorders frames across links, never on
//! one link), loss (a stream reset or a failed send, as over TCP), duplication (a frame sent
//! twice) and partitions (frames across the cut wait until it heals).

use std::collections::BTreeSet;
use std::time::Duration;

use dkgd_ceremony::wire::Instant;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// What happens to one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// It arrives after this long (and never before an earlier frame on its link).
    Deliver(Duration),
    /// It is lost: its stream resets, or its send fails.
    Lose,
    /// It arrives twice, after this long (a one-way frame or a request sent again).
    Twice(Duration),
}

/// A network model, consulted for every frame (opens and closes only keep their order).
pub trait Links {
    /// What happens to a frame from node `from` to node `to` sent at `now`.
    fn route(&mut self, now: Instant, from: usize, to: usize) -> Route;
}

/// A seeded network: a random latency on every frame up to `max_latency`; on the link
/// `faulty` (from, to) each frame is lost with probability `loss` and sent twice with
/// probability `duplicate`; between `side` and the other nodes frames wait from `cut.0` until
/// `cut.1`.
#[derive(Debug)]
pub struct SeededLinks {
    rng: ChaCha20Rng,
    /// The largest latency of one frame.
    pub max_latency: Duration,
    /// The link whose frames may be lost or duplicated.
    pub faulty: Option<(usize, usize)>,
    /// Chance in a million that a frame on `faulty` is lost.
    pub loss_ppm: u32,
    /// Chance in a million that a frame on `faulty` is sent twice.
    pub duplicate_ppm: u32,
    /// One side of a partition.
    pub side: BTreeSet<usize>,
    /// When the partition starts and heals.
    pub cut: Option<(Instant, Instant)>,
    /// Frames lost so far.
    pub lost: usize,
    /// Frames sent twice so far.
    pub duplicated: usize,
}

impl SeededLinks {
    /// A reliable network with random latency up to `max_latency`, every choice from `seed`.
    pub fn new(seed: u64, max_latency: Duration) -> Self {
        SeededLinks {
            rng: ChaCha20Rng::seed_from_u64(seed),
            max_latency,
            faulty: None,
            loss_ppm: 0,
            duplicate_ppm: 0,
            side: BTreeSet::new(),
            cut: None,
            lost: 0,
            duplicated: 0,
        }
    }

    fn chance(&mut self, ppm: u32) -> bool {
        ppm > 0 && self.rng.next_u32() % 1_000_000 < ppm
    }
}

impl Links for SeededLinks {
    fn route(&mut self, now: Instant, from: usize, to: usize) -> Route {
        let max_us = u64::try_from(self.max_latency.as_micros()).unwrap_or(u64::MAX);
        let mut after = Duration::from_micros(self.rng.next_u64() % max_us.saturating_add(1));
        if let Some((start, heal)) = self.cut {
            let across = self.side.contains(&from) != self.side.contains(&to);
            if across && now >= start && now < heal {
                after += heal.saturating_duration_since(now);
            }
        }
        if self.faulty == Some((from, to)) {
            if self.chance(self.loss_ppm) {
                self.lost += 1;
                return Route::Lose;
            }
            if self.chance(self.duplicate_ppm) {
                self.duplicated += 1;
                return Route::Twice(after);
            }
        }
        Route::Deliver(after)
    }
}
