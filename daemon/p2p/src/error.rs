//! The crate's one error type. Every variant names the peer, address, URL or protocol it is
//! about, so a log line or an abort reason can say who or what failed without more context.

use crate::http::HttpError;
use dkgd_formats::enr::PeerId;
use libp2p::Multiaddr;
use std::time::Duration;

/// Everything that can go wrong in the p2p layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A protocol ID that libp2p cannot negotiate (it must start with `/`).
    #[error("invalid protocol ID {id:?}: it must start with '/'")]
    InvalidProtocolId {
        /// The rejected ID.
        id: String,
    },
    /// A `--relay` value that is neither a usable multiaddr nor an `http://` URL.
    #[error("invalid relay {relay:?}: {why}")]
    InvalidRelay {
        /// The rejected value, as given.
        relay: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// An operator's ENR in the definition does not parse or is empty.
    #[error("operator {index} of the definition has no usable ENR: {why}")]
    InvalidOperatorEnr {
        /// 0-based operator index in the definition.
        index: usize,
        /// Why the ENR was rejected.
        why: String,
    },
    /// A remote identity that is not a secp256k1 key (charon clusters only use those).
    #[error("peer {peer} does not use a secp256k1 identity key")]
    NotSecp256k1 {
        /// The remote's libp2p peer ID, as text.
        peer: String,
    },
    /// Binding a listen address failed (e.g. the port is taken).
    #[error("cannot listen on {addr}: {why}")]
    Listen {
        /// The address we tried to listen on.
        addr: Multiaddr,
        /// The transport's reason (e.g. "Address already in use").
        why: String,
    },
    /// A relay URL answered badly or not at all.
    #[error("resolving relay {url}: {source}")]
    RelayFetch {
        /// The relay URL.
        url: String,
        /// What went wrong.
        #[source]
        source: HttpError,
    },
    /// A relay URL answered, but not with charon's relay address format.
    #[error("relay {url} answered {why}")]
    RelayAnswer {
        /// The relay URL.
        url: String,
        /// What is wrong with the body.
        why: String,
    },
    /// None of the relay URLs resolved in time (charon: "timeout resolving bootnode ENR").
    #[error("no relay resolved within {waited:?} (tried {urls:?})")]
    RelaysUnresolved {
        /// The URLs that were tried.
        urls: Vec<String>,
        /// How long we waited.
        waited: Duration,
    },
    /// Something went wrong on a stream with a cluster peer (boxed: it names the peer).
    #[error(transparent)]
    Stream(Box<StreamError>),
    /// Inbound streams of this protocol are already being accepted by another handle.
    #[error("inbound {protocol} streams are already being accepted")]
    AlreadyAccepting {
        /// The protocol ID.
        protocol: String,
    },
    /// The host (or relay) has been shut down.
    #[error("the p2p host has stopped")]
    Stopped,
    /// Building the libp2p transport failed; a bug or a broken system, never input.
    #[error("internal error (please report): {0}")]
    Internal(&'static str),
}

/// A failure on one stream with a cluster peer: who, which protocol, and what happened.
#[derive(Debug, thiserror::Error)]
#[error("{protocol} with peer {peer}: {kind}")]
pub struct StreamError {
    /// The peer.
    pub peer: PeerId,
    /// The protocol ID.
    pub protocol: String,
    /// What happened.
    #[source]
    pub kind: StreamErrorKind,
}

/// What went wrong on a stream.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamErrorKind {
    /// No connection could be made, or it broke while opening the stream.
    #[error("cannot open a stream: {0}")]
    Open(#[source] std::io::Error),
    /// The peer is not one of the cluster's peers.
    #[error("the peer is not in the cluster definition")]
    NotInCluster,
    /// The peer does not speak the protocol (e.g. another charon version's bcast ID).
    #[error("the peer does not support this protocol")]
    ProtocolUnsupported,
    /// An operation took longer than the protocol's timeout.
    #[error("{op} timed out after {after:?}")]
    Timeout {
        /// What we were doing ("open", "send", "receive", "close").
        op: &'static str,
        /// The timeout that elapsed.
        after: Duration,
    },
    /// Reading or writing failed (the stream was reset, the connection broke).
    #[error("stream I/O failed: {0}")]
    Io(#[source] std::io::Error),
}

impl Error {
    /// A stream error naming `peer` and `protocol`.
    pub(crate) fn stream(peer: &PeerId, protocol: &str, kind: StreamErrorKind) -> Self {
        Error::Stream(Box::new(StreamError {
            peer: *peer,
            protocol: protocol.to_owned(),
            kind,
        }))
    }
}
