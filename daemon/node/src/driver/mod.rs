//! The networked ceremony driver: one tokio task owns a [`Ceremony`] and moves its bytes over
//! a [`Host`]'s libp2p streams (issue 5).
//!
//! ```text
//!   Ceremony::poll_transmit ──▶ Sync Open/Write/Close ──▶ writer task per sync stream
//!                          ──▶ Stream Request/OneWay  ──▶ one task per stream (open, write, close, [read answer])
//!                          ──▶ Stream Response(id)    ──▶ writer of inbound stream `id`
//!   reader task per stream ──Input::Frame──▶ mpsc ──▶ Ceremony::handle_frame
//!   Ceremony::poll_timeout ──▶ sleep_until ──▶ handle_timeout
//!   Ceremony::poll_work    ──▶ spawn_blocking(Work::run) ──▶ handle_work_done
//!   Event::NeedCommit      ──▶ spawn_blocking(stage)   ──▶ handle_commit
//!   Event::NeedPublish     ──▶ spawn_blocking(publish) ──▶ handle_published
//!   Event::Done / Aborted  ──▶ run() returns (after an abort: staged artifacts withheld)
//! ```
//!
//! Frames come out of the ceremony with their length prefix, so streams are written raw
//! (no second prefix) and read through the ceremony's own [`FrameDecoder`].

mod artifacts;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use dkgd_ceremony::ceremony::WorkDone;
use dkgd_ceremony::sync::{Side, SyncTransmit};
use dkgd_ceremony::wire::profile::{all_protocols, framing_of};
use dkgd_ceremony::wire::{FrameDecoder, InboundId, Profile, ProtocolId, TransmitKind};
use dkgd_ceremony::{Ceremony, CeremonyError, Event, LocalCause, Outgoing, PeerIdx, Step, Stream};
use dkgd_formats::enr::PeerId;
use dkgd_p2p::{Host, Protocol};
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

pub use artifacts::{ArtifactWriter, CommitFn, Written};

/// Receives the ceremony's progress (called on the driver task: must not block).
pub type ObserverFn = Arc<dyn Fn(Report) + Send + Sync>;

/// What the driver tells its observer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Report {
    /// A step started or advanced: `done` of `of` units.
    Step {
        /// The step.
        step: Step,
        /// Units done.
        done: usize,
        /// Units in all.
        of: usize,
    },
    /// The artifacts are being staged (a stopping supervisor should let this finish).
    Committing,
    /// The artifacts are staged; waiting for every peer to stage theirs before publishing.
    Committed,
    /// A peer announced its charon version while the version is negotiated.
    PeerVersion {
        /// The peer.
        peer: PeerIdx,
        /// What it announced (peer-supplied).
        version: String,
    },
    /// The ceremony speaks this charon version (negotiated, or as configured).
    Profile {
        /// The profile's name, e.g. `v1.10`.
        name: &'static str,
        /// Whether negotiation switched to it from the definition's default.
        switched_from: Option<&'static str>,
    },
    /// A peer ended without the "shutdown ready" step (charon < v1.10), after writing.
    PeerSkippedShutdownReady {
        /// The peer.
        peer: PeerIdx,
    },
}

/// How a ceremony that completed ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The profile it ran in.
    pub profile: &'static Profile,
    /// Peers that ended without the "shutdown ready" step (charon < v1.10 behaviour): they
    /// had written their artifacts; not a failure.
    pub skipped_shutdown_ready: Vec<PeerId>,
    /// Ceremony frame bytes this node sent and received (framing included; the transport's
    /// own overhead, Noise and yamux, not).
    pub traffic: Traffic,
}

/// Frame bytes a node sent and received during its ceremony.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Bytes of frames handed to streams.
    pub sent: u64,
    /// Bytes of frames read from streams.
    pub received: u64,
}

impl Traffic {
    fn add(n: &mut u64, len: usize) {
        *n = n.saturating_add(u64::try_from(len).unwrap_or(u64::MAX));
    }
}

/// How long opening a stream may take (connect wait included) before it counts as failed.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);
/// An input that keeps the event loop this long is logged (peers wait for our answers).
const SLOW_INPUT: Duration = Duration::from_millis(250);
/// How long the driver lets queued writes drain after `Done` before it returns.
const DRAIN: Duration = Duration::from_millis(500);
/// How often a step that waits for peers says so, naming them (issue 12 §3).
const WAIT_REPORT: Duration = Duration::from_secs(30);
/// How long an aborted ceremony keeps answering peers' sync messages with its reason (they
/// ping every 100 ms), so every peer fails at once naming the cause.
const ABORT_LINGER: Duration = Duration::from_millis(1500);

/// Why [`run`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriverError {
    /// The ceremony aborted; the error names the step and, when known, the peer.
    /// `written` says what became of our artifacts: [`Written::Published`] means every peer
    /// had staged and ours are in place, but the end was not confirmed by every peer.
    #[error("{error}{}", culprit.as_ref().map(|p| format!(" (peer {p})")).unwrap_or_default())]
    Aborted {
        /// The ceremony's reason.
        error: Box<CeremonyError>,
        /// The peer at fault, by peer ID.
        culprit: Option<PeerId>,
        /// Our artifacts.
        written: Written,
    },
    /// The host refused to accept a protocol.
    #[error("p2p: {0}")]
    P2p(#[from] dkgd_p2p::Error),
    /// The ceremony stopped without `Done` or `Aborted`.
    #[error("the ceremony stopped unexpectedly in step {0}")]
    Stalled(Step),
}

/// What the stream tasks report to the driver loop.
enum Input {
    Opened(PeerIdx, mpsc::UnboundedSender<Write>),
    OpenFailed(PeerIdx),
    /// A peer's sync stream to our server; `u64` tells it from the peer's earlier ones.
    InboundSync(PeerIdx, u64, mpsc::UnboundedSender<Write>),
    Inbound(u64, mpsc::UnboundedSender<Write>),
    Frame(PeerIdx, &'static str, Stream, Vec<u8>),
    Closed(PeerIdx, &'static str, Stream),
    SendFailed(PeerIdx, &'static str),
    Committed(Result<(), LocalCause>),
    Published(Result<(), LocalCause>),
    WorkDone(WorkDone),
}

/// A writer task's work.
enum Write {
    Frame(std::sync::Arc<[u8]>),
    Close,
}

/// Runs the ceremony to `Done` over `host`. `peers` are the definition's operators in
/// order (index = [`PeerIdx`]). `negotiate`: serve every profile's protocols, because the
/// ceremony may switch profile before step 1. Must run inside a tokio runtime.
pub async fn run_ceremony(
    mut ceremony: Ceremony,
    host: Host,
    peers: Vec<PeerId>,
    negotiate: bool,
    origin: tokio::time::Instant,
    commit: CommitFn,
    observer: ObserverFn,
) -> Result<Outcome, DriverError> {
    let now = || dkgd_ceremony::wire::Instant::from_elapsed(origin.elapsed());
    let index: HashMap<PeerId, PeerIdx> = peers
        .iter()
        .enumerate()
        .filter_map(|(i, p)| Some((*p, PeerIdx::from_usize(i)?)))
        .collect();
    let index = Arc::new(index);
    let (tx, mut rx) = mpsc::unbounded_channel::<Input>();
    let next_id = Arc::new(std::sync::atomic::AtomicU64::new(1));
    let mut acceptors = Vec::new();
    let sync_protocol = ceremony.profile().sync_protocol;
    let mut skipped: Vec<PeerId> = Vec::new();
    observer(Report::Profile {
        name: ceremony.profile().name,
        switched_from: None,
    });
    for protocol in served(ceremony.profile(), negotiate) {
        let p2p = p2p_protocol(protocol)?;
        let mut incoming = host.accept(&p2p)?;
        let (tx, index, next_id) = (tx.clone(), Arc::clone(&index), Arc::clone(&next_id));
        let is_sync = protocol == sync_protocol;
        acceptors.push(tokio::spawn(async move {
            while let Some(stream) = incoming.next().await {
                let Some(&peer) = index.get(stream.peer()) else {
                    continue;
                };
                let (reader, writer) = stream.into_inner().split();
                let (wtx, wrx) = mpsc::unbounded_channel();
                tokio::spawn(write_loop(writer, wrx));
                let id = next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let _ = if is_sync {
                    tx.send(Input::InboundSync(peer, id, wtx))
                } else {
                    tx.send(Input::Inbound(id, wtx))
                };
                let tx = tx.clone();
                tokio::spawn(async move {
                    let stream = Stream::Inbound(InboundId(id));
                    read_loop(reader, protocol, peer, stream, &tx, usize::MAX).await;
                });
            }
        }));
    }

    let mut clients: HashMap<PeerIdx, mpsc::UnboundedSender<Write>> = HashMap::new();
    let mut servers: HashMap<PeerIdx, mpsc::UnboundedSender<Write>> = HashMap::new();
    // Which of a peer's sync streams is its current one: a peer that reconnects (charon does
    // after every relay reset) may have its old stream's close arrive after the new stream.
    let mut server_ids: HashMap<PeerIdx, u64> = HashMap::new();
    let mut responders: HashMap<u64, mpsc::UnboundedSender<Write>> = HashMap::new();
    let mut last_step: Option<Step> = None;
    let mut step_since = tokio::time::Instant::now();
    let mut report =
        tokio::time::interval_at(tokio::time::Instant::now() + WAIT_REPORT, WAIT_REPORT);
    let mut written = artifacts::Tracker::default();
    let mut traffic = Traffic::default();
    let result = loop {
        // Outputs first.
        while let Some(out) = ceremony.poll_transmit() {
            match out {
                Outgoing::Sync(SyncTransmit::Open { to }) => {
                    let Some(peer) = peers.get(to.as_usize()).copied() else {
                        continue;
                    };
                    let (host, tx) = (host.clone(), tx.clone());
                    let p2p = p2p_protocol(sync_protocol)?;
                    tokio::spawn(async move {
                        match host.open_stream(&peer, &p2p).await {
                            Ok(stream) => {
                                let (reader, writer) = stream.into_inner().split();
                                let (wtx, wrx) = mpsc::unbounded_channel();
                                tokio::spawn(write_loop(writer, wrx));
                                let _ = tx.send(Input::Opened(to, wtx));
                                read_loop(
                                    reader,
                                    sync_protocol,
                                    to,
                                    Stream::Outbound,
                                    &tx,
                                    usize::MAX,
                                )
                                .await;
                            }
                            Err(e) => {
                                tracing::debug!(peer = %peer, error = %e, "sync stream open failed");
                                let _ = tx.send(Input::OpenFailed(to));
                            }
                        }
                    });
                }
                Outgoing::Sync(SyncTransmit::Write { to, side, frame }) => {
                    let map = if side == Side::Client {
                        &clients
                    } else {
                        &servers
                    };
                    if let Some(w) = map.get(&to) {
                        Traffic::add(&mut traffic.sent, frame.len());
                        let _ = w.send(Write::Frame(frame.into()));
                    }
                }
                Outgoing::Sync(SyncTransmit::Close { to, side }) => {
                    let map = if side == Side::Client {
                        &mut clients
                    } else {
                        &mut servers
                    };
                    if let Some(w) = map.remove(&to) {
                        let _ = w.send(Write::Close);
                    }
                }
                Outgoing::Stream(t) => match t.kind {
                    TransmitKind::Response(InboundId(id)) => {
                        if let Some(w) = responders.remove(&id) {
                            Traffic::add(&mut traffic.sent, t.frame.len());
                            let _ = w.send(Write::Frame(t.frame));
                            let _ = w.send(Write::Close);
                        }
                    }
                    kind => {
                        let Some(peer) = peers.get(t.to.as_usize()).copied() else {
                            continue;
                        };
                        let (host, tx) = (host.clone(), tx.clone());
                        let id = ceremony.profile().id(t.protocol);
                        let p2p = p2p_protocol(id)?;
                        Traffic::add(&mut traffic.sent, t.frame.len());
                        tokio::spawn(async move {
                            send_one(host, peer, p2p, t.to, id, kind, t.frame, tx).await;
                        });
                    }
                },
            }
        }
        // Expensive work runs on the blocking pool, never on this loop: the node keeps
        // answering its peers meanwhile.
        while let Some(work) = ceremony.poll_work() {
            tracing::debug!(work = %work.describe(), "work started off the event loop");
            let tx = tx.clone();
            tokio::task::spawn_blocking(move || {
                let _ = tx.send(Input::WorkDone(work.run()));
            });
        }
        // Then events.
        let mut finished = None;
        while let Some(event) = ceremony.poll_event() {
            match event {
                Event::Progress { step, done, of } => {
                    observer(Report::Step { step, done, of });
                    if last_step != Some(step) {
                        // The last step's messages are garbage now: give their pages back.
                        crate::harden::release_free_memory();
                        let (rss_mib, peak_rss_mib) = memory_mib();
                        tracing::info!(step = %step, done, of, rss_mib, peak_rss_mib, "ceremony step");
                        last_step = Some(step);
                        step_since = tokio::time::Instant::now();
                    } else if done == of {
                        tracing::info!(step = %step, done, of, "ceremony step complete");
                    } else {
                        tracing::debug!(step = %step, done, of, "ceremony progress");
                    }
                }
                Event::NeedCommit(artifacts) => {
                    tracing::info!(
                        "staging the artifacts (published once every peer staged theirs)"
                    );
                    observer(Report::Committing);
                    written.staging = true;
                    let (commit, tx) = (Arc::clone(&commit), tx.clone());
                    tokio::spawn(async move {
                        let r = tokio::task::spawn_blocking(move || commit.stage(&artifacts))
                            .await
                            .unwrap_or_else(|e| Err(Box::new(e)));
                        let _ = tx.send(Input::Committed(r));
                    });
                }
                Event::NeedPublish => {
                    tracing::info!("every peer staged its artifacts: publishing ours");
                    written.publishing = true;
                    let (commit, tx) = (Arc::clone(&commit), tx.clone());
                    tokio::spawn(async move {
                        let r = tokio::task::spawn_blocking(move || commit.publish())
                            .await
                            .unwrap_or_else(|e| Err(Box::new(e)));
                        let _ = tx.send(Input::Published(r));
                    });
                }
                Event::Done => {
                    if let Some((peer, rtt)) = ceremony.slowest_sync_answer() {
                        tracing::info!(
                            operator = %peer,
                            max_rtt_ms = u64::try_from(rtt.as_millis()).unwrap_or(u64::MAX),
                            "slowest sync answer during the ceremony"
                        );
                    }
                    finished = Some(Ok(Outcome {
                        profile: ceremony.profile(),
                        skipped_shutdown_ready: skipped.clone(),
                        traffic,
                    }))
                }
                Event::PeerVersion { peer, version } => {
                    let id = peers.get(peer.as_usize()).map(ToString::to_string);
                    tracing::info!(operator = %peer, peer_id = id.as_deref().unwrap_or("?"), version = %version, "peer announced its charon version");
                    observer(Report::PeerVersion { peer, version });
                }
                Event::ProfileSwitched { from, to } => {
                    tracing::warn!(
                        from = from.name,
                        to = to.name,
                        "every peer speaks charon {}: this ceremony runs the {} wire profile (negotiated; the definition's default was {})",
                        to.sync_version,
                        to.name,
                        from.name
                    );
                    observer(Report::Profile {
                        name: to.name,
                        switched_from: Some(from.name),
                    });
                }
                Event::PeerSkippedShutdownReady { peer } => {
                    if let Some(id) = peers.get(peer.as_usize()) {
                        skipped.push(*id);
                    }
                    tracing::warn!(
                        "operator {peer} ended the ceremony without the shutdown-ready step: it runs charon < v1.10; every node already wrote its artifacts"
                    );
                    observer(Report::PeerSkippedShutdownReady { peer });
                }
                Event::Aborted(error) => {
                    let culprit = error
                        .culprit()
                        .and_then(|p| peers.get(p.as_usize()).copied());
                    finished = Some(Err((error, culprit)));
                }
            }
        }
        if let Some(r) = finished {
            let r = match r {
                Ok(outcome) => Ok(outcome),
                Err((error, culprit)) => {
                    linger(&mut ceremony, &mut rx, &servers, &mut written, now).await;
                    // A staging job still running ends first: it must not leave a sealed
                    // staging dir behind that the next start would publish.
                    while written.staging {
                        match rx.recv().await {
                            Some(Input::Committed(r)) => written.finish_staging(r.is_ok()),
                            Some(_) => {}
                            None => break,
                        }
                    }
                    Err(DriverError::Aborted {
                        error: Box::new(error),
                        culprit,
                        written: written.settle(&commit).await,
                    })
                }
            };
            break r;
        }
        // Then wait for the next input or deadline.
        let deadline = ceremony.poll_timeout().map(|t| origin + t.elapsed());
        let input = tokio::select! {
            i = rx.recv() => i,
            () = sleep_until(deadline) => {
                ceremony.handle_timeout(now());
                continue;
            }
            _ = report.tick() => {
                report_waiting(&ceremony, &peers, step_since.elapsed());
                continue;
            }
        };
        let Some(input) = input else {
            break Err(DriverError::Stalled(ceremony.step()));
        };
        let t = now();
        let started = std::time::Instant::now();
        let step = ceremony.step();
        match input {
            Input::Opened(peer, w) => {
                clients.insert(peer, w);
                ceremony.handle_opened(t, peer);
            }
            Input::OpenFailed(peer) => ceremony.handle_open_failed(t, peer),
            Input::InboundSync(peer, id, w) => {
                servers.insert(peer, w);
                server_ids.insert(peer, id);
                ceremony.handle_inbound_sync(t, peer);
            }
            Input::Inbound(id, w) => {
                responders.insert(id, w);
            }
            Input::Frame(peer, id, stream, body) => {
                Traffic::add(&mut traffic.received, body.len());
                if let Some(protocol) = known(&ceremony, peer, id) {
                    ceremony.handle_frame(t, peer, protocol, stream, &body);
                }
            }
            Input::Closed(peer, protocol, stream) => {
                if let Stream::Inbound(InboundId(id)) = stream {
                    if protocol != sync_protocol {
                        // A one-way stream ended normally; a request keeps its responder.
                        continue;
                    }
                    if server_ids.get(&peer) != Some(&id) {
                        // An earlier stream of a peer that has reconnected: nothing is lost.
                        continue;
                    }
                    server_ids.remove(&peer);
                    servers.remove(&peer);
                } else if protocol == sync_protocol {
                    clients.remove(&peer);
                }
                if let Some(p) = known(&ceremony, peer, protocol) {
                    ceremony.handle_closed(t, peer, p, stream);
                }
            }
            Input::SendFailed(peer, id) => {
                if let Some(protocol) = known(&ceremony, peer, id) {
                    ceremony.handle_send_failed(t, peer, protocol);
                }
            }
            Input::WorkDone(done) => ceremony.handle_work_done(t, done),
            Input::Committed(r) => {
                written.finish_staging(r.is_ok());
                if r.is_ok() {
                    observer(Report::Committed);
                    tracing::info!("artifacts staged; waiting for every peer to stage theirs");
                }
                ceremony.handle_commit(t, r);
            }
            Input::Published(r) => {
                if r.is_ok() {
                    tracing::info!("artifacts published; ending the ceremony with every peer");
                }
                ceremony.handle_published(t, r);
            }
        }
        let took = started.elapsed();
        if took >= SLOW_INPUT {
            // The event loop answered nobody meanwhile: CPU-heavy work belongs in `poll_work`.
            tracing::warn!(
                step = %step,
                ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
                "one ceremony input held the event loop"
            );
        }
    };
    if result.is_ok() {
        tokio::time::sleep(DRAIN).await;
    }
    for a in acceptors {
        a.abort();
    }
    result
}

/// Says whom the current step has been waiting for, and how long (nothing when it waits for
/// nobody: its own work or disk).
fn report_waiting(ceremony: &Ceremony, peers: &[PeerId], waited: Duration) {
    let waiting = ceremony.waiting_for();
    if waiting.is_empty() {
        return;
    }
    let names: Vec<String> = waiting
        .iter()
        .map(|(p, connected)| {
            let state = if *connected {
                "connected, not there yet"
            } else {
                "not connected"
            };
            format!("{} ({state})", operator_name(*p, peers))
        })
        .collect();
    tracing::warn!(
        "step {}: still waiting after {} for {}",
        ceremony.step(),
        human(waited),
        names.join(", ")
    );
}

/// `operator 2 (16Uiu2HAm…x7Qz3f)`: the index and a peer ID short enough to read, long enough
/// to tell apart.
pub fn operator_name(p: PeerIdx, peers: &[PeerId]) -> String {
    match peers.get(p.as_usize()).map(ToString::to_string) {
        Some(id) if id.len() > 20 => {
            let (head, tail) = (
                id.get(..10).unwrap_or(""),
                id.get(id.len() - 6..).unwrap_or(""),
            );
            format!("operator {p} ({head}…{tail})")
        }
        Some(id) => format!("operator {p} ({id})"),
        None => format!("operator {p}"),
    }
}

/// This process's resident and peak resident memory in MiB (Linux `/proc/self/status`;
/// zero where it cannot be read), logged with every step so that memory can be traced to one.
fn memory_mib() -> (u64, u64) {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return (0, 0);
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|kib| kib.parse::<u64>().ok())
            .map_or(0, |kib| kib / 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// `3m10s`, `45s`.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// After an abort: answers peers' sync messages (with the abort reason) for
/// [`ABORT_LINGER`], then returns.
async fn linger(
    ceremony: &mut Ceremony,
    rx: &mut mpsc::UnboundedReceiver<Input>,
    servers: &HashMap<PeerIdx, mpsc::UnboundedSender<Write>>,
    written: &mut artifacts::Tracker,
    now: impl Fn() -> dkgd_ceremony::wire::Instant,
) {
    let end = tokio::time::Instant::now() + ABORT_LINGER;
    let mut servers = servers.clone();
    loop {
        while let Some(out) = ceremony.poll_transmit() {
            if let Outgoing::Sync(SyncTransmit::Write {
                to,
                side: Side::Server,
                frame,
            }) = out
            {
                if let Some(w) = servers.get(&to) {
                    let _ = w.send(Write::Frame(frame.into()));
                }
            }
        }
        let input = tokio::select! {
            i = rx.recv() => i,
            () = tokio::time::sleep_until(end) => return,
        };
        match input {
            Some(Input::InboundSync(peer, _, w)) => {
                servers.insert(peer, w);
            }
            Some(Input::Frame(peer, id, stream, body)) => {
                if let Some(protocol) = known(ceremony, peer, id) {
                    ceremony.handle_frame(now(), peer, protocol, stream, &body);
                }
            }
            Some(Input::Committed(r)) => written.finish_staging(r.is_ok()),
            Some(_) => {}
            None => return,
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => futures::future::pending().await,
    }
}

/// Every protocol the host serves, as it serves them: give these to
/// [`dkgd_p2p::HostConfig::protocols`] so peers' early streams queue instead of failing.
/// While negotiating (`negotiate`) every profile's protocols are served, since the profile
/// may still change; otherwise only `profile`'s.
pub fn protocols(profile: &Profile, negotiate: bool) -> Result<Vec<Protocol>, dkgd_p2p::Error> {
    served(profile, negotiate)
        .into_iter()
        .map(p2p_protocol)
        .collect()
}

fn served(profile: &Profile, negotiate: bool) -> Vec<&'static str> {
    if negotiate {
        all_protocols()
    } else {
        profile.protocols().to_vec()
    }
}

/// The ceremony's protocol for an ID string a stream used. While the charon version is
/// being negotiated every profile's IDs are served, so a peer may use one the profile
/// settled on does not have (bcast 1.0.0 vs 2.0.0): that is said, and the frame dropped.
fn known(ceremony: &Ceremony, peer: PeerIdx, id: &str) -> Option<ProtocolId> {
    let protocol = ceremony.profile().protocol(id);
    if protocol.is_none() {
        tracing::warn!(
            peer = %peer,
            protocol = id,
            profile = ceremony.profile().name,
            "a stream on a protocol this ceremony's charon version does not speak; ignored"
        );
    }
    protocol
}

fn p2p_protocol(protocol: &str) -> Result<Protocol, dkgd_p2p::Error> {
    Ok(Protocol::new(protocol)?.with_timeout(Some(OPEN_TIMEOUT)))
}

/// Opens a stream, writes one frame, half-closes and, for a request, reads the answer.
#[allow(clippy::too_many_arguments)]
async fn send_one(
    host: Host,
    peer: PeerId,
    p2p: Protocol,
    to: PeerIdx,
    protocol: &'static str,
    kind: TransmitKind,
    frame: std::sync::Arc<[u8]>,
    tx: mpsc::UnboundedSender<Input>,
) {
    let stream = match host.open_stream(&peer, &p2p).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(peer = %peer, protocol, error = %e, "cannot open a stream");
            let _ = tx.send(fail(kind, to, protocol));
            return;
        }
    };
    let mut inner = stream.into_inner();
    let written = async {
        inner.write_all(&frame).await?;
        inner.flush().await?;
        if kind == TransmitKind::OneWay {
            inner.close().await?;
        }
        Ok::<(), std::io::Error>(())
    }
    .await;
    if let Err(e) = written {
        tracing::warn!(peer = %peer, protocol, error = %e, "cannot send a frame");
        let _ = tx.send(fail(kind, to, protocol));
        return;
    }
    if kind == TransmitKind::Request {
        let (reader, mut writer) = inner.split();
        let _ = writer.close().await;
        read_loop(reader, protocol, to, Stream::Outbound, &tx, 1).await;
    }
}

fn fail(kind: TransmitKind, to: PeerIdx, protocol: &'static str) -> Input {
    match kind {
        TransmitKind::Request => Input::Closed(to, protocol, Stream::Outbound),
        _ => Input::SendFailed(to, protocol),
    }
}

async fn write_loop(mut writer: impl AsyncWrite + Unpin, mut rx: mpsc::UnboundedReceiver<Write>) {
    while let Some(w) = rx.recv().await {
        let r = match w {
            Write::Frame(f) => match writer.write_all(&f).await {
                Ok(()) => writer.flush().await,
                Err(e) => Err(e),
            },
            Write::Close => {
                let _ = writer.close().await;
                return;
            }
        };
        if let Err(e) = r {
            tracing::debug!(error = %e, "stream write failed");
            return;
        }
    }
}

/// Reads up to `max` frames; reports the end of the stream only if it ends (or fails)
/// before `max` frames arrived.
async fn read_loop(
    mut reader: impl AsyncRead + Unpin,
    protocol: &'static str,
    peer: PeerIdx,
    stream: Stream,
    tx: &mpsc::UnboundedSender<Input>,
    max: usize,
) {
    let Some(framing) = framing_of(protocol) else {
        return;
    };
    let mut decoder = FrameDecoder::new(framing);
    let mut buf = vec![0u8; 64 * 1024];
    let mut frames = 0;
    'outer: loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        decoder.push(buf.get(..n).unwrap_or_default());
        loop {
            match decoder.poll_frame() {
                Ok(Some(body)) => {
                    frames += 1;
                    if tx.send(Input::Frame(peer, protocol, stream, body)).is_err() {
                        return;
                    }
                    if frames >= max {
                        // The stream did its job (a request got its answer). Reporting a
                        // close now would be read as "no answer" for a later request to
                        // the same peer on the same protocol.
                        return;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(peer = %peer, protocol, error = %e, "bad frame");
                    break 'outer;
                }
            }
        }
    }
    let _ = tx.send(Input::Closed(peer, protocol, stream));
}
