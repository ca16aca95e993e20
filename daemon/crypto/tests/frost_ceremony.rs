//! In-memory FROST ceremonies (issue 4 acceptance): for n ∈ {3, 4, 7, 10, 16} with charon's
//! default threshold ceil(2n/3) and edge thresholds, V ∈ {1, 10}: every t-subset of secret
//! shares (all subsets for n ≤ 7, a seeded sample otherwise) reconstructs the group secret,
//! public shares interpolate to the group key, and t partial signatures combine to a signature
//! that verifies under the group key.

// Index arithmetic on small test sizes (n ≤ 255, V ≤ 10).
#![allow(clippy::cast_possible_truncation)]

mod frost_support;

use dkgd_crypto::bls::{
    interpolate_public_key, threshold_combine_signatures, BlsPublicKey, BlsSignature,
};
use dkgd_crypto::frost::threshold::{partial_sign, recover_secret, verify};
use dkgd_crypto::frost::{FrostError, FrostParams, ValidatorKeys};
use frost_support::{default_threshold, idx, run_honest};
use rand_chacha::rand_core::{RngCore, SeedableRng};

/// All k-subsets of 1..=n in lexicographic order.
fn all_subsets(n: u32, k: u32) -> Vec<Vec<u32>> {
    fn go(start: u32, n: u32, k: u32, cur: &mut Vec<u32>, out: &mut Vec<Vec<u32>>) {
        if cur.len() as u32 == k {
            out.push(cur.clone());
            return;
        }
        for i in start..=n {
            cur.push(i);
            go(i + 1, n, k, cur, out);
            cur.pop();
        }
    }
    let mut out = Vec::new();
    go(1, n, k, &mut Vec::new(), &mut out);
    out
}

/// Every t-subset for n ≤ 7; otherwise the first, the last and `sample` random ones.
fn subsets(n: u32, t: u32, seed: u64, sample: usize) -> Vec<Vec<u32>> {
    if n <= 7 {
        return all_subsets(n, t);
    }
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let mut out = vec![(1..=t).collect::<Vec<_>>(), (n - t + 1..=n).collect()];
    for _ in 0..sample {
        let mut pool: Vec<u32> = (1..=n).collect();
        // Partial Fisher–Yates.
        for i in 0..t as usize {
            let j = i + (rng.next_u32() as usize) % (pool.len() - i);
            pool.swap(i, j);
        }
        let mut s = pool[..t as usize].to_vec();
        s.sort_unstable();
        out.push(s);
    }
    out
}

fn check(n: u32, t: u32, v: u32, seed: u64) {
    let res: Vec<Vec<ValidatorKeys>> = run_honest(n, t, v, seed);
    assert_eq!(res.len(), n as usize);
    let mut group_keys = Vec::new();
    for val in 0..v as usize {
        let first = &res[0][val];
        let gk = first.group_key;
        group_keys.push(gk);
        for (p, keys) in res.iter().enumerate() {
            let k = &keys[val];
            assert_eq!(
                k.group_key, gk,
                "n={n} t={t} validator {val} participant {p}"
            );
            assert_eq!(k.public_shares, first.public_shares);
            assert_eq!(k.secret_share.index().get(), p as u32 + 1);
            assert_eq!(k.secret_share.public_share(), first.public_shares[p]);
        }
        let sets = subsets(n, t, seed ^ val as u64, 30);
        for s in &sets {
            let shares: Vec<_> = s
                .iter()
                .map(|i| &res[*i as usize - 1][val].secret_share)
                .collect();
            let secret = recover_secret(&shares).expect("distinct indices");
            assert_eq!(
                secret.public_key(),
                gk,
                "subset {s:?} must reconstruct the group secret"
            );
            let pubs: Vec<(u32, BlsPublicKey)> = s
                .iter()
                .map(|i| {
                    let share = first.public_shares[*i as usize - 1];
                    (*i, BlsPublicKey::from_bytes(&share).expect("a G1 point"))
                })
                .collect();
            assert_eq!(
                interpolate_public_key(&pubs).expect("valid").to_bytes(),
                gk,
                "subset {s:?}"
            );
        }
        // t − 1 shares determine nothing.
        let short: Vec<_> = (0..t as usize - 1)
            .map(|p| &res[p][val].secret_share)
            .collect();
        assert_ne!(recover_secret(&short).expect("distinct").public_key(), gk);

        // Threshold signing: every partial verifies under its public share, and a few
        // t-subsets combine into a signature valid under the group key.
        let msg = format!("validator {val} of ceremony {seed}");
        let partials: Vec<[u8; 96]> = res
            .iter()
            .map(|keys| partial_sign(&keys[val].secret_share, msg.as_bytes()).expect("sign"))
            .collect();
        for (p, sig) in partials.iter().enumerate() {
            verify(&first.public_shares[p], msg.as_bytes(), sig).expect("partial verifies");
        }
        let mut last = None;
        for s in sets.iter().take(4).chain(sets.last()) {
            let ps: Vec<(u32, BlsSignature)> = s
                .iter()
                .map(|i| {
                    (
                        *i,
                        BlsSignature::from_bytes(&partials[*i as usize - 1]).expect("a G2 point"),
                    )
                })
                .collect();
            let sig = threshold_combine_signatures(&ps)
                .expect("valid partials")
                .to_bytes();
            verify(&gk, msg.as_bytes(), &sig).expect("group signature verifies");
            if let Some(prev) = last {
                assert_eq!(prev, sig, "BLS signatures are unique");
            }
            last = Some(sig);
        }
    }
    group_keys.sort_unstable();
    group_keys.dedup();
    assert_eq!(
        group_keys.len(),
        v as usize,
        "validators have distinct keys"
    );
}

#[test]
fn n3_default_threshold() {
    for v in [1, 10] {
        check(3, default_threshold(3), v, 3);
    }
}

#[test]
fn n4_default_threshold() {
    for v in [1, 10] {
        check(4, default_threshold(4), v, 4);
    }
}

#[test]
fn n7_default_threshold() {
    for v in [1, 10] {
        check(7, default_threshold(7), v, 7);
    }
}

#[test]
fn n10_default_threshold() {
    for v in [1, 10] {
        check(10, default_threshold(10), v, 10);
    }
}

#[test]
fn n16_default_threshold_v1() {
    check(16, default_threshold(16), 1, 16);
}

#[test]
fn n16_default_threshold_v10() {
    check(16, default_threshold(16), 10, 1616);
}

#[test]
fn edge_thresholds() {
    for (n, t) in [
        (2, 2),
        (3, 3),
        (4, 2),
        (4, 4),
        (7, 2),
        (7, 7),
        (10, 2),
        (10, 10),
        (16, 16),
    ] {
        check(n, t, 2, u64::from(n * 100 + t));
    }
}

#[test]
fn same_seed_same_keys() {
    let a = run_honest(4, 3, 2, 42);
    let b = run_honest(4, 3, 2, 42);
    let c = run_honest(4, 3, 2, 43);
    assert_eq!(a[0][1].group_key, b[0][1].group_key);
    assert_eq!(
        *a[2][0].secret_share.expose_secret(),
        *b[2][0].secret_share.expose_secret()
    );
    assert_ne!(a[0][1].group_key, c[0][1].group_key);
}

#[test]
fn params_are_validated() {
    for (n, t, v) in [
        (3, 1, 1),
        (3, 4, 1),
        (256, 100, 1),
        (4, 3, 0),
        (4, 3, 10_001),
    ] {
        assert!(
            matches!(
                FrostParams::new(n, t, v),
                Err(FrostError::InvalidParams { .. })
            ),
            "n={n} t={t} v={v}"
        );
    }
    let p = FrostParams::new(255, 170, 10_000).expect("largest ceremony");
    assert_eq!(p.indices().count(), 255);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(0);
    let p = FrostParams::new(3, 2, 1).expect("valid");
    assert!(matches!(
        dkgd_crypto::frost::round1(p, idx(4), &mut rng),
        Err(FrostError::NotAParticipant {
            idx: 4,
            participants: 3
        })
    ));
}

#[test]
fn secrets_are_redacted_in_debug_output() {
    let res = run_honest(3, 2, 1, 5);
    let k = &res[0][0];
    let secret_hex = hex::encode(*k.secret_share.expose_secret());
    let dbg = format!("{k:?}");
    assert!(!dbg.contains(&secret_hex), "{dbg}");
    assert!(dbg.contains("redacted"));
}
