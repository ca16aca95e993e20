//! `cargo bench -p dkgd-crypto --bench dkg`: per-validator costs of the DKG's cryptography
//! (issue 4 acceptance). Prints figures only; never asserts timings.
//!
//! For n = 4 and n = 10 (t = ceil(2n/3)), V validators, one participant's cost per validator
//! of: round 1, round 2 (verifying all peers' round-1 data), the round-2 finish (checking
//! peers' verification keys), partial signing, threshold aggregation and verification; plus
//! the keystore KDF (PBKDF2 2^18) and the start-up self-test.

// Index arithmetic on small test sizes (n ≤ 255, V ≤ 10).
#![allow(clippy::cast_possible_truncation)]

use std::time::{Duration, Instant};

use dkgd_crypto::bls::{threshold_combine_signatures, BlsSignature};
use dkgd_crypto::frost::threshold::{partial_sign, verify};
use dkgd_crypto::frost::{
    round1, FrostParams, Round1Casts, Round1P2P, Round1ShamirShare, Round2Casts, ShareBytes,
    ShareIdx,
};
use dkgd_crypto::keystore::{decrypt, encrypt, encrypt_all, KdfStrength, Password};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const V: u32 = 10;

fn idx(i: u32) -> ShareIdx {
    ShareIdx::new(i).expect("nonzero")
}

fn per(d: Duration, count: u32) -> String {
    let us = d.as_secs_f64() * 1e6 / f64::from(count);
    if us >= 1000.0 {
        format!("{:>9.2} ms", us / 1000.0)
    } else {
        format!("{us:>9.1} µs")
    }
}

fn copy(m: &Round1P2P) -> Round1P2P {
    Round1P2P {
        shares: m
            .shares
            .iter()
            .map(|s| Round1ShamirShare {
                key: s.key,
                id: s.id,
                value: ShareBytes::new(s.value.expose_secret().to_vec()),
            })
            .collect(),
    }
}

fn ceremony(n: u32) {
    let t = (2 * n).div_ceil(3);
    let params = FrostParams::new(n, t, V).expect("params");
    let mut rng = ChaCha20Rng::seed_from_u64(u64::from(n));
    let work = n * V; // participant-validator pairs

    let start = Instant::now();
    let (states, outs): (Vec<_>, Vec<_>) = (1..=n)
        .map(|i| round1(params, idx(i), &mut rng).expect("round 1"))
        .unzip();
    let r1 = start.elapsed();

    let casts: Vec<(ShareIdx, Round1Casts)> = outs
        .iter()
        .enumerate()
        .map(|(k, o)| (idx(k as u32 + 1), o.cast.clone()))
        .collect();
    let directs: Vec<Vec<(ShareIdx, Round1P2P)>> = (1..=n)
        .map(|me| {
            outs.iter()
                .enumerate()
                .filter(|(k, _)| *k as u32 + 1 != me)
                .map(|(k, o)| {
                    let m = o
                        .direct
                        .iter()
                        .find(|(to, _)| to.get() == me)
                        .expect("direct");
                    (idx(k as u32 + 1), copy(&m.1))
                })
                .collect()
        })
        .collect();

    let start = Instant::now();
    let (states2, casts2): (Vec<_>, Vec<_>) = states
        .into_iter()
        .zip(&directs)
        .map(|(s, d)| s.handle_round1(&casts, d, &mut rng).expect("round 2"))
        .unzip();
    let r2 = start.elapsed();

    let all2: Vec<(ShareIdx, Round2Casts)> = casts2
        .into_iter()
        .enumerate()
        .map(|(k, c)| (idx(k as u32 + 1), c))
        .collect();
    let start = Instant::now();
    let keys: Vec<_> = states2
        .into_iter()
        .map(|s| s.handle_round2(&all2, &mut rng).expect("finish"))
        .collect();
    let fin = start.elapsed();

    let msg = [7u8; 32];
    let start = Instant::now();
    let partials: Vec<Vec<[u8; 96]>> = keys
        .iter()
        .map(|ks| {
            ks.iter()
                .map(|k| partial_sign(&k.secret_share, &msg).expect("sign"))
                .collect()
        })
        .collect();
    let sign = start.elapsed();

    let start = Instant::now();
    let mut sigs = Vec::new();
    for v in 0..V as usize {
        // The ceremony's combination path (partials decoded as the ceremony decodes them).
        let ps: Vec<(u32, BlsSignature)> = partials
            .iter()
            .take(t as usize)
            .enumerate()
            .map(|(p, row)| (p as u32 + 1, BlsSignature::from_bytes(&row[v]).expect("G2")))
            .collect();
        sigs.push(
            threshold_combine_signatures(&ps)
                .expect("combine")
                .to_bytes(),
        );
    }
    let agg = start.elapsed();
    let start = Instant::now();
    for (v, sig) in sigs.iter().enumerate() {
        verify(&keys[0][v].group_key, &msg, sig).expect("verify");
    }
    let ver = start.elapsed();
    let start = Instant::now();
    for (p, row) in partials.iter().enumerate() {
        for (v, sig) in row.iter().enumerate() {
            verify(&keys[0][v].public_shares[p], &msg, sig).expect("partial verify");
        }
    }
    let pver = start.elapsed();

    println!("n = {n:>2}, t = {t:>2}, V = {V} (cost for one participant, per validator)");
    println!(
        "  round 1 (poly, {t} commitments, PoK, {n} shares)   {}",
        per(r1, work)
    );
    println!(
        "  round 2 ({} PoKs + batched Feldman MSM)          {}",
        n - 1,
        per(r2, work)
    );
    println!(
        "  finish  ({n} vk shares, batched check)            {}",
        per(fin, work)
    );
    println!(
        "  partial signature                              {}",
        per(sign, work)
    );
    println!(
        "  verify one partial signature                   {}",
        per(pver, work)
    );
    println!(
        "  threshold aggregation of {t:>2} partials            {}",
        per(agg, V)
    );
    println!(
        "  verify the aggregate                           {}",
        per(ver, V)
    );
}

fn keystores() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let secret = [0x11u8; 32];
    let pw = Password::random(&mut rng);
    let start = Instant::now();
    let json = encrypt(&secret, &pw, KdfStrength::Standard, true, &mut rng).expect("encrypt");
    let enc = start.elapsed();
    let start = Instant::now();
    decrypt(&json, pw.expose_secret()).expect("decrypt");
    let dec = start.elapsed();
    let secrets: Vec<[u8; 32]> = (0..V).map(|i| [0x10 + i as u8; 32]).collect();
    let refs: Vec<&[u8; 32]> = secrets.iter().collect();
    let start = Instant::now();
    encrypt_all(&refs, KdfStrength::Standard, true, &mut rng).expect("encrypt_all");
    let all = start.elapsed();
    println!("keystore (PBKDF2-HMAC-SHA256, c = 2^18)");
    println!(
        "  encrypt one key                                {}",
        per(enc, 1)
    );
    println!(
        "  decrypt one key                                {}",
        per(dec, 1)
    );
    println!(
        "  encrypt_all, {V} keys, wall time per key         {}",
        per(all, V)
    );
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    println!(
        "dkgd-crypto DKG bench: {cores} cores, {}",
        std::env::consts::ARCH
    );
    let start = Instant::now();
    dkgd_crypto::selftest::check().expect("self-test");
    println!(
        "self-test                                        {}",
        per(start.elapsed(), 1)
    );
    for n in [4, 10] {
        ceremony(n);
    }
    keystores();
}
