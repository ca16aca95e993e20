//! The status server over a real Unix socket in a temporary directory.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use dkgd_node::status::model::{Status, API_VERSION};
use dkgd_node::status::{ServerConfig, ServerError, Snapshot, StatusServer};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::watch;

fn status(state: &str) -> Status {
    let mut s = Status {
        api: API_VERSION,
        state: state.into(),
        attempts: 2,
        last_error: Some("peer 1 unreachable".into()),
        ..Status::default()
    };
    s.step_secs.insert("frost round 1".into(), 1.25);
    s.versions.dkgd = "0.1.0".into();
    s.versions.api = API_VERSION;
    s
}

struct Harness {
    _dir: tempfile::TempDir,
    path: PathBuf,
    tx: watch::Sender<Arc<Snapshot>>,
    task: tokio::task::JoinHandle<()>,
}

fn start(tune: impl FnOnce(&mut ServerConfig)) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run/status.sock");
    let mut cfg = ServerConfig::new(path.clone(), None);
    tune(&mut cfg);
    let server = StatusServer::bind(cfg).unwrap();
    let snap = Snapshot {
        status: status("awaiting-definition"),
        started: Instant::now(),
    };
    let (tx, rx) = watch::channel(Arc::new(snap));
    let task = tokio::spawn(async move { server.serve(rx).await });
    Harness {
        _dir: dir,
        path,
        tx,
        task,
    }
}

impl Harness {
    fn set(&self, state: &str) {
        self.tx.send_replace(Arc::new(Snapshot {
            status: status(state),
            started: Instant::now(),
        }));
    }
}

/// Sends `raw`, reads the whole answer; returns (code, headers, body).
async fn exchange(path: &Path, raw: &[u8]) -> (u16, String, String) {
    let mut s = UnixStream::connect(path).await.unwrap();
    // The server may answer (and close) before reading everything we send.
    let _ = s.write_all(raw).await;
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out))
        .await
        .expect("answer within 5 s")
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("a header");
    let code = head.split(' ').nth(1).unwrap().parse().unwrap();
    (code, head.to_owned(), body.to_owned())
}

async fn get(path: &Path, target: &str) -> (u16, String, String) {
    let req = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\n\r\n");
    exchange(path, req.as_bytes()).await
}

#[tokio::test]
async fn status_is_the_shared_json_model() {
    let h = start(|_| {});
    let (code, head, body) = get(&h.path, "/status").await;
    assert_eq!(code, 200);
    assert!(head.contains("Content-Type: application/json"));
    assert!(head.contains(&format!("Content-Length: {}", body.len())));
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["api"], 1);
    assert_eq!(v["state"], "awaiting-definition");
    let s: Status = serde_json::from_str(&body).unwrap();
    assert_eq!(s.last_error.as_deref(), Some("peer 1 unreachable"));
    h.task.abort();
}

#[tokio::test]
async fn health_is_503_only_when_failed() {
    let h = start(|_| {});
    for state in [
        "first-boot",
        "awaiting-definition",
        "awaiting-peers",
        "ceremony",
        "complete",
    ] {
        h.set(state);
        let (code, _, body) = get(&h.path, "/health").await;
        assert_eq!(code, 200, "{state}");
        assert!(body.contains(state));
    }
    h.set("failed");
    let (code, _, body) = get(&h.path, "/health").await;
    assert_eq!(code, 503);
    assert!(body.contains("failed"));
}

/// One sample: metric name, labels, value.
type Sample = (String, Vec<(String, String)>, f64);

/// A strict reader of the Prometheus text format: HELP and TYPE before each family's
/// samples, `name{label="v",…} value` lines, nothing else.
fn parse_prometheus(text: &str) -> Vec<Sample> {
    let mut typed = std::collections::HashSet::new();
    let mut helped = std::collections::HashSet::new();
    let mut samples = Vec::new();
    assert!(text.ends_with('\n'), "must end with a newline");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP name text");
            assert!(!help.is_empty());
            assert!(helped.insert(name.to_owned()), "duplicate HELP {name}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(
                ["gauge", "counter", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            assert!(typed.insert(name.to_owned()), "duplicate TYPE {name}");
            continue;
        }
        assert!(
            !line.starts_with('#') && !line.is_empty(),
            "unexpected line {line:?}"
        );
        let (series, value) = line.rsplit_once(' ').expect("series value");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line:?}"));
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => {
                let inner = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("unclosed labels: {line:?}"));
                let labels = inner
                    .split("\",")
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        let (k, v) = p
                            .split_once("=\"")
                            .unwrap_or_else(|| panic!("bad label in {line:?}"));
                        (k.to_owned(), v.trim_end_matches('"').to_owned())
                    })
                    .collect();
                (n, labels)
            }
            None => (series, Vec::new()),
        };
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                && !name.starts_with(|c: char| c.is_ascii_digit()),
            "bad metric name {name:?}"
        );
        assert!(
            typed.contains(name) && helped.contains(name),
            "{name} has no HELP/TYPE before it"
        );
        samples.push((name.to_owned(), labels, value));
    }
    samples
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let h = start(|_| {});
    h.set("ceremony");
    let (code, head, body) = get(&h.path, "/metrics").await;
    assert_eq!(code, 200);
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    let samples = parse_prometheus(&body);
    let states: Vec<_> = samples.iter().filter(|s| s.0 == "dkgd_state").collect();
    assert_eq!(
        states.len(),
        dkgd_node::lifecycle::State::NAMES.len() + dkgd_node::status::model::INVITE_STATES.len()
    );
    assert!(states
        .iter()
        .any(|s| s.1 == vec![("state".to_owned(), "awaiting-signatures".to_owned())]));
    assert!(states
        .iter()
        .any(|s| s.1 == vec![("state".to_owned(), "key-locked".to_owned())]));
    let on: Vec<_> = states.iter().filter(|s| s.2 == 1.0).collect();
    assert_eq!(on.len(), 1);
    assert_eq!(on[0].1, vec![("state".to_owned(), "ceremony".to_owned())]);
    let find = |n: &str| {
        samples
            .iter()
            .find(|s| s.0 == n)
            .unwrap_or_else(|| panic!("no {n}"))
    };
    assert_eq!(find("dkgd_ceremony_attempts").2, 2.0);
    assert_eq!(find("dkgd_peers_connected").2, 0.0);
    assert!(samples
        .iter()
        .any(|s| s.0 == "dkgd_last_ceremony_duration_seconds"));
    let step = find("dkgd_ceremony_step_duration_seconds");
    assert_eq!(
        step.1,
        vec![("step".to_owned(), "frost round 1".to_owned())]
    );
    assert_eq!(step.2, 1.25);
}

#[tokio::test]
async fn bad_requests_get_4xx() {
    let h = start(|_| {});
    assert_eq!(exchange(&h.path, b"HELLO\r\n\r\n").await.0, 400);
    assert_eq!(
        exchange(&h.path, b"GET /status HTTP/9\r\n\r\n").await.0,
        400
    );
    assert_eq!(
        exchange(&h.path, b"\x16\x03\x01\x02\x00\r\n\r\n").await.0,
        400
    );
    assert_eq!(get(&h.path, "/nope").await.0, 404);
    assert_eq!(get(&h.path, "/").await.0, 404);
    let (code, head, _) = exchange(
        &h.path,
        b"POST /status HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    assert_eq!(code, 405);
    assert!(head.contains("Allow: GET, HEAD"), "{head}");
    assert_eq!(
        exchange(&h.path, b"DELETE /health HTTP/1.1\r\n\r\n")
            .await
            .0,
        405
    );
    let (code, _, body) = exchange(&h.path, b"HEAD /status HTTP/1.1\r\n\r\n").await;
    assert_eq!((code, body.as_str()), (200, ""));
    // A 9 KiB head never completes within the 8 KiB cap.
    let huge = format!(
        "GET /status HTTP/1.1\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(9 * 1024)
    );
    let (code, _, _) = exchange(&h.path, huge.as_bytes()).await;
    assert!(code == 431 || code == 413, "{code}");
    // The server is still fine.
    assert_eq!(get(&h.path, "/status").await.0, 200);
}

#[tokio::test]
async fn a_slow_client_does_not_block_others_and_is_cut_off() {
    let h = start(|c| c.conn_timeout = Duration::from_millis(500));
    let mut slow = UnixStream::connect(&h.path).await.unwrap();
    slow.write_all(b"GET /sta").await.unwrap();
    let t = Instant::now();
    assert_eq!(get(&h.path, "/status").await.0, 200);
    assert!(
        t.elapsed() < Duration::from_millis(400),
        "{:?}",
        t.elapsed()
    );
    // The slow one is dropped after its time is up.
    let mut buf = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(3), slow.read_to_end(&mut buf))
        .await
        .expect("the server hangs up on a slow client");
    assert!(n.is_ok());
    assert!(buf.is_empty(), "no answer to an incomplete request");
}

#[tokio::test]
async fn too_many_connections_get_an_immediate_503() {
    let h = start(|c| c.max_connections = 2);
    let _a = UnixStream::connect(&h.path).await.unwrap();
    let _b = UnixStream::connect(&h.path).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t = Instant::now();
    assert_eq!(get(&h.path, "/status").await.0, 503);
    assert!(t.elapsed() < Duration::from_secs(1));
    drop((_a, _b));
    // Permits come back once those connections end.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        if get(&h.path, "/status").await.0 == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "permits never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn socket_mode_is_0660_and_removed_on_drop() {
    let h = start(|_| {});
    let mode = std::fs::metadata(&h.path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o660);
    h.task.abort();
    let _ = h.task.await;
    assert!(
        !h.path.exists(),
        "the socket file is removed with the server"
    );
}

#[tokio::test]
async fn stale_sockets_are_replaced_other_files_are_not() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("status.sock");
    // A socket nobody listens on (left by a killed daemon).
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let live = StatusServer::bind(ServerConfig::new(path.clone(), None)).unwrap();
    // A socket somebody listens on is not stolen.
    let err = StatusServer::bind(ServerConfig::new(path.clone(), None)).unwrap_err();
    assert!(matches!(err, ServerError::InUse { .. }), "{err}");
    assert!(err.to_string().contains(&path.display().to_string()));
    drop(live);
    // A regular file is never removed.
    std::fs::write(&path, b"precious").unwrap();
    let err = StatusServer::bind(ServerConfig::new(path.clone(), None)).unwrap_err();
    assert!(matches!(err, ServerError::NotASocket { .. }), "{err}");
    assert!(err.to_string().contains(&path.display().to_string()));
    assert_eq!(std::fs::read(&path).unwrap(), b"precious");
    std::fs::remove_file(&path).unwrap();
    let err =
        StatusServer::bind(ServerConfig::new(path, Some("no-such-group-dkgd".into()))).unwrap_err();
    assert!(err.to_string().contains("no-such-group-dkgd"), "{err}");
}

async fn post(path: &Path, target: &str, body: &[u8]) -> (u16, String, String) {
    let mut req = format!(
        "POST {target} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    exchange(path, &req).await
}

const CODE: &str = "dkg1qygqqzgsqqqsyqcyq5rqwzqfpg9scrgwpugpzysnzs23v9ccrydpk8qarc0sl367ah";

#[tokio::test]
async fn pair_drops_a_checked_code_into_the_inbox_once() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let inbox2 = inbox.clone();
    let h = start(move |c| c.pair_inbox = Some(inbox2));
    let file = inbox.join("pairing-code");
    // A typo, a stranger, an empty body, a huge body: 400/413 and nothing written.
    let typo = CODE.replace("qygq", "qygp");
    let (code, _, body) = post(&h.path, "/pair", typo.as_bytes()).await;
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("checksum"), "{body}");
    assert_eq!(post(&h.path, "/pair", b"0x00 nosuchnet").await.0, 400);
    assert_eq!(post(&h.path, "/pair", b"").await.0, 400);
    assert_eq!(post(&h.path, "/pair", &[b'a'; 4096]).await.0, 413);
    assert!(!file.exists());
    let (code, head, _) = get(&h.path, "/pair").await;
    assert_eq!(code, 405);
    assert!(head.contains("Allow: POST"), "{head}");
    // Not waiting for a definition: 409, nothing written.
    h.set("complete");
    let (code, _, body) = post(&h.path, "/pair", CODE.as_bytes()).await;
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("complete"), "{body}");
    assert!(!file.exists());
    // Waiting: accepted, written in canonical form (BOM and CRLF gone), owner-only.
    h.set("awaiting-definition");
    let laptop = format!("\u{feff}{CODE}\r\n");
    let (code, _, body) = post(&h.path, "/pair", laptop.as_bytes()).await;
    assert_eq!(code, 202, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["config_hash"],
        "0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    );
    assert_eq!(v["network"], "hoodi");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), format!("{CODE}\n"));
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // A second code never replaces the first.
    let (code, _, body) = post(&h.path, "/pair", CODE.as_bytes()).await;
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("already waiting"), "{body}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), format!("{CODE}\n"));
    // An invite being resolved: 409 naming it.
    std::fs::remove_file(&file).unwrap();
    let mut s = status("awaiting-definition");
    s.invite = Some(dkgd_node::status::model::Invite {
        source: "/boot/firmware/dkgd/pairing-code".into(),
        config_hash: "0xabc".into(),
        ..Default::default()
    });
    h.tx.send_replace(Arc::new(Snapshot {
        status: s,
        started: Instant::now(),
    }));
    let (code, _, body) = post(&h.path, "/pair", CODE.as_bytes()).await;
    assert_eq!(code, 409, "{body}");
    assert!(
        body.contains("0xabc") && body.contains("/boot/firmware"),
        "{body}"
    );
    assert!(!file.exists());
}

#[tokio::test]
async fn pairing_is_off_without_an_inbox() {
    let h = start(|_| {});
    assert_eq!(post(&h.path, "/pair", CODE.as_bytes()).await.0, 503);
}

#[tokio::test]
async fn dawdlers_lose_their_slot_after_the_head_timeout() {
    let h = start(|c| {
        c.max_connections = 4;
        c.head_timeout = Duration::from_millis(300);
    });
    // A handful of clients that connect and never send a head fill every slot.
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(UnixStream::connect(&h.path).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(get(&h.path, "/status").await.0, 503);
    // Within the head timeout (plus the polite close) they are gone and others are served.
    let t = Instant::now();
    loop {
        if get(&h.path, "/status").await.0 == 200 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "dawdlers still hold every slot"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for mut s in idle {
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(1), s.read_to_end(&mut buf)).await;
        assert!(buf.is_empty(), "a dawdler got an answer");
    }
}

#[tokio::test]
async fn the_client_reads_answers_and_names_the_socket() {
    use dkgd_node::status::client::{request, ClientError};
    use hyper::Method;
    let h = start(|_| {});
    let a = request(&h.path, Method::GET, "/status", None)
        .await
        .unwrap();
    assert_eq!(a.code, 200);
    let s: Status = serde_json::from_slice(&a.body).unwrap();
    assert_eq!(s.state, "awaiting-definition");
    let a = request(&h.path, Method::GET, "/nope", None).await.unwrap();
    assert_eq!(a.code, 404);
    assert!(
        a.error_text().contains("no such endpoint"),
        "{}",
        a.error_text()
    );
    let gone = h.path.with_file_name("absent.sock");
    let err = request(&gone, Method::GET, "/status", None)
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::NotRunning { .. }), "{err}");
    assert!(err.to_string().contains("absent.sock"), "{err}");
}

/// Smoke fuzzing of what a local client can send (issue 12 §7): garbage, truncated and mutated
/// requests of every endpoint each get an answer or a hang-up within the connection bound, and
/// the server keeps serving.
#[tokio::test]
async fn garbage_requests_never_take_the_server_down() {
    let h = start(|c| {
        c.conn_timeout = Duration::from_millis(300);
        c.head_timeout = Duration::from_millis(200);
    });
    let seeds: [&[u8]; 4] = [
        b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /pair HTTP/1.1\r\nContent-Length: 70\r\n\r\ndkg1qygqqzgsqqqsyqcyq5rqwzqfpg9scrgwpugpzysnzs23v9ccrydpk8qarc0sl367ah",
        b"POST /backup/recipients HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nage1x\r\n0\r\n\r\n",
        b"HEAD /metrics HTTP/1.0\r\n\r\n",
    ];
    // xorshift64: reproducible without a dependency.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..96 {
        let seed = seeds[round % seeds.len()];
        let mut bytes = seed.to_vec();
        match round % 3 {
            0 => {
                for _ in 0..1 + next() % 4 {
                    let i = usize::try_from(next() % bytes.len() as u64).unwrap();
                    bytes[i] = u8::try_from(next() & 0xff).unwrap();
                }
            }
            1 => bytes.truncate(usize::try_from(next() % bytes.len() as u64).unwrap()),
            _ => {
                bytes = (0..next() % 600)
                    .map(|_| u8::try_from(next() & 0xff).unwrap())
                    .collect();
            }
        }
        let mut s = UnixStream::connect(&h.path).await.unwrap();
        let _ = s.write_all(&bytes).await;
        let mut out = Vec::new();
        let answered = tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut out)).await;
        assert!(
            answered.is_ok(),
            "round {round}: no answer and no hang-up within 2 s"
        );
        if !out.is_empty() {
            assert!(out.starts_with(b"HTTP/1."), "round {round}: {out:?}");
        }
    }
    assert_eq!(get(&h.path, "/status").await.0, 200);
}
