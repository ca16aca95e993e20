//! dkgd-p2p: the libp2p host of a dkgd node, and the `dkgd relay` server
//! (spec: `shared/spec/charon-dkg-protocol.md` §1.3, §1.4, §1.12).
//!
//! What it does:
//! * identity: the ENR secp256k1 key is the libp2p key, so peer IDs are charon's `16Uiu2…`;
//! * transport: TCP + Noise + yamux only (as charon's DKG; no QUIC), with identify, ping,
//!   circuit-relay v2 client and DCUtR hole punching;
//! * gate: after the security handshake only the definition's peers and the relays are
//!   admitted; anyone else is refused and reported with their peer ID;
//! * relays: multiaddrs or charon's `http://` relay URLs (ENR or JSON multiaddrs), one
//!   reservation per relay, and charon's meeting rule: the smaller peer ID dials the larger
//!   through `<relay>/p2p-circuit/p2p/<peer>`, the larger waits; direct addresses are used
//!   whenever known;
//! * streams: opaque bytes per caller-supplied protocol ID (frames are dkgd-ceremony's).
//!
//! What it does not do: interpret frames (that is dkgd-ceremony's job, through the node
//! driver), touch the disk, or hold secrets beyond the libp2p keypair. No `unsafe`.
//!
//! ```text
//!   node driver ──open_stream(peer, Protocol)──▶ PeerStream ──send/recv/into_inner──▶ bytes
//!        │      ◀──accept(Protocol): Incoming──                                     │
//!        │      ◀──HostEvent (connected via relay/direct, refused, relay reserved)  │
//!        ▼                                                                            ▼
//!      Host ──commands──▶ swarm task: Swarm [gate │ relay client │ identify │ ping │ dcutr │ stream]
//!                                         │ TCP+Noise+yamux         │ reservation per relay
//!                                         ▼                         ▼
//!                                     cluster peers ◀── circuits ── RelayServer (dkgd relay)
//! ```

mod behaviour;
pub mod error;
mod gate;
pub mod host;
mod host_types;
pub mod http;
pub mod identity;
pub mod relay;
pub mod relay_addr;
mod resolver;
pub mod stream;
mod stream_behaviour;
mod swarm;

pub use error::{Error, StreamError, StreamErrorKind};
pub use host::{Connection, Host, HostConfig, HostEvent, Route};
pub use identity::{cluster_peers, from_libp2p, keypair, to_libp2p};
pub use relay::{RelayServer, RelayServerConfig};
pub use relay_addr::{fetch_relay, RelayQuery, RelaySpec, ResolvedRelay};
pub use stream::{Incoming, PeerStream, Protocol};

/// The multiaddr module, for building and inspecting addresses.
pub use libp2p::multiaddr;
/// A libp2p multiaddr (re-exported so that callers need not depend on libp2p).
pub use libp2p::Multiaddr;
/// Any libp2p peer ID: relays and refused strangers may use key types other than
/// secp256k1, so they are reported with this type. Cluster peers use
/// [`dkgd_formats::enr::PeerId`].
pub use libp2p::PeerId as NetPeerId;
