//! Whole networked ceremonies between in-memory `Ceremony` values (issue 5) on `dkgd-sim`'s
//! network: every frame goes through the real framing and protocol routing, time only moves
//! to the next deadline, and a step cap catches livelock. Honest runs must produce byte-identical, fully verifying
//! locks on every node and `Done` only after every node committed; faults must abort every
//! honest node naming the culprit and the step.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // test harness

mod support;

use std::time::Duration;

use dkgd_ceremony::wire::profile::{V1_10, V1_11};
use dkgd_ceremony::wire::Profile;
use dkgd_ceremony::{Event, PeerIdx, Step};
use dkgd_formats::definition::Version;
use dkgd_formats::network::HOODI;
use dkgd_sim::{Net, SeededTamper};
use support::Case;

fn p(i: usize) -> PeerIdx {
    PeerIdx::from_usize(i).unwrap()
}

fn case(n: usize, v: u64, version: Version) -> Case {
    let mut c = Case::new(n, v, version, &HOODI);
    c.seed = 7;
    c
}

/// Runs an honest ceremony and checks it; returns the lock JSON.
fn honest(c: &Case, seed: u8) -> Vec<u8> {
    let (ops, creator) = support::keys(c.n, c.seed);
    let def = support::definition(&c.config(), &ops, &creator);
    let profile = Profile::for_definition(&def);
    let mut net = Net::new(&ops, &vec![def.clone(); c.n], &vec![profile; c.n], seed).unwrap();
    assert!(net.run());
    let mut arts = Vec::new();
    for i in 0..c.n {
        assert!(net.abort(i).is_none(), "node {i}: {:?}", net.abort(i));
        let done = net.done_at[i].expect("Done on every node");
        let published = net.published_at[i].expect("published on every node");
        // Published only after every node staged (the post-write barrier), `Done` after that.
        assert!(net
            .committed_at
            .iter()
            .all(|c| c.is_some_and(|c| c < published)));
        assert!(published < done);
        let pos = net.events[i]
            .iter()
            .position(|e| matches!(e, Event::NeedCommit(_)))
            .expect("NeedCommit on every node");
        let Event::NeedCommit(a) = net.events[i].remove(pos) else {
            unreachable!()
        };
        arts.push(*a);
        // Progress went through every step.
        for step in [
            Step::Connect,
            Step::Dkg,
            Step::Deposits,
            Step::NodeSignatures,
        ] {
            assert!(net.events[i]
                .iter()
                .any(|e| matches!(e, Event::Progress { step: s, .. } if *s == step)));
        }
    }
    // Byte-identical locks that `verify_lock` fully passes, keystores, deposit files.
    support::check(c, &def, &arts);
    arts[0].lock_json.clone()
}

#[test]
fn n4_v1_completes_on_all_nodes_deterministically() {
    let c = case(4, 1, Version::V1_10);
    let a = honest(&c, 1);
    let b = honest(&c, 1);
    assert_eq!(a, b, "same seed, same lock");
}

#[test]
fn n4_v3_v1_11_completes() {
    honest(&case(4, 3, Version::V1_11), 2);
}

#[test]
fn n7_v1_v1_8_completes() {
    honest(&case(7, 1, Version::V1_8), 3);
}

#[test]
fn different_definition_aborts_naming_it() {
    let c = case(4, 1, Version::V1_10);
    let (ops, creator) = support::keys(c.n, c.seed);
    let def = support::definition(&c.config(), &ops, &creator);
    let mut other = c.config();
    other.num_validators = 2;
    let odd = support::definition(&other, &ops, &creator);
    let defs = vec![def.clone(), def.clone(), def, odd];
    let mut net = Net::new(&ops, &defs, &[&V1_10; 4], 4).unwrap();
    assert!(net.run());
    for i in 0..4 {
        let e = net
            .abort(i)
            .unwrap_or_else(|| panic!("node {i} must abort"));
        eprintln!("node {i}: {e}");
        assert_eq!(e.step(), Step::Connect, "{e}");
        if i < 3 {
            assert_eq!(e.culprit(), Some(p(3)), "node {i}: {e}");
        }
        assert!(net.artifacts(i).is_none());
    }
}

#[test]
fn different_profile_aborts_naming_it() {
    let c = case(4, 1, Version::V1_10);
    let (ops, creator) = support::keys(c.n, c.seed);
    let def = support::definition(&c.config(), &ops, &creator);
    let mut net = Net::new(&ops, &vec![def; 4], &[&V1_10, &V1_10, &V1_10, &V1_11], 5).unwrap();
    assert!(net.run());
    for i in 0..4 {
        let e = net
            .abort(i)
            .unwrap_or_else(|| panic!("node {i} must abort"));
        eprintln!("node {i}: {e}");
        assert_eq!(e.step(), Step::Connect, "{e}");
        if i < 3 {
            assert_eq!(e.culprit(), Some(p(3)), "node {i}: {e}");
        }
    }
}

#[test]
fn dropped_peer_times_out_naming_step_and_peer() {
    let c = case(4, 1, Version::V1_10);
    let (ops, creator) = support::keys(c.n, c.seed);
    let def = support::definition(&c.config(), &ops, &creator);
    let mut net = Net::new(&ops, &vec![def; 4], &[&V1_10; 4], 6).unwrap();
    // Every node has started step 2 (so that whoever waits, waits for node 3 alone).
    let reached = |net: &Net| {
        net.events.iter().all(|events| {
            events.iter().any(|e| {
                matches!(
                    e,
                    Event::Progress {
                        step: Step::Deposits,
                        ..
                    }
                )
            })
        })
    };
    assert!(net.run_until(reached));
    let seen = net.events[0].len();
    let muted_at = net.now;
    net.muted.insert(3);
    assert!(net.run_until(|net| (0..3).all(|i| net.finished(i))));
    for i in 0..3 {
        let e = net
            .abort(i)
            .unwrap_or_else(|| panic!("node {i} must abort"));
        eprintln!("node {i}: {e}");
        assert_eq!(e.culprit(), Some(p(3)), "node {i}: {e}");
        assert!(
            e.step() >= Step::Deposits && e.step() <= Step::NodeSignatures,
            "{e}"
        );
        assert!(net.artifacts(i).is_none());
    }
    // Node 0 kept reporting progress while it waited, and gave up only after the bound.
    assert!(net.events[0].len() > seen + 1);
    assert!(net.now >= muted_at + Duration::from_secs(2));
}

#[test]
fn a_node_that_cannot_stage_keeps_every_node_from_publishing() {
    let c = case(4, 1, Version::V1_10);
    let (ops, creator) = support::keys(c.n, c.seed);
    let def = support::definition(&c.config(), &ops, &creator);
    let mut net = Net::new(&ops, &vec![def; 4], &[&V1_10; 4], 9).unwrap();
    net.cannot_stage.insert(2);
    assert!(net.run_until(|net| (0..4).all(|i| net.finished(i))));
    for i in 0..4 {
        let e = net
            .abort(i)
            .unwrap_or_else(|| panic!("node {i} must abort"));
        eprintln!("node {i}: {e}");
        assert!(net.published_at[i].is_none(), "node {i} published");
        assert!(
            !net.events[i]
                .iter()
                .any(|e| matches!(e, Event::NeedPublish | Event::Done)),
            "node {i}"
        );
        if i == 2 {
            assert!(e.to_string().contains("No space left on device"), "{e}");
        } else {
            // The others staged, then learnt why node 2 did not.
            assert!(net.committed_at[i].is_some(), "node {i} staged");
            assert_eq!(e.culprit(), Some(p(2)), "node {i}: {e}");
            assert!(e.to_string().contains("No space left on device"), "{e}");
        }
    }
}

/// Frame fuzzing through the whole state machine (issue 12 §7): the frames of one sender to
/// one receiver (both chosen by the seed) are mutated by a seeded tamperer. Whatever arrives,
/// no node panics or hangs, and the other nodes stay all-or-nothing: they either all publish
/// byte-identical locks or none publishes. The receiver blames the sender or nobody; the
/// others blame one of the two or nobody. A failing seed prints itself. CI runs 96 seeds; a
/// longer sweep: `DKGD_TAMPER_SEEDS=10000 cargo test --release -p dkgd-ceremony --test
/// ceremony_cluster tampered -- --nocapture`.
#[test]
fn tampered_frames_never_panic_and_keep_the_cluster_all_or_nothing() {
    let seeds: u64 = std::env::var("DKGD_TAMPER_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(96);
    let c = case(4, 1, Version::V1_10);
    let (ops, creator) = support::keys(c.n, c.seed);
    let def = support::definition(&c.config(), &ops, &creator);
    let (mut aborted, mut completed, mut mutated, mut blamed_sender, mut split) = (0, 0, 0, 0, 0);
    // Seeds that once failed in a long sweep, run every time: 434 (a blame relayed back to
    // the node it blamed, which then blamed the messenger), 751 (a culprit mark at the end
    // of a twice-relayed reason, cut off by the 200-character limit).
    const REGRESSIONS: [u64; 2] = [434, 751];
    for seed in (0..seeds).chain(REGRESSIONS) {
        let from = usize::try_from(seed % 4).unwrap();
        let to = (from + 1 + usize::try_from(seed / 4 % 3).unwrap()) % 4;
        let mut net = Net::new(&ops, &vec![def.clone(); 4], &[&V1_10; 4], 11).unwrap();
        net.tamper = Some((from, to, Box::new(SeededTamper::new(seed))));
        let ended = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            net.run_until(|net| (0..4).all(|i| net.finished(i)))
        }));
        assert!(
            matches!(ended, Ok(true)),
            "seed {seed}: the ceremony panicked or never ended"
        );
        mutated += net.tamper.as_ref().map_or(0, |(_, _, t)| t.mutated());
        let others: Vec<usize> = (0..4).filter(|i| *i != from).collect();
        let published: Vec<bool> = others
            .iter()
            .map(|i| net.published_at[*i].is_some())
            .collect();
        let any = published.iter().any(|p| *p);
        for (k, &i) in others.iter().enumerate() {
            // The one split 2-phase commit allows: a node that staged and announced it, then
            // aborted before it saw every peer's announcement. It keeps the same artifacts
            // aside (`dkgd dkg --publish-kept`); nobody else may lack them.
            let kept_aside = net.committed_at[i].is_some()
                && net.abort(i).is_some_and(|e| e.step() == Step::Committed);
            assert!(
                published[k] == any || kept_aside,
                "seed {seed} ({from}→{to}): node {i} published={} while others did {any}",
                published[k]
            );
            split += usize::from(published[k] != any);
        }
        if any {
            completed += 1;
            let locks: Vec<_> = others
                .iter()
                .filter_map(|i| net.artifacts(*i).map(|a| a.lock_json.clone()))
                .collect();
            assert!(
                locks.iter().all(|l| *l == locks[0]),
                "seed {seed}: locks differ"
            );
        } else {
            aborted += 1;
        }
        for &i in &others {
            if let Some(e) = net.abort(i) {
                let culprit = e.culprit();
                let fair = culprit.is_none()
                    || culprit == Some(p(from))
                    || (i != to && culprit == Some(p(to)));
                assert!(
                    fair,
                    "seed {seed} ({from}→{to}): node {i} blames {culprit:?}: {e}"
                );
                blamed_sender += usize::from(culprit == Some(p(from)));
            }
        }
    }
    eprintln!(
        "{seeds} seeds: {mutated} frames mutated; {completed} ceremonies completed, \
         {aborted} aborted; {blamed_sender} aborts of the other nodes named the tampered sender; {split} nodes kept aside a set their peers published"
    );
}
