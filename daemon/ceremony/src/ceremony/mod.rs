//! The whole ceremony of one node as a sans-IO state machine (style.md §1.1, §2): the driver
//! feeds streams, frames and timer expiries in, and drains transmits, events and the next
//! deadline out. It composes [`SyncNode`] (connections, versions, step barriers), [`Bcast`]
//! (reliable broadcast) and the steps of [`crate::steps`], in charon's order
//! (charon-dkg-protocol.md §1.11).
//!
//! After every input (`handle_*`), drain [`Ceremony::poll_transmit`] and
//! [`Ceremony::poll_event`], then re-arm the timer from [`Ceremony::poll_timeout`].
//!
//! ```text
//!  connect ─b1─▶ dkg ─b2─▶ deposits ─b3─▶ registrations ─b4─▶ lock hash ─b5─▶ node sigs
//!    ─b6─▶ verify ─▶ NeedCommit (stage) … handle_commit ─b7 (all staged)─▶ NeedPublish …
//!    handle_published ─▶ shutdown (b8) ─▶ Done
//! ```
//! `bk` is the sync barrier of step k: nobody starts step k before every peer reported k.
//! Artifacts leave only after every signature verified; they are published only after every
//! peer reported them staged (so a node that cannot write keeps every node from publishing,
//! issue 12 §1); `Done` means every peer committed.

pub(crate) mod types;
pub(crate) mod work;

use std::collections::VecDeque;
use std::fmt;
use std::mem;
use std::sync::Arc;
use std::time::Duration;

use dkgd_crypto::k1::K1SecretKey;
use dkgd_crypto::keystore::KdfStrength;
use rand_core::CryptoRngCore;

use crate::bcast::{Bcast, BcastConfig, BcastEvent};
use crate::error::Error;
use crate::index::PeerIdx;
use crate::plan::Plan;
use crate::step::Step;
use crate::steps::deposits::ThresholdStep;
use crate::steps::dkg::DkgStep;
use crate::steps::lock::LockStep;
use crate::steps::nodesigs::NodeSigStep;
use crate::steps::{commit, connect, registrations, Core, Inbox};
use crate::sync::{Side, SyncConfig, SyncEvent, SyncNode};
use crate::wire::proto::ParSigExMsg;
use crate::wire::{decode, Instant, Profile, ProtocolId};

pub use types::{CeremonyConfig, CeremonyError, ErrorKind, Event, LocalCause, Outgoing, Stream};
pub use work::{Work, WorkDone};

/// The least time the post-write barrier (step 7) waits for peers to write their artifacts.
const POST_WRITE_BOUND: Duration = Duration::from_secs(600);

/// Where the ceremony is.
enum State {
    Connect,
    Dkg(DkgStep),
    /// `ThresholdStep::step` says deposits or registrations.
    Threshold(ThresholdStep),
    Lock(LockStep),
    NodeSigs(NodeSigStep),
    /// Step 6 waits for its barrier.
    Verify(Box<crate::steps::nodesigs::Signed>),
    /// Step 6's barrier passed; our keystores are still being encrypted (driver work).
    AwaitKeystores(Box<crate::steps::nodesigs::Signed>),
    /// The driver verifies the lock and renders the artifacts.
    Rendering,
    /// Artifacts handed out to be staged; waiting for `handle_commit`.
    Commit,
    /// Staged; barrier 7 (every peer staged or, for charon, wrote).
    Committed,
    /// Every peer staged; waiting for `handle_published`.
    Publishing,
    /// Shutdown handshake.
    Shutdown,
    Finished,
    /// A transition of the state in this step failed: the ceremony aborts, and still says
    /// which step it was in.
    Failed(Step),
}

/// One node's ceremony (see the module docs).
pub struct Ceremony {
    core: Core,
    sync: SyncNode,
    state: State,
    /// The sync step whose barrier must pass before `state` starts.
    barrier: Option<u64>,
    deadline: Option<Instant>,
    phase_timeout: Duration,
    last_progress: Option<(Step, usize, usize)>,
    stopped: bool,
    /// Our encrypted keystores, once the driver's work finished.
    keystores: Option<Vec<crate::artifacts::Keystore>>,
}

impl fmt::Debug for Ceremony {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ceremony")
            .field("me", &self.core.plan.me())
            .field("step", &self.step())
            .field("barrier", &self.barrier)
            .finish_non_exhaustive()
    }
}

impl Ceremony {
    /// Starts a ceremony for `plan` as the operator holding `identity`, speaking `profile`.
    /// All randomness comes from `rng` (seed it for deterministic runs).
    pub fn new(
        plan: Plan,
        identity: Arc<K1SecretKey>,
        profile: &'static Profile,
        cfg: CeremonyConfig,
        rng: Box<dyn CryptoRngCore + Send>,
        now: Instant,
    ) -> Result<Ceremony, Error> {
        if !profile.accepts_definition(plan.version()) {
            return Err(Error::InvalidInput {
                what: "profile",
                why: "this charon version does not accept the definition's version",
            });
        }
        if cfg.kdf == KdfStrength::InsecureTestOnly && plan.is_production_network() {
            return Err(Error::InvalidInput {
                what: "keystore KDF",
                why: "the insecure test KDF is refused on mainnet and gnosis",
            });
        }
        if plan.operator_enr(plan.me()).map(|e| e.public_key()) != Some(identity.public_key()) {
            return Err(Error::InvalidInput {
                what: "identity key",
                why: "not the key of the plan's operator",
            });
        }
        let mut sync_cfg = SyncConfig::new(&plan, profile, &cfg.nickname, cfg.unix_time_at_origin);
        sync_cfg.timers = cfg.sync_timers;
        if cfg.negotiate {
            sync_cfg = sync_cfg.negotiating(&plan);
        }
        let sync = SyncNode::new(sync_cfg, &identity, now);
        let mut bcast_cfg = BcastConfig::new(&plan, profile, identity.clone());
        bcast_cfg.sig_request_timeout = cfg.sig_request_timeout;
        let deadline = cfg.connect_timeout.map(|d| now + d);
        let phase_timeout = cfg.step_timeout;
        let mut c = Ceremony {
            core: Core {
                plan,
                identity,
                profile,
                cfg,
                rng,
                bcast: Bcast::new(bcast_cfg),
                inbox: Inbox::default(),
                out: VecDeque::new(),
                events: VecDeque::new(),
                work: VecDeque::new(),
                finished: None,
            },
            sync,
            state: State::Connect,
            barrier: None,
            deadline,
            phase_timeout,
            last_progress: None,
            stopped: false,
            keystores: None,
        };
        c.advance(now);
        Ok(c)
    }

    /// The compatibility profile spoken now (fixed once step 1 starts).
    pub fn profile(&self) -> &'static Profile {
        self.core.profile
    }

    /// The peer that answered our sync messages most slowly, and its worst round trip.
    pub fn slowest_sync_answer(&self) -> Option<(PeerIdx, Duration)> {
        self.core
            .others()
            .into_iter()
            .filter_map(|p| self.sync.max_rtt(p).map(|d| (p, d)))
            .max_by_key(|(_, d)| *d)
    }

    /// Every peer's last announced charon version, in operator order (`--compat auto`).
    pub fn peer_versions(&self) -> Vec<(PeerIdx, Option<String>)> {
        self.sync.peer_versions()
    }

    /// The step we are in (or waiting to start).
    pub fn step(&self) -> Step {
        match &self.state {
            State::Connect => Step::Connect,
            State::Dkg(_) => Step::Dkg,
            State::Threshold(t) => t.step,
            State::Lock(_) => Step::LockHash,
            State::NodeSigs(_) => Step::NodeSignatures,
            State::Verify(_) | State::AwaitKeystores(_) | State::Rendering | State::Commit => {
                Step::Verify
            }
            State::Committed | State::Publishing => Step::Committed,
            State::Shutdown | State::Finished => Step::Shutdown,
            State::Failed(step) => *step,
        }
    }

    /// Whom the current step or barrier waits for, each with whether it is connected right
    /// now (for the driver's periodic "still waiting" line). Empty when it waits for nobody.
    pub fn waiting_for(&self) -> Vec<(PeerIdx, bool)> {
        if self.stopped {
            return Vec::new();
        }
        let (missing, _, _) = self.waiting();
        missing
            .into_iter()
            .map(|p| (p, self.sync.is_peer_connected(p)))
            .collect()
    }

    /// Our sync stream to `peer` opened.
    pub fn handle_opened(&mut self, now: Instant, peer: PeerIdx) {
        if !self.stopped {
            self.sync.handle_opened(now, peer);
            self.advance(now);
        }
    }

    /// `peer` opened a sync stream to us (before any frame on it): lets version negotiation
    /// tell a listening dkgd peer from a charon peer, which writes at once.
    pub fn handle_inbound_sync(&mut self, now: Instant, peer: PeerIdx) {
        if !self.stopped && self.is_peer(peer) {
            self.sync.handle_inbound_opened(now, peer);
            self.advance(now);
        }
    }

    /// Our sync stream to `peer` could not be opened (it is retried with backoff).
    pub fn handle_open_failed(&mut self, now: Instant, peer: PeerIdx) {
        if !self.stopped {
            self.sync.handle_open_failed(now, peer);
            self.advance(now);
        }
    }

    /// A frame body (prefix removed) from `from` on `protocol`, on `stream`.
    pub fn handle_frame(
        &mut self,
        now: Instant,
        from: PeerIdx,
        protocol: ProtocolId,
        stream: Stream,
        body: &[u8],
    ) {
        if self.stopped {
            // After an abort our sync server still answers, with the reason (see
            // `SyncNode::abort`), while the driver lingers; nothing else is processed.
            if protocol == ProtocolId::Sync && stream.sync_side() == Side::Server {
                self.sync.handle_frame(now, from, Side::Server, body);
                while let Some(t) = self.sync.poll_transmit() {
                    self.core.out.push_back(Outgoing::Sync(t));
                }
            }
            return;
        }
        match protocol {
            ProtocolId::Sync => self.sync.handle_frame(now, from, stream.sync_side(), body),
            ProtocolId::BcastSig => match stream {
                Stream::Inbound(id) => self.core.bcast.handle_sig_request(now, from, id, body),
                Stream::Outbound => self.core.bcast.handle_sig_response(now, from, body),
            },
            ProtocolId::BcastMsg => self.core.bcast.handle_message(now, from, body),
            ProtocolId::FrostRound1P2p => {
                if !self.is_peer(from) {
                    return;
                }
                self.core
                    .inbox
                    .frost_p2p
                    .entry(from)
                    .or_insert_with(|| body.to_vec());
            }
            ProtocolId::Parsigex => {
                if let Err(e) = self.store_parsig(from, body) {
                    self.abort(e);
                }
            }
            // Served for charon's sake; it carries nothing the ceremony needs.
            ProtocolId::Peerinfo => {}
        }
        self.advance(now);
    }

    /// A stream with `peer` closed: sync streams are reopened; a bcast signature-request
    /// stream closing before its answer fails that broadcast.
    pub fn handle_closed(
        &mut self,
        now: Instant,
        peer: PeerIdx,
        protocol: ProtocolId,
        stream: Stream,
    ) {
        if self.stopped {
            return;
        }
        match protocol {
            ProtocolId::Sync => self.sync.handle_closed(now, peer, stream.sync_side()),
            ProtocolId::BcastSig if stream == Stream::Outbound => {
                self.core.bcast.handle_request_failed(now, peer);
            }
            _ => {}
        }
        self.advance(now);
    }

    /// A one-way frame to `peer` could not be delivered: the ceremony aborts naming it.
    pub fn handle_send_failed(&mut self, now: Instant, peer: PeerIdx, protocol: ProtocolId) {
        if !self.stopped {
            let step = self.step();
            self.abort(CeremonyError::SendFailed {
                peer,
                step,
                protocol: self.core.profile.id(protocol),
            });
            self.advance(now);
        }
    }

    /// Timers: sync pings and reconnects, bcast deadlines, step and barrier bounds.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.stopped {
            return;
        }
        self.sync.handle_timeout(now);
        self.core.bcast.handle_timeout(now);
        if self.deadline.is_some_and(|d| d <= now) {
            let (mut missing, _, _) = self.waiting();
            // A peer whose connection is down is the likelier cause of everyone's wait (the
            // others may be waiting for it too): it goes first, and is named the culprit.
            missing.sort_by_key(|p| self.sync.is_peer_connected(*p));
            let after = match self.state {
                State::Connect if self.barrier.is_none() => {
                    self.core.cfg.connect_timeout.unwrap_or_default()
                }
                State::Committed => self.phase_timeout.max(POST_WRITE_BOUND),
                _ => self.phase_timeout,
            };
            let step = self.step();
            let disconnected = self
                .core
                .others()
                .into_iter()
                .filter(|p| !self.sync.is_peer_connected(*p))
                .collect();
            self.abort(CeremonyError::TimedOut {
                step,
                missing,
                after,
                disconnected,
            });
        }
        self.advance(now);
    }

    /// The driver staged the artifacts of [`Event::NeedCommit`] (or failed to): on success our
    /// peers are told (sync step 7), and [`Event::NeedPublish`] follows once they all did.
    pub fn handle_commit(&mut self, now: Instant, result: Result<(), LocalCause>) {
        if self.stopped || !matches!(self.state, State::Commit) {
            return;
        }
        match result {
            Err(source) => self.abort(CeremonyError::Commit { source }),
            Ok(()) => {
                self.enter(now, State::Committed, Step::Committed);
                // Our artifacts are written; peers still writing theirs (a charon node
                // encrypts its keystores only now, minutes on a Pi at large V) are waited
                // for at least POST_WRITE_BOUND, whatever the step timeout: charon itself
                // waits here without bound. A peer that is gone is still caught by the
                // sync protocol's peer-loss bound.
                self.deadline = Some(now + self.phase_timeout.max(POST_WRITE_BOUND));
            }
        }
        self.advance(now);
    }

    /// The driver published the staged artifacts after [`Event::NeedPublish`] (or failed to).
    pub fn handle_published(&mut self, now: Instant, result: Result<(), LocalCause>) {
        if self.stopped || !matches!(self.state, State::Publishing) {
            return;
        }
        match result {
            Err(source) => self.abort(CeremonyError::Commit { source }),
            Ok(()) => {
                self.deadline = None;
                self.sync.begin_shutdown(now);
                self.state = State::Shutdown;
            }
        }
        self.advance(now);
    }

    /// The next thing to put on the network.
    pub fn poll_transmit(&mut self) -> Option<Outgoing> {
        self.core.out.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.core.events.pop_front()
    }

    /// CPU-heavy work to run off the event loop ([`Work::run`] on a blocking thread), then
    /// report with [`Ceremony::handle_work_done`]. Poll it with the transmits.
    pub fn poll_work(&mut self) -> Option<Work> {
        self.core.work.pop_front()
    }

    /// The driver finished a [`Work`].
    pub fn handle_work_done(&mut self, now: Instant, done: WorkDone) {
        if self.stopped {
            return;
        }
        match done.result {
            work::Done::Keystores(Ok(files)) => {
                self.keystores = Some(crate::artifacts::keystores_from(files));
            }
            work::Done::Keystores(Err(e)) => {
                let step = self.step();
                self.abort(CeremonyError::Ceremony {
                    step,
                    source: Error::Keystore(e),
                });
            }
            // A step's own work: the step picks it up when polled.
            other => self.core.finished = Some(other),
        }
        self.advance(now);
    }

    /// Hands the keystore encryption of `keys` to the driver (right after the DKG).
    fn schedule_keystores(&mut self, keys: &crate::steps::Keys) {
        let secrets = keys
            .dkg
            .keys()
            .iter()
            .map(|k| k.secret_share.expose_secret())
            .collect();
        let seed = self.core.seed();
        let production = self.core.plan.is_production_network();
        self.core.work.push_back(Work::keystores(
            secrets,
            self.core.cfg.kdf,
            production,
            seed,
        ));
    }

    /// When [`Ceremony::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.stopped {
            return None;
        }
        [
            self.sync.poll_timeout(),
            self.core.bcast.poll_timeout(),
            self.deadline,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn is_peer(&self, p: PeerIdx) -> bool {
        p != self.core.plan.me() && p.as_usize() < self.core.plan.num_operators()
    }

    /// Keeps a parsigex message until its exchange runs.
    fn store_parsig(&mut self, from: PeerIdx, body: &[u8]) -> Result<(), CeremonyError> {
        if !self.is_peer(from) {
            return Ok(());
        }
        let step = self.step();
        let protocol = self.core.profile.parsigex_protocol;
        let msg: ParSigExMsg = decode("ParSigExMsg", body)
            .map_err(|why| crate::steps::malformed(from, step, protocol, why))?;
        let slot = msg.duty.map_or(0, |d| d.slot);
        let amounts = crate::duties::deposit_amounts(self.core.plan.definition()).len();
        let known = slot == 101 || slot == 102 || (200..200 + amounts as u64).contains(&slot);
        if !known {
            return Err(CeremonyError::Unexpected {
                peer: from,
                step,
                what: "partial signatures for a duty this ceremony does not have",
            });
        }
        if self.core.inbox.parsig.contains_key(&(from, slot)) {
            return Err(CeremonyError::Unexpected {
                peer: from,
                step,
                what: "partial signatures for one duty twice",
            });
        }
        self.core.inbox.parsig.insert((from, slot), body.to_vec());
        Ok(())
    }

    /// Moves to the not-yet-started `state` of `phase` and raises our sync step.
    fn enter(&mut self, now: Instant, state: State, phase: Step) {
        self.state = state;
        let k = self.sync.next_step(now);
        debug_assert_eq!(k, phase.number());
        self.barrier = Some(k);
        self.deadline = Some(now + self.phase_timeout);
    }

    fn abort(&mut self, e: CeremonyError) {
        if !self.stopped {
            self.sync
                .abort(crate::sync::with_culprit(e.to_string(), e.culprit()));
            self.stopped = true;
            self.deadline = None;
            self.core.events.push_back(Event::Aborted(e));
        }
    }

    /// Processes sub-machine events and step progress until nothing changes.
    fn advance(&mut self, now: Instant) {
        while !self.stopped {
            let mut busy = false;
            while let Some(e) = self.sync.poll_event() {
                busy = true;
                self.on_sync(now, e);
            }
            while let Some(e) = self.core.bcast.poll_event() {
                busy = true;
                self.on_bcast(e);
            }
            if self.stopped {
                break;
            }
            if self.barrier.is_none() {
                match self.poll_state(now) {
                    Ok(moved) => busy |= moved,
                    Err(e) => self.abort(e),
                }
            }
            if !busy {
                break;
            }
        }
        while let Some(t) = self.sync.poll_transmit() {
            self.core.out.push_back(Outgoing::Sync(t));
        }
        while let Some(t) = self.core.bcast.poll_transmit() {
            self.core.out.push_back(Outgoing::Stream(t));
        }
        if !self.stopped {
            let (_, done, of) = self.waiting();
            let p = (self.step(), done, of);
            if self.last_progress != Some(p) {
                self.last_progress = Some(p);
                self.core.events.push_back(Event::Progress {
                    step: p.0,
                    done,
                    of,
                });
            }
        }
    }

    fn on_sync(&mut self, now: Instant, e: SyncEvent) {
        match e {
            SyncEvent::AllConnected
                if matches!(self.state, State::Connect) && self.barrier.is_none() =>
            {
                self.enter(now, State::Dkg(DkgStep::NotStarted), Step::Dkg);
            }
            SyncEvent::StepReached { step } if self.barrier == Some(step) => {
                self.barrier = None;
                self.deadline = Some(now + self.phase_timeout);
                if let Err(e) = self.start_state(now) {
                    self.abort(e);
                }
            }
            SyncEvent::ShutdownComplete => {
                self.state = State::Finished;
                self.stopped = true;
                self.deadline = None;
                self.core.events.push_back(Event::Done);
            }
            SyncEvent::Failed(source) => {
                let step = self.step();
                self.abort(CeremonyError::Sync { step, source });
            }
            SyncEvent::ProfileSwitched { from, to } => {
                if self.core.bcast.switch_profile(to) {
                    self.core.profile = to;
                    self.core
                        .events
                        .push_back(Event::ProfileSwitched { from, to });
                } else {
                    self.abort(CeremonyError::Ceremony {
                        step: self.step(),
                        source: Error::Internal("the profile switched after a broadcast"),
                    });
                }
            }
            SyncEvent::PeerVersion { peer, version } => {
                self.core
                    .events
                    .push_back(Event::PeerVersion { peer, version });
            }
            SyncEvent::PeerSkippedShutdownReady { peer } => {
                self.core
                    .events
                    .push_back(Event::PeerSkippedShutdownReady { peer });
            }
            _ => {}
        }
    }

    fn on_bcast(&mut self, e: BcastEvent) {
        match e {
            BcastEvent::Delivered {
                from,
                topic,
                payload,
            } => {
                self.core.inbox.casts.insert((topic, from), payload);
            }
            BcastEvent::Fault(source) => {
                let step = source.step().unwrap_or(self.step());
                self.abort(CeremonyError::Bcast { step, source });
            }
            BcastEvent::Signed { .. } | BcastEvent::Completed { .. } => {}
        }
    }

    /// The barrier of the current state passed: start its work.
    fn start_state(&mut self, now: Instant) -> Result<(), CeremonyError> {
        // The state is consumed by its transition; if that fails, it was this step that did.
        let failed = State::Failed(self.step());
        let state = mem::replace(&mut self.state, failed);
        let core = &mut self.core;
        self.state = match state {
            State::Dkg(_) => State::Dkg(DkgStep::start(core)),
            State::Lock(mut s) => {
                s.start(core)?;
                State::Lock(s)
            }
            State::NodeSigs(mut s) => {
                s.start(core, now)?;
                State::NodeSigs(s)
            }
            State::Verify(signed) => {
                // Encrypting and writing are the driver's; their duration is not a peer's fault.
                self.deadline = None;
                match self.keystores.take() {
                    Some(keystores) => {
                        commit::start_render(core, *signed, keystores);
                        State::Rendering
                    }
                    None => State::AwaitKeystores(signed),
                }
            }
            State::Committed => {
                // Every peer staged (a charon peer wrote): ours may become visible now.
                self.deadline = None;
                core.events.push_back(Event::NeedPublish);
                State::Publishing
            }
            other => other,
        };
        Ok(())
    }

    /// Lets the running step consume what arrived; `true` if it moved on.
    fn poll_state(&mut self, now: Instant) -> Result<bool, CeremonyError> {
        // As in `start_state`: a failed transition leaves `Failed(step)`, not a stand-in.
        let failed = State::Failed(self.step());
        let state = mem::replace(&mut self.state, failed);
        let core = &mut self.core;
        let (next, moved) = match state {
            State::Dkg(s) => {
                let before = std::mem::discriminant(&s);
                match s.poll(core, now)? {
                    (_, Some(keys)) => {
                        self.schedule_keystores(&keys);
                        self.enter(
                            now,
                            State::Threshold(ThresholdStep::deposits(keys)),
                            Step::Deposits,
                        );
                        return Ok(true);
                    }
                    (s, None) => {
                        let moved = std::mem::discriminant(&s) != before;
                        (State::Dkg(s), moved)
                    }
                }
            }
            State::Threshold(mut s) => {
                if !s.poll(core)? {
                    (State::Threshold(s), false)
                } else if s.step == Step::Deposits {
                    let next = State::Threshold(registrations::after(s));
                    self.enter(now, next, Step::Registrations);
                    return Ok(true);
                } else {
                    let next = State::Lock(LockStep::after(core, s)?);
                    self.enter(now, next, Step::LockHash);
                    return Ok(true);
                }
            }
            State::Lock(s) => match s.poll(core)? {
                Ok(drafted) => {
                    let next = State::NodeSigs(NodeSigStep::new(drafted));
                    self.enter(now, next, Step::NodeSignatures);
                    return Ok(true);
                }
                Err(s) => (State::Lock(s), false),
            },
            State::NodeSigs(s) => match s.poll(core)? {
                Ok(signed) => {
                    self.enter(now, State::Verify(Box::new(signed)), Step::Verify);
                    return Ok(true);
                }
                Err(s) => (State::NodeSigs(s), false),
            },
            State::AwaitKeystores(signed) => match self.keystores.take() {
                Some(keystores) => {
                    commit::start_render(core, *signed, keystores);
                    (State::Rendering, true)
                }
                None => (State::AwaitKeystores(signed), false),
            },
            State::Rendering => match commit::poll_render(core)? {
                Some(artifacts) => {
                    core.events
                        .push_back(Event::NeedCommit(Box::new(artifacts)));
                    (State::Commit, true)
                }
                None => (State::Rendering, false),
            },
            other => (other, false),
        };
        self.state = next;
        Ok(moved)
    }

    /// Who the current step or barrier waits for, and (done, of) for progress.
    fn waiting(&self) -> (Vec<PeerIdx>, usize, usize) {
        let others = self.core.others();
        let n = others.len();
        if let Some(k) = self.barrier {
            let behind = connect::behind(&self.sync, &others, k);
            let done = n - behind.len();
            return (behind, done, n);
        }
        match &self.state {
            State::Connect => {
                let missing = connect::unconnected(&self.sync, &others);
                let done = n - missing.len();
                (missing, done, n)
            }
            State::Dkg(s) => s.waiting(&self.core),
            State::Threshold(s) => s.waiting(&self.core),
            State::Lock(s) => s.waiting(&self.core),
            State::NodeSigs(s) => {
                let missing = s.missing(&self.core);
                let done = n - missing.len();
                (missing, done, n)
            }
            _ => (Vec::new(), 0, 0),
        }
    }
}
