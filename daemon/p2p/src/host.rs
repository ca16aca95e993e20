//! The node's libp2p host: what the node driver configures, starts, and talks to.
//!
//! [`Host::start`] builds the swarm (TCP + Noise + yamux; identify, ping, circuit-relay v2
//! client, DCUtR; the gate; `libp2p-stream`), binds the `--listen` addresses, resolves the
//! relays (waiting, like charon, until at least one resolves), and hands the swarm to a
//! swarm task ([`crate::swarm`]). The returned [`Host`] is a cheap, cloneable handle.

use crate::error::{Error, StreamErrorKind};
pub use crate::host_types::{
    Connection, HostConfig, HostEvent, Route, RELAY_REFRESH_INTERVAL, RELAY_RESOLVE_WAIT,
};
use crate::identity::{from_libp2p, keypair, to_libp2p};
use crate::stream::{Incoming, PeerStream, Protocol};
use crate::stream_behaviour::OpenError;
use crate::swarm::{self, Command};
use dkgd_crypto::k1::K1SecretKey;
use dkgd_formats::enr::PeerId;
use libp2p::Multiaddr;
use std::collections::HashSet;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

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
