//! `dkgd demo` end to end through the real binary (N `dkgd dkg` processes and a `dkgd relay`
//! on 127.0.0.1), and `dkgd verify` of the data dirs it writes, including tampered copies
//! (each tamper must be caught by the matching check). Demos run one at a time: each is
//! several CPU-bound processes and CI has two cores.

#![allow(clippy::unwrap_used)]

mod support;

use nix::sys::signal::Signal;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};
use support::demo::{assert_no_process_mentions, processes_mentioning, summary_rows, RunningDemo};
use support::{run, s};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn demo(out: &Path, extra: &[&str]) -> support::Run {
    let mut args = vec!["demo", "--out", s(out)];
    args.extend_from_slice(extra);
    run(&args)
}

fn set_mode(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn demo_runs_real_processes_and_verifies_every_data_dir() {
    let _one = one_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cluster");
    let started = Instant::now();
    let r = demo(&out, &["--insecure-keystores"]);
    eprintln!(
        "demo (n=4 V=2, relay): {:.1}s",
        started.elapsed().as_secs_f64()
    );
    r.expect_code(0);
    assert_no_process_mentions(s(&out));
    assert!(
        r.stdout.contains("relay: http://127.0.0.1:"),
        "{}",
        r.stdout
    );
    let rows = summary_rows(&r.stdout);
    assert_eq!(rows.len(), 4, "summary rows:\n{}", r.stdout);
    for row in &rows {
        assert!(row.contains("PASS") && row.contains(" 0 "), "{row}");
    }
    let done = r
        .stdout
        .lines()
        .find(|l| l.starts_with("demo complete: 4 nodes, 2 validators, lock 0x"))
        .unwrap_or_else(|| panic!("no verdict line:\n{}", r.stdout));
    let lock0 = std::fs::read(out.join("node0/cluster-lock.json")).unwrap();
    let lock: serde_json::Value = serde_json::from_slice(&lock0).unwrap();
    assert!(
        done.ends_with(lock["lock_hash"].as_str().unwrap()),
        "{done}"
    );
    for i in 0..4 {
        let dir = out.join(format!("node{i}"));
        assert_eq!(std::fs::read(dir.join("cluster-lock.json")).unwrap(), lock0);
        run(&["verify", s(&dir)]).expect_code(0);
        assert!(out.join(format!("node{i}.log")).is_file());
    }
    // Each data dir verifies on its own, keystores decrypted.
    let v = run(&["verify", "--decrypt", s(&out.join("node2"))]);
    v.expect_code(0);
    for line in [
        "PASS         validator_keys/keystore-1.json: decrypts",
        "PASS         deposit-data.json",
        "PASS         deposit-data-1eth.json",
        "PASS         permissions",
    ] {
        assert!(v.stdout.contains(line), "{line}:\n{}", v.stdout);
    }
    // The definition it wrote verifies too (real EIP-712 signatures).
    run(&["verify", s(&out.join("cluster-definition.json"))]).expect_code(0);
}

#[test]
fn verify_catches_tampered_data_dirs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cluster");
    let _one = one_at_a_time();
    let r = demo(
        &out,
        &[
            "--nodes",
            "3",
            "--validators",
            "1",
            "--insecure-keystores",
            "--direct",
        ],
    );
    r.expect_code(0);
    assert_eq!(summary_rows(&r.stdout).len(), 3, "{}", r.stdout);
    assert!(!r.stdout.contains("relay:"), "--direct uses no relay");
    let node = out.join("node0");

    // A keystore password file readable by others.
    let txt = node.join("validator_keys/keystore-0.txt");
    set_mode(&txt, 0o644);
    let v = run(&["verify", s(&node)]);
    v.expect_code(1);
    assert!(
        v.stdout
            .contains("FAIL         permissions: validator_keys/keystore-0.txt holds a secret"),
        "{}",
        v.stdout
    );
    set_mode(&txt, 0o400);

    // A wrong password.
    set_mode(&txt, 0o600);
    std::fs::write(&txt, "00000000000000000000000000000000").unwrap();
    set_mode(&txt, 0o400);
    let v = run(&["verify", "--decrypt", s(&node)]);
    v.expect_code(1);
    assert!(
        v.stdout
            .contains("FAIL         validator_keys/keystore-0.json: does not decrypt"),
        "{}",
        v.stdout
    );

    // One flipped hex digit in a deposit file signature.
    let dep = node.join("deposit-data.json");
    let text = std::fs::read_to_string(&dep).unwrap();
    let at = text.find("\"signature\": \"").unwrap() + 20;
    let mut bytes = text.into_bytes();
    bytes[at] = if bytes[at] == b'a' { b'b' } else { b'a' };
    set_mode(&dep, 0o644);
    std::fs::write(&dep, &bytes).unwrap();
    set_mode(&dep, 0o444);
    let v = run(&["verify", s(&node)]);
    v.expect_code(1);
    assert!(
        v.stdout.contains("FAIL         deposit-data.json"),
        "{}",
        v.stdout
    );

    // A missing lock is a usage error (exit 2), not a crash.
    let v = run(&["verify", s(&out.join("node1/validator_keys"))]);
    v.expect_code(2);
}

#[test]
fn demo_refuses_bad_arguments_and_existing_output() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cluster");
    demo(&out, &["--nodes", "1"]).expect_code(2);
    demo(&out, &["--nodes", "2"])
        .expect_code(2)
        .expect_err("--nodes");
    demo(&out, &["--nodes", "4", "--threshold", "5"]).expect_code(2);
    demo(&out, &["--definition-version", "v1.5.0"]).expect_code(2);
    demo(&out, &["--network", "mainnet", "--insecure-keystores"]).expect_code(2);
    assert!(!out.exists(), "bad arguments must not create anything");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("keep"), b"x").unwrap();
    let r = demo(&out, &[]);
    r.expect_code(2);
    assert!(r.stderr.contains("not empty"), "{}", r.stderr);
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
}

#[test]
fn unwritable_out_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let out = file.join("cluster");
    let r = demo(&out, &["--insecure-keystores"]);
    r.expect_code(2).expect_err("--out");
    assert_no_process_mentions(s(&out));
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
}

#[test]
fn deadline_stops_every_child() {
    let _one = one_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cluster");
    // Full-cost keystores: the ceremony cannot finish within one second.
    let r = demo(&out, &["--timeout", "1"]);
    r.expect_code(1).expect_err("did not finish within 1 s");
    assert_no_process_mentions(s(&out));
}

#[test]
fn sigint_stops_every_child() {
    let _one = one_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cluster");
    let mut demo = RunningDemo::start(&out, &[]);
    demo.wait_line("started 4 nodes", Duration::from_secs(60));
    assert!(
        processes_mentioning(s(&out)).len() >= 5,
        "the relay and 4 nodes run"
    );
    signal(demo.child.id(), Signal::SIGINT);
    let (code, stderr) = demo.wait(Duration::from_secs(30));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("interrupted by SIGINT"), "{stderr}");
    assert_no_process_mentions(s(&out));
}

#[test]
fn a_failed_node_stops_every_child_and_is_named() {
    let _one = one_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cluster");
    let mut demo = RunningDemo::start(&out, &[]);
    demo.wait_line("started 4 nodes", Duration::from_secs(60));
    let node2 = out.join("node2");
    let needle = format!("--data-dir {}", s(&node2));
    let end = Instant::now() + Duration::from_secs(10);
    let mut pids = processes_mentioning(&needle);
    while pids.is_empty() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(10));
        pids = processes_mentioning(&needle);
    }
    assert_eq!(pids.len(), 1, "one dkg process for node 2: {pids:?}");
    signal(pids[0], Signal::SIGKILL);
    let (code, stderr) = demo.wait(Duration::from_secs(60));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("node 2 failed (exit 137): killed by signal 9"),
        "{stderr}"
    );
    assert!(stderr.contains("node2.log"), "{stderr}");
    assert_no_process_mentions(s(&out));
}

fn signal(pid: u32, sig: Signal) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap());
    nix::sys::signal::kill(pid, sig).unwrap();
}
