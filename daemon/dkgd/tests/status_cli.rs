//! `dkgd status` against stand-in servers on a real Unix socket: the human summary, `--json`
//! passing the document through unchanged, and clear failures for what is not dkgd.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::path::Path;
use support::{run, s};

/// Serves one canned response per connection, `n` times, on a background thread.
fn serve(path: &Path, response: String, n: usize) -> std::thread::JoinHandle<Vec<String>> {
    let listener = UnixListener::bind(path).unwrap();
    std::thread::spawn(move || {
        let mut requests = Vec::new();
        for _ in 0..n {
            let (mut c, _) = listener.accept().unwrap();
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            while !req.ends_with(b"\r\n\r\n") {
                let k = c.read(&mut buf).unwrap();
                if k == 0 {
                    break;
                }
                req.extend_from_slice(&buf[..k]);
            }
            requests.push(String::from_utf8_lossy(&req).into_owned());
            let _ = c.write_all(response.as_bytes());
        }
        requests
    })
}

fn http(code: u16, body: &str) -> String {
    format!(
        "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

const BODY: &str = r#"{"api":1,"state":"failed","step":null,"attempts":3,
"last_error":"step dkg: timed out (peer 16Uiu2X)","next_retry":"2026-01-01T00:00:10Z",
"peers":{"connected":1,"total":3,"list":[]},"cluster":{"name":"home","definition_hash":"0xd1","operators":4},
"identity":{"enr":"enr:-abc","peer_id":"16Uiu2Self"},"versions":{"dkgd":"9.9.9","api":1},
"uptime_secs":3725,"some_future_field":true}"#;

#[test]
fn summary_for_people_and_raw_json_for_scripts() {
    let d = tempfile::tempdir().unwrap();
    let sock = d.path().join("s.sock");
    let server = serve(&sock, http(200, BODY), 2);
    let r = run(&["status", "--socket", s(&sock)]);
    r.expect_code(0);
    for needle in [
        "failed",
        "step dkg: timed out (peer 16Uiu2X)",
        "2026-01-01T00:00:10Z",
        "1/3 connected",
        "home, 4 operators, definition 0xd1",
        "16Uiu2Self",
        "dkgd 9.9.9 (status API 1), up 1h 02m 05s",
    ] {
        assert!(
            r.stdout.contains(needle),
            "{needle:?} missing from:\n{}",
            r.stdout
        );
    }
    let r = run(&["status", "--json", "--socket", s(&sock)]);
    r.expect_code(0);
    assert_eq!(r.stdout.trim_end(), BODY);
    let requests = server.join().unwrap();
    assert!(
        requests
            .iter()
            .all(|q| q.starts_with("GET /status HTTP/1.1\r\n")),
        "{requests:?}"
    );
}

#[test]
fn not_dkgd_is_a_clear_failure() {
    let d = tempfile::tempdir().unwrap();
    let sock = d.path().join("s.sock");
    let server = serve(&sock, "garbage".into(), 1);
    run(&["status", "--socket", s(&sock)])
        .expect_code(1)
        .expect_err("unexpected answer")
        .expect_err("s.sock");
    server.join().unwrap();
    let sock2 = d.path().join("s2.sock");
    let server = serve(&sock2, http(404, "{}"), 1);
    run(&["status", "--socket", s(&sock2)])
        .expect_code(1)
        .expect_err("HTTP 404");
    server.join().unwrap();
}

/// A daemon whose connection slots are all taken answers 503: busy, retry (75), never "is that
/// socket really dkgd's?".
#[test]
fn a_busy_daemon_is_a_temporary_failure() {
    let d = tempfile::tempdir().unwrap();
    let sock = d.path().join("busy.sock");
    let server = serve(
        &sock,
        http(
            503,
            r#"{"error":"too many connections; retry in a moment"}"#,
        ),
        1,
    );
    let out = run(&["status", "--socket", s(&sock)]);
    out.expect_code(75)
        .expect_err("busy")
        .expect_err("too many connections");
    assert!(!out.stderr.contains("really dkgd"), "{}", out.stderr);
    server.join().unwrap();
}

#[test]
fn a_dead_socket_is_75_and_the_env_variable_names_the_socket() {
    let d = tempfile::tempdir().unwrap();
    let sock = d.path().join("dead.sock");
    drop(UnixListener::bind(&sock).unwrap());
    run(&["status", "--socket", s(&sock)])
        .expect_code(75)
        .expect_err("not running")
        .expect_err("hint:");
    let out = support::dkgd()
        .args(["status"])
        .env("DKGD_SOCKET", &sock)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(75));
    assert!(String::from_utf8_lossy(&out.stderr).contains("dead.sock"));
}
