//! One node's networked ceremony session, end to end on the network side: start the libp2p
//! host, watch it (peers connected, a relay reservation lost), run the [`driver`] to the end,
//! keep the key lock's heartbeat while it runs, and stop the host. The CLI (`dkgd dkg`) only
//! parses its arguments, prepares the data dir and maps the outcome to an exit code.
//!
//! ```text
//!  run_session(ceremony, key, host config, peers, …)
//!    ├─ Host::start ──▶ events task: connected peers (on_connected), relay lost/reserved
//!    ├─ driver::run_ceremony ── stage / publish through the ArtifactWriter
//!    └─ every 1 s: KeyLock::refresh (the lock's heartbeat)
//!  ──▶ Ok(Outcome) | Err(SessionError: host start, or the driver's error + a relay down since)
//! ```

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dkgd_ceremony::Ceremony;
use dkgd_crypto::k1::K1SecretKey;
use dkgd_formats::enr::PeerId;
use dkgd_p2p::{Host, HostConfig, HostEvent};
use dkgd_store::KeyLock;

use crate::driver::{self, CommitFn, DriverError, ObserverFn, Outcome};

/// Called with (peers connected, peers in all) whenever that count changes.
pub type ConnectedFn = Arc<dyn Fn(u32, u32) + Send + Sync>;

/// What a session needs besides the ceremony itself.
pub struct Session {
    /// Our identity key (the libp2p key).
    pub key: Arc<K1SecretKey>,
    /// The host's settings (listen addresses, peers' addresses, relays, protocols).
    pub host: HostConfig,
    /// The definition's operators in order.
    pub peers: Vec<PeerId>,
    /// Serve every profile's protocols (the charon version is negotiated).
    pub negotiate: bool,
    /// Stages and publishes the artifacts.
    pub commit: CommitFn,
    /// Ceremony progress.
    pub observer: ObserverFn,
    /// Connection count changes.
    pub on_connected: ConnectedFn,
}

/// Why a session ended without [`Outcome`].
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The host did not start (a port in use, a bad relay).
    #[error("the libp2p host did not start: {0}")]
    HostStart(#[source] dkgd_p2p::Error),
    /// The ceremony failed. `relay_down`: a relay whose reservation we had lost, and for how
    /// long, when it failed (a likelier cause than the peers it made unreachable).
    #[error("{error}")]
    Ceremony {
        /// The driver's error.
        error: DriverError,
        /// The relay (its ID) and how long it had been down.
        relay_down: Option<(String, Duration)>,
    },
}

/// A relay we lost our reservation on, and since when.
type RelayDown = Arc<Mutex<Option<(String, std::time::Instant)>>>;

/// Runs `ceremony` over a fresh host to its end; `lock` is refreshed every second meanwhile.
/// Must run inside a tokio runtime.
pub async fn run_session(
    ceremony: Ceremony,
    session: Session,
    lock: &mut KeyLock,
) -> Result<Outcome, SessionError> {
    let (host, events) = Host::start(&session.key, session.host)
        .await
        .map_err(SessionError::HostStart)?;
    tracing::info!(peer_id = %host.peer_id(), "dkg host started");
    let relay_down: RelayDown = Arc::default();
    let total = u32::try_from(session.peers.len().saturating_sub(1)).unwrap_or(u32::MAX);
    tokio::spawn(watch(
        events,
        Arc::clone(&relay_down),
        session.on_connected,
        total,
    ));
    let run = driver::run_ceremony(
        ceremony,
        host.clone(),
        session.peers,
        session.negotiate,
        tokio::time::Instant::now(),
        session.commit,
        session.observer,
    );
    tokio::pin!(run);
    let mut heartbeat = tokio::time::interval(Duration::from_secs(1));
    let result = loop {
        tokio::select! {
            r = &mut run => break r,
            _ = heartbeat.tick() => {
                if let Err(e) = lock.refresh() {
                    tracing::warn!(error = %e, "cannot refresh the key lock heartbeat");
                }
            }
        }
    };
    host.shutdown().await;
    result.map_err(|error| SessionError::Ceremony {
        error,
        relay_down: relay_down
            .lock()
            .ok()
            .and_then(|r| r.as_ref().map(|(id, t)| (id.clone(), t.elapsed()))),
    })
}

/// Follows the host's events: connection counts, and relay reservations lost and regained.
async fn watch(
    mut events: tokio::sync::mpsc::Receiver<HostEvent>,
    relay_down: RelayDown,
    on_connected: ConnectedFn,
    total: u32,
) {
    let mut connected = HashSet::new();
    while let Some(e) = events.recv().await {
        tracing::debug!(event = ?e, "p2p");
        let changed = match e {
            HostEvent::RelayLost { relay } => {
                if let Ok(mut r) = relay_down.lock() {
                    r.get_or_insert((relay.to_string(), std::time::Instant::now()));
                }
                false
            }
            HostEvent::RelayReserved { .. } => {
                if let Ok(mut r) = relay_down.lock() {
                    *r = None;
                }
                false
            }
            HostEvent::Connected { peer, .. } => connected.insert(peer),
            HostEvent::Disconnected {
                peer,
                connections: 0,
                ..
            } => connected.remove(&peer),
            _ => false,
        };
        if changed {
            on_connected(u32::try_from(connected.len()).unwrap_or(u32::MAX), total);
        }
    }
}
