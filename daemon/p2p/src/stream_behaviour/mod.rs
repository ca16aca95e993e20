//! Raw libp2p streams per protocol, without loss: our replacement for `libp2p-stream`.
//!
//! charon opens one stream per message (bcast, FROST rounds, node signatures), so a node
//! receives bursts of inbound streams of one protocol at once. `libp2p-stream` 0.4 hands
//! inbound streams over a channel with room for one and resets the rest while the consumer
//! is busy — a silent loss that surfaced as hung or aborted ceremonies. Here:
//! - the protocols a node serves are registered before any connection exists (so a fast
//!   peer never sees "protocol not supported" during start-up), and inbound streams queue
//!   (up to [`INBOUND_QUEUE`] per protocol) until [`Control::accept`]'s consumer takes them;
//! - outbound streams are opened on an existing connection only (the host's swarm task owns
//!   dialing), many at a time per connection, each answered on its own channel.

mod handler;

use handler::{Handler, OpenRequest};
use libp2p::core::transport::PortUse;
use libp2p::core::Endpoint;
use libp2p::swarm::{
    ConnectionClosed, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, NotifyHandler,
    THandler, THandlerInEvent, THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId, Stream, StreamProtocol};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use tokio::sync::{mpsc, oneshot};

/// Inbound streams of one protocol that may wait for their consumer; more are reset (and
/// logged): only authenticated cluster peers get this far, so this bounds a misbehaving one.
pub(crate) const INBOUND_QUEUE: usize = 4096;

/// Why an outbound stream could not be opened.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// No connection to the peer is open.
    NotConnected,
    /// The peer does not speak the protocol.
    Unsupported,
    /// The connection failed or closed while negotiating.
    Io(std::io::Error),
}

/// A consumer already holds this protocol's inbound streams.
#[derive(Debug)]
pub(crate) struct AlreadyAccepting;

/// The queue of one served protocol.
struct Served {
    tx: mpsc::Sender<(PeerId, Stream)>,
    /// Present until a consumer takes it.
    rx: Option<mpsc::Receiver<(PeerId, Stream)>>,
}

impl Served {
    fn new() -> Self {
        let (tx, rx) = mpsc::channel(INBOUND_QUEUE);
        Self { tx, rx: Some(rx) }
    }
}

/// State shared by the behaviour, its connection handlers and the controls.
#[derive(Default)]
struct Shared {
    served: HashMap<StreamProtocol, Served>,
}

impl Shared {
    fn lock(this: &Mutex<Self>) -> MutexGuard<'_, Self> {
        // A panic while holding this lock cannot leave it inconsistent (single inserts).
        this.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn protocols(&self) -> Vec<StreamProtocol> {
        self.served.keys().cloned().collect()
    }

    fn deliver(&mut self, peer: PeerId, protocol: StreamProtocol, stream: Stream) {
        let Some(served) = self.served.get(&protocol) else {
            tracing::debug!(%peer, %protocol, "inbound stream for a protocol no longer served");
            return;
        };
        if let Err(e) = served.tx.try_send((peer, stream)) {
            match e {
                mpsc::error::TrySendError::Full(_) => tracing::warn!(
                    %peer, %protocol, limit = INBOUND_QUEUE,
                    "too many unanswered inbound streams; resetting this one"
                ),
                mpsc::error::TrySendError::Closed(_) => {
                    tracing::debug!(%peer, %protocol, "inbound stream after the consumer left")
                }
            }
        }
    }
}

/// A cloneable handle to open and accept streams.
#[derive(Clone)]
pub(crate) struct Control {
    shared: Arc<Mutex<Shared>>,
    requests: mpsc::UnboundedSender<(PeerId, OpenRequest)>,
}

impl Control {
    /// Opens a stream of `protocol` on an open connection to `peer`.
    pub(crate) async fn open_stream(
        &self,
        peer: PeerId,
        protocol: StreamProtocol,
    ) -> Result<Stream, OpenError> {
        let (reply, answer) = oneshot::channel();
        let request = OpenRequest { protocol, reply };
        self.requests
            .send((peer, request))
            .map_err(|_| OpenError::Io(std::io::Error::other("the p2p host has stopped")))?;
        answer.await.unwrap_or_else(|_| {
            Err(OpenError::Io(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "the connection closed while the stream was being opened",
            )))
        })
    }

    /// Takes the inbound streams of `protocol` (registering it if it was not served yet).
    /// Streams that arrived before are delivered first. Dropping the receiver and calling
    /// again starts a new queue.
    pub(crate) fn accept(
        &self,
        protocol: StreamProtocol,
    ) -> Result<mpsc::Receiver<(PeerId, Stream)>, AlreadyAccepting> {
        let mut shared = Shared::lock(&self.shared);
        let served = shared.served.entry(protocol).or_insert_with(Served::new);
        if served.tx.is_closed() {
            *served = Served::new();
        }
        served.rx.take().ok_or(AlreadyAccepting)
    }
}

/// The network behaviour: one [`Handler`] per connection.
pub(crate) struct Behaviour {
    shared: Arc<Mutex<Shared>>,
    requests_tx: mpsc::UnboundedSender<(PeerId, OpenRequest)>,
    requests: mpsc::UnboundedReceiver<(PeerId, OpenRequest)>,
    /// Open connections per peer, oldest first.
    connections: HashMap<PeerId, BTreeMap<ConnectionId, ()>>,
}

impl Behaviour {
    /// A behaviour serving `protocols` from the first connection on.
    pub(crate) fn new(protocols: impl IntoIterator<Item = StreamProtocol>) -> Self {
        let mut shared = Shared::default();
        for p in protocols {
            shared.served.insert(p, Served::new());
        }
        let (requests_tx, requests) = mpsc::unbounded_channel();
        Self {
            shared: Arc::new(Mutex::new(shared)),
            requests_tx,
            requests,
            connections: HashMap::new(),
        }
    }

    /// A handle for the host.
    pub(crate) fn control(&self) -> Control {
        Control {
            shared: Arc::clone(&self.shared),
            requests: self.requests_tx.clone(),
        }
    }

    fn handler(&mut self, peer: PeerId, id: ConnectionId) -> Handler {
        self.connections.entry(peer).or_default().insert(id, ());
        Handler::new(peer, Arc::clone(&self.shared))
    }
}

impl NetworkBehaviour for Behaviour {
    type ConnectionHandler = Handler;
    type ToSwarm = ();

    fn handle_established_inbound_connection(
        &mut self,
        id: ConnectionId,
        peer: PeerId,
        _local: &Multiaddr,
        _remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(self.handler(peer, id))
    }

    fn handle_established_outbound_connection(
        &mut self,
        id: ConnectionId,
        peer: PeerId,
        _addr: &Multiaddr,
        _role: Endpoint,
        _port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(self.handler(peer, id))
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        if let FromSwarm::ConnectionClosed(ConnectionClosed {
            peer_id,
            connection_id,
            ..
        }) = event
        {
            if let Some(conns) = self.connections.get_mut(&peer_id) {
                conns.remove(&connection_id);
                if conns.is_empty() {
                    self.connections.remove(&peer_id);
                }
            }
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _peer: PeerId,
        _id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<ToSwarm<(), THandlerInEvent<Self>>> {
        while let Poll::Ready(Some((peer, request))) = self.requests.poll_recv(cx) {
            // The oldest connection: both peers dialing each other leaves two, and the
            // oldest is the one both sides have used longest.
            let first = self
                .connections
                .get(&peer)
                .and_then(|c| c.keys().next().copied());
            match first {
                Some(id) => {
                    return Poll::Ready(ToSwarm::NotifyHandler {
                        peer_id: peer,
                        handler: NotifyHandler::One(id),
                        event: request,
                    })
                }
                None => {
                    let _ = request.reply.send(Err(OpenError::NotConnected));
                }
            }
        }
        Poll::Pending
    }
}
