//! Relay addresses as charon accepts them (spec §1.3 "Relays and discovery", charon
//! `p2p/bootnode.go`): a multiaddr ending in `/p2p/<relay>`, or an HTTP URL that answers a
//! GET with either the relay's ENR text (`enr:…`, whose `ip`/`tcp` give the address) or a
//! JSON array of multiaddrs, all of one relay peer. Only TCP addresses are kept: dkgd, like
//! charon's DKG, has no QUIC.

use crate::error::Error;
use crate::http::{self, HttpUrl};
use crate::identity::to_libp2p;
use dkgd_formats::enr::Enr;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId as NetPeerId};
use std::fmt;
use std::time::Duration;

/// Charon's per-attempt limit for a relay URL (10 s).
pub const RELAY_HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Charon's limit on a relay URL's answer (64 KiB).
pub const MAX_RELAY_ANSWER_BYTES: usize = 64 * 1024;

/// One `--relay` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelaySpec {
    /// A fixed relay: its peer ID and TCP address.
    Addr(ResolvedRelay),
    /// A URL that serves the relay's ENR or multiaddrs (re-resolved periodically, since a
    /// relay may change its identity on restart).
    Url(HttpUrl),
}

impl RelaySpec {
    /// Parses a multiaddr (`/ip4/1.2.3.4/tcp/3610/p2p/16Uiu2…`) or an `http(s)://` URL.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let invalid = |why| Error::InvalidRelay {
            relay: text.to_owned(),
            why,
        };
        let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return HttpUrl::parse(text)
                .map(RelaySpec::Url)
                .map_err(|_| invalid("not a valid http:// or https:// URL"));
        }
        let addr: Multiaddr = text
            .parse()
            .map_err(|_| invalid("not a multiaddr or URL"))?;
        let (transport, peer) =
            split_peer(&addr).ok_or(invalid("the multiaddr must end in /p2p/<relay peer ID>"))?;
        if !is_direct_tcp(&transport) {
            return Err(invalid(
                "only /ip4 or /ip6 TCP relay addresses are supported (no DNS, no QUIC)",
            ));
        }
        Ok(RelaySpec::Addr(ResolvedRelay {
            peer,
            addrs: vec![transport],
        }))
    }
}

impl fmt::Display for RelaySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RelaySpec::Addr(r) => match r.addrs.first() {
                Some(a) => write!(f, "{a}/p2p/{}", r.peer),
                None => write!(f, "/p2p/{}", r.peer),
            },
            RelaySpec::Url(u) => write!(f, "{u}"),
        }
    }
}

/// A relay's identity and its TCP transport addresses (without the `/p2p/…` suffix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRelay {
    /// The relay's peer ID (any libp2p key type).
    pub peer: NetPeerId,
    /// Its TCP addresses, e.g. `/ip4/1.2.3.4/tcp/3610`.
    pub addrs: Vec<Multiaddr>,
}

impl ResolvedRelay {
    /// The address to dial a cluster peer through this relay:
    /// `<addr>/p2p/<relay>/p2p-circuit/p2p/<peer>`, for each relay address.
    pub fn circuit_addrs(&self, peer: NetPeerId) -> Vec<Multiaddr> {
        self.addrs
            .iter()
            .map(|a| {
                a.clone()
                    .with(Protocol::P2p(self.peer))
                    .with(Protocol::P2pCircuit)
                    .with(Protocol::P2p(peer))
            })
            .collect()
    }

    /// The address to listen on (reserve) through this relay: `<addr>/p2p/<relay>/p2p-circuit`.
    pub fn reservation_addr(&self, index: usize) -> Option<Multiaddr> {
        let n = self.addrs.len();
        let a = self.addrs.get(index.checked_rem(n)?)?;
        Some(
            a.clone()
                .with(Protocol::P2p(self.peer))
                .with(Protocol::P2pCircuit),
        )
    }
}

/// Headers charon sends with a relay query (`Charon-Cluster`, `Cluster-Uuid`), letting a
/// relay front-end pin a cluster to one relay instance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelayQuery {
    /// The cluster's hash as hex (charon sends the definition/lock hash).
    pub cluster_hash_hex: String,
    /// The cluster's UUID.
    pub cluster_uuid: String,
}

/// One GET of a relay URL, parsed into the relay's identity and TCP addresses.
pub async fn fetch_relay(
    url: &HttpUrl,
    query: &RelayQuery,
    timeout: Duration,
) -> Result<ResolvedRelay, Error> {
    let headers = [
        ("Charon-Cluster", query.cluster_hash_hex.as_str()),
        ("Cluster-Uuid", query.cluster_uuid.as_str()),
    ];
    let body = http::get(url, &headers, timeout, MAX_RELAY_ANSWER_BYTES)
        .await
        .map_err(|source| Error::RelayFetch {
            url: url.to_string(),
            source,
        })?;
    parse_relay_answer(&url.to_string(), &body)
}

/// Parses a relay URL's answer: ENR text, or a JSON array of multiaddrs of one relay.
pub fn parse_relay_answer(url: &str, body: &[u8]) -> Result<ResolvedRelay, Error> {
    let bad = |why: String| Error::RelayAnswer {
        url: url.to_owned(),
        why,
    };
    let text = std::str::from_utf8(body).map_err(|_| bad("with non-UTF-8 bytes".into()))?;
    let text = text.trim();
    if text.starts_with("enr:") {
        let enr = Enr::parse(text).map_err(|e| bad(format!("with an invalid ENR: {e}")))?;
        let (Some(ip), Some(tcp)) = (enr.ip(), enr.tcp()) else {
            return Err(bad("with an ENR that has no ip and tcp entries".into()));
        };
        let addr = Multiaddr::empty()
            .with(Protocol::Ip4(ip))
            .with(Protocol::Tcp(tcp));
        return Ok(ResolvedRelay {
            peer: to_libp2p(&enr.peer_id()),
            addrs: vec![addr],
        });
    }
    let list: Vec<String> = serde_json::from_str(text)
        .map_err(|_| bad("neither an ENR nor a JSON array of multiaddrs".into()))?;
    let mut peer = None;
    let mut addrs = Vec::new();
    for item in &list {
        let Some((transport, id)) = item.parse::<Multiaddr>().ok().and_then(|a| split_peer(&a))
        else {
            tracing::warn!(%url, addr = %item, "ignoring a relay address without /p2p/<peer ID>");
            continue;
        };
        match peer {
            None => peer = Some(id),
            Some(p) if p != id => {
                return Err(bad(format!("with addresses of two peers ({p} and {id})")))
            }
            Some(_) => {}
        }
        if is_direct_tcp(&transport) && !addrs.contains(&transport) {
            addrs.push(transport);
        }
    }
    match peer {
        Some(peer) if !addrs.is_empty() => Ok(ResolvedRelay { peer, addrs }),
        Some(_) => Err(bad(
            "with no /ip4 or /ip6 TCP address (QUIC and DNS are not supported)".into(),
        )),
        None => Err(bad("with no usable multiaddr".into())),
    }
}

/// Splits `<transport>/p2p/<id>` into its parts.
pub(crate) fn split_peer(addr: &Multiaddr) -> Option<(Multiaddr, NetPeerId)> {
    let mut transport = addr.clone();
    match transport.pop()? {
        Protocol::P2p(id) => Some((transport, id)),
        _ => None,
    }
}

/// Whether `addr` is exactly `/ip4|ip6/<ip>/tcp/<port>` (what our TCP transport dials).
pub(crate) fn is_direct_tcp(addr: &Multiaddr) -> bool {
    let mut it = addr.iter();
    matches!(
        (it.next(), it.next(), it.next()),
        (
            Some(Protocol::Ip4(_) | Protocol::Ip6(_)),
            Some(Protocol::Tcp(_)),
            None
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use dkgd_crypto::k1::K1SecretKey;
    use std::net::Ipv4Addr;

    fn relay_id() -> String {
        let key = K1SecretKey::from_bytes(&[9; 32]).expect("key");
        Enr::create(&key).peer_id().to_string()
    }

    #[test]
    fn multiaddr_and_url_forms() {
        let relay = relay_id();
        let relay = relay.as_str();
        let spec = RelaySpec::parse(&format!("/ip4/127.0.0.1/tcp/3610/p2p/{relay}")).expect("ok");
        let RelaySpec::Addr(r) = &spec else {
            panic!("not an address: {spec:?}");
        };
        assert_eq!(r.peer.to_base58(), relay);
        assert_eq!(
            r.addrs,
            vec!["/ip4/127.0.0.1/tcp/3610".parse::<Multiaddr>().expect("ma")]
        );
        assert_eq!(
            spec.to_string(),
            format!("/ip4/127.0.0.1/tcp/3610/p2p/{relay}")
        );
        let peer = r.peer;
        assert_eq!(
            r.circuit_addrs(peer)[0].to_string(),
            format!("/ip4/127.0.0.1/tcp/3610/p2p/{relay}/p2p-circuit/p2p/{relay}")
        );
        assert!(matches!(
            RelaySpec::parse("http://127.0.0.1:3640"),
            Ok(RelaySpec::Url(_))
        ));
        // Obol's public relays are https:// URLs.
        assert!(matches!(
            RelaySpec::parse("https://4.relay.obol.dev"),
            Ok(RelaySpec::Url(u)) if u.is_tls() && u.port() == 443
        ));
        for bad in [
            "https://".to_owned(),
            "/ip4/127.0.0.1/tcp/3610".to_owned(),
            format!("/dns/relay.example/tcp/3610/p2p/{relay}"),
            "relay.example:3610".to_owned(),
        ] {
            let err = RelaySpec::parse(&bad).expect_err(&bad);
            assert!(err.to_string().contains(&bad), "{err}");
        }
    }

    #[test]
    fn answers_in_both_charon_forms() {
        let relay = relay_id();
        let relay = relay.as_str();
        let key = K1SecretKey::from_bytes(&[3; 32]).expect("key");
        let enr = Enr::create_with(
            &key,
            Some(Ipv4Addr::new(10, 0, 0, 7)),
            Some(3610),
            Some(9999),
        );
        let r = parse_relay_answer("u", enr.to_text().as_bytes()).expect("enr form");
        assert_eq!(r.peer.to_base58(), enr.peer_id().to_string());
        assert_eq!(
            r.addrs,
            vec!["/ip4/10.0.0.7/tcp/3610".parse::<Multiaddr>().expect("ma")]
        );

        let json = format!(
            r#"["/ip4/10.0.0.7/udp/9999/quic-v1/p2p/{relay}","/ip4/10.0.0.7/tcp/3610/p2p/{relay}","junk"]"#
        );
        let r = parse_relay_answer("u", json.as_bytes()).expect("json form");
        assert_eq!(r.peer.to_base58(), relay);
        assert_eq!(r.addrs.len(), 1);

        let no_tcp = Enr::create(&key);
        assert!(parse_relay_answer("u", no_tcp.to_text().as_bytes()).is_err());
        assert!(parse_relay_answer("u", b"<html>").is_err());
        let two = format!(
            r#"["/ip4/1.1.1.1/tcp/1/p2p/{relay}","/ip4/1.1.1.1/tcp/1/p2p/{}"]"#,
            enr.peer_id()
        );
        assert!(parse_relay_answer("u", two.as_bytes()).is_err());
    }
}
