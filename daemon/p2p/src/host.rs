//! The node's libp2p host: what the node driver configures, starts, and talks to.
//!
//! [`Host::start`] builds the swarm (TCP + Noise + yamux; identify, ping, circuit-relay v2
//! client, DCUtR; the gate; `libp2p-stream`), binds the `--listen` addresses, resolves the
//! relays (waiting, like charon, until at least one resolves), and hands the swarm to a
//! driver task ([`crate::driver`]). The returned [`Host`] is a cheap, cloneable handle.

use crate::error::{Error, StreamErrorKind};
use crate::identity::{from_libp2p, keypair, to_libp2p};
use crate::relay_addr::{RelayQuery, RelaySpec};
use crate::stream::{Incoming, PeerStream, Protocol};
use crate::stream_behaviour::OpenError;
use crate::swarm::{self, Command};
use dkgd_crypto::k1::K1SecretKey;
use dkgd_formats::enr::PeerId;
use libp2p::{Multiaddr, PeerId as NetPeerId};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Charon's wait for the first relay to resolve at startup (1 min).
pub const RELAY_RESOLVE_WAIT: Duration = Duration::from_secs(60);
/// Charon's interval for re-resolving relay URLs (2 min).
pub const RELAY_REFRESH_INTERVAL: Duration = Duration::from_secs(120);

/// How the host is set up. Build with [`HostConfig::new`], then set the public fields.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HostConfig {
    /// The cluster's peers (the definition's operators; our own ID may be included). Only
    /// they and the relays may connect.
    pub peers: Vec<PeerId>,
    /// Addresses to listen on (e.g. `/ip4/0.0.0.0/tcp/3610`). Empty, as charon's default,
    /// means outbound connections only.
    pub listen: Vec<Multiaddr>,
    /// Known direct addresses of peers (e.g. from the command line).
    pub peer_addrs: Vec<(PeerId, Multiaddr)>,
    /// The relays (multiaddrs or `http://` URLs).
    pub relays: Vec<RelaySpec>,
    /// Headers sent when resolving relay URLs.
    pub relay_query: RelayQuery,
    /// How long [`Host::start`] waits for the first relay to resolve.
    pub relay_resolve_wait: Duration,
    /// How often relay URLs are re-resolved.
    pub relay_refresh_interval: Duration,
    /// The identify agent version (charon sends `obolnetwork-charon/<vX.Y>`).
    pub user_agent: String,
    /// How long a connection without streams is kept open.
    pub idle_connection_timeout: Duration,
    /// Protocols served from the first connection on: inbound streams of these queue until
    /// [`Host::accept`] takes them, so a fast peer never finds them unsupported.
    pub protocols: Vec<Protocol>,
}

impl HostConfig {
    /// A config for these cluster peers, with charon's defaults and no listen address.
    pub fn new(peers: Vec<PeerId>) -> Self {
        Self {
            peers,
            listen: Vec::new(),
            peer_addrs: Vec::new(),
            relays: Vec::new(),
            relay_query: RelayQuery::default(),
            relay_resolve_wait: RELAY_RESOLVE_WAIT,
            relay_refresh_interval: RELAY_REFRESH_INTERVAL,
            user_agent: format!("dkgd/{}", env!("CARGO_PKG_VERSION")),
            idle_connection_timeout: Duration::from_secs(3600),
            protocols: Vec::new(),
        }
    }
}

/// How a connection to a peer runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A direct TCP connection to or from this address.
    Direct {
        /// The remote address.
        addr: Multiaddr,
    },
    /// A circuit through a relay.
    Relayed {
        /// The relay's peer ID.
        relay: NetPeerId,
    },
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Route::Direct { addr } => write!(f, "direct {addr}"),
            Route::Relayed { relay } => write!(f, "via relay {relay}"),
        }
    }
}

/// Connectivity changes, for progress reporting. Delivered in order; if the consumer falls
/// more than 1024 events behind, further events are dropped (and a warning is logged) —
/// [`Host::connections`] always has the current state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostEvent {
    /// A connection to a cluster peer was established.
    Connected {
        /// The peer.
        peer: PeerId,
        /// How this connection runs.
        route: Route,
        /// Connections to the peer now open (1 = it just became reachable).
        connections: u32,
    },
    /// A connection to a cluster peer closed.
    Disconnected {
        /// The peer.
        peer: PeerId,
        /// How the closed connection ran.
        route: Route,
        /// Connections to the peer still open (0 = it is now unreachable).
        connections: u32,
    },
    /// A relay accepted our reservation: peers can now reach us through it.
    RelayReserved {
        /// The relay.
        relay: NetPeerId,
    },
    /// We lost our reservation on a relay (it will be retried).
    RelayLost {
        /// The relay.
        relay: NetPeerId,
    },
    /// A relay URL resolved to a (new) relay identity.
    RelayResolved {
        /// The URL.
        url: String,
        /// The relay's peer ID.
        relay: NetPeerId,
    },
    /// An authenticated peer outside the cluster and relay list was refused.
    Refused {
        /// Its peer ID.
        peer: NetPeerId,
        /// Its address.
        addr: Multiaddr,
    },
}

/// One open connection to a cluster peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The peer.
    pub peer: PeerId,
    /// How the connection runs.
    pub route: Route,
}

/// A handle to the running host. Cloning is cheap; the host stops when
/// [`Host::shutdown`] is called or every handle is dropped.
#[derive(Clone)]
pub struct Host {
    local: PeerId,
    cluster: Arc<HashSet<PeerId>>,
    listen: Vec<Multiaddr>,
    control: crate::stream_behaviour::Control,
    commands: mpsc::Sender<Command>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("peer_id", &self.local)
            .field("listen", &self.listen)
            .finish_non_exhaustive()
    }
}

impl Host {
    /// Starts a host with the ENR key as identity. Fails if a listen address cannot be bound
    /// (naming it), or if relays were given and none resolved within
    /// [`HostConfig::relay_resolve_wait`]. Must be called inside a tokio runtime.
    pub async fn start(
        key: &K1SecretKey,
        config: HostConfig,
    ) -> Result<(Host, mpsc::Receiver<HostEvent>), Error> {
        let keypair = keypair(key)?;
        let local = from_libp2p(&keypair.public().to_peer_id())?;
        let started = swarm::start(keypair, &config).await?;
        let cluster = config.peers.iter().filter(|p| **p != local).copied();
        Ok((
            Host {
                local,
                cluster: Arc::new(cluster.collect()),
                listen: started.listen,
                control: started.control,
                commands: started.commands,
            },
            started.events,
        ))
    }

    /// Our peer ID.
    pub fn peer_id(&self) -> PeerId {
        self.local
    }

    /// The addresses we listen on, with the ports actually bound (no `/p2p` suffix).
    pub fn listen_addrs(&self) -> &[Multiaddr] {
        &self.listen
    }

    /// Opens a stream to a cluster peer within the protocol's timeout. If the peer is not
    /// connected yet, this first waits until it is: the driver keeps dialing it (directly,
    /// or through relays when our peer ID is the smaller one), or, as the larger peer
    /// without a direct address, waits for the peer's relayed connection. The timeout
    /// covers both phases and names the one that ran out ("connect" or "open").
    pub async fn open_stream(
        &self,
        peer: &PeerId,
        protocol: &Protocol,
    ) -> Result<PeerStream, Error> {
        let started = tokio::time::Instant::now();
        let connect = async {
            let (tx, rx) = oneshot::channel();
            self.commands
                .send(Command::WaitConnected(to_libp2p(peer), tx))
                .await
                .map_err(|_| Error::Stopped)?;
            match rx.await {
                Ok(true) => Ok(()),
                Ok(false) => Err(Error::stream(
                    peer,
                    protocol.id(),
                    StreamErrorKind::NotInCluster,
                )),
                Err(_) => Err(Error::Stopped),
            }
        };
        protocol.timed(peer, "connect", connect).await?;
        // Opened on an established connection (the driver owns dialing).
        let control = self.control.clone();
        let open = async {
            control
                .open_stream(to_libp2p(peer), protocol.stream_protocol())
                .await
                .map(|s| PeerStream::new(*peer, protocol.clone(), s))
                .map_err(|e| {
                    let kind = match e {
                        OpenError::Unsupported => StreamErrorKind::ProtocolUnsupported,
                        OpenError::Io(e) => StreamErrorKind::Open(e),
                        OpenError::NotConnected => StreamErrorKind::Open(std::io::Error::new(
                            std::io::ErrorKind::NotConnected,
                            "the connection closed before the stream was opened",
                        )),
                    };
                    Error::stream(peer, protocol.id(), kind)
                })
        };
        let rest = protocol
            .timeout()
            .map(|t| t.saturating_sub(started.elapsed()));
        protocol
            .clone()
            .with_timeout(rest)
            .timed(peer, "open", open)
            .await
    }

    /// Starts accepting inbound streams of `protocol` (once per protocol at a time).
    pub fn accept(&self, protocol: &Protocol) -> Result<Incoming, Error> {
        self.control
            .accept(protocol.stream_protocol())
            .map(|inner| Incoming::new(protocol.clone(), inner, Arc::clone(&self.cluster)))
            .map_err(|_| Error::AlreadyAccepting {
                protocol: protocol.id().to_owned(),
            })
    }

    /// Adds direct addresses for a cluster peer (ignored for other peers).
    pub async fn add_peer_addrs(&self, peer: &PeerId, addrs: Vec<Multiaddr>) -> Result<(), Error> {
        self.commands
            .send(Command::AddPeerAddrs(to_libp2p(peer), addrs))
            .await
            .map_err(|_| Error::Stopped)
    }

    /// The open connections to cluster peers.
    pub async fn connections(&self) -> Result<Vec<Connection>, Error> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Connections(tx))
            .await
            .map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)
    }

    /// Stops the host: closes every connection and the listeners, and waits for the driver
    /// task to end. Other handles then fail with [`Error::Stopped`].
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Shutdown(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}
