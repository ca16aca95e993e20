//! charon's DKG wire layer as data: protobuf messages, stream framings, and compatibility
//! profiles (charon-dkg-protocol.md §1.4, §1.13, §1.14). No I/O: the networked driver opens
//! streams and moves bytes; everything it writes comes out of a state machine as a
//! [`Transmit`] (length prefix included), and everything it reads goes back in as one frame
//! body, cut out of the stream by a [`framing::FrameDecoder`].
//!
//! ```text
//!   libp2p stream ──bytes──▶ FrameDecoder::push / poll_frame ──body──▶ machine.handle_*(now, peer, body)
//!   machine.poll_transmit() ──Transmit{to, protocol, kind, frame}──▶ libp2p stream
//!   Profile (v1.7 … v1.11): protocol IDs, message IDs, framings, bcast hash rule
//! ```
//!
//! | module | what |
//! |---|---|
//! | [`proto`] | every message charon's DKG sends, with charon's field numbers (prost, by hand) |
//! | [`frost`] | FROST round messages ⇄ `dkgd_crypto::frost` types |
//! | [`parsig`] | parsigex: duty numbers and the JSON-in-protobuf partial signatures |
//! | [`framing`] | unsigned-varint delimited frames and sync's 8-byte little-endian frames |
//! | [`profile`] | one [`profile::Profile`] per supported charon minor |

pub mod framing;
pub mod frost;
pub mod parsig;
pub mod profile;
pub mod proto;

use std::fmt;
use std::ops::Add;
use std::time::Duration;

use crate::index::PeerIdx;

pub use framing::{FrameDecoder, FrameError, Framing};
pub use profile::{BcastHash, Profile};

/// A libp2p protocol of the ceremony. The wire profile maps it to charon's ID string
/// ([`Profile::id`]) and a driver maps an inbound ID back ([`Profile::protocol`]): an ID the
/// profile does not know never reaches a machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProtocolId {
    /// Sync (long-lived stream, [`Framing::Sync`]).
    Sync,
    /// bcast signature requests (request/response).
    BcastSig,
    /// bcast final messages (one-way).
    BcastMsg,
    /// FROST round-1 direct shares (one-way).
    FrostRound1P2p,
    /// Partial-signature exchange (one-way).
    Parsigex,
    /// Peer info (request/response; served by charon during a DKG).
    Peerinfo,
}

impl ProtocolId {
    /// Every protocol.
    pub const ALL: [ProtocolId; 6] = [
        ProtocolId::Sync,
        ProtocolId::BcastSig,
        ProtocolId::BcastMsg,
        ProtocolId::FrostRound1P2p,
        ProtocolId::Parsigex,
        ProtocolId::Peerinfo,
    ];
}

/// A point in time on the driver's monotonic clock, as the time elapsed since an origin the
/// driver chose (usually its start). The protocol machines never read a clock: every input
/// carries `now`, and every timer is reported back as an `Instant` (style.md §1.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(Duration);

impl Instant {
    /// The origin.
    pub const ZERO: Instant = Instant(Duration::ZERO);

    /// The instant `elapsed` after the origin.
    pub const fn from_elapsed(elapsed: Duration) -> Self {
        Instant(elapsed)
    }

    /// Time since the origin.
    pub const fn elapsed(self) -> Duration {
        self.0
    }

    /// `self − earlier`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// Saturates at the largest representable instant instead of overflowing.
    fn add(self, rhs: Duration) -> Instant {
        Instant(self.0.saturating_add(rhs))
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t+{:.3}s", self.0.as_secs_f64())
    }
}

/// Identifies an inbound request stream, chosen by the driver, so that a machine's answer
/// ([`TransmitKind::Response`]) goes back on the stream the request came in on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InboundId(pub u64);

/// How the driver puts a [`Transmit`] on the wire (charon `p2p/sender.go`, `p2p/receive.go`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransmitKind {
    /// Open a new stream, write the frame, half-close, read one delimited response and hand
    /// it back to the machine (charon `SendReceive`; bcast signature requests).
    Request,
    /// Open a new stream, write the frame, close (charon `Send`; bcast final messages, FROST
    /// direct shares, parsigex).
    OneWay,
    /// Write the frame on the inbound stream the request arrived on, then close it.
    Response(InboundId),
}

/// Bytes a machine wants written to a peer. `frame` is complete: length prefix included.
#[derive(Clone, PartialEq, Eq)]
#[must_use]
pub struct Transmit {
    /// The recipient.
    pub to: PeerIdx,
    /// The libp2p protocol of the stream.
    pub protocol: ProtocolId,
    /// Which stream to use.
    pub kind: TransmitKind,
    /// The framed message, shared: a broadcast's frame is one buffer for every recipient
    /// (at n = 16, V = 1000 a round-1 cast is about 0.65 MB, sent twice to 15 peers).
    pub frame: std::sync::Arc<[u8]>,
}

impl fmt::Debug for Transmit {
    /// Sizes only, never payloads (style.md §3.6: trace logs show sizes and ids).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transmit")
            .field("to", &self.to)
            .field("protocol", &self.protocol)
            .field("kind", &self.kind)
            .field("frame_bytes", &self.frame.len())
            .finish()
    }
}

/// A received message that does not decode, or lacks what charon always sends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Not a valid protobuf encoding of `message`.
    #[error("malformed {message} protobuf: {source}")]
    Protobuf {
        /// The message type expected.
        message: &'static str,
        /// prost's reason.
        #[source]
        source: prost::DecodeError,
    },
    /// A message field charon always sets is absent (charon `app/protonil` rejects these too).
    #[error("{message}.{field} is missing")]
    MissingField {
        /// The message type.
        message: &'static str,
        /// The field.
        field: &'static str,
    },
    /// A field holds a value charon would not send.
    #[error("{message}.{field} is invalid: {why}")]
    InvalidField {
        /// The message type.
        message: &'static str,
        /// The field.
        field: &'static str,
        /// What is wrong.
        why: &'static str,
    },
}

/// Decodes a protobuf body as `M`, naming `M` in the error.
pub fn decode<M: prost::Message + Default>(
    message: &'static str,
    body: &[u8],
) -> Result<M, WireError> {
    M::decode(body).map_err(|source| WireError::Protobuf { message, source })
}
