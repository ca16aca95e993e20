//! The connection gate and address book, as one libp2p behaviour.
//!
//! Gate (charon `p2p/gater.go`, spec §1.3): dials and raw accepts are not filtered; once the
//! security handshake has authenticated the remote, only the definition's peers and the
//! currently resolved relays are admitted. Everyone else is refused and reported with their
//! peer ID and address.
//!
//! Address book: when libp2p dials a cluster peer (ours or `libp2p-stream`'s dial), this
//! behaviour supplies its addresses: the direct ones we were given or learned via identify,
//! and, only when our peer ID is the smaller one (raw bytes, as Go compares `peer.ID`
//! strings), `<relay>/p2p-circuit/p2p/<peer>` through every resolved relay. The larger peer
//! waits for that relayed connection (charon `p2p/relay.go` `shouldDialPeer`), so that the
//! side receiving the inbound relayed connection starts DCUtR hole punching.

use crate::relay_addr::ResolvedRelay;
use libp2p::core::transport::PortUse;
use libp2p::core::Endpoint;
use libp2p::swarm::{
    dummy, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId};
use std::collections::{HashMap, HashSet, VecDeque};
use std::task::{Context, Poll};

/// Most direct addresses remembered per peer (identify can list many interfaces).
const MAX_ADDRS_PER_PEER: usize = 16;

/// What the gate reports.
#[derive(Debug)]
pub(crate) enum GateEvent {
    /// An authenticated connection from or to a peer outside the allow-list was refused.
    Refused {
        peer: PeerId,
        addr: Multiaddr,
        inbound: bool,
    },
}

/// The reason a refused connection carries in libp2p's error.
#[derive(Debug, thiserror::Error)]
#[error("peer {0} is not in the cluster definition or the relay list")]
pub(crate) struct NotAllowed(PeerId);

pub(crate) struct Gate {
    local: PeerId,
    cluster: HashSet<PeerId>,
    relays: HashMap<usize, ResolvedRelay>,
    direct: HashMap<PeerId, Vec<Multiaddr>>,
    events: VecDeque<GateEvent>,
}

impl Gate {
    pub(crate) fn new(local: PeerId, cluster: impl IntoIterator<Item = PeerId>) -> Self {
        Self {
            local,
            cluster: cluster.into_iter().filter(|p| *p != local).collect(),
            relays: HashMap::new(),
            direct: HashMap::new(),
            events: VecDeque::new(),
        }
    }

    /// Whether `peer` is another member of the cluster.
    pub(crate) fn is_cluster_peer(&self, peer: &PeerId) -> bool {
        self.cluster.contains(peer)
    }

    /// Whether `peer` is a currently resolved relay.
    pub(crate) fn is_relay(&self, peer: &PeerId) -> bool {
        self.relays.values().any(|r| r.peer == *peer)
    }

    /// Sets (or replaces) the relay in slot `index`; `None` forgets it.
    pub(crate) fn set_relay(&mut self, index: usize, relay: Option<ResolvedRelay>) {
        match relay {
            Some(r) => self.relays.insert(index, r),
            None => self.relays.remove(&index),
        };
    }

    /// Whether we should dial `peer` through relays (we have the smaller peer ID).
    pub(crate) fn dials_via_relay(&self, peer: &PeerId) -> bool {
        self.local.to_bytes() < peer.to_bytes()
    }

    /// Whether a dial to `peer` has any address to try.
    pub(crate) fn has_route(&self, peer: &PeerId) -> bool {
        if !self.is_cluster_peer(peer) {
            return false;
        }
        self.direct.get(peer).is_some_and(|a| !a.is_empty())
            || (self.dials_via_relay(peer) && !self.relays.is_empty())
    }

    /// Remembers direct addresses of a cluster peer (given, or learned via identify).
    /// Relayed (`/p2p-circuit`) and non-TCP addresses are ignored.
    pub(crate) fn add_direct_addrs(
        &mut self,
        peer: PeerId,
        addrs: impl IntoIterator<Item = Multiaddr>,
    ) {
        if !self.is_cluster_peer(&peer) {
            return;
        }
        let known = self.direct.entry(peer).or_default();
        for addr in addrs {
            let addr = match crate::relay_addr::split_peer(&addr) {
                Some((transport, id)) if id == peer => transport,
                Some(_) => continue,
                None => addr,
            };
            if crate::relay_addr::is_direct_tcp(&addr) && !known.contains(&addr) {
                if known.len() >= MAX_ADDRS_PER_PEER {
                    known.remove(0);
                }
                known.push(addr);
            }
        }
    }

    /// The direct addresses known for `peer`.
    pub(crate) fn direct_addrs(&self, peer: &PeerId) -> Vec<Multiaddr> {
        self.direct.get(peer).cloned().unwrap_or_default()
    }

    /// The addresses to dial `peer` on: direct ones first, then relay circuits if we dial.
    pub(crate) fn addrs_of(&self, peer: &PeerId) -> Vec<Multiaddr> {
        let mut out: Vec<Multiaddr> = self.direct.get(peer).cloned().unwrap_or_default();
        if self.dials_via_relay(peer) {
            let mut slots: Vec<_> = self.relays.iter().collect();
            slots.sort_by_key(|(i, _)| **i);
            for (_, relay) in slots {
                out.extend(relay.circuit_addrs(*peer));
            }
        }
        out
    }

    fn admit(
        &mut self,
        peer: PeerId,
        addr: &Multiaddr,
        inbound: bool,
    ) -> Result<(), ConnectionDenied> {
        if self.is_cluster_peer(&peer) || self.is_relay(&peer) {
            return Ok(());
        }
        self.events.push_back(GateEvent::Refused {
            peer,
            addr: addr.clone(),
            inbound,
        });
        Err(ConnectionDenied::new(NotAllowed(peer)))
    }
}

impl NetworkBehaviour for Gate {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = GateEvent;

    fn handle_established_inbound_connection(
        &mut self,
        _connection_id: ConnectionId,
        peer: PeerId,
        _local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.admit(peer, remote_addr, true)?;
        Ok(dummy::ConnectionHandler)
    }

    fn handle_pending_outbound_connection(
        &mut self,
        _connection_id: ConnectionId,
        maybe_peer: Option<PeerId>,
        _addresses: &[Multiaddr],
        _effective_role: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        Ok(maybe_peer
            .filter(|p| self.is_cluster_peer(p))
            .map(|p| self.addrs_of(&p))
            .unwrap_or_default())
    }

    fn handle_established_outbound_connection(
        &mut self,
        _connection_id: ConnectionId,
        peer: PeerId,
        addr: &Multiaddr,
        _role_override: Endpoint,
        _port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.admit(peer, addr, false)?;
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, _event: FromSwarm) {}

    fn on_connection_handler_event(
        &mut self,
        _peer_id: PeerId,
        _connection_id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(
        &mut self,
        _cx: &mut Context<'_>,
    ) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        match self.events.pop_front() {
            Some(e) => Poll::Ready(ToSwarm::GenerateEvent(e)),
            None => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dkgd_crypto::k1::K1SecretKey;

    fn peer(seed: u8) -> PeerId {
        let key = K1SecretKey::from_bytes(&[seed; 32]).expect("key");
        crate::identity::keypair(&key)
            .expect("kp")
            .public()
            .to_peer_id()
    }

    #[test]
    fn only_the_smaller_peer_dials_through_relays() {
        let (a, b) = (peer(1), peer(2));
        let (small, large) = if a.to_bytes() < b.to_bytes() {
            (a, b)
        } else {
            (b, a)
        };
        let relay = ResolvedRelay {
            peer: peer(3),
            addrs: vec!["/ip4/127.0.0.1/tcp/9".parse().expect("ma")],
        };
        let mut s = Gate::new(small, [small, large]);
        let mut l = Gate::new(large, [small, large]);
        s.set_relay(0, Some(relay.clone()));
        l.set_relay(0, Some(relay));
        assert!(s.has_route(&large) && s.addrs_of(&large).len() == 1);
        assert!(!l.has_route(&small) && l.addrs_of(&small).is_empty());
        // A direct address is used by either side, and comes before circuits.
        let direct: Multiaddr = "/ip4/127.0.0.1/tcp/7".parse().expect("ma");
        let circuit: Multiaddr = "/ip4/127.0.0.1/tcp/8/p2p-circuit".parse().expect("ma");
        l.add_direct_addrs(small, [direct.clone(), circuit]);
        assert_eq!(l.addrs_of(&small), vec![direct.clone()]);
        s.add_direct_addrs(
            large,
            [direct.clone().with(libp2p::multiaddr::Protocol::P2p(large))],
        );
        assert_eq!(s.addrs_of(&large).first(), Some(&direct));
        // Strangers get nothing and are refused.
        let stranger = peer(4);
        s.add_direct_addrs(stranger, [direct.clone()]);
        assert!(!s.has_route(&stranger));
        assert!(s.admit(stranger, &direct, true).is_err());
        assert!(
            matches!(s.events.pop_front(), Some(GateEvent::Refused { peer, .. }) if peer == stranger)
        );
        assert!(s.admit(large, &direct, true).is_ok() && s.admit(peer(3), &direct, false).is_ok());
    }
}
