//! The sync protocol between in-memory nodes (charon-dkg-protocol.md §1.5): a quinn-style
//! "Pair" harness for n nodes on a virtual clock — every stream is an in-memory pipe, every
//! frame goes through the real framing, and time only moves to the next timer.

#![allow(clippy::unwrap_used)] // test harness: a failed unwrap is a failed test

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use dkgd_ceremony::sync::{
    Side, SyncConfig, SyncError, SyncEvent, SyncNode, SyncTimers, SyncTransmit,
};
use dkgd_ceremony::wire::profile::{V1_10, V1_11, V1_7};
use dkgd_ceremony::wire::{FrameDecoder, Framing, Instant, Profile};
use dkgd_ceremony::PeerIdx;
use dkgd_crypto::k1::K1SecretKey;

const UNIX_2026: Duration = Duration::from_secs(1_780_000_000);

fn key(i: usize) -> K1SecretKey {
    K1SecretKey::from_bytes(&[u8::try_from(i).unwrap() + 1; 32]).unwrap()
}

fn p(i: usize) -> PeerIdx {
    PeerIdx::from_usize(i).unwrap()
}

struct Net {
    now: Instant,
    cfgs: Vec<SyncConfig>,
    nodes: Vec<Option<SyncNode>>,
    events: Vec<Vec<SyncEvent>>,
    /// Open client streams (client, server).
    streams: BTreeSet<(usize, usize)>,
    queue: VecDeque<(usize, SyncTransmit)>,
    /// Nodes whose outgoing writes are dropped (a hung peer).
    mute: BTreeSet<usize>,
    /// Directed links (from, to) whose writes are dropped.
    cut: BTreeSet<(usize, usize)>,
    /// Directed links (client, server) whose client writes wait in `held` (a slow link).
    hold: BTreeSet<(usize, usize)>,
    /// Writes held back by `hold`, in order.
    held: Vec<(usize, SyncTransmit)>,
}

impl Net {
    /// `n` nodes; node `i` uses `profiles[i]` and `hashes[i]` (defaults: v1.10, one hash).
    fn new(n: usize, profiles: &[(usize, &'static Profile)], hashes: &[(usize, [u8; 32])]) -> Net {
        let peers: Vec<_> = (0..n).map(|i| key(i).public_key()).collect();
        let cfgs: Vec<SyncConfig> = (0..n)
            .map(|i| SyncConfig {
                profile: profiles
                    .iter()
                    .find(|(j, _)| *j == i)
                    .map_or(&V1_10, |(_, pr)| *pr),
                alternatives: Vec::new(),
                definition_hash: hashes
                    .iter()
                    .find(|(j, _)| *j == i)
                    .map_or([0x5a; 32], |(_, h)| *h)
                    .to_vec(),
                peers: peers.clone(),
                me: p(i),
                nickname: format!("node-{i}"),
                unix_time_at_origin: UNIX_2026,
                timers: SyncTimers::default(),
            })
            .collect();
        let mut net = Net {
            now: Instant::ZERO,
            nodes: (0..n).map(|_| None).collect(),
            events: vec![Vec::new(); n],
            cfgs,
            streams: BTreeSet::new(),
            queue: VecDeque::new(),
            mute: BTreeSet::new(),
            cut: BTreeSet::new(),
            hold: BTreeSet::new(),
            held: Vec::new(),
        };
        for i in 0..n {
            net.start(i);
        }
        net
    }

    fn start(&mut self, i: usize) {
        self.nodes[i] = Some(SyncNode::new(self.cfgs[i].clone(), &key(i), self.now));
        self.collect(i);
    }

    /// Node `i` dies: its streams break for everyone else.
    fn crash(&mut self, i: usize) {
        self.nodes[i] = None;
        let broken: Vec<_> = self
            .streams
            .iter()
            .copied()
            .filter(|(a, b)| *a == i || *b == i)
            .collect();
        for (a, b) in broken {
            self.streams.remove(&(a, b));
            if a == i {
                self.with(b, |s, now| s.handle_closed(now, p(a), Side::Server));
            } else {
                self.with(a, |s, now| s.handle_closed(now, p(b), Side::Client));
            }
        }
    }

    fn with(&mut self, i: usize, f: impl FnOnce(&mut SyncNode, Instant)) {
        let now = self.now;
        if let Some(s) = self.nodes[i].as_mut() {
            f(s, now);
            self.collect(i);
        }
    }

    fn collect(&mut self, i: usize) {
        let Some(s) = self.nodes[i].as_mut() else {
            return;
        };
        while let Some(t) = s.poll_transmit() {
            self.queue.push_back((i, t));
        }
        while let Some(e) = s.poll_event() {
            self.events[i].push(e);
        }
    }

    fn body(frame: &[u8]) -> Vec<u8> {
        let mut d = FrameDecoder::new(Framing::SYNC);
        d.push(frame);
        let body = d.poll_frame().unwrap().unwrap();
        d.finish().unwrap();
        body
    }

    /// Delivers everything queued (zero latency).
    fn pump(&mut self) {
        while let Some((a, t)) = self.queue.pop_front() {
            match t {
                SyncTransmit::Open { to } => {
                    let b = to.as_usize();
                    if self.nodes[b].is_some() {
                        self.streams.insert((a, b));
                        self.with(a, |s, now| s.handle_opened(now, to));
                    } else {
                        self.with(a, |s, now| s.handle_open_failed(now, to));
                    }
                }
                SyncTransmit::Write { to, side, frame } => {
                    let b = to.as_usize();
                    if side == Side::Client && self.hold.contains(&(a, b)) {
                        self.held.push((a, SyncTransmit::Write { to, side, frame }));
                        continue;
                    }
                    let stream = match side {
                        Side::Client => (a, b),
                        Side::Server => (b, a),
                    };
                    if self.mute.contains(&a)
                        || self.cut.contains(&(a, b))
                        || !self.streams.contains(&stream)
                    {
                        continue;
                    }
                    let body = Net::body(&frame);
                    let other = match side {
                        Side::Client => Side::Server,
                        Side::Server => Side::Client,
                    };
                    self.with(b, |s, now| s.handle_frame(now, p(a), other, &body));
                }
                SyncTransmit::Close { to, side } => {
                    let b = to.as_usize();
                    let (stream, other) = match side {
                        Side::Client => ((a, b), Side::Server),
                        Side::Server => ((b, a), Side::Client),
                    };
                    if self.streams.remove(&stream) {
                        self.with(b, |s, now| s.handle_closed(now, p(a), other));
                    }
                }
            }
        }
    }

    /// Pumps, then jumps to the next timer, until `done` or `limit` of virtual time passed.
    fn run_until(&mut self, limit: Duration, done: impl Fn(&Net) -> bool) -> bool {
        let end = self.now + limit;
        loop {
            self.pump();
            if done(self) {
                return true;
            }
            let next = self
                .nodes
                .iter()
                .flatten()
                .filter_map(SyncNode::poll_timeout)
                .min();
            match next {
                Some(t) if t <= end => {
                    self.now = self.now.max(t);
                    for i in 0..self.nodes.len() {
                        self.with(i, |s, now| s.handle_timeout(now));
                    }
                }
                _ => return false,
            }
        }
    }

    /// Ends every `hold`: the held writes are delivered in order.
    fn release(&mut self) {
        self.hold.clear();
        for t in std::mem::take(&mut self.held).into_iter().rev() {
            self.queue.push_front(t);
        }
    }

    fn has(&self, i: usize, f: impl Fn(&SyncEvent) -> bool) -> bool {
        self.events[i].iter().any(f)
    }

    fn failure(&self, i: usize) -> Option<SyncError> {
        self.events[i].iter().find_map(|e| match e {
            SyncEvent::Failed(err) => Some(err.clone()),
            _ => None,
        })
    }

    fn all_have(&self, f: impl Fn(&SyncEvent) -> bool + Copy) -> bool {
        (0..self.nodes.len()).all(|i| self.has(i, f))
    }

    fn next_step_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.with(i, |s, now| {
                s.next_step(now);
            });
        }
    }
}

fn reached(step: u64) -> impl Fn(&SyncEvent) -> bool + Copy {
    move |e| *e == SyncEvent::StepReached { step }
}

fn run_full_ceremony(profile: &'static Profile) {
    let n = 4;
    let profiles: Vec<_> = (0..n).map(|i| (i, profile)).collect();
    let mut net = Net::new(n, &profiles, &[]);
    assert!(net.run_until(Duration::from_secs(5), |net| net
        .all_have(|e| *e == SyncEvent::AllConnected)));
    assert!(net.has(0, |e| matches!(
        e,
        SyncEvent::PeerConnected {
            connected: 3,
            of: 3,
            ..
        }
    )));
    for step in 1..=7 {
        net.next_step_all();
        assert!(
            net.run_until(Duration::from_secs(2), |net| net.all_have(reached(step))),
            "step {step}"
        );
    }
    for i in 0..n {
        net.with(i, |s, now| s.begin_shutdown(now));
    }
    assert!(net.run_until(Duration::from_secs(5), |net| net
        .all_have(|e| *e == SyncEvent::ShutdownComplete)));
    for i in 0..n {
        assert_eq!(net.failure(i), None, "node {i}");
        let s = net.nodes[i].as_ref().unwrap();
        assert!(s.is_shutdown_complete());
        // The "shutdown ready" step exists from charon v1.10 on.
        let last = if profile.shutdown_ready_step { 8 } else { 7 };
        assert_eq!(s.step(), last);
        assert!(s.rtt(p((i + 1) % n)).is_some());
    }
    assert!(
        net.streams.is_empty(),
        "every stream closed: {:?}",
        net.streams
    );
}

#[test]
fn four_nodes_connect_pass_barriers_and_shut_down() {
    run_full_ceremony(&V1_10);
}

#[test]
fn older_and_newer_profiles_work_among_themselves() {
    run_full_ceremony(&V1_7);
    run_full_ceremony(&V1_11);
}

#[test]
fn barrier_waits_for_the_slowest_node() {
    let mut net = Net::new(4, &[], &[]);
    assert!(net.run_until(Duration::from_secs(5), |net| net
        .all_have(|e| *e == SyncEvent::AllConnected)));
    for i in 0..3 {
        net.with(i, |s, now| {
            s.next_step(now);
        });
    }
    // Node 3 is slow: nobody passes step 1 however long we wait.
    assert!(!net.run_until(Duration::from_secs(30), |net| net.has(0, reached(1))));
    assert_eq!(net.nodes[0].as_ref().unwrap().peer_step(p(3)), Some(0));
    net.with(3, |s, now| {
        s.next_step(now);
    });
    assert!(net.run_until(Duration::from_secs(1), |net| net.all_have(reached(1))));
}

#[test]
fn a_peer_past_the_barrier_vouches_for_a_peer_whose_step_never_arrived() {
    let mut net = Net::new(4, &[], &[]);
    assert!(net.run_until(Duration::from_secs(5), |net| net
        .all_have(|e| *e == SyncEvent::AllConnected)));
    net.next_step_all();
    assert!(net.run_until(Duration::from_secs(2), |net| net.all_have(reached(1))));
    // Node 3's step 2 reaches node 2 only (it died right after sending it).
    net.cut.extend([(3, 0), (3, 1)]);
    net.next_step_all();
    assert!(net.run_until(Duration::from_secs(1), |net| net.has(2, reached(2))));
    assert!(!net.has(0, reached(2)) && !net.has(1, reached(2)));
    assert_eq!(net.nodes[0].as_ref().unwrap().peer_step(p(3)), Some(1));
    // Node 2 moves on to step 3: its announcement proves everyone was at 2.
    net.with(2, |s, now| {
        s.next_step(now);
    });
    assert!(
        net.run_until(Duration::from_secs(1), |net| net.has(0, reached(2))
            && net.has(1, reached(2)))
    );
    assert!((0..4).all(|i| net.failure(i).is_none()));
}

/// Node 3's pings to node 0 are slow: node 0 passes barriers 2 to 4 on its other peers'
/// word, and when the link recovers node 3's step jumps by 3 or more, which is no restart.
#[test]
fn a_step_that_jumps_forward_after_vouched_barriers_is_no_restart() {
    let mut net = Net::new(4, &[], &[]);
    assert!(net.run_until(Duration::from_secs(5), |net| net
        .all_have(|e| *e == SyncEvent::AllConnected)));
    net.next_step_all();
    assert!(net.run_until(Duration::from_secs(2), |net| net.all_have(reached(1))));
    net.hold.insert((3, 0));
    for step in 2..=5 {
        for i in 1..4 {
            net.with(i, |s, now| {
                s.next_step(now);
            });
        }
        if step > 2 {
            // Node 0 passes the previous barrier because its peers moved on.
            assert!(net.run_until(Duration::from_secs(1), |net| net.has(0, reached(step - 1))));
        }
        net.with(0, |s, now| {
            s.next_step(now);
        });
        assert!(net.run_until(Duration::from_secs(1), |net| (1..4)
            .all(|i| net.has(i, reached(step)))));
    }
    let before = net.nodes[0].as_ref().and_then(|s| s.peer_step(p(3)));
    assert!(before.is_some_and(|s| s <= 2), "{before:?}");
    net.release();
    assert!(net.run_until(Duration::from_secs(2), |net| net.has(0, reached(5))));
    assert_eq!(net.nodes[0].as_ref().unwrap().peer_step(p(3)), Some(5));
    assert!((0..4).all(|i| net.failure(i).is_none()));
}

#[test]
fn late_peer_is_waited_for_without_bound() {
    let mut net = Net::new(4, &[], &[]);
    net.crash(2);
    assert!(!net.run_until(Duration::from_secs(120), |net| net
        .has(0, |e| *e == SyncEvent::AllConnected)));
    assert_eq!(net.nodes[0].as_ref().unwrap().connected_peers(), 2);
    net.start(2);
    assert!(net.run_until(Duration::from_secs(2), |net| net
        .all_have(|e| *e == SyncEvent::AllConnected)));
    assert!((0..4).all(|i| net.failure(i).is_none()));
}

#[test]
fn version_mismatch_is_reported_naming_the_peer_on_every_node() {
    let mut net = Net::new(4, &[(3, &V1_11)], &[]);
    assert!(net.run_until(Duration::from_secs(5), |net| (0..4)
        .all(|i| net.failure(i).is_some())));
    for i in 0..3 {
        match net.failure(i).unwrap() {
            SyncError::PeerIncompatible {
                peer,
                ours,
                theirs,
                step,
            } => {
                assert_eq!(
                    (peer, ours, theirs.as_str(), step),
                    (p(3), "v1.10", "v1.11", 0)
                );
            }
            other => panic!("node {i}: {other}"),
        }
    }
    // The odd one out sees everyone else as incompatible (or rejecting it).
    let err = net.failure(3).unwrap();
    assert!(
        matches!(
            err,
            SyncError::PeerIncompatible { ours: "v1.11", .. } | SyncError::PeerRejected { .. }
        ),
        "{err}"
    );
    assert!(err.peer().is_some_and(|peer| peer != p(3)));
    assert!(!net.has(0, |e| *e == SyncEvent::AllConnected));
}

#[test]
fn patch_and_pre_release_versions_are_compatible() {
    let patched: &'static Profile = Box::leak(Box::new(Profile {
        name: "v1.10-patched",
        sync_version: "v1.10.3-rc1",
        ..V1_10.clone()
    }));
    let mut net = Net::new(4, &[(1, patched)], &[]);
    assert!(net.run_until(Duration::from_secs(5), |net| net
        .all_have(|e| *e == SyncEvent::AllConnected)));
}

#[test]
fn a_different_definition_is_attributed() {
    let mut net = Net::new(4, &[], &[(2, [0x99; 32])]);
    assert!(net.run_until(Duration::from_secs(5), |net| (0..4)
        .all(|i| net.failure(i).is_some())));
    for i in [0, 1, 3] {
        let err = net.failure(i).unwrap();
        assert!(
            matches!(err, SyncError::DefinitionMismatch { peer, step: 0, .. } if peer == p(2)),
            "node {i}: {err}"
        );
        assert!(err.to_string().contains("peer 2"), "{err}");
    }
    assert!(net.failure(2).unwrap().peer().is_some());
}

#[test]
fn a_restarted_peer_aborts_everyone() {
    let mut net = Net::new(4, &[], &[]);
    assert!(net.run_until(Duration::from_secs(5), |net| net
        .all_have(|e| *e == SyncEvent::AllConnected)));
    for step in 1..=3 {
        net.next_step_all();
        assert!(net.run_until(Duration::from_secs(2), |net| net.all_have(reached(step))));
    }
    net.crash(1);
    net.start(1); // fresh state: step 0
    assert!(net.run_until(Duration::from_secs(5), |net| [0, 2, 3]
        .iter()
        .all(|i| net.failure(*i).is_some())));
    for i in [0, 2, 3] {
        match net.failure(i).unwrap() {
            SyncError::PeerRestarted {
                peer,
                reported,
                last,
                step,
            } => assert_eq!((peer, reported, last, step), (p(1), 0, Some(3), 3)),
            other => panic!("node {i}: {other}"),
        }
    }
}

#[test]
fn broken_streams_reconnect_and_barriers_still_pass() {
    let mut net = Net::new(4, &[], &[]);
    assert!(net.run_until(Duration::from_secs(5), |net| net
        .all_have(|e| *e == SyncEvent::AllConnected)));
    net.next_step_all();
    // Relay circuit recycled: node 0's client stream to node 2 breaks.
    net.streams.remove(&(0, 2));
    net.with(0, |s, now| s.handle_closed(now, p(2), Side::Client));
    net.with(2, |s, now| s.handle_closed(now, p(0), Side::Server));
    assert!(net.has(0, |e| matches!(
        e,
        SyncEvent::PeerDisconnected {
            side: Side::Client,
            ..
        }
    )));
    assert!(net.run_until(Duration::from_secs(2), |net| net.all_have(reached(1))));
    assert!(net.streams.contains(&(0, 2)));
    assert!((0..4).all(|i| net.failure(i).is_none()));
}

#[test]
fn garbage_resets_the_stream_without_aborting() {
    let mut net = Net::new(3, &[], &[]);
    assert!(net.run_until(Duration::from_secs(5), |net| net
        .all_have(|e| *e == SyncEvent::AllConnected)));
    net.with(0, |s, now| {
        s.handle_frame(now, p(1), Side::Server, &[0xff, 0xff])
    });
    assert!(net.has(0, |e| matches!(
        e,
        SyncEvent::StreamReset {
            side: Side::Server,
            ..
        }
    )));
    net.next_step_all();
    assert!(net.run_until(Duration::from_secs(3), |net| net.all_have(reached(1))));
    assert!((0..3).all(|i| net.failure(i).is_none()));
}

#[test]
fn shutdown_is_bounded_and_names_the_missing_peer() {
    let mut net = Net::new(4, &[], &[]);
    assert!(net.run_until(Duration::from_secs(5), |net| net
        .all_have(|e| *e == SyncEvent::AllConnected)));
    for i in 0..3 {
        net.with(i, |s, now| s.begin_shutdown(now));
    }
    // Node 3 never starts its shutdown: the others time out naming it.
    assert!(net.run_until(Duration::from_secs(200), |net| (0..3)
        .all(|i| net.failure(i).is_some())));
    for i in 0..3 {
        match net.failure(i).unwrap() {
            SyncError::ShutdownTimedOut { missing, step, .. } => {
                assert_eq!((missing, step), (vec![p(3)], 1));
            }
            other => panic!("node {i}: {other}"),
        }
    }
}

#[test]
fn a_hung_stream_is_reset_after_the_response_timeout() {
    let mut net = Net::new(3, &[], &[]);
    assert!(net.run_until(Duration::from_secs(5), |net| net
        .all_have(|e| *e == SyncEvent::AllConnected)));
    net.mute.insert(2);
    assert!(
        net.run_until(Duration::from_secs(40), |net| net.has(0, |e| matches!(
            e,
            SyncEvent::StreamReset {
                side: Side::Client,
                ..
            }
        )))
    );
    // Responses in flight when the peer recovers are lost too: the next reset (at most one
    // response timeout later) heals the stream.
    net.mute.clear();
    net.next_step_all();
    let healed = net.run_until(Duration::from_secs(40), |net| net.all_have(reached(1)));
    let failures: Vec<_> = (0..3)
        .map(|i| net.failure(i).map(|e| e.to_string()))
        .collect();
    assert!(healed, "{failures:?}");
    assert!((0..3).all(|i| net.failure(i).is_none()));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    #[test]
    fn random_frames_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
        let mut net = Net::new(3, &[], &[]);
        net.run_until(Duration::from_millis(300), |_| false);
        net.with(0, |s, now| s.handle_frame(now, p(1), Side::Server, &bytes));
        net.with(0, |s, now| s.handle_frame(now, p(2), Side::Client, &bytes));
        net.run_until(Duration::from_millis(300), |_| false);
    }
}
