//! `dkgd relay` as a real process on 127.0.0.1: it comes up with a persistent identity,
//! serves its addresses over HTTP in charon's forms, stops cleanly on SIGTERM, and refuses a
//! taken port with a clear error. No sleeps beyond polling for exit with a deadline.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use support::*;

const DEADLINE: Duration = Duration::from_secs(20);

/// `GET path` against `host:port` with std only; returns the body.
fn get(authority: &str, path: &str) -> String {
    let mut s = TcpStream::connect(authority).expect("connect to the relay's HTTP port");
    s.set_read_timeout(Some(DEADLINE)).expect("timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    text.split_once("\r\n\r\n").expect("head").1.to_owned()
}

fn start(dir: &std::path::Path) -> (Spawned, String, String) {
    let (relay, peer, http) = start_relay(dir, DEADLINE);
    let authority = http
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    (relay, peer, authority)
}

/// Sends SIGTERM and waits (with a deadline) for the exit code.
fn terminate(relay: &mut Spawned) -> i32 {
    let pid = relay.child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    let end = Instant::now() + DEADLINE;
    loop {
        if let Some(status) = relay.child.try_wait().expect("wait") {
            return status.code().unwrap_or(-1);
        }
        assert!(
            Instant::now() < end,
            "relay did not stop within {DEADLINE:?} of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn relay_serves_its_addresses_and_stops_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("relay");
    let (mut relay, peer, authority) = start(&dir);
    assert!(peer.starts_with("16Uiu2"), "{peer}");

    let addrs: Vec<String> = serde_json::from_str(&get(&authority, "/")).expect("JSON array");
    assert!(!addrs.is_empty());
    for a in &addrs {
        assert!(
            a.starts_with("/ip4/127.0.0.1/tcp/") && a.ends_with(&format!("/p2p/{peer}")),
            "{a}"
        );
    }
    let enr = get(&authority, "/enr");
    assert!(enr.starts_with("enr:"), "{enr}");

    let key = file_state(&dir.join(KEY)).expect("identity key created");
    assert_eq!(key.mode & 0o777, 0o600);
    assert_eq!(terminate(&mut relay), 0);

    // Restarting reuses the identity, so relay multiaddrs given to nodes stay valid.
    let (mut again, peer_again, _) = start(&dir);
    assert_eq!(peer_again, peer);
    assert_eq!(file_state(&dir.join(KEY)).expect("key").bytes, key.bytes);
    assert_eq!(terminate(&mut again), 0);
}

#[test]
fn a_taken_port_is_refused_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let listen = format!("/ip4/127.0.0.1/tcp/{port}");
    let out = run(&["relay", "--listen", &listen, "--data-dir", s(tmp.path())]);
    out.expect_code(2).expect_err(&listen).expect_err("hint:");
    assert!(
        out.stderr.to_lowercase().contains("in use"),
        "{}",
        out.stderr
    );

    let out = run(&[
        "relay",
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--http",
        &format!("127.0.0.1:{port}"),
        "--data-dir",
        s(tmp.path()),
    ]);
    out.expect_code(2).expect_err(&format!("/tcp/{port}"));
    let out = run(&[
        "relay",
        "--listen",
        "127.0.0.1:3610",
        "--data-dir",
        s(tmp.path()),
    ]);
    out.expect_code(2).expect_err("not a multiaddr");
}
