//! Relay reservations (charon `p2p/relay.go` `NewRelayReserver`): one reservation per
//! resolved relay, renewed by libp2p, re-made with back-off whenever the relay connection
//! or the reservation is lost, and moved when a relay URL resolves to a new identity.

use super::{SwarmTask, BACKOFF_MIN, STALE_AFTER};
use crate::host_types::HostEvent;
use crate::relay_addr::ResolvedRelay;
use crate::resolver::Resolved;
use libp2p::core::transport::ListenerId;
use libp2p::PeerId as NetPeerId;
use std::time::Duration;
use tokio::time::Instant;

/// Largest pause between reservation attempts.
const RESERVE_BACKOFF_MAX: Duration = Duration::from_secs(30);

/// One configured relay and our reservation on it.
pub(super) struct RelaySlot {
    /// The URL it comes from, if it is resolved over HTTP.
    pub(super) url: Option<String>,
    /// Its identity and addresses, once known.
    pub(super) relay: Option<ResolvedRelay>,
    /// The `/p2p-circuit` listener asking for the reservation, and since when.
    listener: Option<(ListenerId, Instant)>,
    reserved: bool,
    attempts: usize,
    retry_at: Instant,
    backoff: Duration,
}

impl RelaySlot {
    pub(super) fn new(url: Option<String>, relay: Option<ResolvedRelay>, now: Instant) -> Self {
        Self {
            url,
            relay,
            listener: None,
            reserved: false,
            attempts: 0,
            retry_at: now,
            backoff: BACKOFF_MIN,
        }
    }
}

impl SwarmTask {
    /// A relay URL resolved (again): adopt its identity and (re)reserve if it changed.
    pub(super) fn on_resolved(&mut self, r: Resolved) {
        let Some(slot) = self.relays.get_mut(r.slot) else {
            return;
        };
        let changed_peer = slot
            .relay
            .as_ref()
            .is_some_and(|old| old.peer != r.relay.peer);
        if changed_peer {
            if let Some((id, _)) = slot.listener.take() {
                self.swarm.remove_listener(id);
            }
            slot.reserved = false;
        }
        tracing::info!(url = %r.url, relay = %r.relay.peer, addrs = ?r.relay.addrs, "resolved relay");
        let relay_peer = r.relay.peer;
        slot.relay = Some(r.relay.clone());
        slot.retry_at = Instant::now();
        self.swarm
            .behaviour_mut()
            .gate
            .set_relay(r.slot, Some(r.relay));
        self.emit(HostEvent::RelayResolved {
            url: r.url,
            relay: relay_peer,
        });
    }

    /// Asks for a reservation on every relay that has none (rotating through its
    /// addresses), and abandons requests that got no answer.
    pub(super) fn maintain_relays(&mut self) {
        let now = Instant::now();
        for slot in &mut self.relays {
            let Some(relay) = &slot.relay else { continue };
            match slot.listener {
                Some((id, since)) if !slot.reserved && now.duration_since(since) > STALE_AFTER => {
                    tracing::warn!(relay = %relay.peer, "relay reservation got no answer; retrying");
                    self.swarm.remove_listener(id);
                    slot.listener = None;
                }
                Some(_) => {}
                None if now >= slot.retry_at => {
                    let Some(addr) = relay.reservation_addr(slot.attempts) else {
                        continue;
                    };
                    slot.attempts += 1;
                    match self.swarm.listen_on(addr.clone()) {
                        Ok(id) => slot.listener = Some((id, now)),
                        Err(e) => {
                            tracing::warn!(relay = %relay.peer, %addr, error = %e, "cannot reserve on relay");
                            slot.retry_at = now + slot.backoff;
                            slot.backoff = (slot.backoff * 2).min(RESERVE_BACKOFF_MAX);
                        }
                    }
                }
                None => {}
            }
        }
    }

    /// The relay accepted (or renewed) our reservation.
    pub(super) fn on_reserved(&mut self, relay: NetPeerId, renewal: bool) {
        let slot = self
            .relays
            .iter_mut()
            .find(|s| s.relay.as_ref().is_some_and(|r| r.peer == relay));
        if let Some(slot) = slot {
            slot.reserved = true;
            slot.backoff = BACKOFF_MIN;
        }
        if !renewal {
            tracing::info!(%relay, "relay reservation accepted");
            self.emit(HostEvent::RelayReserved { relay });
        }
    }

    /// A listener closed: if it was a relay's (the relay connection dropped or the
    /// reservation was refused), reserve again after a pause.
    pub(super) fn relay_listener_gone(&mut self, listener_id: ListenerId) {
        let now = Instant::now();
        let Some(slot) = self
            .relays
            .iter_mut()
            .find(|s| s.listener.is_some_and(|(id, _)| id == listener_id))
        else {
            return;
        };
        slot.listener = None;
        let pause = slot.backoff;
        slot.retry_at = now + pause;
        slot.backoff = (slot.backoff * 2).min(RESERVE_BACKOFF_MAX);
        let was_reserved = std::mem::replace(&mut slot.reserved, false);
        if let Some(relay) = slot.relay.as_ref().map(|r| r.peer) {
            if was_reserved {
                tracing::warn!(%relay, "lost relay reservation; re-reserving");
                self.emit(HostEvent::RelayLost { relay });
            } else {
                // Said every time (at most every 30 s with the back-off): an unreachable
                // relay must not look like a silent wait.
                tracing::warn!(%relay, retry_in = ?pause, "relay unreachable or refused our reservation; retrying");
            }
        }
    }
}
