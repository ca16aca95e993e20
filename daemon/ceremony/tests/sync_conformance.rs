//! Our sync machine against a scripted charon node (issue 10 §3), on a virtual clock.
//!
//! [`Charon`] replays what a charon node of a given minor does on the sync protocol, written
//! from charon's Go sources as summarised in `tests/conformance/README.md` (repo root) — not
//! from our [`SyncNode`]: one server and one client per peer; the client speaks first on every
//! new stream and then every 100 ms, one message in flight; the server answers every message,
//! with charon's error text on a version mismatch (a sticky error that makes the charon node
//! abort); barriers 1–7 as `dkg.Run` sequences them; then, from v1.10 on, the "shutdown
//! ready" barrier (step 8), and the shutdown messages; v1.7–v1.9 send `shutdown = true` at
//! step 7. Before v1.10 a client whose stream breaks after everyone connected gives up.
//!
//! These tests fail on a node that assumes its peers mirror its own reading of the spec: the
//! v1.7 shutdown test failed on the code before issue 10 (we waited for a step 8 that a v1.7
//! node never announces).

#![allow(clippy::unwrap_used)] // test harness: a failed unwrap is a failed test

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use dkgd_ceremony::sync::sig::{sign_definition_hash, verify_definition_hash};
use dkgd_ceremony::sync::{Side, SyncConfig, SyncError, SyncEvent, SyncNode, SyncTransmit};
use dkgd_ceremony::wire::profile::{Profile, ALL, V1_10, V1_11, V1_7, V1_9};
use dkgd_ceremony::wire::proto::{MsgSync, MsgSyncResponse, Timestamp};
use dkgd_ceremony::wire::{FrameDecoder, Framing, Instant};
use dkgd_ceremony::PeerIdx;
use dkgd_crypto::k1::{K1PublicKey, K1SecretKey};
use prost::Message;

const HASH: [u8; 32] = [0x5a; 32];
const PERIOD: Duration = Duration::from_millis(100);

fn key(i: usize) -> K1SecretKey {
    K1SecretKey::from_bytes(&[u8::try_from(i).unwrap() + 7; 32]).unwrap()
}

fn p(i: usize) -> PeerIdx {
    PeerIdx::from_usize(i).unwrap()
}

fn body(frame: &[u8]) -> Vec<u8> {
    let mut d = FrameDecoder::new(Framing::SYNC);
    d.push(frame);
    d.poll_frame().unwrap().unwrap()
}

/// `(major, minor)` of `vX.Y[.Z]`.
fn minor(v: &str) -> Option<(u32, u32)> {
    let mut it = v.strip_prefix('v')?.split('.');
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// How a scripted charon node behaves.
#[derive(Clone)]
struct Script {
    /// `MsgSync.version`, e.g. `v1.7`.
    version: &'static str,
    /// Answer every message with this error instead of validating (charon's error strings).
    answer_error: Option<&'static str>,
    /// End as charon < v1.10 does (no "shutdown ready" step) whatever `version` says.
    legacy_shutdown: bool,
    /// Its client opens no stream before this (it cannot reach us yet); its server answers.
    client_after: Duration,
}

/// charon's dkg.Run phases as far as sync sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Connecting,
    Barrier(i64),
    Shutdown,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    Closed,
    Opening,
    Open {
        waiting: bool,
        next: Instant,
        shutdown_sent: bool,
    },
    Finished,
}

/// A scripted charon node (see the module docs).
struct Charon {
    script: Script,
    me: usize,
    peers: Vec<K1PublicKey>,
    sig: Vec<u8>,
    step: i64,
    phase: Step,
    reconnect: bool,
    clients: Vec<Client>,
    srv_connected: Vec<bool>,
    srv_step: Vec<Option<i64>>,
    srv_shutdown: Vec<bool>,
    sticky: Option<String>,
    fatal: Option<String>,
    /// Every `MsgSync` our node sent it: (from, version, step, shutdown).
    seen: Vec<(usize, String, i64, bool)>,
    out: VecDeque<SyncTransmit>,
}

impl Charon {
    fn new(script: Script, me: usize, n: usize, now: Instant) -> Self {
        let _ = now;
        Charon {
            sig: sign_definition_hash(&key(me), &HASH),
            script,
            me,
            peers: (0..n).map(|i| key(i).public_key()).collect(),
            step: 0,
            phase: Step::Connecting,
            reconnect: true,
            clients: (0..n).map(|_| Client::Closed).collect(),
            srv_connected: vec![false; n],
            srv_step: vec![None; n],
            srv_shutdown: vec![false; n],
            sticky: None,
            fatal: None,
            seen: Vec::new(),
            out: VecDeque::new(),
        }
    }

    fn others(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.peers.len()).filter(move |i| *i != self.me)
    }

    fn die(&mut self, why: String) {
        if self.fatal.is_none() {
            self.fatal = Some(why);
        }
    }

    fn send(&mut self, now: Instant, to: usize) {
        let shutdown = self.phase == Step::Shutdown || self.phase == Step::Done;
        let Client::Open { shutdown_sent, .. } = self.clients[to] else {
            return;
        };
        let msg = MsgSync {
            timestamp: Some(Timestamp {
                seconds: 1_780_000_000,
                nanos: 0,
            }),
            hash_signature: self.sig.clone(),
            shutdown,
            version: self.script.version.to_string(),
            step: self.step,
            // MsgSync.nickname arrived in v1.9.0.
            nickname: if matches!(self.script.version, "v1.7" | "v1.8") {
                String::new()
            } else {
                format!("charon-{}", self.me)
            },
        };
        self.clients[to] = Client::Open {
            waiting: true,
            next: now + PERIOD,
            shutdown_sent: shutdown_sent || shutdown,
        };
        self.out.push_back(SyncTransmit::Write {
            to: p(to),
            side: Side::Client,
            frame: Framing::SYNC.encode(&msg.encode_to_vec()),
        });
    }

    fn opened(&mut self, now: Instant, to: usize) {
        self.clients[to] = Client::Open {
            waiting: false,
            next: now,
            shutdown_sent: false,
        };
        // charon's client writes its first message as soon as the stream is open.
        self.send(now, to);
    }

    fn client_frame(&mut self, now: Instant, from: usize, b: &[u8]) {
        let resp = MsgSyncResponse::decode(b).unwrap();
        let Client::Open {
            next,
            shutdown_sent,
            ..
        } = self.clients[from]
        else {
            return;
        };
        if shutdown_sent {
            self.clients[from] = Client::Finished;
            self.out.push_back(SyncTransmit::Close {
                to: p(from),
                side: Side::Client,
            });
            return;
        }
        if !resp.error.is_empty() {
            return self.die(format!("peer responded with error: {}", resp.error));
        }
        self.clients[from] = Client::Open {
            waiting: false,
            next,
            shutdown_sent,
        };
        if self.phase == Step::Shutdown {
            self.send(now, from);
        }
    }

    fn server_frame(&mut self, from: usize, b: &[u8]) {
        let msg = MsgSync::decode(b).unwrap();
        self.seen
            .push((from, msg.version.clone(), msg.step, msg.shutdown));
        let mut resp = MsgSyncResponse {
            sync_timestamp: msg.timestamp,
            error: String::new(),
        };
        let valid = if let Some(e) = self.script.answer_error {
            Err(e.to_string())
        } else if minor(&msg.version).is_none() || minor(&msg.version) != minor(self.script.version)
        {
            Err(format!(
                "mismatching charon version; expect={}, got={}",
                self.script.version, msg.version
            ))
        } else if verify_definition_hash(&self.peers[from], &HASH, &msg.hash_signature).is_err() {
            Err("invalid definition hash signature".to_string())
        } else {
            Ok(())
        };
        match valid {
            Err(e) => {
                self.sticky.get_or_insert(e.clone());
                resp.error = e;
            }
            Ok(()) => self.srv_connected[from] = true,
        }
        let step = msg.step;
        let ok = match self.srv_step[from] {
            Some(last) => step >= last && step <= last + 2,
            None => step == 0 || step == 1,
        };
        if !ok {
            return self.die(format!("peer {from} reported step {step} out of order"));
        }
        self.srv_step[from] = Some(step);
        self.out.push_back(SyncTransmit::Write {
            to: p(from),
            side: Side::Server,
            frame: Framing::SYNC.encode(&resp.encode_to_vec()),
        });
        if msg.shutdown {
            self.srv_shutdown[from] = true;
            self.out.push_back(SyncTransmit::Close {
                to: p(from),
                side: Side::Server,
            });
        }
    }

    fn closed(&mut self, now: Instant, peer: usize, side: Side) {
        match side {
            Side::Server => self.srv_connected[peer] = false,
            Side::Client => {
                if matches!(self.clients[peer], Client::Finished) {
                    return;
                }
                self.clients[peer] = Client::Closed;
                if !self.reconnect {
                    self.die(format!("sync client to {peer}: stream closed"));
                } else {
                    self.timeout(now);
                }
            }
        }
    }

    fn all_at(&self, k: i64) -> Result<bool, String> {
        let mut all = true;
        for i in self.others() {
            match self.srv_step[i] {
                Some(s) if s >= k + 2 => return Err(format!("peer step too far ahead: {s}")),
                Some(s) if s == k || s == k + 1 => {}
                _ => all = false,
            }
        }
        Ok(all)
    }

    /// dkg.Run's sequencing (the script does no work between barriers).
    fn progress(&mut self, now: Instant) {
        if self.fatal.is_some() {
            return;
        }
        if let Some(e) = self.sticky.clone() {
            return self.die(format!("sync server error: {e}"));
        }
        let v10 = minor(self.script.version) >= Some((1, 10)) && !self.script.legacy_shutdown;
        loop {
            match self.phase {
                Step::Connecting => {
                    let others: Vec<usize> = self.others().collect();
                    let clients = others
                        .iter()
                        .all(|i| matches!(self.clients[*i], Client::Open { .. }));
                    if !clients || !others.iter().all(|i| self.srv_connected[*i]) {
                        return;
                    }
                    // Before v1.10 reconnecting stops once everyone is connected.
                    self.reconnect = v10;
                    self.step = 1;
                    self.phase = Step::Barrier(1);
                }
                Step::Barrier(k) => match self.all_at(k) {
                    Err(e) => return self.die(e),
                    Ok(false) => return,
                    Ok(true) if k < 7 || (k == 7 && v10) => {
                        self.step = k + 1;
                        self.phase = Step::Barrier(k + 1);
                    }
                    Ok(true) => {
                        self.phase = Step::Shutdown;
                        self.reconnect = false;
                        let idle: Vec<usize> = self
                            .others()
                            .filter(|i| {
                                matches!(self.clients[*i], Client::Open { waiting: false, .. })
                            })
                            .collect();
                        for i in idle {
                            self.send(now, i);
                        }
                    }
                },
                Step::Shutdown => {
                    let clients_done = self
                        .others()
                        .all(|i| matches!(self.clients[i], Client::Finished));
                    if clients_done && self.others().all(|i| self.srv_shutdown[i]) {
                        self.phase = Step::Done;
                    }
                    return;
                }
                Step::Done => return,
            }
        }
    }

    fn timeout(&mut self, now: Instant) {
        for i in self.others().collect::<Vec<_>>() {
            match self.clients[i] {
                Client::Closed
                    if (self.reconnect || self.phase == Step::Connecting)
                        && now >= Instant::ZERO + self.script.client_after =>
                {
                    self.clients[i] = Client::Opening;
                    self.out.push_back(SyncTransmit::Open { to: p(i) });
                }
                Client::Open {
                    waiting: false,
                    next,
                    ..
                } if next <= now && self.phase != Step::Done => self.send(now, i),
                _ => {}
            }
        }
    }

    fn next_timer(&self, now: Instant) -> Option<Instant> {
        let start = Instant::ZERO + self.script.client_after;
        let waiting_to_dial = (now < start
            && self.others().any(|i| self.clients[i] == Client::Closed))
        .then_some(start);
        self.clients
            .iter()
            .filter_map(|c| match c {
                Client::Open {
                    waiting: false,
                    next,
                    ..
                } => Some(*next),
                _ => None,
            })
            .chain(waiting_to_dial)
            .min()
    }
}

/// Our node, driven the way the ceremony drives its sync machine.
struct Ours {
    sync: SyncNode,
    events: Vec<SyncEvent>,
}

impl Ours {
    fn collect(&mut self, now: Instant) {
        while let Some(e) = self.sync.poll_event() {
            match &e {
                SyncEvent::AllConnected => {
                    self.sync.next_step(now);
                }
                SyncEvent::StepReached { step } if *step < 7 => {
                    self.sync.next_step(now);
                }
                SyncEvent::StepReached { step: 7 } => {
                    self.sync.begin_shutdown(now);
                }
                _ => {}
            }
            self.events.push(e);
        }
    }

    fn failure(&self) -> Option<&SyncError> {
        self.events.iter().find_map(|e| match e {
            SyncEvent::Failed(err) => Some(err),
            _ => None,
        })
    }

    fn done(&self) -> bool {
        self.events.contains(&SyncEvent::ShutdownComplete)
    }
}

enum Node {
    Ours(Box<Ours>),
    Charon(Box<Charon>),
}

struct Net {
    now: Instant,
    nodes: Vec<Node>,
    /// Open client streams (client, server).
    streams: BTreeSet<(usize, usize)>,
    queue: VecDeque<(usize, SyncTransmit)>,
}

impl Net {
    /// Node i is ours when `charon[i]` is `None`. `ours` configures our nodes.
    fn new(charon: &[Option<Script>], ours: impl Fn(SyncConfig) -> SyncConfig) -> Net {
        let n = charon.len();
        let peers: Vec<_> = (0..n).map(|i| key(i).public_key()).collect();
        let now = Instant::ZERO;
        let nodes = charon
            .iter()
            .enumerate()
            .map(|(i, c)| match c {
                Some(script) => Node::Charon(Box::new(Charon::new(script.clone(), i, n, now))),
                None => {
                    let cfg = ours(SyncConfig {
                        profile: &V1_10,
                        alternatives: Vec::new(),
                        definition_hash: HASH.to_vec(),
                        peers: peers.clone(),
                        me: p(i),
                        nickname: format!("dkgd-{i}"),
                        unix_time_at_origin: Duration::from_secs(1_780_000_000),
                        timers: Default::default(),
                    });
                    Node::Ours(Box::new(Ours {
                        sync: SyncNode::new(cfg, &key(i), now),
                        events: Vec::new(),
                    }))
                }
            })
            .collect();
        let mut net = Net {
            now,
            nodes,
            streams: BTreeSet::new(),
            queue: VecDeque::new(),
        };
        for i in 0..n {
            net.on(i, |node, now| match node {
                Node::Charon(c) => c.timeout(now),
                Node::Ours(_) => {}
            });
        }
        net
    }

    fn on(&mut self, i: usize, f: impl FnOnce(&mut Node, Instant)) {
        let now = self.now;
        let node = &mut self.nodes[i];
        f(node, now);
        match node {
            Node::Ours(o) => {
                o.collect(now);
                while let Some(t) = o.sync.poll_transmit() {
                    self.queue.push_back((i, t));
                }
                o.collect(now);
            }
            Node::Charon(c) => {
                c.progress(now);
                while let Some(t) = c.out.pop_front() {
                    self.queue.push_back((i, t));
                }
            }
        }
    }

    fn pump(&mut self) {
        while let Some((a, t)) = self.queue.pop_front() {
            match t {
                SyncTransmit::Open { to } => {
                    let b = to.as_usize();
                    self.streams.insert((a, b));
                    // The accepting side learns of the stream first (as the driver reports it).
                    self.on(b, |node, now| {
                        if let Node::Ours(o) = node {
                            o.sync.handle_inbound_opened(now, p(a));
                        }
                    });
                    self.on(a, |node, now| match node {
                        Node::Ours(o) => o.sync.handle_opened(now, to),
                        Node::Charon(c) => c.opened(now, b),
                    });
                }
                SyncTransmit::Write { to, side, frame } => {
                    let b = to.as_usize();
                    let stream = match side {
                        Side::Client => (a, b),
                        Side::Server => (b, a),
                    };
                    if !self.streams.contains(&stream) {
                        continue;
                    }
                    let m = body(&frame);
                    self.on(b, |node, now| match (node, side) {
                        (Node::Ours(o), Side::Client) => {
                            o.sync.handle_frame(now, p(a), Side::Server, &m)
                        }
                        (Node::Ours(o), Side::Server) => {
                            o.sync.handle_frame(now, p(a), Side::Client, &m)
                        }
                        (Node::Charon(c), Side::Client) => c.server_frame(a, &m),
                        (Node::Charon(c), Side::Server) => c.client_frame(now, a, &m),
                    });
                }
                SyncTransmit::Close { to, side } => {
                    let b = to.as_usize();
                    let (stream, other) = match side {
                        Side::Client => ((a, b), Side::Server),
                        Side::Server => ((b, a), Side::Client),
                    };
                    if self.streams.remove(&stream) {
                        self.on(b, |node, now| match node {
                            Node::Ours(o) => o.sync.handle_closed(now, p(a), other),
                            Node::Charon(c) => c.closed(now, a, other),
                        });
                    }
                }
            }
        }
    }

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
                .filter_map(|n| match n {
                    Node::Ours(o) => o.sync.poll_timeout(),
                    Node::Charon(c) => c.next_timer(self.now),
                })
                .min();
            match next {
                Some(t) if t <= end => {
                    self.now = self.now.max(t);
                    for i in 0..self.nodes.len() {
                        self.on(i, |node, now| match node {
                            Node::Ours(o) => o.sync.handle_timeout(now),
                            Node::Charon(c) => c.timeout(now),
                        });
                    }
                }
                _ => return false,
            }
        }
    }

    fn ours(&self, i: usize) -> &Ours {
        match &self.nodes[i] {
            Node::Ours(o) => o,
            Node::Charon(_) => panic!("node {i} is scripted"),
        }
    }

    fn charon(&self, i: usize) -> &Charon {
        match &self.nodes[i] {
            Node::Charon(c) => c,
            Node::Ours(_) => panic!("node {i} is ours"),
        }
    }

    fn all_finished(&self) -> bool {
        self.nodes.iter().all(|n| match n {
            Node::Ours(o) => o.done() || o.failure().is_some(),
            Node::Charon(c) => c.phase == Step::Done || c.fatal.is_some(),
        })
    }
}

fn charon(version: &'static str) -> Option<Script> {
    Some(Script {
        version,
        answer_error: None,
        legacy_shutdown: false,
        client_after: Duration::ZERO,
    })
}

fn fixed(profile: &'static Profile) -> impl Fn(SyncConfig) -> SyncConfig {
    move |mut c| {
        c.profile = profile;
        c
    }
}

/// `--compat auto` with the definition's default v1.10 (every profile accepts v1.10).
fn auto(mut c: SyncConfig) -> SyncConfig {
    c.profile = &V1_10;
    c.alternatives = ALL.iter().copied().filter(|p| p.name != "v1.11").collect();
    c
}

/// Runs the whole sync sequence; asserts every node finished without an error.
fn completes(net: &mut Net) {
    assert!(
        net.run_until(Duration::from_secs(30), Net::all_finished),
        "not finished in 30 s"
    );
    for i in 0..net.nodes.len() {
        match &net.nodes[i] {
            Node::Ours(o) => {
                assert_eq!(o.failure(), None, "our node {i}");
                assert!(o.done(), "our node {i} did not complete its shutdown");
            }
            Node::Charon(c) => {
                assert_eq!(c.fatal, None, "charon node {i}");
                assert_eq!(c.phase, Step::Done, "charon node {i}");
            }
        }
    }
}

#[test]
fn v1_7_to_v1_9_peers_end_without_the_shutdown_ready_step() {
    for (profile, version) in [
        (&V1_7, "v1.7"),
        (&dkgd_ceremony::wire::profile::V1_8, "v1.8"),
        (&V1_9, "v1.9"),
    ] {
        let mut net = Net::new(
            &[None, charon(version), None, charon(version)],
            fixed(profile),
        );
        completes(&mut net);
        assert_eq!(
            net.ours(0).sync.step(),
            7,
            "{version}: no step 8 before v1.10"
        );
        // What the charon node saw from us: step 7 at most, and our shutdown at step 7.
        let seen = &net.charon(1).seen;
        assert!(seen.iter().all(|(_, v, s, _)| v == version && *s <= 7));
        assert!(seen
            .iter()
            .any(|(from, _, s, shut)| *from == 0 && *s == 7 && *shut));
    }
}

#[test]
fn v1_10_and_v1_11_peers_run_the_shutdown_ready_step() {
    for (profile, version) in [(&V1_10, "v1.10"), (&V1_11, "v1.11")] {
        let mut net = Net::new(
            &[charon(version), None, None, charon(version)],
            fixed(profile),
        );
        completes(&mut net);
        assert_eq!(net.ours(1).sync.step(), 8);
        let seen = &net.charon(0).seen;
        assert!(seen.iter().any(|(_, _, s, shut)| *s == 8 && *shut));
    }
}

#[test]
fn a_peer_that_ends_at_the_post_write_step_is_done_not_missing() {
    // A peer announcing v1.10 but ending as v1.9 does: its shutdown at step 7 means done.
    let legacy = Script {
        legacy_shutdown: true,
        ..charon("v1.10").unwrap()
    };
    let mut net = Net::new(&[None, None, Some(legacy)], fixed(&V1_10));
    completes(&mut net);
    for i in [0, 1] {
        assert!(net
            .ours(i)
            .events
            .contains(&SyncEvent::PeerSkippedShutdownReady { peer: p(2) }));
    }
}

#[test]
fn auto_listens_first_and_switches_to_the_peers_version() {
    let mut net = Net::new(&[None, charon("v1.7"), charon("v1.7"), None], auto);
    completes(&mut net);
    for i in [0, 3] {
        let o = net.ours(i);
        assert!(o.events.contains(&SyncEvent::ProfileSwitched {
            from: &V1_10,
            to: &V1_7
        }));
        assert_eq!(o.sync.profile().name, "v1.7");
        assert_eq!(o.sync.step(), 7);
    }
    // A charon node never saw a version it would have refused.
    for i in [1, 2] {
        assert!(net.charon(i).seen.iter().all(|(_, v, _, _)| v == "v1.7"));
    }
}

#[test]
fn auto_among_dkgd_nodes_keeps_the_default_after_the_grace() {
    let mut net = Net::new(&[None, None, None], auto);
    completes(&mut net);
    // Silent inbound streams tell listening dkgd peers apart: no need for the 3 s grace.
    assert!(
        net.now < Instant::ZERO + Duration::from_secs(2),
        "{:?}",
        net.now
    );
    for i in 0..3 {
        assert_eq!(net.ours(i).sync.profile().name, "v1.10");
        assert_eq!(net.ours(i).sync.step(), 8);
    }
}

#[test]
fn auto_stops_when_peers_disagree_naming_who_speaks_what() {
    let mut net = Net::new(&[None, charon("v1.7"), charon("v1.9")], auto);
    net.run_until(Duration::from_secs(10), |net| {
        net.ours(0).failure().is_some()
    });
    let err = net.ours(0).failure().cloned().expect("failure");
    assert!(matches!(err, SyncError::PeersDisagree { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("operator 1: v1.7") && text.contains("operator 2: v1.9"),
        "{text}"
    );
    // We never sent either charon node a version it refuses (they refuse each other).
    for i in [1, 2] {
        let me = net.charon(i).script.version;
        assert!(net
            .charon(i)
            .seen
            .iter()
            .all(|(from, v, _, _)| *from != 0 || v == me));
    }
}

#[test]
fn fixed_profile_names_the_peer_and_answers_with_charons_text() {
    let mut net = Net::new(&[None, charon("v1.7")], fixed(&V1_10));
    net.run_until(Duration::from_secs(5), |net| {
        net.ours(0).failure().is_some()
    });
    let err = net.ours(0).failure().cloned().expect("failure");
    assert!(err.to_string().contains("v1.7"), "{err}");
    // The charon node read our version from charon's own wording and aborted.
    let fatal = net.charon(1).fatal.clone().unwrap_or_default();
    assert!(
        fatal.contains("mismatching charon version; expect=v1.7, got=v1.10"),
        "{fatal}"
    );
}

#[test]
fn charon_error_strings_from_a_peer_abort_naming_it() {
    let script = Script {
        version: "v1.10",
        answer_error: Some("invalid definition hash signature"),
        ..charon("v1.10").unwrap()
    };
    let mut net = Net::new(&[None, None, Some(script)], fixed(&V1_10));
    net.run_until(Duration::from_secs(5), |net| {
        net.ours(0).failure().is_some()
    });
    let err = net.ours(0).failure().cloned().expect("failure");
    assert_eq!(err.peer(), Some(p(2)), "{err}");
    assert!(
        err.to_string()
            .contains("invalid definition hash signature"),
        "{err}"
    );
}

#[test]
fn auto_reads_a_rejection_as_the_peers_version() {
    // The charon node cannot dial us for 10 s, so our grace runs out and we speak v1.10 to
    // it; its server answers with charon's mismatch text, which we read as its version.
    let late = Script {
        client_after: Duration::from_secs(10),
        ..charon("v1.7").unwrap()
    };
    let mut net = Net::new(&[None, Some(late)], auto);
    net.run_until(Duration::from_secs(8), |net| {
        net.ours(0).sync.profile().name == "v1.7"
    });
    let o = net.ours(0);
    assert_eq!(o.failure(), None);
    assert_eq!(o.sync.profile().name, "v1.7");
    assert!(o.events.contains(&SyncEvent::PeerVersion {
        peer: p(1),
        version: "v1.7".into()
    }));
    // That charon node aborted, as charon does on a mismatch: its operator restarts it.
    assert!(net.charon(1).fatal.is_some());
}

#[test]
fn auto_does_not_count_a_peer_accepted_under_the_old_version() {
    // (The race itself is timing-dependent; daemon/dkgd/tests/conformance.rs hit it over real
    // sockets.) The charon v1.7 node speaks after 1 s; the dkgd nodes, not having heard each other,
    // speak v1.10 to each other when their grace ends (3 s) and accept each other under
    // v1.10. Whoever then switches first must wait for the others to speak v1.7 before
    // "all connected", or their late v1.10 messages hit it at step 1.
    let late = Script {
        client_after: Duration::from_secs(1),
        ..charon("v1.7").unwrap()
    };
    let mut net = Net::new(&[None, None, None, Some(late)], auto);
    completes(&mut net);
    for i in 0..3 {
        assert_eq!(net.ours(i).sync.profile().name, "v1.7");
    }
}
