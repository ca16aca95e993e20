//! What the host's caller and the swarm task both speak: the configuration, the events, the
//! routes of connections. A leaf module, so that the host handle and the swarm task need not
//! import each other's types.

use dkgd_formats::enr::PeerId;
use libp2p::{Multiaddr, PeerId as NetPeerId};
use std::time::Duration;

use crate::relay_addr::{RelayQuery, RelaySpec};
use crate::stream::Protocol;

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
