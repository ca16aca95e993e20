//! Whole networked ceremonies between in-memory `Ceremony` values (issue 5): every frame goes
//! through the real framing and protocol routing, time only moves to the next deadline, and
//! a step cap catches livelock. Honest runs must produce byte-identical, fully verifying
//! locks on every node and `Done` only after every node committed; faults must abort every
//! honest node naming the culprit and the step.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // test harness

mod support;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use dkgd_ceremony::sync::{Side, SyncTransmit};
use dkgd_ceremony::wire::profile::{V1_10, V1_11};
use dkgd_ceremony::wire::{FrameDecoder, Framing, InboundId, Instant, Profile, TransmitKind};
use dkgd_ceremony::{
    Artifacts, Ceremony, CeremonyConfig, Event, Outgoing, PeerIdx, Phase, Plan, Stream,
};
use dkgd_crypto::k1::K1SecretKey;
use dkgd_crypto::keystore::KdfStrength;
use dkgd_formats::definition::{Definition, Version};
use dkgd_formats::network::HOODI;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use support::Case;

const MAX_STEPS: usize = 2_000_000;

fn p(i: usize) -> PeerIdx {
    PeerIdx::from_usize(i).unwrap()
}

fn body(framing: Framing, frame: &[u8]) -> Vec<u8> {
    let mut d = FrameDecoder::new(framing);
    d.push(frame);
    let b = d.poll_frame().unwrap().unwrap();
    d.finish().unwrap();
    b
}

fn config() -> CeremonyConfig {
    let mut c = CeremonyConfig::new(KdfStrength::InsecureTestOnly);
    c.step_timeout = Duration::from_secs(3);
    c.sig_request_timeout = Duration::from_secs(2);
    c.connect_timeout = Some(Duration::from_secs(5));
    c
}

struct Net {
    now: Instant,
    nodes: Vec<Ceremony>,
    events: Vec<Vec<Event>>,
    queue: VecDeque<(usize, Outgoing)>,
    /// Open sync client streams (client, server).
    streams: BTreeSet<(usize, usize)>,
    /// Inbound request streams awaiting an answer: id → requester.
    pending: BTreeMap<u64, usize>,
    next_id: u64,
    /// Nodes whose frames are no longer delivered.
    muted: BTreeSet<usize>,
    to_commit: VecDeque<usize>,
    to_publish: VecDeque<usize>,
    /// Nodes whose staging fails (a full or read-only disk at commit).
    cannot_stage: BTreeSet<usize>,
    /// Frames from `.0` to `.1` are mutated by this seeded tamperer (a frame fuzzer).
    tamper: Option<(usize, usize, Tamper)>,
    /// Sequence numbers of stagings, publications and `Done` events, to check the barriers.
    seq: u64,
    committed_at: Vec<Option<u64>>,
    published_at: Vec<Option<u64>>,
    done_at: Vec<Option<u64>>,
}

impl Net {
    /// Node `i` runs with `defs[i]` and `profiles[i]`.
    fn new(
        ops: &[K1SecretKey],
        defs: &[Definition],
        profiles: &[&'static Profile],
        seed: u8,
    ) -> Net {
        let n = ops.len();
        let nodes = (0..n)
            .map(|i| {
                let plan = Plan::new(defs[i].clone(), &ops[i].public_key()).unwrap();
                let id = Arc::new(K1SecretKey::from_bytes(&ops[i].expose_secret()).unwrap());
                let rng = ChaCha20Rng::from_seed([seed.wrapping_add(u8::try_from(i).unwrap()); 32]);
                Ceremony::new(
                    plan,
                    id,
                    profiles[i],
                    config(),
                    Box::new(rng),
                    Instant::ZERO,
                )
                .unwrap()
            })
            .collect();
        let mut net = Net {
            now: Instant::ZERO,
            nodes,
            events: (0..n).map(|_| Vec::new()).collect(),
            queue: VecDeque::new(),
            streams: BTreeSet::new(),
            pending: BTreeMap::new(),
            next_id: 0,
            muted: BTreeSet::new(),
            to_commit: VecDeque::new(),
            to_publish: VecDeque::new(),
            cannot_stage: BTreeSet::new(),
            tamper: None,
            seq: 0,
            committed_at: vec![None; n],
            published_at: vec![None; n],
            done_at: vec![None; n],
        };
        for i in 0..n {
            net.with(i, |_, _| {});
        }
        net
    }

    fn with(&mut self, i: usize, f: impl FnOnce(&mut Ceremony, Instant)) {
        let now = self.now;
        f(&mut self.nodes[i], now);
        // The driver's off-loop work, run inline here (the virtual clock does not move).
        while let Some(w) = self.nodes[i].poll_work() {
            let done = w.run();
            self.nodes[i].handle_work_done(now, done);
        }
        while let Some(t) = self.nodes[i].poll_transmit() {
            self.queue.push_back((i, t));
        }
        while let Some(e) = self.nodes[i].poll_event() {
            self.seq += 1;
            match &e {
                Event::NeedCommit(_) => self.to_commit.push_back(i),
                Event::NeedPublish => self.to_publish.push_back(i),
                Event::Done => self.done_at[i] = Some(self.seq),
                _ => {}
            }
            self.events[i].push(e);
        }
    }

    fn deliver(&mut self, a: usize, t: Outgoing) {
        match t {
            Outgoing::Sync(SyncTransmit::Open { to }) => {
                self.streams.insert((a, to.as_usize()));
                self.with(a, |c, now| c.handle_opened(now, to));
            }
            Outgoing::Sync(SyncTransmit::Write { to, side, frame }) => {
                let b = to.as_usize();
                let (stream, rx) = match side {
                    Side::Client => ((a, b), Stream::Inbound(InboundId(0))),
                    Side::Server => ((b, a), Stream::Outbound),
                };
                if self.muted.contains(&a) || !self.streams.contains(&stream) {
                    return;
                }
                let proto = V1_10.sync_protocol;
                let body = self.maybe_tamper(a, b, body(Framing::SYNC, &frame));
                self.with(b, |c, now| c.handle_frame(now, p(a), proto, rx, &body));
            }
            Outgoing::Sync(SyncTransmit::Close { to, side }) => {
                let b = to.as_usize();
                let (stream, rx) = match side {
                    Side::Client => ((a, b), Stream::Inbound(InboundId(0))),
                    Side::Server => ((b, a), Stream::Outbound),
                };
                if self.streams.remove(&stream) {
                    let proto = V1_10.sync_protocol;
                    self.with(b, |c, now| c.handle_closed(now, p(a), proto, rx));
                }
            }
            Outgoing::Stream(t) => {
                if self.muted.contains(&a) {
                    return;
                }
                let b = t.to.as_usize();
                let body = self.maybe_tamper(a, b, body(Framing::DELIMITED, &t.frame));
                let stream = match t.kind {
                    TransmitKind::Request | TransmitKind::OneWay => {
                        self.next_id += 1;
                        if t.kind == TransmitKind::Request {
                            self.pending.insert(self.next_id, a);
                        }
                        Stream::Inbound(InboundId(self.next_id))
                    }
                    TransmitKind::Response(InboundId(id)) => {
                        assert_eq!(self.pending.remove(&id), Some(b), "answer to a request");
                        Stream::Outbound
                    }
                };
                self.with(b, |c, now| {
                    c.handle_frame(now, p(a), t.protocol, stream, &body)
                });
            }
        }
    }

    fn maybe_tamper(&mut self, from: usize, to: usize, body: Vec<u8>) -> Vec<u8> {
        match &mut self.tamper {
            Some((a, b, t)) if *a == from && *b == to => t.mutate(body),
            _ => body,
        }
    }

    fn finished(&self, i: usize) -> bool {
        self.events[i]
            .iter()
            .any(|e| matches!(e, Event::Done | Event::Aborted(_)))
    }

    /// Delivers, commits, then jumps to the next deadline, until `done`; panics on livelock.
    fn run_until(&mut self, done: impl Fn(&Net) -> bool) -> bool {
        for _ in 0..MAX_STEPS {
            // Checked before every delivery: with steps announced at once, a ceremony can
            // run from end to end without the queue ever draining.
            if done(self) {
                return true;
            }
            if let Some((a, t)) = self.queue.pop_front() {
                self.deliver(a, t);
                continue;
            }
            if let Some(i) = self.to_commit.pop_front() {
                if self.cannot_stage.contains(&i) {
                    let err = Err("No space left on device (os error 28)".to_string());
                    self.with(i, |c, now| c.handle_commit(now, err));
                    continue;
                }
                self.seq += 1;
                self.committed_at[i] = Some(self.seq);
                self.with(i, |c, now| c.handle_commit(now, Ok(())));
                continue;
            }
            if let Some(i) = self.to_publish.pop_front() {
                self.seq += 1;
                self.published_at[i] = Some(self.seq);
                self.with(i, |c, now| c.handle_published(now, Ok(())));
                continue;
            }
            if done(self) {
                return true;
            }
            let Some(next) = self.nodes.iter().filter_map(Ceremony::poll_timeout).min() else {
                return false;
            };
            self.now = self.now.max(next);
            for i in 0..self.nodes.len() {
                if self.nodes[i].poll_timeout().is_some_and(|t| t <= self.now) {
                    self.with(i, |c, now| c.handle_timeout(now));
                }
            }
        }
        panic!("livelock: no end after {MAX_STEPS} steps");
    }

    fn run(&mut self) {
        let n = self.nodes.len();
        assert!(self.run_until(|net| (0..n).all(|i| net.finished(i))));
    }

    fn artifacts(&self, i: usize) -> Option<&Artifacts> {
        self.events[i].iter().find_map(|e| match e {
            Event::NeedCommit(a) => Some(&**a),
            _ => None,
        })
    }

    fn abort(&self, i: usize) -> Option<&dkgd_ceremony::CeremonyError> {
        self.events[i].iter().find_map(|e| match e {
            Event::Aborted(e) => Some(e),
            _ => None,
        })
    }
}

/// A seeded frame mutator: leaves most frames alone, and changes the rest the ways a buggy or
/// hostile peer would (a flipped byte, a cut, trailing bytes, a random body, an empty one).
struct Tamper {
    rng: ChaCha20Rng,
    mutated: usize,
}

impl Tamper {
    fn new(seed: u64) -> Self {
        Self {
            rng: ChaCha20Rng::seed_from_u64(seed),
            mutated: 0,
        }
    }

    fn below(&mut self, n: usize) -> usize {
        use rand_chacha::rand_core::RngCore;
        usize::try_from(self.rng.next_u32()).unwrap() % n.max(1)
    }

    fn mutate(&mut self, mut body: Vec<u8>) -> Vec<u8> {
        if self.below(6) != 0 {
            return body;
        }
        self.mutated += 1;
        match self.below(5) {
            0 if !body.is_empty() => {
                let i = self.below(body.len());
                body[i] ^= 1 << self.below(8);
            }
            1 => body.truncate(self.below(body.len())),
            2 => {
                let extra = self.below(16) + 1;
                body.extend((0..extra).map(|_| u8::try_from(self.below(256)).unwrap()));
            }
            3 => {
                let len = self.below(64);
                body = (0..len)
                    .map(|_| u8::try_from(self.below(256)).unwrap())
                    .collect();
            }
            _ => body.clear(),
        }
        body
    }
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
    let mut net = Net::new(&ops, &vec![def.clone(); c.n], &vec![profile; c.n], seed);
    net.run();
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
            Phase::Connect,
            Phase::Dkg,
            Phase::Deposits,
            Phase::NodeSignatures,
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
    let mut net = Net::new(&ops, &defs, &[&V1_10; 4], 4);
    net.run();
    for i in 0..4 {
        let e = net
            .abort(i)
            .unwrap_or_else(|| panic!("node {i} must abort"));
        eprintln!("node {i}: {e}");
        assert_eq!(e.step(), Phase::Connect, "{e}");
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
    let mut net = Net::new(&ops, &vec![def; 4], &[&V1_10, &V1_10, &V1_10, &V1_11], 5);
    net.run();
    for i in 0..4 {
        let e = net
            .abort(i)
            .unwrap_or_else(|| panic!("node {i} must abort"));
        eprintln!("node {i}: {e}");
        assert_eq!(e.step(), Phase::Connect, "{e}");
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
    let mut net = Net::new(&ops, &vec![def; 4], &[&V1_10; 4], 6);
    // Every node has started step 2 (so that whoever waits, waits for node 3 alone).
    let reached = |net: &Net| {
        net.events.iter().all(|events| {
            events.iter().any(|e| {
                matches!(
                    e,
                    Event::Progress {
                        step: Phase::Deposits,
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
            e.step() >= Phase::Deposits && e.step() <= Phase::NodeSignatures,
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
    let mut net = Net::new(&ops, &vec![def; 4], &[&V1_10; 4], 9);
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
        let mut net = Net::new(&ops, &vec![def.clone(); 4], &[&V1_10; 4], 11);
        net.tamper = Some((from, to, Tamper::new(seed)));
        let ended = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            net.run_until(|net| (0..4).all(|i| net.finished(i)))
        }));
        assert!(
            matches!(ended, Ok(true)),
            "seed {seed}: the ceremony panicked or never ended"
        );
        mutated += net.tamper.as_ref().map_or(0, |(_, _, t)| t.mutated);
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
                && net.abort(i).is_some_and(|e| e.step() == Phase::Committed);
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
