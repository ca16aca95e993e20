//! Connections to cluster peers: keep dialing every peer we have a route to until it is
//! connected (with back-off), try a known direct address now and then while a peer is only
//! reachable through a relay, count connections per peer and report them.

use super::{SwarmTask, BACKOFF_MIN, STALE_AFTER};
use crate::behaviour::route_of;
use crate::host_types::{HostEvent, Route};
use dkgd_formats::enr::PeerId;
use libp2p::core::ConnectedPoint;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionError, ConnectionId, DialError};
use libp2p::PeerId as NetPeerId;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// Largest pause between dials of an unreachable peer (charon's reconnect cap is 1 s for
/// the sync client; dials through relays are dearer, so we back off further).
const DIAL_BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How often a relayed-only peer's direct addresses are tried.
const DIRECT_RETRY: Duration = Duration::from_secs(30);

/// One cluster peer and our connections to it.
pub(super) struct PeerSlot {
    pub(super) id: PeerId,
    pub(super) conns: HashMap<ConnectionId, Route>,
    pub(super) dialing_since: Option<Instant>,
    pub(super) retry_at: Instant,
    backoff: Duration,
    direct_retry_at: Instant,
    /// `open_stream` calls waiting for the first connection.
    pub(super) waiters: Vec<oneshot::Sender<bool>>,
}

impl PeerSlot {
    pub(super) fn new(id: PeerId, now: Instant) -> Self {
        Self {
            id,
            conns: HashMap::new(),
            dialing_since: None,
            retry_at: now,
            backoff: BACKOFF_MIN,
            direct_retry_at: now,
            waiters: Vec::new(),
        }
    }

    fn count(&self) -> u32 {
        u32::try_from(self.conns.len()).unwrap_or(u32::MAX)
    }

    fn relayed_only(&self) -> bool {
        !self.conns.is_empty()
            && self
                .conns
                .values()
                .all(|r| matches!(r, Route::Relayed { .. }))
    }
}

impl SwarmTask {
    /// Dials every unconnected peer we have a route to (the gate supplies the addresses:
    /// direct first, then relay circuits if we are the smaller peer ID).
    pub(super) fn maintain_peers(&mut self) {
        let now = Instant::now();
        for (peer, p) in &mut self.peers {
            let dialing = p
                .dialing_since
                .is_some_and(|since| now.duration_since(since) < STALE_AFTER);
            if dialing {
                continue;
            }
            if p.relayed_only() && now >= p.direct_retry_at {
                let direct = self.swarm.behaviour().gate.direct_addrs(peer);
                if !direct.is_empty() {
                    p.direct_retry_at = now + DIRECT_RETRY;
                    let opts = DialOpts::peer_id(*peer)
                        .condition(PeerCondition::Always)
                        .addresses(direct)
                        .build();
                    if self.swarm.dial(opts).is_ok() {
                        p.dialing_since = Some(now);
                    }
                }
                continue;
            }
            if !p.conns.is_empty() || now < p.retry_at {
                continue;
            }
            if !self.swarm.behaviour().gate.has_route(peer) {
                continue;
            }
            let opts = DialOpts::peer_id(*peer)
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build();
            match self.swarm.dial(opts) {
                Ok(()) | Err(DialError::DialPeerConditionFalse(_)) => p.dialing_since = Some(now),
                Err(e) => {
                    tracing::debug!(peer = %p.id, error = %e, "cannot dial peer");
                    p.retry_at = now + p.backoff;
                    p.backoff = (p.backoff * 2).min(DIAL_BACKOFF_MAX);
                }
            }
        }
    }

    pub(super) fn on_connected(
        &mut self,
        peer_id: NetPeerId,
        connection_id: ConnectionId,
        endpoint: &ConnectedPoint,
    ) {
        let route = route_of(endpoint);
        let Some(p) = self.peers.get_mut(&peer_id) else {
            tracing::debug!(peer = %peer_id, %route, "connected to a relay");
            return;
        };
        p.conns.insert(connection_id, route.clone());
        p.dialing_since = None;
        p.backoff = BACKOFF_MIN;
        for waiter in p.waiters.drain(..) {
            let _ = waiter.send(true);
        }
        let (peer, connections) = (p.id, p.count());
        tracing::info!(%peer, %route, connections, "connected to peer");
        self.emit(HostEvent::Connected {
            peer,
            route,
            connections,
        });
    }

    pub(super) fn on_closed(
        &mut self,
        peer_id: NetPeerId,
        connection_id: ConnectionId,
        cause: Option<ConnectionError>,
    ) {
        let Some(p) = self.peers.get_mut(&peer_id) else {
            return;
        };
        let Some(route) = p.conns.remove(&connection_id) else {
            return;
        };
        p.retry_at = Instant::now() + p.backoff;
        let (peer, connections) = (p.id, p.count());
        let cause = cause.map(|c| c.to_string());
        tracing::info!(%peer, %route, connections, ?cause, "connection to peer closed");
        self.emit(HostEvent::Disconnected {
            peer,
            route,
            connections,
        });
    }

    pub(super) fn on_dial_failed(&mut self, peer_id: NetPeerId, error: &DialError) {
        if let Some(p) = self.peers.get_mut(&peer_id) {
            tracing::debug!(peer = %p.id, %error, "dial failed (will retry)");
            p.dialing_since = None;
            p.retry_at = Instant::now() + p.backoff;
            p.backoff = (p.backoff * 2).min(DIAL_BACKOFF_MAX);
        }
    }
}
