//! The in-memory network: N ceremonies, a virtual clock, links that keep their order.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use dkgd_ceremony::sync::SyncTransmit;
use dkgd_ceremony::wire::{Instant, Profile, ProtocolId};
use dkgd_ceremony::{Artifacts, Ceremony, CeremonyConfig, CeremonyError, Error, Event, Outgoing};
use dkgd_crypto::k1::K1SecretKey;
use dkgd_crypto::keystore::KdfStrength;
use dkgd_formats::definition::Definition;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::links::{Links, Route};
use crate::Mutator;

/// Deliveries, commits and timer jumps after which [`Net::run_until`] calls it a livelock.
pub const MAX_STEPS: usize = 2_000_000;

/// Something that happens to a node at a set time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The process dies: its connections close, nothing goes in or out, its timers stop.
    /// What it staged stays staged (it is on disk).
    Crash(usize),
    /// The process starts again from scratch (a fresh ceremony at step 0).
    Restart(usize),
}

/// How node `i` is built, and built again after a restart.
struct Spec {
    def: Definition,
    identity: Arc<K1SecretKey>,
    profile: &'static Profile,
    cfg: CeremonyConfig,
    seed: [u8; 32],
}

impl Spec {
    fn build(&self, restarts: u8, now: Instant) -> Result<Ceremony, Error> {
        let plan = dkgd_ceremony::Plan::new(self.def.clone(), &self.identity.public_key())?;
        let mut seed = self.seed;
        seed[31] = seed[31].wrapping_add(restarts);
        let rng = ChaCha20Rng::from_seed(seed);
        let id = Arc::clone(&self.identity);
        Ceremony::new(plan, id, self.profile, self.cfg.clone(), Box::new(rng), now)
    }
}

/// N ceremonies exchanging frames in memory (see the crate docs). Fields are public so that a
/// test can mute or crash a node, make one unable to stage, or look at what each node saw.
pub struct Net {
    /// The virtual clock.
    pub now: Instant,
    /// The nodes, by operator index.
    pub nodes: Vec<Ceremony>,
    /// Every event each node emitted since it last (re)started, in order.
    pub events: Vec<Vec<Event>>,
    /// What the machines wrote, not yet routed.
    pub(crate) queue: VecDeque<(usize, Outgoing)>,
    /// Routed transmits waiting for their arrival time, in (time, order) order.
    in_flight: BTreeMap<(Instant, u64), (usize, Outgoing)>,
    /// Per directed link, when its latest routed transmit arrives: links keep their order.
    link_busy: BTreeMap<(usize, usize), Instant>,
    pub(crate) order: u64,
    /// Open sync client streams (client, server).
    pub(crate) streams: BTreeSet<(usize, usize)>,
    /// Inbound request streams awaiting an answer: id → (requester, responder, protocol).
    pub(crate) pending: BTreeMap<u64, (usize, usize, ProtocolId)>,
    pub(crate) next_id: u64,
    /// Inbound ids of requests the links sent twice: nobody awaits their answers.
    pub(crate) ghosts: BTreeSet<u64>,
    /// In-flight orders of such copies, and whether the one being delivered is one.
    ghost_orders: BTreeSet<u64>,
    pub(crate) delivering_ghost: bool,
    /// Nodes whose frames are no longer delivered (a hung process).
    pub muted: BTreeSet<usize>,
    /// Crashed nodes (see [`Action::Crash`]).
    pub crashed: BTreeSet<usize>,
    /// Crashes and restarts to come, by time.
    pub schedule: Vec<(Instant, Action)>,
    /// Latency, loss and duplication of frames; `None`: instant and reliable.
    pub links: Option<Box<dyn Links>>,
    to_commit: VecDeque<usize>,
    to_publish: VecDeque<usize>,
    /// Nodes whose staging fails (a full or read-only disk at commit).
    pub cannot_stage: BTreeSet<usize>,
    /// Frames from `.0` to `.1` pass through this mutator.
    pub tamper: Option<(usize, usize, Box<dyn Mutator>)>,
    /// Sequence numbers of stagings, publications and `Done` events, to check the barriers.
    seq: u64,
    /// When each node staged (its `handle_commit(Ok)`); kept across a restart, like the disk.
    pub committed_at: Vec<Option<u64>>,
    /// When each node published (its `handle_published(Ok)`).
    pub published_at: Vec<Option<u64>>,
    /// When each node reported `Done`.
    pub done_at: Vec<Option<u64>>,
    /// The lock each node staged, kept across a restart.
    pub staged_locks: Vec<Option<Vec<u8>>>,
    /// How often each node restarted.
    pub restarts: Vec<u8>,
    specs: Vec<Spec>,
}

/// The sim's ceremony settings: charon's defaults with short bounds and the insecure KDF.
pub fn config() -> CeremonyConfig {
    let mut c = CeremonyConfig::new(KdfStrength::InsecureTestOnly);
    c.step_timeout = Duration::from_secs(3);
    c.sig_request_timeout = Duration::from_secs(2);
    c.connect_timeout = Some(Duration::from_secs(5));
    c
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
        let mut specs = Vec::with_capacity(n);
        for (i, (op, (def, profile))) in ops.iter().zip(defs.iter().zip(profiles)).enumerate() {
            let identity =
                Arc::new(K1SecretKey::from_bytes(&op.expose_secret()).map_err(|_| {
                    Error::InvalidInput {
                        what: "operator key",
                        why: "does not round-trip",
                    }
                })?);
            let salt = u8::try_from(i % 256).unwrap_or(0);
            let spec = Spec {
                def: def.clone(),
                identity,
                profile,
                cfg: cfg.clone(),
                seed: [seed.wrapping_add(salt); 32],
            };
            nodes.push(spec.build(0, Instant::ZERO)?);
            specs.push(spec);
        }
        let mut net = Net {
            now: Instant::ZERO,
            nodes,
            events: (0..n).map(|_| Vec::new()).collect(),
            queue: VecDeque::new(),
            in_flight: BTreeMap::new(),
            link_busy: BTreeMap::new(),
            order: 0,
            streams: BTreeSet::new(),
            pending: BTreeMap::new(),
            next_id: 0,
            ghosts: BTreeSet::new(),
            ghost_orders: BTreeSet::new(),
            delivering_ghost: false,
            muted: BTreeSet::new(),
            crashed: BTreeSet::new(),
            schedule: Vec::new(),
            links: None,
            to_commit: VecDeque::new(),
            to_publish: VecDeque::new(),
            cannot_stage: BTreeSet::new(),
            tamper: None,
            seq: 0,
            committed_at: vec![None; n],
            published_at: vec![None; n],
            done_at: vec![None; n],
            staged_locks: vec![None; n],
            restarts: vec![0; n],
            specs,
        };
        for i in 0..n {
            net.with(i, |_, _| {});
        }
        Ok(net)
    }

    /// Runs `f` on node `i` (unless it crashed), then its off-loop work, then collects its
    /// output.
    pub(crate) fn with(&mut self, i: usize, f: impl FnOnce(&mut Ceremony, Instant)) {
        let now = self.now;
        if self.crashed.contains(&i) {
            return;
        }
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
                Event::NeedCommit(a) => {
                    self.staged_locks[i] = Some(a.lock_json.clone());
                    self.to_commit.push_back(i);
                }
                Event::NeedPublish => self.to_publish.push_back(i),
                Event::Done => self.done_at[i] = Some(self.seq),
                _ => {}
            }
            self.events[i].push(e);
        }
    }

    /// Puts one machine output on its link: now, or at the time the links say, never before
    /// an earlier transmit on the same link.
    fn route(&mut self, a: usize, t: Outgoing) {
        let (b, frame) = match &t {
            Outgoing::Sync(SyncTransmit::Write { to, .. }) => (to.as_usize(), true),
            Outgoing::Sync(SyncTransmit::Open { to } | SyncTransmit::Close { to, .. }) => {
                (to.as_usize(), false)
            }
            Outgoing::Stream(s) => (s.to.as_usize(), true),
        };
        let route = match (&mut self.links, frame) {
            (Some(links), true) => links.route(self.now, a, b),
            _ => Route::Deliver(Duration::ZERO),
        };
        match route {
            Route::Deliver(after) => self.schedule_on_link(a, b, t, after, false),
            Route::Lose => self.lose(a, t),
            Route::Twice(after) => {
                let copy = Net::duplicate(&t);
                self.schedule_on_link(a, b, t, after, false);
                if let Some((copy, ghost)) = copy {
                    self.schedule_on_link(a, b, copy, after, ghost);
                }
            }
        }
    }

    fn schedule_on_link(&mut self, a: usize, b: usize, t: Outgoing, after: Duration, ghost: bool) {
        let busy = self.link_busy.get(&(a, b)).copied();
        let at = busy.map_or(self.now + after, |busy| busy.max(self.now + after));
        if at == self.now && busy.is_none_or(|busy| busy < self.now) {
            self.delivering_ghost = ghost;
            self.deliver(a, t);
            self.delivering_ghost = false;
            return;
        }
        self.link_busy.insert((a, b), at);
        self.order += 1;
        if ghost {
            self.ghost_orders.insert(self.order);
        }
        self.in_flight.insert((at, self.order), (a, t));
    }

    /// Delivers, commits, then jumps to the next deadline, arrival or scheduled action, until
    /// `done` holds (`true`) or nothing is left to do (`false`); panics on livelock.
    pub fn run_until(&mut self, done: impl Fn(&Net) -> bool) -> bool {
        for _ in 0..MAX_STEPS {
            // Checked before every delivery: with steps announced at once, a ceremony can
            // run from end to end without the queue ever draining.
            if done(self) {
                return true;
            }
            if let Some((a, t)) = self.queue.pop_front() {
                self.route(a, t);
                continue;
            }
            if let Some(entry) = self.in_flight.first_entry() {
                if entry.key().0 <= self.now {
                    let order = entry.key().1;
                    let (a, t) = entry.remove();
                    self.delivering_ghost = self.ghost_orders.remove(&order);
                    self.deliver(a, t);
                    self.delivering_ghost = false;
                    continue;
                }
            }
            if let Some(i) = self.to_commit.pop_front() {
                self.commit(i);
                continue;
            }
            if let Some(i) = self.to_publish.pop_front() {
                if !self.crashed.contains(&i) {
                    self.seq += 1;
                    self.published_at[i] = Some(self.seq);
                    self.with(i, |c, now| c.handle_published(now, Ok(())));
                }
                continue;
            }
            if done(self) {
                return true;
            }
            let timers = (0..self.nodes.len())
                .filter(|i| !self.crashed.contains(i))
                .filter_map(|i| self.nodes.get(i).and_then(Ceremony::poll_timeout));
            let arrivals = self.in_flight.keys().next().map(|k| k.0);
            let actions = self.schedule.iter().map(|(t, _)| *t);
            let Some(next) = timers.chain(arrivals).chain(actions).min() else {
                return false;
            };
            self.now = self.now.max(next);
            self.run_actions();
            for i in 0..self.nodes.len() {
                if self.nodes[i].poll_timeout().is_some_and(|t| t <= self.now) {
                    self.with(i, |c, now| c.handle_timeout(now));
                }
            }
        }
        panic!("livelock: no end after {MAX_STEPS} steps");
    }

    fn commit(&mut self, i: usize) {
        if self.crashed.contains(&i) {
            return;
        }
        if self.cannot_stage.contains(&i) {
            // A full disk at commit (ENOSPC).
            let err = Err(std::io::Error::from_raw_os_error(28).into());
            return self.with(i, |c, now| c.handle_commit(now, err));
        }
        self.seq += 1;
        self.committed_at[i] = Some(self.seq);
        self.with(i, |c, now| c.handle_commit(now, Ok(())));
    }

    fn run_actions(&mut self) {
        let now = self.now;
        let (due, later): (Vec<_>, Vec<_>) = self.schedule.drain(..).partition(|(t, _)| *t <= now);
        self.schedule = later;
        for (_, action) in due {
            match action {
                Action::Crash(i) => self.crash(i),
                Action::Restart(i) => self.restart(i),
            }
        }
    }

    /// Starts crashed node `i` again from scratch.
    fn restart(&mut self, i: usize) {
        if !self.crashed.contains(&i) {
            self.crash(i);
        }
        let Some(count) = self.restarts.get_mut(i) else {
            return;
        };
        *count = count.saturating_add(1);
        let count = *count;
        let Some(node) = self
            .specs
            .get(i)
            .and_then(|s| s.build(count, self.now).ok())
        else {
            return;
        };
        self.nodes[i] = node;
        self.crashed.remove(&i);
        self.events[i].clear();
        self.done_at[i] = None;
        self.with(i, |_, _| {});
    }

    /// Node `i` reported `Done` or `Aborted` (a crashed node counts as finished).
    pub fn finished(&self, i: usize) -> bool {
        self.crashed.contains(&i)
            || self.events.get(i).is_some_and(|events| {
                events
                    .iter()
                    .any(|e| matches!(e, Event::Done | Event::Aborted(_)))
            })
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
