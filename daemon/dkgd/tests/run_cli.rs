//! `dkgd run` end to end through the real binary: first boot, the inbox, SIGTERM, SIGKILL at
//! random points, restarts, and a data dir that is already complete. The daemon's status is
//! read with the real `dkgd status` client over its Unix socket.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use nix::sys::signal::Signal;
use rand_core::RngCore;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;
use support::daemon::{demo_cluster, fresh_cluster, status_json, Daemon};
use support::{run, s, KEY};

const START: Duration = Duration::from_secs(20);

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn first_boot_creates_the_key_and_awaits_a_definition_then_stops_cleanly() {
    let d = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(d.path(), "");
    let st = daemon.wait_state("awaiting-definition", START);
    let key = daemon.data_dir.join(KEY);
    assert_eq!(mode(&key), 0o600);
    assert_eq!(st["api"], 1);
    assert!(st["identity"]["enr"].as_str().unwrap().starts_with("enr:-"));
    // The identity the daemon reports is the key file's.
    let show = run(&["enr", "show", "--json", "--data-dir", s(&daemon.data_dir)]);
    show.expect_code(0);
    let shown: serde_json::Value = serde_json::from_str(&show.stdout).unwrap();
    assert_eq!(st["identity"]["peer_id"], shown["peer_id"]);
    assert_eq!(mode(&daemon.socket), 0o660);
    let log = daemon.log_text();
    assert!(log.contains("first-boot"), "{log}");
    assert!(
        !log.contains(&std::fs::read_to_string(&key).unwrap()),
        "key in the log"
    );

    daemon.signal(Signal::SIGTERM);
    assert_eq!(daemon.wait_exit(Duration::from_secs(10)), Some(0));
    assert!(!daemon.socket.exists(), "socket removed at exit");

    // A restart keeps the key and goes straight to awaiting-definition.
    let before = std::fs::read(&key).unwrap();
    let mut again = Daemon::start_with(d.path(), &daemon.config, &[]);
    again.wait_state("awaiting-definition", START);
    assert_eq!(std::fs::read(&key).unwrap(), before);
    assert_eq!(
        again
            .log_text()
            .matches("created the ENR private key")
            .count(),
        1,
        "the key is created once, by the first run"
    );
}

/// A daemon that reached `awaiting-definition` on a fresh root and was stopped cleanly.
fn booted_and_stopped(root: &Path) -> Daemon {
    let mut daemon = Daemon::start(root, "");
    daemon.wait_state("awaiting-definition", START);
    daemon.signal(Signal::SIGTERM);
    assert_eq!(daemon.wait_exit(Duration::from_secs(10)), Some(0));
    daemon
}

/// Issue 16: a daemon awaiting a definition does not poll its inbox: a file dropped there is
/// seen at once (inotify), long before the 60 s rescan, also after a restart.
#[test]
fn a_file_dropped_into_the_inbox_is_seen_without_polling() {
    let d = tempfile::tempdir().unwrap();
    let daemon = booted_and_stopped(d.path());
    let mut again = Daemon::start_with(d.path(), &daemon.config, &[]);
    again.wait_state("awaiting-definition", START);
    let file = again.data_dir.join("inbox/cluster-definition.json");
    std::fs::write(&file, b"not json").unwrap();
    again.wait_status("the inbox file refused", Duration::from_secs(15), |v| {
        v["last_error"]
            .as_str()
            .is_some_and(|e| e.contains(s(&file)))
    });
}

#[test]
fn status_without_a_daemon_exits_75_with_a_hint() {
    let d = tempfile::tempdir().unwrap();
    let r = run(&["status", "--socket", s(&d.path().join("nope.sock"))]);
    r.expect_code(75)
        .expect_err("nope.sock")
        .expect_err("hint:");
}

#[test]
fn a_second_daemon_on_the_same_state_dir_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let mut first = Daemon::start(d.path(), "");
    first.wait_state("awaiting-definition", START);
    let other = d.path().join("other.sock");
    let r = run(&["run", "--config", s(&first.config), "--socket", s(&other)]);
    r.expect_code(75).expect_err("dkgd run");
    assert!(
        status_json(&first.socket).is_some(),
        "the first one still serves"
    );
}

#[test]
fn sigkill_at_random_points_never_corrupts_the_state() {
    let d = tempfile::tempdir().unwrap();
    let config = support::daemon::write_config(d.path(), "");
    let key = d.path().join("data").join(KEY);
    let mut first_key: Option<Vec<u8>> = None;
    for i in 0..5 {
        let mut daemon = Daemon::start_with(d.path(), &config, &[]);
        let delay = rand_core::OsRng.next_u32() % 400;
        std::thread::sleep(Duration::from_millis(u64::from(delay)));
        daemon.signal(Signal::SIGKILL);
        assert_eq!(
            daemon.wait_exit(Duration::from_secs(5)),
            None,
            "iteration {i}"
        );
        // The key is either absent or complete and private; once there it never changes.
        if let Ok(bytes) = std::fs::read(&key) {
            assert_eq!(bytes.len(), 64, "iteration {i}: partial key file");
            assert_eq!(mode(&key), 0o600);
            match &first_key {
                Some(k) => assert_eq!(k, &bytes, "iteration {i}: key replaced"),
                None => first_key = Some(bytes),
            }
        }
    }
    let mut daemon = Daemon::start_with(d.path(), &config, &[]);
    let st = daemon.wait_state("awaiting-definition", START);
    assert!(st["last_error"].is_null(), "{st:#}");
    if let Some(k) = first_key {
        assert_eq!(std::fs::read(&key).unwrap(), k);
    }
    daemon.signal(Signal::SIGTERM);
    assert_eq!(daemon.wait_exit(Duration::from_secs(10)), Some(0));
}

#[test]
fn a_corrupt_state_database_is_rebuilt_with_a_warning() {
    let d = tempfile::tempdir().unwrap();
    let daemon = booted_and_stopped(d.path());
    let db = daemon.data_dir.join("state.sled");
    for e in std::fs::read_dir(&db).unwrap().flatten() {
        if e.path().is_file() {
            std::fs::write(e.path(), vec![0xA5u8; 4096]).unwrap();
        }
    }
    let mut again = Daemon::start_with(d.path(), &daemon.config, &[]);
    again.wait_state("awaiting-definition", START);
    let log = again.log_text();
    assert!(log.contains("moved it aside and rebuilt"), "{log}");
    let aside = std::fs::read_dir(&daemon.data_dir)
        .unwrap()
        .flatten()
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("state.sled.corrupt-")
        });
    assert!(aside, "the corrupt database is kept for a bug report");
}

#[test]
fn an_invalid_definition_in_the_inbox_is_refused_by_name() {
    let d = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(d.path(), "");
    daemon.wait_state("awaiting-definition", START);
    let file = daemon.data_dir.join("inbox/cluster-definition.json");
    std::fs::write(&file, b"{\"this is\": \"not a definition\"}").unwrap();
    let st = daemon.wait_status("last_error naming the file", START, |v| {
        v["last_error"]
            .as_str()
            .is_some_and(|e| e.contains(s(&file)))
    });
    assert_eq!(st["state"], "awaiting-definition");
    assert!(!daemon.data_dir.join("cluster-definition.json").exists());
    // The human summary shows it too.
    let r = run(&["status", "--socket", s(&daemon.socket)]);
    r.expect_code(0);
    assert!(
        r.stdout.contains("last error:") && r.stdout.contains("awaiting-definition"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_definition_for_other_operators_is_refused_clearly() {
    let d = tempfile::tempdir().unwrap();
    let demo = demo_cluster(d.path(), 3);
    let mut daemon = Daemon::start(&d.path().join("node"), "");
    daemon.wait_state("awaiting-definition", START);
    let file = daemon.data_dir.join("inbox/cluster-definition.json");
    std::fs::copy(demo.join("cluster-definition.json"), &file).unwrap();
    let st = daemon.wait_status("a refusal", START, |v| {
        v["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("not one of its 3 operators"))
    });
    let err = st["last_error"].as_str().unwrap();
    assert!(err.contains(s(&file)), "{err}");
    assert!(
        err.contains(st["identity"]["enr"].as_str().unwrap()),
        "names our ENR: {err}"
    );
    assert_eq!(st["state"], "awaiting-definition");
    assert!(file.exists(), "a refused file stays in the inbox");
}

#[test]
fn a_definition_naming_this_node_starts_a_ceremony_and_sigterm_stops_it() {
    let d = tempfile::tempdir().unwrap();
    let demo = demo_cluster(d.path(), 3);
    let root = d.path().join("node");
    let data = root.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::copy(demo.join("node0").join(KEY), data.join(KEY)).unwrap();
    std::fs::set_permissions(data.join(KEY), std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut daemon = Daemon::start(&root, "listen = [\"/ip4/127.0.0.1/tcp/0\"]\n");
    daemon.wait_state("awaiting-definition", START);
    std::fs::copy(
        demo.join("cluster-definition.json"),
        data.join("inbox/cluster-definition.json"),
    )
    .unwrap();
    let st = daemon.wait_status("the definition accepted", START, |v| {
        !v["cluster"].is_null()
    });
    assert_eq!(st["cluster"]["operators"], 3);
    assert!(st["attempts"].as_u64().unwrap() >= 1);
    assert!(
        ["awaiting-peers", "ceremony", "failed"].contains(&st["state"].as_str().unwrap()),
        "{st:#}"
    );
    assert_eq!(st["peers"]["list"].as_array().unwrap().len(), 3);
    assert!(
        data.join("cluster-definition.json").exists(),
        "adopted into the data dir"
    );
    assert!(
        !data.join("inbox/cluster-definition.json").exists(),
        "taken out of the inbox"
    );
    daemon.signal(Signal::SIGTERM);
    assert_eq!(daemon.wait_exit(Duration::from_secs(20)), Some(0));
    assert!(!data.join("cluster-lock.json").exists());
}

/// Every artifact file (lock, deposits, keystores) with its bytes and metadata.
fn artifacts(dir: &Path) -> Vec<(String, Option<support::FileState>)> {
    support::snapshot(dir)
        .into_iter()
        .filter(|(p, _)| {
            let n = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            n.starts_with("cluster-lock")
                || n.starts_with("deposit-data")
                || n.starts_with("validator_keys")
        })
        .map(|(p, st)| (p.display().to_string(), st))
        .collect()
}

#[test]
fn a_complete_data_dir_is_complete_at_once_and_never_touched() {
    let d = tempfile::tempdir().unwrap();
    let demo = demo_cluster(d.path(), 3);
    let root = d.path().join("node");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::rename(demo.join("node0"), root.join("data")).unwrap();
    let data = root.join("data");
    let before = artifacts(&data);
    assert!(before.len() >= 4, "{before:?}");
    let mut daemon = Daemon::start(&root, "");
    let st = daemon.wait_state("complete", START);
    assert!(st["lock_hash"].as_str().unwrap().starts_with("0x"));
    let health = std::process::Command::new("curl").arg("--version").output();
    if health.is_ok() {
        let out = std::process::Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--unix-socket",
                s(&daemon.socket),
                "http://localhost/health",
            ])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
    }
    // Restarts (clean and SIGKILL) keep it complete and never touch the artifacts.
    daemon.signal(Signal::SIGKILL);
    daemon.wait_exit(Duration::from_secs(5));
    let mut again = Daemon::start_with(&root, &daemon.config, &[]);
    again.wait_state("complete", START);
    again.signal(Signal::SIGTERM);
    let code = again.wait_exit(Duration::from_secs(10));
    assert_eq!(code, Some(0), "{}", again.log_text());
    assert_eq!(artifacts(&data), before);
}

#[test]
fn artifacts_that_do_not_verify_are_a_failure_without_retry() {
    let d = tempfile::tempdir().unwrap();
    let demo = demo_cluster(d.path(), 3);
    let root = d.path().join("node");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::rename(demo.join("node1"), root.join("data")).unwrap();
    let data = root.join("data");
    let dep = data.join("deposit-data.json");
    std::fs::set_permissions(&dep, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(&dep, b"[]").unwrap();
    std::fs::set_permissions(&dep, std::fs::Permissions::from_mode(0o444)).unwrap();
    let before = artifacts(&data);
    let mut daemon = Daemon::start(&root, "");
    let st = daemon.wait_state("failed", START);
    assert!(st["next_retry"].is_null(), "{st:#}");
    assert!(
        st["last_error"].as_str().unwrap().contains("do not verify"),
        "{st:#}"
    );
    let r = run(&["status", "--socket", s(&daemon.socket)]);
    r.expect_code(0);
    assert_eq!(artifacts(&data), before);
}

#[test]
fn systemd_notifications_ready_status_watchdog_stopping() {
    let d = tempfile::tempdir().unwrap();
    let notify = d.path().join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&notify).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let config = support::daemon::write_config(d.path(), "");
    let mut daemon = Daemon::start_env(
        d.path(),
        &config,
        &[],
        &[("NOTIFY_SOCKET", s(&notify)), ("WATCHDOG_USEC", "400000")],
    );
    let mut seen: Vec<String> = Vec::new();
    let mut buf = [0u8; 4096];
    let mut recv_until = |seen: &mut Vec<String>, pred: &dyn Fn(&[String]) -> bool| {
        let end = std::time::Instant::now() + START;
        while !pred(seen) {
            assert!(
                std::time::Instant::now() < end,
                "notifications so far: {seen:?}"
            );
            if let Ok(n) = sock.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                seen.extend(msg.lines().map(str::to_owned));
            }
        }
    };
    recv_until(&mut seen, &|m| m.iter().any(|l| l == "READY=1"));
    // The socket listens by the time READY=1 is sent.
    assert!(status_json(&daemon.socket).is_some());
    assert!(
        seen.iter().any(|l| l == "STATUS=awaiting-definition"),
        "{seen:?}"
    );
    // WATCHDOG=1 at half of WATCHDOG_USEC (0.4 s): several within a second or so.
    recv_until(&mut seen, &|m| {
        m.iter().filter(|l| *l == "WATCHDOG=1").count() >= 3
    });
    daemon.signal(Signal::SIGTERM);
    recv_until(&mut seen, &|m| m.iter().any(|l| l == "STOPPING=1"));
    assert_eq!(daemon.wait_exit(Duration::from_secs(10)), Some(0));
}

#[test]
fn flags_beat_environment_beats_the_config_file() {
    let d = tempfile::tempdir().unwrap();
    let config = support::daemon::write_config(d.path(), "");
    let env_sock = d.path().join("env.sock");
    let flag_sock = d.path().join("flag.sock");
    let mut daemon = Daemon::start_env(d.path(), &config, &[], &[("DKGD_SOCKET", s(&env_sock))]);
    daemon.socket = env_sock.clone();
    daemon.wait_state("awaiting-definition", START);
    daemon.signal(Signal::SIGTERM);
    assert_eq!(daemon.wait_exit(Duration::from_secs(10)), Some(0));
    let mut daemon = Daemon::start_env(
        d.path(),
        &config,
        &["--socket", s(&flag_sock)],
        &[("DKGD_SOCKET", s(&env_sock))],
    );
    daemon.socket = flag_sock;
    daemon.wait_state("awaiting-definition", START);
    assert!(!env_sock.exists());
    // An unknown key in the file is a usage error naming it.
    std::fs::write(&config, "data_dri = \"/x\"\n").unwrap();
    run(&["run", "--config", s(&config)])
        .expect_code(2)
        .expect_err("data_dri");
}

/// Several `dkgd run` daemons complete a real ceremony over 127.0.0.1.
#[test]
fn daemons_complete_a_ceremony_together() {
    use dkgd_formats::enr::Enr;
    const N: usize = 3;
    let d = tempfile::tempdir().unwrap();
    let demo = fresh_cluster(d.path(), N);
    let ports: Vec<u16> = (0..N)
        .map(|_| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        })
        .collect();
    let ids: Vec<String> = (0..N)
        .map(|i| {
            let hex = std::fs::read_to_string(demo.join(format!("node{i}")).join(KEY)).unwrap();
            let key = dkgd_crypto::k1::K1SecretKey::from_hex(hex.trim()).unwrap();
            Enr::create(&key).peer_id().to_string()
        })
        .collect();
    let mut daemons = Vec::new();
    for i in 0..N {
        let root = d.path().join(format!("d{i}"));
        let data = root.join("data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::copy(demo.join(format!("node{i}")).join(KEY), data.join(KEY)).unwrap();
        std::fs::set_permissions(data.join(KEY), std::fs::Permissions::from_mode(0o600)).unwrap();
        let peers: Vec<String> = (0..N)
            .filter(|&j| j != i)
            .map(|j| format!("\"{}=/ip4/127.0.0.1/tcp/{}\"", ids[j], ports[j]))
            .collect();
        let extra = format!(
            "listen = [\"/ip4/127.0.0.1/tcp/{}\"]\npeer_addrs = [{}]\n",
            ports[i],
            peers.join(", ")
        );
        let mut daemon = Daemon::start(&root, &extra);
        daemon.wait_state("awaiting-definition", START);
        daemons.push(daemon);
    }
    for daemon in &daemons {
        std::fs::copy(
            demo.join("cluster-definition.json"),
            daemon.data_dir.join("inbox/cluster-definition.json"),
        )
        .unwrap();
    }
    let mut hashes = Vec::new();
    for daemon in &mut daemons {
        let st = daemon.wait_state("complete", Duration::from_secs(300));
        hashes.push(st["lock_hash"].as_str().unwrap().to_owned());
        run(&["verify", s(&daemon.data_dir)]).expect_code(0);
    }
    assert!(hashes.windows(2).all(|w| w[0] == w[1]), "{hashes:?}");
}
