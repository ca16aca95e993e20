//! Protocol-agnostic streams for the node driver: a [`Protocol`] is a caller-supplied ID with
//! its framing, frame limit and timeout (the caller's compatibility profile decides them); a
//! [`PeerStream`] is one libp2p stream to an authenticated cluster peer that sends and
//! receives opaque frames; [`Incoming`] yields the inbound streams of one protocol.

use crate::error::{Error, StreamErrorKind};
use crate::frame::{read_frame, write_frame, FrameError, Framing};
use crate::identity::from_libp2p;
use dkgd_formats::enr::PeerId;
use futures::AsyncWriteExt;
use libp2p::StreamProtocol;
use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// A stream protocol as the caller's profile defines it, e.g. `/charon/dkg/sync/1.0.0/`
/// with [`Framing::I64Le`], or `/charon/dkg/bcast/1.0.0/msg` with [`Framing::Varint`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protocol {
    id: StreamProtocol,
    framing: Framing,
    max_frame_bytes: usize,
    timeout: Option<Duration>,
}

impl Protocol {
    /// A protocol with charon's frame limit for `framing` and no timeout.
    pub fn new(id: impl Into<String>, framing: Framing) -> Result<Self, Error> {
        let id: String = id.into();
        let id = StreamProtocol::try_from_owned(id.clone())
            .map_err(|_| Error::InvalidProtocolId { id })?;
        Ok(Self {
            id,
            framing,
            max_frame_bytes: framing.default_max_frame_bytes(),
            timeout: None,
        })
    }

    /// The same protocol with another frame limit (both directions).
    #[must_use]
    pub fn with_max_frame_bytes(mut self, max_frame_bytes: usize) -> Self {
        self.max_frame_bytes = max_frame_bytes;
        self
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

    /// The framing.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// The frame limit in bytes.
    pub fn max_frame_bytes(&self) -> usize {
        self.max_frame_bytes
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

/// One stream with a cluster peer, speaking one protocol in frames.
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

    /// Sends one frame (length prefix and bytes), within the protocol's timeout.
    pub async fn send_frame(&mut self, frame: &[u8]) -> Result<(), Error> {
        let (peer, p) = (self.peer, &self.protocol);
        let fut = async {
            write_frame(&mut self.inner, p.framing, frame, p.max_frame_bytes)
                .await
                .map_err(|source| frame_error(&peer, p, source))
        };
        p.timed(&peer, "send", fut).await
    }

    /// Receives one frame within the protocol's timeout. A clean end of stream before a
    /// frame is [`StreamErrorKind::Closed`].
    pub async fn recv_frame(&mut self) -> Result<Vec<u8>, Error> {
        match self.recv_frame_or_end().await? {
            Some(frame) => Ok(frame),
            None => Err(Error::stream(
                &self.peer,
                self.protocol.id(),
                StreamErrorKind::Closed,
            )),
        }
    }

    /// Receives one frame within the protocol's timeout, or `None` when the peer closed
    /// its side cleanly (the end of a long-lived stream).
    pub async fn recv_frame_or_end(&mut self) -> Result<Option<Vec<u8>>, Error> {
        let (peer, p) = (self.peer, &self.protocol);
        let fut = async {
            read_frame(&mut self.inner, p.framing, p.max_frame_bytes)
                .await
                .map_err(|source| frame_error(&peer, p, source))
        };
        p.timed(&peer, "receive", fut).await
    }

    /// Closes our sending side (charon's sender half-closes after its one message); the
    /// peer's side stays readable.
    pub async fn close(&mut self) -> Result<(), Error> {
        let (peer, p) = (self.peer, &self.protocol);
        let fut = async {
            self.inner
                .close()
                .await
                .map_err(|e| frame_error(&peer, p, FrameError::Io(e)))
        };
        p.timed(&peer, "close", fut).await
    }

    /// The raw libp2p stream (futures `AsyncRead + AsyncWrite`), for unusual framings.
    pub fn into_inner(self) -> libp2p::Stream {
        self.inner
    }
}

fn frame_error(peer: &PeerId, p: &Protocol, source: FrameError) -> Error {
    Error::stream(peer, p.id(), StreamErrorKind::Frame(source))
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
