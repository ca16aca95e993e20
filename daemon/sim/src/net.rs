//! The in-memory network: N ceremonies, one queue, a virtual clock.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use dkgd_ceremony::sync::{Side, SyncTransmit};
use dkgd_ceremony::wire::{FrameDecoder, Framing, InboundId, Instant, Profile, TransmitKind};
use dkgd_ceremony::{
    Artifacts, Ceremony, CeremonyConfig, CeremonyError, Error, Event, Outgoing, PeerIdx, Plan,
    Stream,
};
use dkgd_crypto::k1::K1SecretKey;
use dkgd_crypto::keystore::KdfStrength;
use dkgd_formats::definition::Definition;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::Mutator;

/// Deliveries, commits and timer jumps after which [`Net::run_until`] calls it a livelock.
pub const MAX_STEPS: usize = 2_000_000;

/// The text a node that cannot stage reports (a full disk at commit).
const NO_SPACE: &str = "No space left on device (os error 28)";

/// N ceremonies exchanging frames in memory (see the crate docs). Fields are public so that a
/// test can mute a node, make one unable to stage, or look at what each node saw.
pub struct Net {
    /// The virtual clock.
    pub now: Instant,
    /// The nodes, by operator index.
    pub nodes: Vec<Ceremony>,
    /// Every event each node emitted, in order.
    pub events: Vec<Vec<Event>>,
    queue: VecDeque<(usize, Outgoing)>,
    /// Open sync client streams (client, server).
    streams: BTreeSet<(usize, usize)>,
    /// Inbound request streams awaiting an answer: id → requester.
    pending: BTreeMap<u64, usize>,
    next_id: u64,
    /// Nodes whose frames are no longer delivered.
    pub muted: BTreeSet<usize>,
    to_commit: VecDeque<usize>,
    to_publish: VecDeque<usize>,
    /// Nodes whose staging fails (a full or read-only disk at commit).
    pub cannot_stage: BTreeSet<usize>,
    /// Frames from `.0` to `.1` pass through this mutator.
    pub tamper: Option<(usize, usize, Box<dyn Mutator>)>,
    /// Sequence numbers of stagings, publications and `Done` events, to check the barriers.
    seq: u64,
    /// When each node staged (its `handle_commit(Ok)`).
    pub committed_at: Vec<Option<u64>>,
    /// When each node published (its `handle_published(Ok)`).
    pub published_at: Vec<Option<u64>>,
    /// When each node reported `Done`.
    pub done_at: Vec<Option<u64>>,
}

/// The sim's ceremony settings: charon's defaults with short bounds and the insecure KDF.
pub fn config() -> CeremonyConfig {
    let mut c = CeremonyConfig::new(KdfStrength::InsecureTestOnly);
    c.step_timeout = Duration::from_secs(3);
    c.sig_request_timeout = Duration::from_secs(2);
    c.connect_timeout = Some(Duration::from_secs(5));
    c
}

fn peer(i: usize) -> PeerIdx {
    // Node indices come from the definition's operator list, far below PeerIdx's range.
    PeerIdx::from_usize(i).unwrap_or_else(|| unreachable!("operator index {i}"))
}

/// The body inside a complete frame the machine produced (the machines frame their own output).
fn body(framing: Framing, frame: &[u8]) -> Vec<u8> {
    let mut d = FrameDecoder::new(framing);
    d.push(frame);
    match (d.poll_frame(), d.finish()) {
        (Ok(Some(b)), Ok(())) => b,
        other => unreachable!("a machine wrote a bad frame: {other:?}"),
    }
}

impl Net {
    /// Node `i` runs with `defs[i]` and `profiles[i]`, its RNG seeded from `seed` and `i`,
    /// with the sim's [`config`].
    pub fn new(
        ops: &[K1SecretKey],
        defs: &[Definition],
        profiles: &[&'static Profile],
        seed: u8,
    ) -> Result<Net, Error> {
        Self::with_config(ops, defs, profiles, seed, &config())
    }

    /// [`Net::new`] with other ceremony settings (e.g. the full-cost KDF, for the work bench).
    pub fn with_config(
        ops: &[K1SecretKey],
        defs: &[Definition],
        profiles: &[&'static Profile],
        seed: u8,
        cfg: &CeremonyConfig,
    ) -> Result<Net, Error> {
        let n = ops.len();
        let mut nodes = Vec::with_capacity(n);
        for (i, (op, (def, profile))) in ops.iter().zip(defs.iter().zip(profiles)).enumerate() {
            let plan = Plan::new(def.clone(), &op.public_key())?;
            let id = Arc::new(K1SecretKey::from_bytes(&op.expose_secret()).map_err(|_| {
                Error::InvalidInput {
                    what: "operator key",
                    why: "does not round-trip",
                }
            })?);
            let salt = u8::try_from(i % 256).unwrap_or(0);
            let rng = ChaCha20Rng::from_seed([seed.wrapping_add(salt); 32]);
            let c = Ceremony::new(plan, id, profile, cfg.clone(), Box::new(rng), Instant::ZERO)?;
            nodes.push(c);
        }
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
        Ok(net)
    }

    /// Runs `f` on node `i`, then its off-loop work, then collects its output.
    fn with(&mut self, i: usize, f: impl FnOnce(&mut Ceremony, Instant)) {
        let now = self.now;
        let Some(node) = self.nodes.get_mut(i) else {
            return;
        };
        f(node, now);
        // The driver's off-loop work, run inline here (the virtual clock does not move).
        while let Some(w) = node.poll_work() {
            let done = w.run();
            node.handle_work_done(now, done);
        }
        while let Some(t) = node.poll_transmit() {
            self.queue.push_back((i, t));
        }
        while let Some(e) = node.poll_event() {
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
                let (stream, rx) = sync_stream(a, b, side);
                if self.muted.contains(&a) || !self.streams.contains(&stream) {
                    return;
                }
                let Some(node) = self.nodes.get(b) else {
                    return;
                };
                let proto = node.profile().sync_protocol;
                let body = self.maybe_tamper(a, b, proto, body(Framing::SYNC, &frame));
                self.with(b, |c, now| c.handle_frame(now, peer(a), proto, rx, &body));
            }
            Outgoing::Sync(SyncTransmit::Close { to, side }) => {
                let b = to.as_usize();
                let (stream, rx) = sync_stream(a, b, side);
                if self.streams.remove(&stream) {
                    let Some(node) = self.nodes.get(b) else {
                        return;
                    };
                    let proto = node.profile().sync_protocol;
                    self.with(b, |c, now| c.handle_closed(now, peer(a), proto, rx));
                }
            }
            Outgoing::Stream(t) => {
                if self.muted.contains(&a) {
                    return;
                }
                let b = t.to.as_usize();
                let body = self.maybe_tamper(a, b, t.protocol, body(Framing::DELIMITED, &t.frame));
                let stream = match t.kind {
                    TransmitKind::Request | TransmitKind::OneWay => {
                        self.next_id += 1;
                        if t.kind == TransmitKind::Request {
                            self.pending.insert(self.next_id, a);
                        }
                        Stream::Inbound(InboundId(self.next_id))
                    }
                    TransmitKind::Response(InboundId(id)) => {
                        let requester = self.pending.remove(&id);
                        assert_eq!(requester, Some(b), "an answer goes to its requester");
                        Stream::Outbound
                    }
                };
                self.with(b, |c, now| {
                    c.handle_frame(now, peer(a), t.protocol, stream, &body)
                });
            }
        }
    }

    fn maybe_tamper(&mut self, from: usize, to: usize, protocol: &str, body: Vec<u8>) -> Vec<u8> {
        match &mut self.tamper {
            Some((a, b, t)) if *a == from && *b == to => t.mutate(protocol, body),
            _ => body,
        }
    }

    /// Node `i` reported `Done` or `Aborted`.
    pub fn finished(&self, i: usize) -> bool {
        self.events.get(i).is_some_and(|events| {
            events
                .iter()
                .any(|e| matches!(e, Event::Done | Event::Aborted(_)))
        })
    }

    /// Delivers, commits, then jumps to the next deadline, until `done` holds (`true`) or
    /// nothing is left to do (`false`); panics on livelock.
    pub fn run_until(&mut self, done: impl Fn(&Net) -> bool) -> bool {
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
                    let err = Err(NO_SPACE.to_string());
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

    /// Runs until every node finished; `false` if the cluster stalled short of that.
    pub fn run(&mut self) -> bool {
        let n = self.nodes.len();
        self.run_until(|net| (0..n).all(|i| net.finished(i)))
    }

    /// The artifacts node `i` was asked to stage, if it got that far.
    pub fn artifacts(&self, i: usize) -> Option<&Artifacts> {
        self.events.get(i)?.iter().find_map(|e| match e {
            Event::NeedCommit(a) => Some(&**a),
            _ => None,
        })
    }

    /// Why node `i` aborted, if it did.
    pub fn abort(&self, i: usize) -> Option<&CeremonyError> {
        self.events.get(i)?.iter().find_map(|e| match e {
            Event::Aborted(e) => Some(e),
            _ => None,
        })
    }
}

/// The stream a sync frame travels on, as (client, server), and how the receiver sees it.
fn sync_stream(from: usize, to: usize, side: Side) -> ((usize, usize), Stream) {
    match side {
        Side::Client => ((from, to), Stream::Inbound(InboundId(0))),
        Side::Server => ((to, from), Stream::Outbound),
    }
}
