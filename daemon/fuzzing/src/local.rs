//! What reaches the box from its owner and its local services: pairing codes, the Obol API's
//! answers, and requests on the status socket.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use dkgd_ceremony::definition::{definition_for_local_cluster, LocalClusterConfig};
use dkgd_formats::definition::Version;
use dkgd_formats::enr::Enr;
use dkgd_formats::network::HOODI;
use dkgd_formats::pairing::{parse_invite, PairingCode};
use dkgd_invite::api::parse_operator_page;
use dkgd_invite::check_definition;
use dkgd_node::status::model::{Status, API_VERSION};
use dkgd_node::status::Snapshot;
use dkgd_node::status::{ServerConfig, StatusServer};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use tokio::sync::watch;

use crate::split;

/// Any text as an invite (pairing code, launchpad link or `0x… network`), with and without an
/// expected network: a code that reads prints as a code that reads the same.
pub fn pairing_code(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(code) = PairingCode::decode(&text) {
        assert_eq!(PairingCode::decode(&code.encode()), Ok(code));
    }
    for network in [None, Some(&HOODI)] {
        if let Ok(code) = parse_invite(&text, network) {
            assert_eq!(PairingCode::decode(&code.encode()), Ok(code));
        }
    }
}

struct Invite {
    code: PairingCode,
    enr: Enr,
}

fn invite() -> &'static Invite {
    static INVITE: OnceLock<Invite> = OnceLock::new();
    INVITE.get_or_init(|| {
        let (ops, creator) = dkgd_sim::keys(4, 3);
        let mut config = LocalClusterConfig::new(Version::V1_10, &HOODI, 2);
        config.timestamp = "2026-12-04T00:00:00Z".to_owned();
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let def = definition_for_local_cluster(&config, &ops, &creator, &mut rng)
            .expect("a local definition");
        let hash = def.config_hash.expect("a made definition has its hash");
        let enr = ops.get(1).map(Enr::create).expect("four operators");
        Invite {
            code: PairingCode::new(&HOODI, hash),
            enr,
        }
    })
}

/// An Obol API answer: an operator page (selector even) or a definition for the invite's
/// checks (odd). A definition that passes has the code's config hash and names this box.
pub fn obol_api(data: &[u8]) {
    let (sel, body) = split(data);
    if sel & 1 == 0 {
        let _ = parse_operator_page(body);
        return;
    }
    let inv = invite();
    if let Ok(checked) = check_definition(body, &inv.code, &inv.enr) {
        assert_eq!(checked.definition.config_hash, Some(inv.code.config_hash));
        assert_eq!(checked.our_index, Some(1));
    }
}

struct Socket {
    path: PathBuf,
    _dir: tempfile::TempDir,
    _tx: watch::Sender<Arc<Snapshot>>,
    _runtime: tokio::runtime::Runtime,
}

/// A status server on a real Unix socket in a temporary directory, serving a fixed
/// `awaiting-definition` snapshot with pairing through the socket on, started once.
fn socket() -> &'static Socket {
    static SOCKET: OnceLock<Socket> = OnceLock::new();
    SOCKET.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("status.sock");
        let inbox = dir.path().join("inbox");
        std::fs::create_dir(&inbox).expect("the inbox");
        let mut cfg = ServerConfig::new(path.clone(), None);
        cfg.pair_inbox = Some(inbox);
        // A local client writes its whole request at once; short bounds keep incomplete
        // inputs (most of a fuzzer's) cheap.
        cfg.head_timeout = Duration::from_millis(20);
        cfg.conn_timeout = Duration::from_millis(100);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let snapshot = Snapshot {
            status: Status {
                api: API_VERSION,
                state: "awaiting-definition".into(),
                ..Status::default()
            },
            started: Instant::now(),
        };
        let (tx, rx) = watch::channel(Arc::new(snapshot));
        let server = {
            let _guard = runtime.enter();
            StatusServer::bind(cfg).expect("the socket binds")
        };
        runtime.spawn(async move { server.serve(rx).await });
        Socket {
            path,
            _dir: dir,
            _tx: tx,
            _runtime: runtime,
        }
    })
}

/// Writes `raw` and reads until the server hangs up (it serves one request per connection).
/// No half-close: like hyper's default, the server drops a connection whose client shut its
/// write side, answer or not, and real clients (curl, `dkgd status`) do not.
fn exchange(path: &PathBuf, raw: &[u8]) -> Vec<u8> {
    let mut s = UnixStream::connect(path).expect("the status socket accepts");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("a read timeout");
    // The server may close before reading everything (an oversized head): not a finding.
    let _ = s.write_all(raw);
    let mut answer = Vec::new();
    match s.read_to_end(&mut answer) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the server neither answered nor hung up within 5 s: {e}"),
    }
    answer
}

/// Bytes a local client sends on the status socket: the server answers or hangs up within the
/// bound, any answer is HTTP/1.x, and a well-formed request right after is still served.
pub fn status_request(data: &[u8]) {
    let s = socket();
    let answer = exchange(&s.path, data);
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1."),
        "not an HTTP answer: {:?}",
        String::from_utf8_lossy(answer.get(..64).unwrap_or(&answer))
    );
    let health = exchange(&s.path, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(
        health.starts_with(b"HTTP/1.1 200"),
        "the server stopped serving: {:?}",
        String::from_utf8_lossy(health.get(..64).unwrap_or(&health))
    );
}
