//! A circuit-relay v2 server (what `dkgd relay` runs), in the image of charon's `cmd/relay`:
//! identify, ping and the relay protocol over TCP + Noise + yamux, with charon's raised
//! per-circuit limits (1 h, 32 MiB instead of libp2p's 2 min, 128 KiB), and an optional HTTP
//! endpoint serving its addresses the way charon's relay does (see [`http`]):
//!
//! * `GET /enr` → the relay's ENR text (`ip` and `tcp` of its first advertised address);
//! * `GET` any other path → a JSON array of its multiaddrs, each ending in `/p2p/<id>`.
//!
//! Unlike a cluster node, the relay admits every peer: it is a meeting point, and the
//! cluster nodes' own gates decide who may talk to them.

pub mod http;

use crate::behaviour::{bind, IDENTIFY_PROTOCOL_VERSION};
use crate::error::Error;
use crate::identity::keypair;
use dkgd_crypto::k1::K1SecretKey;
use dkgd_formats::enr::Enr;
use http::Advert;
use libp2p::futures::StreamExt;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{identify, noise, ping, relay, tcp, yamux, Multiaddr, PeerId as NetPeerId, Swarm};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Limits and addresses of a relay server.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RelayServerConfig {
    /// TCP addresses to listen on (e.g. `/ip4/0.0.0.0/tcp/3610`).
    pub listen: Vec<Multiaddr>,
    /// Where to serve the relay's ENR and multiaddrs over HTTP (charon: 127.0.0.1:3640).
    pub http: Option<SocketAddr>,
    /// A public IP to advertise instead of the bound interface addresses (charon's
    /// `--p2p-external-ip`), e.g. behind a port forward.
    pub external_ip: Option<IpAddr>,
    /// Most reservations held at once.
    pub max_reservations: usize,
    /// Most circuits open at once.
    pub max_circuits: usize,
    /// Most circuits one peer may have open as their source.
    pub max_circuits_per_peer: usize,
    /// How long one circuit may live (charon: 1 h).
    pub max_circuit_duration: Duration,
    /// How many bytes one circuit may carry (charon: 32 MiB).
    pub max_circuit_bytes: u64,
}

impl RelayServerConfig {
    /// Charon's relay limits on these listen addresses, without HTTP.
    pub fn new(listen: Vec<Multiaddr>) -> Self {
        Self {
            listen,
            http: None,
            external_ip: None,
            max_reservations: 512,
            max_circuits: 1024,
            max_circuits_per_peer: 64,
            max_circuit_duration: Duration::from_secs(3600),
            max_circuit_bytes: 32 << 20,
        }
    }

    fn relay_config(&self) -> relay::Config {
        let never = NonZeroU32::MIN;
        relay::Config {
            max_reservations: self.max_reservations,
            max_reservations_per_peer: 4,
            reservation_duration: Duration::from_secs(3600),
            reservation_rate_limiters: Vec::new(),
            max_circuits: self.max_circuits,
            max_circuits_per_peer: self.max_circuits_per_peer,
            max_circuit_duration: self.max_circuit_duration,
            max_circuit_bytes: self.max_circuit_bytes,
            circuit_src_rate_limiters: Vec::new(),
        }
        // Per peer only: a whole test cluster (or an office) shares one IP. Circuit attempts
        // are refilled fast because a node keeps retrying peers that have not reserved yet.
        .reservation_rate_per_peer(
            NonZeroU32::new(60).unwrap_or(never),
            Duration::from_secs(10),
        )
        .circuit_src_per_peer(
            NonZeroU32::new(256).unwrap_or(never),
            Duration::from_millis(100),
        )
    }
}

#[derive(NetworkBehaviour)]
struct RelayBehaviour {
    relay: relay::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
}

/// A running relay server. Stop it with [`RelayServer::shutdown`].
#[derive(Debug)]
pub struct RelayServer {
    peer_id: NetPeerId,
    addrs: Vec<Multiaddr>,
    http_addr: Option<SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    http_task: Option<JoinHandle<()>>,
}

impl RelayServer {
    /// Starts a relay with the ENR key as identity. Fails naming the address if a listen
    /// address or the HTTP address cannot be bound (e.g. the port is taken).
    pub async fn start(key: &K1SecretKey, config: RelayServerConfig) -> Result<Self, Error> {
        let keypair = keypair(key)?;
        let peer_id = keypair.public().to_peer_id();
        let relay_config = config.relay_config();
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .map_err(|_| Error::Internal("building the TCP transport"))?
            .with_behaviour(|key| RelayBehaviour {
                relay: relay::Behaviour::new(peer_id, relay_config),
                identify: identify::Behaviour::new(
                    identify::Config::new(IDENTIFY_PROTOCOL_VERSION.to_owned(), key.public())
                        .with_agent_version(format!("dkgd-relay/{}", env!("CARGO_PKG_VERSION"))),
                ),
                ping: ping::Behaviour::default(),
            })
            .map_err(|_| Error::Internal("building the relay behaviour"))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
            .build();
        let bound = bind(&mut swarm, &config.listen).await?;
        let advertised = advertise(&bound, config.external_ip);
        for a in &advertised {
            swarm.add_external_address(a.clone());
        }
        let enr = first_ipv4_tcp(&advertised).map(|(ip, port)| {
            Enr::create_with(key, Some(ip), Some(port), None)
                .to_text()
                .to_owned()
        });
        let addrs: Vec<Multiaddr> = advertised
            .iter()
            .map(|a| a.clone().with(Protocol::P2p(peer_id)))
            .collect();
        let advert = Arc::new(RwLock::new(Advert {
            addrs: addrs.clone(),
            enr,
        }));
        let (http_addr, http_task) = match config.http {
            Some(at) => {
                let (addr, task) = http::serve(at, Arc::clone(&advert)).await?;
                (Some(addr), Some(task))
            }
            None => (None, None),
        };
        let (stop_tx, stop_rx) = oneshot::channel();
        let task = tokio::spawn(run(swarm, stop_rx, config.external_ip, advert));
        tracing::info!(peer_id = %peer_id, addrs = ?addrs, http = ?http_addr, "relay started");
        Ok(Self {
            peer_id,
            addrs,
            http_addr,
            stop: Some(stop_tx),
            task: Some(task),
            http_task,
        })
    }

    /// The relay's peer ID.
    pub fn peer_id(&self) -> NetPeerId {
        self.peer_id
    }

    /// The relay's advertised multiaddrs at start, each ending in `/p2p/<id>`.
    pub fn multiaddrs(&self) -> &[Multiaddr] {
        &self.addrs
    }

    /// Where the HTTP endpoint listens, if it was enabled.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_addr
    }

    /// The URL clients can give as `--relay` (`http://<http addr>/`).
    pub fn http_url(&self) -> Option<String> {
        self.http_addr.map(|a| format!("http://{a}/"))
    }

    /// Stops serving: closes the HTTP endpoint, every circuit and connection, and waits.
    pub async fn shutdown(mut self) {
        self.stop_now().await;
    }

    async fn stop_now(&mut self) {
        if let Some(h) = self.http_task.take() {
            h.abort();
            let _ = h.await;
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RelayServer {
    fn drop(&mut self) {
        if let Some(h) = self.http_task.take() {
            h.abort();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Public addresses first, then private, then loopback (charon orders public first); with
/// an external IP, that IP on every bound port instead.
fn advertise(bound: &[Multiaddr], external_ip: Option<IpAddr>) -> Vec<Multiaddr> {
    let mut out: Vec<Multiaddr> = match external_ip {
        Some(ip) => bound
            .iter()
            .filter_map(tcp_port)
            .map(|port| Multiaddr::from(ip).with(Protocol::Tcp(port)))
            .collect(),
        None => bound.to_vec(),
    };
    out.sort_by_key(rank);
    out.dedup();
    out
}

fn tcp_port(a: &Multiaddr) -> Option<u16> {
    a.iter().find_map(|p| match p {
        Protocol::Tcp(port) => Some(port),
        _ => None,
    })
}

fn rank(a: &Multiaddr) -> u8 {
    match a.iter().next() {
        Some(Protocol::Ip4(ip)) if ip.is_loopback() => 2,
        Some(Protocol::Ip4(ip)) if ip.is_private() || ip.is_link_local() => 1,
        Some(Protocol::Ip6(ip)) if ip.is_loopback() => 2,
        Some(Protocol::Ip6(_)) => 1,
        _ => 0,
    }
}

fn first_ipv4_tcp(addrs: &[Multiaddr]) -> Option<(std::net::Ipv4Addr, u16)> {
    addrs.iter().find_map(|a| {
        let mut it = a.iter();
        match (it.next(), it.next()) {
            (Some(Protocol::Ip4(ip)), Some(Protocol::Tcp(port))) => Some((ip, port)),
            _ => None,
        }
    })
}

async fn run(
    mut swarm: Swarm<RelayBehaviour>,
    mut stop: oneshot::Receiver<()>,
    external_ip: Option<IpAddr>,
    advert: Arc<RwLock<Advert>>,
) {
    loop {
        tokio::select! {
            _ = &mut stop => break,
            event = swarm.select_next_some() => match event {
                SwarmEvent::Behaviour(RelayBehaviourEvent::Relay(e)) => log_relay_event(e),
                SwarmEvent::NewListenAddr { address, .. } if external_ip.is_none() => {
                    // A new interface appeared under a wildcard listener.
                    swarm.add_external_address(address.clone());
                    let id = *swarm.local_peer_id();
                    if let Ok(mut a) = advert.write() {
                        let full = address.with(Protocol::P2p(id));
                        if !a.addrs.contains(&full) {
                            a.addrs.push(full);
                        }
                    }
                }
                SwarmEvent::ListenerError { error, .. } => {
                    tracing::warn!(%error, "relay listener error");
                }
                _ => {}
            },
        }
    }
    let id = *swarm.local_peer_id();
    drop(swarm);
    tracing::info!(peer_id = %id, "relay stopped");
}

#[allow(deprecated)] // libp2p marks some failure variants for removal; they are still sent.
fn log_relay_event(e: relay::Event) {
    use relay::Event as E;
    match e {
        E::ReservationReqAccepted {
            src_peer_id,
            renewed,
        } => {
            if renewed {
                tracing::debug!(peer = %src_peer_id, "reservation renewed");
            } else {
                tracing::info!(peer = %src_peer_id, "reservation accepted");
            }
        }
        E::ReservationReqDenied {
            src_peer_id,
            status,
        } => {
            tracing::warn!(peer = %src_peer_id, ?status, "reservation denied");
        }
        E::ReservationTimedOut { src_peer_id } => {
            tracing::info!(peer = %src_peer_id, "reservation expired");
        }
        E::CircuitReqAccepted {
            src_peer_id,
            dst_peer_id,
        } => tracing::info!(src = %src_peer_id, dst = %dst_peer_id, "circuit opened"),
        E::CircuitReqDenied {
            src_peer_id,
            dst_peer_id,
            status,
        } => tracing::warn!(src = %src_peer_id, dst = %dst_peer_id, ?status, "circuit denied"),
        E::CircuitClosed {
            src_peer_id,
            dst_peer_id,
            error,
        } => {
            let error = error.map(|e| e.to_string());
            tracing::info!(src = %src_peer_id, dst = %dst_peer_id, ?error, "circuit closed");
        }
        other => tracing::debug!(event = ?other, "relay"),
    }
}
