//! In-memory FROST ceremonies for tests: every participant's messages are delivered to every
//! other participant directly (a perfect broadcast), with optional tampering in flight.

// Index arithmetic on small test sizes (n ≤ 255, V ≤ 10).
#![allow(clippy::cast_possible_truncation)]
#![allow(dead_code, unreachable_pub)]

use dkgd_crypto::frost::{
    round1, AwaitRound1, AwaitRound2, FrostError, FrostParams, Round1Casts, Round1Output,
    Round1P2P, Round2Casts, ShareIdx, ValidatorKeys,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

pub fn idx(i: u32) -> ShareIdx {
    ShareIdx::new(i).expect("nonzero")
}

/// Default charon threshold ceil(2n/3).
pub fn default_threshold(n: u32) -> u32 {
    (2 * n).div_ceil(3)
}

/// A misbehaving participant's edit of one of its outgoing messages.
pub enum Tamper {
    None,
    /// Applied to `from`'s round-1 broadcast as every *other* participant receives it.
    Round1Cast(u32, Box<dyn Fn(&mut Round1Casts)>),
    /// Applied to `from`'s direct message to `to`.
    Round1Direct(u32, u32, Box<dyn Fn(&mut Round1P2P)>),
    /// Applied to `from`'s round-2 broadcast as every other participant receives it.
    Round2Cast(u32, Box<dyn Fn(&mut Round2Casts)>),
}

/// Outcome per participant (index k = share index k + 1).
pub type Outcome = Vec<Result<Vec<ValidatorKeys>, FrostError>>;

fn rng_for(seed: u64, who: u32, step: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed ^ (u64::from(who) << 32) ^ (step << 56))
}

/// A copy of a direct message (tests only: share bytes are duplicated).
pub fn copy_p2p(m: &Round1P2P) -> Round1P2P {
    Round1P2P {
        shares: m
            .shares
            .iter()
            .map(|s| dkgd_crypto::frost::Round1ShamirShare {
                key: s.key,
                id: s.id,
                value: dkgd_crypto::frost::ShareBytes::new(s.value.expose_secret().to_vec()),
            })
            .collect(),
    }
}

/// Runs a whole ceremony and returns each participant's result.
pub fn run(n: u32, t: u32, v: u32, seed: u64, tamper: &Tamper) -> Outcome {
    let params = FrostParams::new(n, t, v).expect("valid params");
    let (states, outs): (Vec<AwaitRound1>, Vec<Round1Output>) = (1..=n)
        .map(|i| round1(params, idx(i), &mut rng_for(seed, i, 1)).expect("round 1"))
        .unzip();

    // Round-1 delivery.
    let mut r2: Vec<Result<(AwaitRound2, Round2Casts), FrostError>> = Vec::new();
    for (k, st) in states.into_iter().enumerate() {
        let me = k as u32 + 1;
        let casts: Vec<(ShareIdx, Round1Casts)> = outs
            .iter()
            .enumerate()
            .map(|(s, o)| {
                let from = s as u32 + 1;
                let mut c = o.cast.clone();
                if let Tamper::Round1Cast(bad, f) = tamper {
                    if *bad == from && from != me {
                        f(&mut c);
                    }
                }
                (idx(from), c)
            })
            .collect();
        let direct: Vec<(ShareIdx, Round1P2P)> = outs
            .iter()
            .enumerate()
            .filter(|(s, _)| *s as u32 + 1 != me)
            .map(|(s, o)| {
                let from = s as u32 + 1;
                let (_, m) = o
                    .direct
                    .iter()
                    .find(|(to, _)| to.get() == me)
                    .expect("a direct message for every peer");
                let mut m = copy_p2p(m);
                if let Tamper::Round1Direct(bad, to, f) = tamper {
                    if *bad == from && *to == me {
                        f(&mut m);
                    }
                }
                (idx(from), m)
            })
            .collect();
        r2.push(st.handle_round1(&casts, &direct, &mut rng_for(seed, me, 2)));
    }

    // Round-2 delivery among those that got this far.
    let casts2: Vec<Option<Round2Casts>> = r2
        .iter()
        .map(|r| r.as_ref().ok().map(|(_, c)| c.clone()))
        .collect();
    r2.into_iter()
        .enumerate()
        .map(|(k, r)| {
            let me = k as u32 + 1;
            let (st, _) = r?;
            let mut all = Vec::new();
            for (s, c) in casts2.iter().enumerate() {
                let from = s as u32 + 1;
                // A participant that aborted sends nothing; the round then reports it missing.
                let Some(c) = c else { continue };
                let mut c = c.clone();
                if let Tamper::Round2Cast(bad, f) = tamper {
                    if *bad == from && from != me {
                        f(&mut c);
                    }
                }
                all.push((idx(from), c));
            }
            st.handle_round2(&all, &mut rng_for(seed, me, 3))
        })
        .collect()
}

/// Runs an honest ceremony and unwraps every result.
pub fn run_honest(n: u32, t: u32, v: u32, seed: u64) -> Vec<Vec<ValidatorKeys>> {
    run(n, t, v, seed, &Tamper::None)
        .into_iter()
        .enumerate()
        .map(|(k, r)| r.unwrap_or_else(|e| panic!("participant {} failed: {e}", k + 1)))
        .collect()
}
