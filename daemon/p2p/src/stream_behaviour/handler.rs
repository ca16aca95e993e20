//! The per-connection half of [`super::Behaviour`]: serves the registered protocols on
//! inbound substreams and opens outbound substreams on request, several at once.

use super::{OpenError, Shared};
use libp2p::core::upgrade::{InboundUpgrade, OutboundUpgrade, UpgradeInfo};
use libp2p::swarm::handler::{
    ConnectionEvent, ConnectionHandler, ConnectionHandlerEvent, DialUpgradeError,
    FullyNegotiatedInbound, FullyNegotiatedOutbound,
};
use libp2p::swarm::{StreamUpgradeError, SubstreamProtocol};
use libp2p::{PeerId, Stream, StreamProtocol};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::{ready, Ready};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use tokio::sync::oneshot;

/// A request to open one outbound stream.
#[derive(Debug)]
pub(crate) struct OpenRequest {
    pub(crate) protocol: StreamProtocol,
    pub(crate) reply: oneshot::Sender<Result<Stream, OpenError>>,
}

/// Negotiates one of a list of protocol IDs and hands over the raw stream.
#[derive(Debug, Clone)]
pub(crate) struct Select(Vec<StreamProtocol>);

impl UpgradeInfo for Select {
    type Info = StreamProtocol;
    type InfoIter = std::vec::IntoIter<StreamProtocol>;

    fn protocol_info(&self) -> Self::InfoIter {
        self.0.clone().into_iter()
    }
}

impl InboundUpgrade<Stream> for Select {
    type Output = (Stream, StreamProtocol);
    type Error = Infallible;
    type Future = Ready<Result<Self::Output, Infallible>>;

    fn upgrade_inbound(self, stream: Stream, chosen: StreamProtocol) -> Self::Future {
        ready(Ok((stream, chosen)))
    }
}

impl OutboundUpgrade<Stream> for Select {
    type Output = (Stream, StreamProtocol);
    type Error = Infallible;
    type Future = Ready<Result<Self::Output, Infallible>>;

    fn upgrade_outbound(self, stream: Stream, chosen: StreamProtocol) -> Self::Future {
        ready(Ok((stream, chosen)))
    }
}

/// The connection handler.
pub(crate) struct Handler {
    remote: PeerId,
    shared: Arc<Mutex<Shared>>,
    to_open: VecDeque<OpenRequest>,
    waker: Option<Waker>,
}

impl Handler {
    pub(super) fn new(remote: PeerId, shared: Arc<Mutex<Shared>>) -> Self {
        Self {
            remote,
            shared,
            to_open: VecDeque::new(),
            waker: None,
        }
    }
}

type Reply = oneshot::Sender<Result<Stream, OpenError>>;

impl ConnectionHandler for Handler {
    type FromBehaviour = OpenRequest;
    type ToBehaviour = Infallible;
    type InboundProtocol = Select;
    type OutboundProtocol = Select;
    type InboundOpenInfo = ();
    type OutboundOpenInfo = Reply;

    fn listen_protocol(&self) -> SubstreamProtocol<Select, ()> {
        SubstreamProtocol::new(Select(Shared::lock(&self.shared).protocols()), ())
    }

    fn poll(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<ConnectionHandlerEvent<Select, Reply, Infallible>> {
        match self.to_open.pop_front() {
            Some(OpenRequest { protocol, reply }) => {
                Poll::Ready(ConnectionHandlerEvent::OutboundSubstreamRequest {
                    protocol: SubstreamProtocol::new(Select(vec![protocol]), reply),
                })
            }
            None => {
                self.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    fn on_behaviour_event(&mut self, request: OpenRequest) {
        self.to_open.push_back(request);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    fn on_connection_event(&mut self, event: ConnectionEvent<Select, Select, (), Reply>) {
        match event {
            ConnectionEvent::FullyNegotiatedInbound(FullyNegotiatedInbound {
                protocol: (stream, protocol),
                ..
            }) => Shared::lock(&self.shared).deliver(self.remote, protocol, stream),
            ConnectionEvent::FullyNegotiatedOutbound(FullyNegotiatedOutbound {
                protocol: (stream, _),
                info: reply,
            }) => {
                let _ = reply.send(Ok(stream));
            }
            ConnectionEvent::DialUpgradeError(DialUpgradeError { info: reply, error }) => {
                let error = match error {
                    StreamUpgradeError::NegotiationFailed => OpenError::Unsupported,
                    StreamUpgradeError::Timeout => OpenError::Io(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the peer did not answer the protocol negotiation",
                    )),
                    StreamUpgradeError::Io(e) => OpenError::Io(e),
                    StreamUpgradeError::Apply(never) => match never {},
                };
                let _ = reply.send(Err(error));
            }
            _ => {}
        }
    }
}
