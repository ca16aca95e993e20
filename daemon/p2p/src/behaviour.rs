//! The libp2p stack of a cluster node and helpers shared with the relay server: building
//! the swarm, binding listen addresses, and telling direct from relayed connections.

use crate::error::Error;
use crate::gate::Gate;
use crate::host_types::Route;
use libp2p::core::ConnectedPoint;
use libp2p::futures::StreamExt;
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{dcutr, identify, noise, ping, relay, tcp, yamux, Multiaddr, PeerId, Swarm};
use std::time::Duration;

/// The identify protocol version go-libp2p (and so charon) announces.
pub(crate) const IDENTIFY_PROTOCOL_VERSION: &str = "ipfs/0.1.0";

/// How long binding one listen address may take.
const BIND_TIMEOUT: Duration = Duration::from_secs(5);

/// Every protocol a cluster node runs (spec §1.3 "Enabled services"), gate first so that a
/// refused peer never reaches the others.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    pub(crate) gate: Gate,
    pub(crate) relay_client: relay::client::Behaviour,
    pub(crate) identify: identify::Behaviour,
    pub(crate) ping: ping::Behaviour,
    pub(crate) dcutr: dcutr::Behaviour,
    pub(crate) stream: crate::stream_behaviour::Behaviour,
}

/// Builds a cluster node's swarm: TCP (no delay) + Noise + yamux, plus the relay transport.
pub(crate) fn build_swarm(
    keypair: Keypair,
    gate: Gate,
    user_agent: &str,
    idle_connection_timeout: Duration,
    protocols: Vec<libp2p::StreamProtocol>,
) -> Result<Swarm<Behaviour>, Error> {
    let agent = user_agent.to_owned();
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|_| Error::Internal("building the TCP transport"))?
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|_| Error::Internal("building the relay transport"))?
        .with_behaviour(|key, relay_client| Behaviour {
            gate,
            relay_client,
            identify: identify::Behaviour::new(
                identify::Config::new(IDENTIFY_PROTOCOL_VERSION.to_owned(), key.public())
                    .with_agent_version(agent),
            ),
            ping: ping::Behaviour::default(),
            dcutr: dcutr::Behaviour::new(key.public().to_peer_id()),
            stream: crate::stream_behaviour::Behaviour::new(protocols),
        })
        .map_err(|_| Error::Internal("building the behaviour"))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(idle_connection_timeout))
        .build();
    Ok(swarm)
}

/// Listens on every address and waits until each listener reports its first bound address
/// (so port 0 becomes a real port). Fails naming the address that cannot be bound.
pub(crate) async fn bind<B: NetworkBehaviour>(
    swarm: &mut Swarm<B>,
    addrs: &[Multiaddr],
) -> Result<Vec<Multiaddr>, Error> {
    let mut pending = Vec::new();
    for addr in addrs {
        let id = swarm.listen_on(addr.clone()).map_err(|e| Error::Listen {
            addr: addr.clone(),
            why: transport_reason(&e),
        })?;
        pending.push((id, addr.clone()));
    }
    let mut bound = Vec::new();
    let deadline = tokio::time::Instant::now() + BIND_TIMEOUT;
    while !pending.is_empty() {
        let event = tokio::time::timeout_at(deadline, swarm.select_next_some())
            .await
            .map_err(|_| Error::Listen {
                addr: pending
                    .first()
                    .map(|(_, a)| a.clone())
                    .unwrap_or_else(Multiaddr::empty),
                why: "no address was bound within 5 s".into(),
            })?;
        match event {
            SwarmEvent::NewListenAddr {
                listener_id,
                address,
            } => {
                if let Some(i) = pending.iter().position(|(id, _)| *id == listener_id) {
                    pending.remove(i);
                }
                bound.push(address);
            }
            SwarmEvent::ListenerError { listener_id, error } => {
                if let Some((_, addr)) = pending.iter().find(|(id, _)| *id == listener_id) {
                    return Err(Error::Listen {
                        addr: addr.clone(),
                        why: error.to_string(),
                    });
                }
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                reason,
                ..
            } => {
                if let Some((_, addr)) = pending.iter().find(|(id, _)| *id == listener_id) {
                    return Err(Error::Listen {
                        addr: addr.clone(),
                        why: match reason {
                            Err(e) => e.to_string(),
                            Ok(()) => "the listener closed".into(),
                        },
                    });
                }
            }
            _ => {}
        }
    }
    Ok(bound)
}

/// The innermost reason of a listen error (e.g. "Address already in use (os error 98)").
fn transport_reason<E: std::error::Error>(e: &libp2p::TransportError<E>) -> String {
    match e {
        libp2p::TransportError::MultiaddrNotSupported(a) => {
            format!("the address {a} is not supported (TCP over /ip4 or /ip6 only)")
        }
        libp2p::TransportError::Other(inner) => {
            let mut msg = inner.to_string();
            let mut source = inner.source();
            while let Some(s) = source {
                msg = s.to_string();
                source = s.source();
            }
            msg
        }
    }
}

/// Whether a connection runs directly or through a relay (and which one).
pub(crate) fn route_of(endpoint: &ConnectedPoint) -> Route {
    let (ours, theirs) = match endpoint {
        ConnectedPoint::Dialer { address, .. } => (address, address),
        ConnectedPoint::Listener {
            local_addr,
            send_back_addr,
        } => (local_addr, send_back_addr),
    };
    match relay_of(ours).or_else(|| relay_of(theirs)) {
        Some(relay) => Route::Relayed { relay },
        None => Route::Direct {
            addr: theirs.clone(),
        },
    }
}

/// The relay in a `…/p2p/<relay>/p2p-circuit…` address.
pub(crate) fn relay_of(addr: &Multiaddr) -> Option<PeerId> {
    let mut last_peer = None;
    for p in addr.iter() {
        match p {
            Protocol::P2p(id) => last_peer = Some(id),
            Protocol::P2pCircuit => return last_peer,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let relay = PeerId::from_bytes(
            &[0x12, 0x20]
                .into_iter()
                .chain([1u8; 32])
                .collect::<Vec<_>>(),
        )
        .expect("peer id");
        let direct: Multiaddr = "/ip4/127.0.0.1/tcp/1".parse().expect("ma");
        let circuit = "/ip4/127.0.0.1/tcp/1"
            .parse::<Multiaddr>()
            .expect("ma")
            .with(Protocol::P2p(relay))
            .with(Protocol::P2pCircuit);
        assert_eq!(relay_of(&circuit), Some(relay));
        assert_eq!(relay_of(&direct), None);
        let dialed = ConnectedPoint::Dialer {
            address: direct.clone(),
            role_override: libp2p::core::Endpoint::Dialer,
            port_use: libp2p::core::transport::PortUse::New,
        };
        assert_eq!(route_of(&dialed), Route::Direct { addr: direct });
        let relayed_in = ConnectedPoint::Listener {
            local_addr: circuit,
            send_back_addr: Multiaddr::empty(),
        };
        assert_eq!(route_of(&relayed_in), Route::Relayed { relay });
    }
}
