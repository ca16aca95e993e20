//! Helpers for the p2p integration tests: keys, loopback addresses, and waiting for host
//! events with a deadline (no sleeps).

#![allow(dead_code, unreachable_pub)]

use dkgd_crypto::k1::K1SecretKey;
use dkgd_formats::enr::{Enr, PeerId};
use dkgd_p2p::{HostEvent, Multiaddr, PeerStream, Protocol};
use std::time::Duration;
use tokio::sync::mpsc::Receiver;

/// Upper bound for anything a test waits for on loopback.
pub const DEADLINE: Duration = Duration::from_secs(15);

/// A deterministic identity key.
pub fn key(seed: u8) -> K1SecretKey {
    K1SecretKey::from_bytes(&[seed; 32]).expect("valid scalar")
}

/// The peer ID of `key(seed)`.
pub fn peer(seed: u8) -> PeerId {
    Enr::create(&key(seed)).peer_id()
}

/// Two seeds ordered so that the first has the smaller peer ID.
pub fn ordered(a: u8, b: u8) -> (u8, u8) {
    if peer(a).as_bytes() < peer(b).as_bytes() {
        (a, b)
    } else {
        (b, a)
    }
}

/// `/ip4/127.0.0.1/tcp/0`: an ephemeral loopback port.
pub fn loopback() -> Multiaddr {
    "/ip4/127.0.0.1/tcp/0".parse().expect("multiaddr")
}

/// A request/response test protocol with a short timeout.
pub fn echo() -> Protocol {
    Protocol::new("/dkgd-test/echo/1.0.0")
        .expect("protocol")
        .with_timeout(Some(DEADLINE))
}

/// A long-lived test protocol (trailing slash as charon's sync ID).
pub fn sync() -> Protocol {
    Protocol::new("/dkgd-test/sync/1.0.0/")
        .expect("protocol")
        .with_timeout(Some(DEADLINE))
}

/// Waits for the first event matching `want`, failing after [`DEADLINE`].
pub async fn wait_for(
    events: &mut Receiver<HostEvent>,
    what: &str,
    want: impl Fn(&HostEvent) -> bool,
) -> HostEvent {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(e)) if want(&e) => return e,
            Ok(Some(_)) => {}
            Ok(None) => panic!("host stopped while waiting for {what}"),
            Err(_) => panic!("no {what} within {DEADLINE:?}"),
        }
    }
}

/// Everything the peer sends until it closes its side.
pub async fn read_all(s: &mut PeerStream) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = s.recv(&mut buf).await.expect("receive");
        if n == 0 {
            return all;
        }
        all.extend_from_slice(&buf[..n]);
    }
}
