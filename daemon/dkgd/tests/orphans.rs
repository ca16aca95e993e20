//! Issue 12 §2, no orphans: children of a SIGKILLed supervisor (`dkgd run`'s ceremony child,
//! `dkgd demo`'s relay and nodes) die with it, and a restarted daemon that finds the key lock
//! held by another process says so (`key-locked`, the holder's PID, `/health` 503) instead
//! of a healthy `awaiting-definition`. Real binary, real processes, 127.0.0.1 only.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use nix::sys::signal::Signal;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::daemon::{fresh_cluster, Daemon};
use support::demo::{assert_no_process_mentions, processes_mentioning, RunningDemo};
use support::{s, Spawned, KEY, LOCK};

const START: Duration = Duration::from_secs(30);
/// How long a child may outlive its supervisor (SIGTERM delivery and exit).
const DIE_WITHIN: Duration = Duration::from_secs(5);

/// A daemon root whose data dir holds operator 0's key and the cluster's definition, so the
/// daemon starts a ceremony child at once (which then waits for the other operators).
fn node_root(tmp: &Path) -> (PathBuf, PathBuf) {
    let cluster = fresh_cluster(tmp, 3);
    let root = tmp.join("node");
    let data = root.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::copy(cluster.join("node0").join(KEY), data.join(KEY)).unwrap();
    std::fs::set_permissions(data.join(KEY), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::copy(
        cluster.join("cluster-definition.json"),
        data.join("cluster-definition.json"),
    )
    .unwrap();
    (root, data)
}

/// A ceremony attempt runs (still connecting, or in a step).
fn running(st: &serde_json::Value) -> bool {
    st["state"] == "awaiting-peers" || st["state"] == "ceremony"
}

/// `(state letter, parent PID)` of a live process from `/proc/<pid>/stat`; `None` once it is
/// gone or a zombie (a zombie holds no lock and runs no code).
fn proc_state(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut f = rest.split(' ');
    let state = f.next()?.chars().next()?;
    let ppid = f.next()?.parse().ok()?;
    (state != 'Z' && state != 'X').then_some((state, ppid))
}

/// Live children of `parent`.
fn children_of(parent: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| proc_state(pid).is_some_and(|(_, ppid)| ppid == parent))
        .collect()
}

fn wait_until(what: &str, deadline: Duration, mut ok: impl FnMut() -> bool) {
    let end = Instant::now() + deadline;
    while !ok() {
        assert!(Instant::now() < end, "no {what} within {deadline:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The HTTP status code of `GET path` on the daemon's socket.
fn http_code(socket: &Path, path: &str) -> u16 {
    let mut c = std::os::unix::net::UnixStream::connect(socket).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        c,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    out.split(' ').nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_sigkilled_daemon_takes_its_ceremony_child_with_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, _data) = node_root(tmp.path());
    let listen = "listen = [\"/ip4/127.0.0.1/tcp/0\"]\n";
    let mut daemon = Daemon::start(&root, listen);
    // The child reported its first step: it is well past its start.
    daemon.wait_state("ceremony", START);
    let daemon_pid = daemon.child.id();
    let mut child = Vec::new();
    wait_until("ceremony child", START, || {
        child = children_of(daemon_pid);
        !child.is_empty()
    });
    assert_eq!(child.len(), 1, "one dkgd dkg child: {child:?}");
    let child = child[0];

    daemon.kill9();
    let killed = Instant::now();
    wait_until("exit of the orphaned dkgd dkg", DIE_WITHIN, || {
        proc_state(child).is_none()
    });
    eprintln!(
        "ceremony child gone {:?} after its daemon",
        killed.elapsed()
    );

    // The key lock went with it: a restarted daemon runs the ceremony again.
    let config = daemon.config.clone();
    drop(daemon);
    let mut again = Daemon::start_with(&root, &config, &[]);
    again.wait_status("a new ceremony attempt", START, running);
}

#[test]
fn a_restarted_daemon_reports_a_held_key_lock_and_moves_on_when_it_is_free() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, data) = node_root(tmp.path());
    // An unsupervised `dkgd dkg` on the same key: what an orphan of an older dkgd looks like.
    let mut holder = Spawned::new(&[
        "dkg",
        "--definition",
        s(&data.join("cluster-definition.json")),
        "--data-dir",
        s(&data),
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--insecure-keystores",
    ]);
    let holder_pid = holder.child.id();
    let pid_field = format!("\"pid\":{holder_pid}");
    wait_until("the holder's key lock", START, || {
        std::fs::read_to_string(data.join(LOCK)).is_ok_and(|t| t.contains(&pid_field))
    });

    let mut daemon = Daemon::start(&root, "listen = [\"/ip4/127.0.0.1/tcp/0\"]\n");
    let st = daemon.wait_state("key-locked", START);
    assert_eq!(st["key_holder"]["pid"], holder_pid, "{st:#}");
    let err = st["last_error"].as_str().unwrap();
    assert!(err.contains(&format!("PID {holder_pid}")), "{err}");
    assert_eq!(http_code(&daemon.socket, "/health"), 503);
    assert_eq!(http_code(&daemon.socket, "/status"), 200);

    holder.child.kill().unwrap();
    holder.child.wait().unwrap();
    let st = daemon.wait_status("a ceremony attempt", START, running);
    assert!(st["key_holder"].is_null(), "{st:#}");
    assert_eq!(http_code(&daemon.socket, "/health"), 200);
}

#[test]
fn a_sigkilled_demo_takes_its_relay_and_nodes_with_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cluster");
    let mut demo = RunningDemo::start(&out, &[]);
    demo.wait_line("started 4 nodes", Duration::from_secs(60));
    let running = processes_mentioning(s(&out));
    assert!(running.len() >= 5, "the relay and 4 nodes run: {running:?}");
    let pid = nix::unistd::Pid::from_raw(i32::try_from(demo.child.id()).unwrap());
    nix::sys::signal::kill(pid, Signal::SIGKILL).unwrap();
    let killed = Instant::now();
    demo.wait(Duration::from_secs(10));
    // Waits up to 5 s (DIE_WITHIN).
    assert_no_process_mentions(s(&out));
    eprintln!("demo children gone {:?} after the demo", killed.elapsed());
}
