//! Peers that cannot reach each other directly (neither listens) meet through an in-process
//! relay, one configured by multiaddr and one by charon's HTTP relay URL; the relay's HTTP
//! endpoint answers in both charon forms.

mod common;

use common::*;
use dkgd_formats::enr::Enr;
use dkgd_p2p::http::{self, HttpUrl};
use dkgd_p2p::{
    fetch_relay, Error, Host, HostConfig, HostEvent, RelayQuery, RelayServer, RelayServerConfig,
    RelaySpec, Route,
};
use std::time::Duration;

async fn relay() -> RelayServer {
    let mut config = RelayServerConfig::new(vec![loopback()]);
    config.http = Some("127.0.0.1:0".parse().expect("socket addr"));
    RelayServer::start(&key(100), config).await.expect("relay")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_without_listeners_meet_through_the_relay() {
    let relay = relay().await;
    let by_addr = RelaySpec::parse(&relay.multiaddrs()[0].to_string()).expect("multiaddr relay");
    let by_url = RelaySpec::parse(&relay.http_url().expect("http")).expect("url relay");
    let (small, large) = ordered(11, 12);
    let peers = vec![peer(small), peer(large)];

    let mut config = HostConfig::new(peers.clone());
    config.relays = vec![by_addr];
    let (s, mut s_events) = Host::start(&key(small), config).await.expect("small host");
    let mut config = HostConfig::new(peers);
    config.relays = vec![by_url];
    config.relay_query = RelayQuery {
        cluster_hash_hex: "ab".repeat(32),
        cluster_uuid: "test-uuid".into(),
    };
    let (l, mut l_events) = Host::start(&key(large), config).await.expect("large host");
    assert!(s.listen_addrs().is_empty() && l.listen_addrs().is_empty());

    let resolved = wait_for(&mut l_events, "the relay URL to resolve", |e| {
        matches!(e, HostEvent::RelayResolved { .. })
    })
    .await;
    assert!(matches!(resolved, HostEvent::RelayResolved { relay: r, .. } if r == relay.peer_id()));
    for events in [&mut s_events, &mut l_events] {
        wait_for(
            events,
            "a reservation",
            |e| matches!(e, HostEvent::RelayReserved { relay: r } if *r == relay.peer_id()),
        )
        .await;
    }
    // The smaller peer dials through the circuit; the larger one accepts.
    for (events, other) in [(&mut s_events, large), (&mut l_events, small)] {
        let e = wait_for(events, "a relayed connection", |e| {
            matches!(
                e,
                HostEvent::Connected {
                    route: Route::Relayed { .. },
                    ..
                }
            )
        })
        .await;
        let HostEvent::Connected { peer: p, route, .. } = e else {
            unreachable!()
        };
        assert_eq!(p, peer(other));
        assert_eq!(
            route,
            Route::Relayed {
                relay: relay.peer_id()
            }
        );
    }

    // Bytes both ways over the circuit, each side opening a stream.
    let s_in = s.accept(&echo()).expect("accept");
    let l_in = l.accept(&echo()).expect("accept");
    let serve = |mut inc: dkgd_p2p::Incoming| {
        tokio::spawn(async move {
            let mut st = inc.next().await.expect("inbound");
            let f = read_all(&mut st).await;
            st.send(&[&f[..], b"!"].concat()).await.expect("reply");
            st.close().await.expect("close");
            *st.peer()
        })
    };
    let (s_srv, l_srv) = (serve(s_in), serve(l_in));
    for (host, to) in [(&s, large), (&l, small)] {
        let mut st = host
            .open_stream(&peer(to), &echo())
            .await
            .expect("open over relay");
        st.send(b"via relay").await.expect("send");
        st.close().await.expect("half-close");
        assert_eq!(read_all(&mut st).await, b"via relay!");
    }
    assert_eq!(s_srv.await.expect("task"), peer(large));
    assert_eq!(l_srv.await.expect("task"), peer(small));
    s.shutdown().await;
    l.shutdown().await;
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_http_endpoint_answers_in_both_charon_forms() {
    let relay = relay().await;
    let url = HttpUrl::parse(&relay.http_url().expect("http")).expect("url");
    // `/`: JSON multiaddrs, as `fetch_relay` (our client) reads them.
    let got = fetch_relay(&url, &RelayQuery::default(), DEADLINE)
        .await
        .expect("fetch");
    assert_eq!(got.peer, relay.peer_id());
    let expected: Vec<_> = relay
        .multiaddrs()
        .iter()
        .map(|a| a.iter().take(2).collect::<dkgd_p2p::Multiaddr>())
        .collect();
    assert_eq!(got.addrs, expected);
    // `/enr`: ENR text carrying the relay's key, IP and TCP port.
    let enr_url = HttpUrl::parse(&format!("{}enr", relay.http_url().expect("http"))).expect("url");
    let body = http::get(&enr_url, &[], DEADLINE, 64 * 1024)
        .await
        .expect("GET /enr");
    let enr = Enr::parse(std::str::from_utf8(&body).expect("text")).expect("ENR");
    assert_eq!(enr.peer_id().to_string(), relay.peer_id().to_base58());
    assert_eq!(enr.ip(), Some(std::net::Ipv4Addr::LOCALHOST));
    assert_eq!(
        Some(enr.tcp().expect("tcp")),
        got.addrs[0].iter().find_map(|p| match p {
            dkgd_p2p::multiaddr::Protocol::Tcp(port) => Some(port),
            _ => None,
        })
    );
    let via_enr = dkgd_p2p::relay_addr::parse_relay_answer("enr", &body).expect("enr answer");
    assert_eq!(via_enr, got);
    relay.shutdown().await;
    // Once stopped, the endpoint is gone.
    let err = fetch_relay(&url, &RelayQuery::default(), DEADLINE)
        .await
        .expect_err("stopped");
    assert!(err.to_string().contains(&url.to_string()), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_url_that_never_answers_fails_start_naming_it() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("ephemeral port")
        .port();
    let url = format!("http://127.0.0.1:{port}/");
    let mut config = HostConfig::new(vec![peer(21), peer(22)]);
    config.relays = vec![RelaySpec::parse(&url).expect("url")];
    config.relay_resolve_wait = Duration::from_millis(500);
    let err = Host::start(&key(21), config).await.expect_err("unresolved");
    assert!(
        matches!(&err, Error::RelaysUnresolved { urls, .. } if urls == &vec![url.clone()]),
        "{err}"
    );
    assert!(err.to_string().contains(&url), "{err}");
}
