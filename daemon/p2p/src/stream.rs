//! Protocol-agnostic streams for the node driver: a [`Protocol`] is a caller-supplied ID with
//! a timeout (the caller's compatibility profile decides them); a [`PeerStream`] is one
//! libp2p stream to an authenticated cluster peer that moves bytes; [`Incoming`] yields the
//! inbound streams of one protocol. Frames are the caller's business: dkgd-ceremony's wire
//! module encodes and decodes them, this crate never looks inside.

use crate::error::{Error, StreamErrorKind};
use crate::identity::from_libp2p;
use dkgd_formats::enr::PeerId;
use futures::{AsyncReadExt, AsyncWriteExt};
use libp2p::StreamProtocol;
use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// A stream protocol as the caller's profile defines it, e.g. `/charon/dkg/sync/1.0.0/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protocol {
    id: StreamProtocol,
    timeout: Option<Duration>,
}

impl Protocol {
    /// A protocol with no timeout; an ID libp2p does not accept is refused.
    pub fn new(id: impl Into<String>) -> Result<Self, Error> {
        let id: String = id.into();
        let id = StreamProtocol::try_from_owned(id.clone())
            .map_err(|_| Error::InvalidProtocolId { id })?;
        Ok(Self { id, timeout: None })
    }

    /// The same protocol with a timeout for each open, send and receive (`None`: wait).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// The protocol ID.
    pub fn id(&self) -> &str {
        self.id.as_ref()
    }

    /// The per-operation timeout.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    pub(crate) fn stream_protocol(&self) -> StreamProtocol {
        self.id.clone()
    }

    /// Runs `fut` under this protocol's timeout, mapping an expiry to [`Error::Timeout`].
    pub(crate) async fn timed<T>(
        &self,
        peer: &PeerId,
        op: &'static str,
        fut: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        match self.timeout {
            None => fut.await,
            Some(after) => tokio::time::timeout(after, fut).await.map_err(|_| {
                Error::stream(peer, self.id(), StreamErrorKind::Timeout { op, after })
            })?,
        }
    }
}

/// One stream with a cluster peer, speaking one protocol.
pub struct PeerStream {
    peer: PeerId,
    protocol: Protocol,
    inner: libp2p::Stream,
}

impl std::fmt::Debug for PeerStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerStream")
            .field("peer", &self.peer)
            .field("protocol", &self.protocol.id())
            .finish_non_exhaustive()
    }
}

impl PeerStream {
    pub(crate) fn new(peer: PeerId, protocol: Protocol, inner: libp2p::Stream) -> Self {
        Self {
            peer,
            protocol,
            inner,
        }
    }

    /// The authenticated remote peer.
    pub fn peer(&self) -> &PeerId {
        &self.peer
    }

    /// The protocol this stream speaks.
    pub fn protocol(&self) -> &Protocol {
        &self.protocol
    }

    /// Writes and flushes `bytes`, within the protocol's timeout.
    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let (peer, p) = (self.peer, &self.protocol);
        let fut = async {
            self.inner.write_all(bytes).await?;
            self.inner.flush().await
        };
        p.timed(&peer, "send", async {
            fut.await.map_err(|e| io_error(&peer, p, e))
        })
        .await
    }

    /// Reads what has arrived into `buf` (at least one byte), within the protocol's
    /// timeout; `0` once the peer closed its side.
    pub async fn recv(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let (peer, p) = (self.peer, &self.protocol);
        let fut = async {
            self.inner
                .read(buf)
                .await
                .map_err(|e| io_error(&peer, p, e))
        };
        p.timed(&peer, "receive", fut).await
    }

    /// Closes our sending side (charon's sender half-closes after its one message); the
    /// peer's side stays readable.
    pub async fn close(&mut self) -> Result<(), Error> {
        let (peer, p) = (self.peer, &self.protocol);
        let fut = async { self.inner.close().await.map_err(|e| io_error(&peer, p, e)) };
        p.timed(&peer, "close", fut).await
    }

    /// The raw libp2p stream (futures `AsyncRead + AsyncWrite`), to split it into halves.
    pub fn into_inner(self) -> libp2p::Stream {
        self.inner
    }
}

fn io_error(peer: &PeerId, p: &Protocol, source: std::io::Error) -> Error {
    Error::stream(peer, p.id(), StreamErrorKind::Io(source))
}

/// Inbound streams of one protocol, from cluster peers only (the gate refuses strangers
/// before any stream exists, and streams a relay might open are dropped here). Dropping it
/// stops accepting that protocol.
pub struct Incoming {
    protocol: Protocol,
    inner: tokio::sync::mpsc::Receiver<(libp2p::PeerId, libp2p::Stream)>,
    cluster: Arc<HashSet<PeerId>>,
}

impl std::fmt::Debug for Incoming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Incoming")
            .field("protocol", &self.protocol.id())
            .finish_non_exhaustive()
    }
}

impl Incoming {
    pub(crate) fn new(
        protocol: Protocol,
        inner: tokio::sync::mpsc::Receiver<(libp2p::PeerId, libp2p::Stream)>,
        cluster: Arc<HashSet<PeerId>>,
    ) -> Self {
        Self {
            protocol,
            inner,
            cluster,
        }
    }

    /// The next inbound stream; `None` once the host has stopped.
    pub async fn next(&mut self) -> Option<PeerStream> {
        loop {
            let (peer, stream) = self.inner.recv().await?;
            match from_libp2p(&peer) {
                Ok(id) if self.cluster.contains(&id) => {
                    return Some(PeerStream::new(id, self.protocol.clone(), stream))
                }
                // Only relays get past the gate without being cluster peers, and they have
                // no business opening our protocols.
                _ => tracing::warn!(
                    %peer,
                    protocol = self.protocol.id(),
                    "dropping an inbound stream from a peer outside the cluster"
                ),
            }
        }
    }
}
