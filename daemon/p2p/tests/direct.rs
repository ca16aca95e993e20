//! Hosts on 127.0.0.1 talking directly: bytes both ways, the allow-list, protocol
//! negotiation failures, and a taken port.

mod common;

use common::*;
use dkgd_p2p::{Error, Host, HostConfig, HostEvent, Route, StreamErrorKind};

async fn listening(seed: u8, peers: &[u8]) -> (Host, tokio::sync::mpsc::Receiver<HostEvent>) {
    let mut config = HostConfig::new(peers.iter().map(|s| peer(*s)).collect());
    config.listen = vec![loopback()];
    Host::start(&key(seed), config).await.expect("start")
}

async fn dialing(
    seed: u8,
    peers: &[u8],
    to: &Host,
) -> (Host, tokio::sync::mpsc::Receiver<HostEvent>) {
    let mut config = HostConfig::new(peers.iter().map(|s| peer(*s)).collect());
    config.peer_addrs = to
        .listen_addrs()
        .iter()
        .map(|a| (to.peer_id(), a.clone()))
        .collect();
    Host::start(&key(seed), config).await.expect("start")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_exchange_frames_directly() {
    let (a, mut a_events) = listening(1, &[1, 2]).await;
    let (b, mut b_events) = dialing(2, &[1, 2], &a).await;
    assert_eq!(a.peer_id(), peer(1));
    let mut a_echo = a.accept(&echo()).expect("accept echo");
    let mut a_sync = a.accept(&sync()).expect("accept sync");
    assert!(matches!(
        a.accept(&echo()),
        Err(Error::AlreadyAccepting { .. })
    ));

    // Request/response, one message each way, as charon's delimited protocols.
    let server = tokio::spawn(async move {
        let mut s = a_echo.next().await.expect("inbound echo stream");
        assert_eq!(*s.peer(), peer(2));
        let request = read_all(&mut s).await;
        s.send(&[&request[..], b"-ack"].concat())
            .await
            .expect("reply");
        s.close().await.expect("close");
        // A long-lived stream: bytes until the peer closes.
        let mut s = a_sync.next().await.expect("inbound sync stream");
        read_all(&mut s).await
    });
    let mut s = b.open_stream(&peer(1), &echo()).await.expect("open echo");
    s.send(b"hello").await.expect("send");
    s.close().await.expect("half-close");
    assert_eq!(read_all(&mut s).await, b"hello-ack");
    let mut buf = [0u8; 8];
    assert_eq!(s.recv(&mut buf).await.expect("the end, again"), 0);

    let mut s = b.open_stream(&peer(1), &sync()).await.expect("open sync");
    let big = vec![7u8; 1 << 20];
    for chunk in [&b"one"[..], &[], &big] {
        s.send(chunk).await.expect("send");
    }
    s.close().await.expect("close sync");
    let got = server.await.expect("server task");
    assert_eq!(got, [&b"one"[..], &big].concat());

    for (events, other) in [(&mut a_events, 2), (&mut b_events, 1)] {
        let e = wait_for(events, "a direct connection", |e| {
            matches!(
                e,
                HostEvent::Connected {
                    route: Route::Direct { .. },
                    ..
                }
            )
        })
        .await;
        assert!(matches!(e, HostEvent::Connected { peer: p, .. } if p == peer(other)));
    }
    let conns = b.connections().await.expect("connections");
    assert!(conns.iter().any(|c| c.peer == peer(1)), "{conns:?}");
    b.shutdown().await;
    wait_for(&mut a_events, "the disconnect", |e| {
        matches!(e, HostEvent::Disconnected { connections: 0, .. })
    })
    .await;
    assert!(matches!(b.connections().await, Err(Error::Stopped)));
    a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_protocol_and_strangers_are_named() {
    let (a, _a_events) = listening(3, &[3, 4]).await;
    let (b, _b_events) = dialing(4, &[3, 4], &a).await;
    let err = b
        .open_stream(&peer(3), &echo())
        .await
        .expect_err("not served");
    let Error::Stream(e) = &err else {
        panic!("{err}")
    };
    assert!(
        matches!(e.kind, StreamErrorKind::ProtocolUnsupported),
        "{err}"
    );
    assert_eq!(e.peer, peer(3));
    assert!(err.to_string().contains("/dkgd-test/echo/1.0.0"), "{err}");

    let err = b
        .open_stream(&peer(99), &echo())
        .await
        .expect_err("stranger");
    assert!(
        matches!(&err, Error::Stream(e) if matches!(e.kind, StreamErrorKind::NotInCluster)),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_outside_the_definition_is_refused() {
    let (a, mut a_events) = listening(5, &[5, 6]).await;
    // Seed 7 is not in A's definition, but believes it is in a cluster with A.
    let (c, _c_events) = dialing(7, &[5, 7], &a).await;
    let refused = wait_for(&mut a_events, "a refusal", |e| {
        matches!(e, HostEvent::Refused { .. })
    })
    .await;
    let HostEvent::Refused { peer: who, .. } = refused else {
        unreachable!()
    };
    assert_eq!(who.to_base58(), peer(7).to_string());
    let err = c.open_stream(&peer(5), &echo()).await.expect_err("refused");
    assert!(err.to_string().contains(&peer(5).to_string()), "{err}");
    // The dialer finishes the Noise handshake first, so it may briefly count a connection
    // before A's gate closes it; A itself never admits the stranger.
    assert!(a.connections().await.expect("connections").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_port_is_named() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let mut config = HostConfig::new(vec![peer(8)]);
    let addr: dkgd_p2p::Multiaddr = format!("/ip4/127.0.0.1/tcp/{port}").parse().expect("ma");
    config.listen = vec![addr.clone()];
    let err = Host::start(&key(8), config).await.expect_err("port taken");
    assert!(
        matches!(&err, Error::Listen { addr: a, .. } if *a == addr),
        "{err}"
    );
    assert!(err.to_string().to_lowercase().contains("in use"), "{err}");
}
