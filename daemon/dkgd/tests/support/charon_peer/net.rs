//! The script's transport: a `dkgd_p2p::Host`, charon's two ways of using a stream for one
//! message (`p2p/sender.go`: `Send` writes and closes, `SendReceive` writes, half-closes and
//! reads one answer), and inbound streams handed to whoever serves the protocol.

use dkgd_crypto::k1::K1SecretKey;
use dkgd_formats::enr::PeerId;
use dkgd_p2p::{Host, HostConfig, Multiaddr, PeerStream, Protocol, RelaySpec};

use super::frame::Frames;
use std::time::Duration;
use tokio::sync::mpsc;

/// `dkg/sync/server.go` (trailing slash included).
pub const SYNC: &str = "/charon/dkg/sync/1.0.0/";
/// `dkg/frostp2p.go` `round1P2PID`.
pub const FROST_R1_P2P: &str = "/charon/dkg/frost/2.0.0/round1/p2p";
/// `core/parsigex/parsigex.go` `protocolID2`.
pub const PARSIGEX: &str = "/charon/parsigex/2.0.0";

/// charon's generic handler read deadline (`p2p/sender.go` `defaultRcvTimeout`).
pub const RECEIVE_TIMEOUT: Duration = Duration::from_secs(5);
/// charon's generic send deadline (`defaultSendTimeout`).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(7);

/// A message that arrived on a one-message stream (or through bcast), by operator index.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// A verified bcast final message: its ID and the `Any` payload.
    Bcast {
        id: String,
        type_url: String,
        value: Vec<u8>,
        from: usize,
    },
    /// A FROST round-1 direct message (raw `FrostRound1P2P`).
    FrostP2P { from: usize, body: Vec<u8> },
    /// A parsigex message (raw `ParSigExMsg`).
    Parsig { from: usize, body: Vec<u8> },
}

/// The host and the cluster's peers in operator order.
pub struct Net {
    pub host: Host,
    pub peers: Vec<PeerId>,
    pub me: usize,
}

/// A protocol with a per-operation timeout (its framing: [`super::frame`]).
pub fn protocol(id: &str, timeout: Option<Duration>) -> Protocol {
    Protocol::new(id)
        .expect("valid protocol id")
        .with_timeout(timeout)
}

impl Net {
    /// Starts the host; `serve` are the protocol IDs inbound streams may use.
    pub async fn start(
        key: &K1SecretKey,
        peers: Vec<PeerId>,
        me: usize,
        listen: Vec<Multiaddr>,
        peer_addrs: &[(usize, Multiaddr)],
        relays: &[String],
        serve: &[&str],
    ) -> Result<Net, String> {
        let mut cfg = HostConfig::new(peers.clone());
        cfg.relays = relays
            .iter()
            .map(|r| RelaySpec::parse(r).map_err(|e| format!("relay {r}: {e}")))
            .collect::<Result<_, _>>()?;
        cfg.listen = listen;
        cfg.peer_addrs = peer_addrs
            .iter()
            .map(|(i, a)| (peers[*i], a.clone()))
            .collect();
        cfg.protocols = serve.iter().map(|id| protocol(id, None)).collect();
        cfg.user_agent = "obolnetwork-charon/scripted".to_owned();
        let (host, mut events) = Host::start(key, cfg)
            .await
            .map_err(|e| format!("starting the libp2p host: {e}"))?;
        tokio::spawn(async move { while events.recv().await.is_some() {} });
        Ok(Net { host, peers, me })
    }

    /// Operator index of a peer.
    pub fn index_of(&self, p: &PeerId) -> Option<usize> {
        self.peers.iter().position(|q| q == p)
    }

    /// Every operator but us.
    pub fn others(&self) -> Vec<usize> {
        (0..self.peers.len()).filter(|i| *i != self.me).collect()
    }

    /// Opens a stream to operator `to`.
    pub async fn open(&self, to: usize, p: &Protocol) -> Result<PeerStream, String> {
        self.host
            .open_stream(&self.peers[to], p)
            .await
            .map_err(|e| format!("new stream to peer {to} on {}: {e}", p.id()))
    }

    /// charon `p2p.Send`: open, write one delimited message, close.
    pub async fn send(
        &self,
        to: usize,
        id: &str,
        body: &[u8],
        timeout: Duration,
    ) -> Result<(), String> {
        let p = protocol(id, Some(timeout));
        let mut s = self.open(to, &p).await?;
        s.send_frame(body)
            .await
            .map_err(|e| format!("write message to peer {to} on {id}: {e}"))?;
        s.close()
            .await
            .map_err(|e| format!("close stream to peer {to} on {id}: {e}"))
    }

    /// charon `p2p.SendReceive`: open, write, half-close, read one answer.
    pub async fn send_receive(&self, to: usize, id: &str, body: &[u8]) -> Result<Vec<u8>, String> {
        let p = protocol(id, Some(SEND_TIMEOUT));
        let mut s = self.open(to, &p).await?;
        s.send_frame(body)
            .await
            .map_err(|e| format!("write request to peer {to} on {id}: {e}"))?;
        s.close()
            .await
            .map_err(|e| format!("close write to peer {to} on {id}: {e}"))?;
        s.recv_frame()
            .await
            .map_err(|e| format!("read response from peer {to} on {id}: {e}"))
    }

    /// Inbound streams of `id` (reads bounded by `timeout`), with the sender's index.
    pub fn accept(
        &self,
        id: &str,
        timeout: Option<Duration>,
    ) -> Result<mpsc::UnboundedReceiver<(usize, PeerStream)>, String> {
        let mut incoming = self
            .host
            .accept(&protocol(id, timeout))
            .map_err(|e| format!("accepting {id}: {e}"))?;
        let peers = self.peers.clone();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(s) = incoming.next().await {
                if let Some(i) = peers.iter().position(|p| p == s.peer()) {
                    if tx.send((i, s)).is_err() {
                        return;
                    }
                }
            }
        });
        Ok(rx)
    }

    /// Serves a one-way protocol: every message becomes a [`Delivery`] made by `wrap`
    /// (charon `p2p.RegisterHandler` with no response).
    pub fn serve_oneway(
        &self,
        id: &'static str,
        timeout: Duration,
        out: mpsc::UnboundedSender<Delivery>,
        wrap: fn(usize, Vec<u8>) -> Delivery,
    ) -> Result<(), String> {
        let mut rx = self.accept(id, Some(timeout))?;
        tokio::spawn(async move {
            while let Some((from, mut s)) = rx.recv().await {
                let out = out.clone();
                tokio::spawn(async move {
                    if let Ok(body) = s.recv_frame().await {
                        let _ = out.send(wrap(from, body));
                    }
                });
            }
        });
        Ok(())
    }
}

/// A multiaddr from text.
pub fn addr(text: &str) -> Multiaddr {
    text.parse().expect("multiaddr")
}
