//! charon's sync protocol as a sans-IO state machine (charon-dkg-protocol.md §1.5, §1.11,
//! §3.1; charon `dkg/sync/{client,server}.go`, `dkg/dkg.go` `startSyncProtocol`).
//!
//! One [`SyncNode`] per node holds both halves of the protocol for every other operator:
//!
//! ```text
//!            our client ──MsgSync every 100 ms──▶ peer's server     (stream we open: Side::Client)
//!            our client ◀──MsgSyncResponse──────  peer's server
//!   peer's client ──MsgSync──▶ our server ──MsgSyncResponse──▶       (stream they open: Side::Server)
//! ```
//!
//! * Every `MsgSync` carries our version string (the [`crate::wire::Profile`]'s), our DER signature of the
//!   definition hash, our step and the shutdown flag. Our server checks each peer's version
//!   (same `vMAJOR.MINOR`) and signature (under the key of its ENR); a failure answers the
//!   peer with an error and aborts ([`SyncError::PeerIncompatible`],
//!   [`SyncError::DefinitionMismatch`]).
//! * **All connected**: every client stream is open and our server has accepted a message
//!   from every peer. Waiting for late peers is unbounded; each connection is an event.
//! * **Step barrier**: [`SyncNode::next_step`] raises our step (carried by the next ping) and
//!   [`SyncEvent::StepReached`] fires once every peer reports that step or the next, or
//!   one peer reports the next (it passed the same barrier, so everyone was there).
//! * **Shutdown** ([`SyncNode::begin_shutdown`]), as the profile says: from charon v1.10 on one
//!   more barrier ("shutdown ready") comes first; then each client sends `shutdown = true` and
//!   we wait for every peer's, bounded by 2 minutes in every profile. A peer that sends
//!   `shutdown = true` at the post-write step instead of announcing "shutdown ready" behaves
//!   as charon < v1.10 does: it is done, and we say so ([`SyncEvent::PeerSkippedShutdownReady`]).
//! * **Version negotiation** (`--compat auto`, [`negotiate`]): before step 1 we listen for the
//!   peers' versions and may switch profile once ([`SyncEvent::ProfileSwitched`]).
//! * Streams that break are reopened (at once, then with backoff up to 1 s) until shutdown.
//!
//! Driving it (quinn style, style.md §1.1): construct with [`SyncNode::new`], then after every
//! input (`handle_opened`, `handle_open_failed`, `handle_frame`, `handle_closed`,
//! `handle_timeout`, or a command) drain [`SyncNode::poll_transmit`], [`SyncNode::poll_event`] and
//! re-arm the timer from [`SyncNode::poll_timeout`]. Frames are cut with
//! [`crate::wire::Framing::SYNC`]; [`SyncTransmit::Write`] frames already carry the prefix.

mod client;
mod config;
mod error;
mod negotiate;
mod server;
pub mod sig;

use std::collections::VecDeque;
use std::time::Duration;

use dkgd_crypto::k1::K1SecretKey;

use crate::index::PeerIdx;
use crate::wire::proto::Timestamp;
use crate::wire::{Instant, Profile, WireError};
use negotiate::{Negotiation, PeerVersion};

pub use config::{SyncConfig, SyncTimers};
pub use error::{relayed_culprit, with_culprit, Blame, SyncError, CULPRIT_MARK};
pub use sig::HashSigError;

/// Which of the two streams with a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The stream we opened: our client writes `MsgSync`, reads responses.
    Client,
    /// The stream the peer opened: our server reads `MsgSync`, writes responses.
    Server,
}

/// What the driver must do.
#[derive(Clone, PartialEq, Eq)]
#[must_use]
pub enum SyncTransmit {
    /// Open our client stream to `to` on [`SyncNode::protocol`]; report with
    /// [`SyncNode::handle_opened`] or [`SyncNode::handle_open_failed`].
    Open {
        /// The peer.
        to: PeerIdx,
    },
    /// Write `frame` (length prefix included) on the `side` stream with `to`.
    Write {
        /// The peer.
        to: PeerIdx,
        /// Which stream.
        side: Side,
        /// The framed message.
        frame: Vec<u8>,
    },
    /// Close the `side` stream with `to`.
    Close {
        /// The peer.
        to: PeerIdx,
        /// Which stream.
        side: Side,
    },
}

impl std::fmt::Debug for SyncTransmit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SyncTransmit::Open { to } => write!(f, "Open({to})"),
            SyncTransmit::Write { to, side, frame } => {
                write!(f, "Write({to}, {side:?}, {} bytes)", frame.len())
            }
            SyncTransmit::Close { to, side } => write!(f, "Close({to}, {side:?})"),
        }
    }
}

/// What happened, for progress reporting and the ceremony.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncEvent {
    /// Our server accepted a first message from `peer` on its current stream ("connected to
    /// peer `connected` of `of`").
    PeerConnected {
        /// The peer.
        peer: PeerIdx,
        /// Peers connected to our server now.
        connected: usize,
        /// Peers expected (`n − 1`).
        of: usize,
    },
    /// A stream with `peer` is gone (it will be reopened unless shutting down).
    PeerDisconnected {
        /// The peer.
        peer: PeerIdx,
        /// Which stream.
        side: Side,
    },
    /// A stream was reset because the peer sent something undecodable or unexpected.
    StreamReset {
        /// The peer.
        peer: PeerIdx,
        /// Which stream.
        side: Side,
        /// What was wrong.
        why: WireError,
    },
    /// Every peer is connected both ways (fires once).
    AllConnected,
    /// Every peer reported `step` or `step + 1`: the barrier of [`SyncNode::next_step`] passed.
    StepReached {
        /// The step.
        step: u64,
    },
    /// Every peer sent its shutdown message and acknowledged ours.
    ShutdownComplete,
    /// `peer` announced `version` (first time, or a change; negotiating only).
    PeerVersion {
        /// The peer.
        peer: PeerIdx,
        /// Its `MsgSync.version` (truncated).
        version: String,
    },
    /// Negotiation chose another profile (before step 1): from now on we speak `to`.
    ProfileSwitched {
        /// The profile we started with.
        from: &'static Profile,
        /// The profile every peer speaks.
        to: &'static Profile,
    },
    /// `peer` ended the ceremony without the "shutdown ready" step: it sent its shutdown
    /// message at the post-write step, as charon < v1.10 does. It had written its artifacts.
    PeerSkippedShutdownReady {
        /// The peer.
        peer: PeerIdx,
    },
    /// The ceremony must abort (fires once; later inputs are still answered).
    Failed(SyncError),
}

/// Where the shutdown handshake is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shutdown {
    /// Not started.
    Running,
    /// Waiting for the "shutdown ready" barrier at `step`.
    AwaitReady { step: u64, deadline: Instant },
    /// Sending and collecting shutdown messages.
    Draining { deadline: Instant },
    /// Finished.
    Done,
}

/// The sync protocol of one node (see the module docs).
#[derive(Debug)]
pub struct SyncNode {
    cfg: SyncConfig,
    hash_signature: Vec<u8>,
    /// Per operator, `None` for us.
    clients: Vec<Option<client::Client>>,
    /// Per operator, `None` for us.
    servers: Vec<Option<server::ServerPeer>>,
    step: u64,
    barrier: Option<u64>,
    all_connected: bool,
    shutdown: Shutdown,
    failed: Option<SyncError>,
    /// Why this node aborts, told to every peer whose client writes to us afterwards.
    aborted: Option<String>,
    /// Per operator: since when its stream to our server is closed (after all connected).
    lost_since: Vec<Option<Instant>>,
    /// Version negotiation (`--compat auto`).
    negotiation: Negotiation,
    /// Per operator: what we know of its version.
    versions: Vec<PeerVersion>,
    /// Peers already reported as skipping "shutdown ready".
    skipped_ready: Vec<PeerIdx>,
    transmits: VecDeque<SyncTransmit>,
    events: VecDeque<SyncEvent>,
}

impl SyncNode {
    /// Starts the protocol at step 0: signs the definition hash and asks to open a client
    /// stream to every peer.
    pub fn new(cfg: SyncConfig, identity: &K1SecretKey, now: Instant) -> Self {
        let hash_signature = sig::sign_definition_hash(identity, &cfg.definition_hash);
        let (n, me) = (cfg.peers.len(), cfg.me.as_usize());
        let negotiation = if cfg.alternatives.is_empty() {
            Negotiation::Fixed
        } else {
            Negotiation::Listening
        };
        let mut sync = SyncNode {
            negotiation,
            versions: vec![PeerVersion::default(); n],
            skipped_ready: Vec::new(),
            clients: (0..n)
                .map(|i| (i != me).then(|| client::Client::new(now)))
                .collect(),
            servers: (0..n)
                .map(|i| (i != me).then(server::ServerPeer::default))
                .collect(),
            cfg,
            hash_signature,
            step: 0,
            barrier: None,
            all_connected: false,
            shutdown: Shutdown::Running,
            failed: None,
            aborted: None,
            lost_since: vec![None; n],
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        };
        sync.handle_timeout(now);
        sync
    }

    /// The ceremony aborts for `reason`: from now on our server answers every peer's sync
    /// message with `aborted: <reason>` in charon's `error` field, so peers fail at once
    /// with the cause instead of timing out (a charon peer treats it as a fatal error too).
    pub fn abort(&mut self, reason: String) {
        if self.aborted.is_none() {
            self.aborted = Some(reason);
        }
    }

    /// The libp2p protocol of sync streams (`/charon/dkg/sync/1.0.0/`).
    pub fn protocol(&self) -> &'static str {
        self.cfg.profile.sync_protocol
    }

    /// Our current step.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The last step `peer` reported to our server.
    pub fn peer_step(&self, peer: PeerIdx) -> Option<i64> {
        self.server(peer).and_then(|s| s.step)
    }

    /// Peers whose client is currently connected to our server.
    pub fn connected_peers(&self) -> usize {
        self.servers
            .iter()
            .flatten()
            .filter(|s| s.connected)
            .count()
    }

    /// Whether `peer` is connected both ways right now.
    pub fn is_peer_connected(&self, peer: PeerIdx) -> bool {
        self.client(peer).is_some_and(client::Client::is_open)
            && self.server(peer).is_some_and(|s| s.connected)
    }

    /// Whether every peer is connected both ways right now.
    pub fn is_all_connected(&self) -> bool {
        self.clients.iter().flatten().all(client::Client::is_open)
            && self.servers.iter().flatten().all(|s| s.connected)
    }

    /// The last round-trip time measured by our client to `peer`.
    pub fn rtt(&self, peer: PeerIdx) -> Option<Duration> {
        self.clients
            .get(peer.as_usize())
            .and_then(Option::as_ref)
            .and_then(|c| c.rtt)
    }

    /// The longest round trip our client measured to `peer` (how slowly it answered at worst).
    pub fn max_rtt(&self, peer: PeerIdx) -> Option<Duration> {
        self.client(peer).and_then(|c| c.max_rtt)
    }

    /// The failure, once one happened.
    pub fn failure(&self) -> Option<&SyncError> {
        self.failed.as_ref()
    }

    /// Whether the shutdown handshake completed.
    pub fn is_shutdown_complete(&self) -> bool {
        self.shutdown == Shutdown::Done
    }

    /// Starts the next step: raises our step (announced to every peer at once) and arms the
    /// barrier; [`SyncEvent::StepReached`] follows once every peer is there. Returns the step.
    pub fn next_step(&mut self, now: Instant) -> u64 {
        self.step += 1;
        self.barrier = Some(self.step);
        self.announce_now(now);
        self.check_progress(now);
        self.step
    }

    /// Starts the bounded shutdown: the "shutdown ready" barrier where the profile has one
    /// (charon ≥ v1.10), then the shutdown messages.
    pub fn begin_shutdown(&mut self, now: Instant) {
        if self.shutdown != Shutdown::Running {
            return;
        }
        let deadline = now + self.cfg.timers.shutdown_timeout;
        if self.cfg.profile.shutdown_ready_step {
            self.shutdown = Shutdown::AwaitReady {
                step: self.step + 1,
                deadline,
            };
            self.next_step(now);
        } else {
            self.shutdown = Shutdown::Draining { deadline };
            self.start_draining(now);
            self.check_progress(now);
        }
    }

    /// Sends the held first messages whose hold ended (after a negotiation decision or an
    /// announcement).
    fn release_held(&mut self, now: Instant) {
        for peer in self.other_peers() {
            if self.client(peer).is_some_and(client::Client::is_idle_open) {
                self.send(now, peer, false);
            }
        }
    }

    /// The next action for the driver.
    pub fn poll_transmit(&mut self) -> Option<SyncTransmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SyncEvent> {
        self.events.pop_front()
    }

    /// When [`SyncNode::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.failed.is_some() {
            return None;
        }
        let shutdown = match self.shutdown {
            Shutdown::AwaitReady { deadline, .. } | Shutdown::Draining { deadline } => {
                Some(deadline)
            }
            Shutdown::Running | Shutdown::Done => None,
        };
        let loss = self.cfg.timers.peer_loss_timeout;
        self.clients
            .iter()
            .flatten()
            .filter_map(|c| c.deadline(&self.cfg.timers))
            .chain(shutdown)
            .chain(self.negotiation_deadline())
            .chain(self.lost_since.iter().flatten().map(|t| *t + loss))
            .min()
    }

    /// Timers: reopen streams, send due messages, detect dead streams, bound the shutdown.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.failed.is_some() {
            return;
        }
        for peer in self.other_peers() {
            self.client_timeout(now, peer);
        }
        self.negotiate(now);
        if self.failed.is_some() {
            return;
        }
        let loss = self.cfg.timers.peer_loss_timeout;
        let gone = self.other_peers().find(|p| {
            self.lost_since
                .get(p.as_usize())
                .copied()
                .flatten()
                .is_some_and(|t| t + loss <= now)
        });
        if let Some(peer) = gone {
            return self.fail(SyncError::PeerLost {
                peer,
                step: self.step,
                after: loss,
            });
        }
        let (ready_step, deadline) = match self.shutdown {
            Shutdown::AwaitReady { step, deadline } => (Some(step), deadline),
            Shutdown::Draining { deadline } => (None, deadline),
            Shutdown::Running | Shutdown::Done => return,
        };
        if now < deadline {
            return;
        }
        // Before "shutdown ready": the peers not at that step; after: those that did not
        // finish the handshake.
        let missing = self
            .other_peers()
            .filter(|p| match ready_step {
                Some(k) => !self
                    .peer_step(*p)
                    .is_some_and(|s| u64::try_from(s).is_ok_and(|s| s >= k)),
                None => {
                    !self.server(*p).is_some_and(|s| s.shutdown)
                        || !self.client(*p).is_some_and(client::Client::is_done)
                }
            })
            .collect();
        self.fail(SyncError::ShutdownTimedOut {
            step: self.step,
            missing,
            timeout: self.cfg.timers.shutdown_timeout,
        });
    }

    /// A frame (prefix removed) arrived on the `side` stream with `peer`.
    pub fn handle_frame(&mut self, now: Instant, peer: PeerIdx, side: Side, body: &[u8]) {
        if !self.check_peer(peer) {
            return;
        }
        match side {
            Side::Client => self.client_frame(now, peer, body),
            Side::Server => self.server_frame(now, peer, body),
        }
        self.check_progress(now);
    }

    /// The `side` stream with `peer` closed or broke.
    pub fn handle_closed(&mut self, now: Instant, peer: PeerIdx, side: Side) {
        if !self.check_peer(peer) {
            return;
        }
        match side {
            Side::Client => self.client_broken(now, peer, None),
            Side::Server => {
                let mut done = false;
                if let Some(s) = self.server_mut(peer) {
                    s.connected = false;
                    done = s.shutdown;
                }
                // A peer that sent its shutdown message closes its stream: it is not lost.
                // One that vanishes before (also during the shutdown handshake) is, within
                // the peer-loss bound rather than the 2-minute shutdown bound.
                let watched = self.shutdown != Shutdown::Done;
                if self.all_connected && !done && watched {
                    if let Some(t) = self.lost_since.get_mut(peer.as_usize()) {
                        t.get_or_insert(now);
                    }
                }
                self.events
                    .push_back(SyncEvent::PeerDisconnected { peer, side });
            }
        }
        self.check_progress(now);
    }

    fn other_peers(&self) -> impl Iterator<Item = PeerIdx> + 'static {
        let me = self.cfg.me;
        (0..self.cfg.peers.len())
            .filter_map(PeerIdx::from_usize)
            .filter(move |p| *p != me)
    }

    fn check_peer(&mut self, peer: PeerIdx) -> bool {
        let known = self.client(peer).is_some();
        if !known {
            self.fail(SyncError::UnknownPeer { peer });
        }
        known
    }

    fn client(&self, peer: PeerIdx) -> Option<&client::Client> {
        self.clients.get(peer.as_usize()).and_then(Option::as_ref)
    }

    fn client_mut(&mut self, peer: PeerIdx) -> Option<&mut client::Client> {
        self.clients
            .get_mut(peer.as_usize())
            .and_then(Option::as_mut)
    }

    fn server(&self, peer: PeerIdx) -> Option<&server::ServerPeer> {
        self.servers.get(peer.as_usize()).and_then(Option::as_ref)
    }

    fn server_mut(&mut self, peer: PeerIdx) -> Option<&mut server::ServerPeer> {
        self.servers
            .get_mut(peer.as_usize())
            .and_then(Option::as_mut)
    }

    fn fail(&mut self, e: SyncError) {
        self.abort(with_culprit(e.to_string(), e.culprit()));
        if self.failed.is_none() {
            self.failed = Some(e.clone());
            self.events.push_back(SyncEvent::Failed(e));
        }
    }

    /// `MsgSync.timestamp` for `now`.
    fn timestamp(&self, now: Instant) -> Timestamp {
        let t = self.cfg.unix_time_at_origin.saturating_add(now.elapsed());
        Timestamp {
            seconds: i64::try_from(t.as_secs()).unwrap_or(i64::MAX),
            nanos: i32::try_from(t.subsec_nanos()).unwrap_or(0),
        }
    }

    /// All-connected, barrier and shutdown bookkeeping after any input.
    fn check_progress(&mut self, now: Instant) {
        if self.failed.is_some() {
            return;
        }
        if !self.all_connected && !self.is_negotiating() && self.is_all_connected() {
            self.all_connected = true;
            self.events.push_back(SyncEvent::AllConnected);
        }
        if let Some(k) = self.barrier {
            match self.barrier_state(k) {
                Err(e) => return self.fail(e),
                Ok(false) => {}
                Ok(true) => {
                    self.barrier = None;
                    self.events.push_back(SyncEvent::StepReached { step: k });
                    if let Shutdown::AwaitReady { step, deadline } = self.shutdown {
                        if step == k {
                            self.shutdown = Shutdown::Draining { deadline };
                            self.start_draining(now);
                        }
                    }
                }
            }
        }
        if matches!(self.shutdown, Shutdown::Draining { .. })
            && self.clients.iter().flatten().all(client::Client::is_done)
            && self.servers.iter().flatten().all(|s| s.shutdown)
        {
            self.shutdown = Shutdown::Done;
            self.events.push_back(SyncEvent::ShutdownComplete);
        }
    }

    /// Whether every peer reported `k` or `k + 1`; an error if one is at `k + 2` or beyond
    /// (charon `Server.isAllAtStep`).
    ///
    /// A peer at `k + 1` vouches for everyone: it raised its step only after its own barrier
    /// `k` saw every node (us included) at `k`. So one such peer passes the barrier even when
    /// another peer's `k` never reached us because it died right after sending it. Without
    /// this, at the post-write barrier (step 7) the peers that heard the dead node's "staged"
    /// would publish and those that did not would not: one node with keys, another without.
    /// At "shutdown ready" a peer's shutdown message vouches likewise (else a node that died
    /// after telling only some peers it was ready leaves the others waiting for it).
    fn barrier_state(&mut self, k: u64) -> Result<bool, SyncError> {
        let ready_step = match self.shutdown {
            Shutdown::AwaitReady { step, .. } if step == k => Some(step),
            _ => None,
        };
        let k = i64::try_from(k).unwrap_or(i64::MAX);
        let mut all = true;
        let mut vouched = false;
        for peer in self.other_peers() {
            // At "shutdown ready": a peer that already sent its shutdown message from the
            // post-write step runs charon < v1.10; it is done.
            let skipped = ready_step.is_some()
                && self.server(peer).is_some_and(|s| s.shutdown)
                && self.peer_step(peer) == Some(k - 1);
            if skipped {
                if !self.skipped_ready.contains(&peer) {
                    self.skipped_ready.push(peer);
                    self.events
                        .push_back(SyncEvent::PeerSkippedShutdownReady { peer });
                }
                continue;
            }
            match self.peer_step(peer) {
                Some(s) if s >= k.saturating_add(2) => {
                    return Err(SyncError::PeerTooFarAhead {
                        peer,
                        step: self.step,
                        peer_step: s,
                    })
                }
                Some(s) if s == k + 1 => vouched = true,
                // At "shutdown ready", a peer at that step that sent its shutdown message
                // passed the barrier: it vouches the same way.
                Some(s) if s == k && ready_step.is_some() => {
                    vouched |= self.server(peer).is_some_and(|s| s.shutdown);
                }
                Some(s) if s == k => {}
                _ => all = false,
            }
        }
        Ok(all || vouched)
    }
}
