//! Single instance: the key lock (flock on charon-enr-private-key.lock) across real processes.
//! No sleeps: tests wait for the holder's "locked" line with a deadline.

mod support;

use std::time::Duration;
use support::*;

const DEADLINE: Duration = Duration::from_secs(30);

fn hold(dir: &std::path::Path) -> (Spawned, u32) {
    let holder = Spawned::new(&["enr", "hold-lock", "--seconds", "120", "--data-dir", s(dir)]);
    let line = holder.wait_line("locked pid=", DEADLINE);
    let pid: u32 = line
        .trim_start_matches("locked pid=")
        .parse()
        .expect("a PID");
    assert_eq!(pid, holder.child.id());
    (holder, pid)
}

#[test]
fn second_process_is_refused_naming_the_holder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    run(&["enr", "create", "--data-dir", s(dir)]).expect_code(0);
    let key_before = file_state(&dir.join(KEY));
    let (holder, pid) = hold(dir);

    let expected = format!("in use by PID {pid} (dkgd enr hold-lock)");
    for args in [
        vec!["enr", "show", "--data-dir", s(dir)],
        vec!["enr", "create", "--data-dir", s(dir)],
        vec!["enr", "hold-lock", "--seconds", "0", "--data-dir", s(dir)],
    ] {
        let out = run(&args);
        out.expect_code(75)
            .expect_err(&expected)
            .expect_err(&format!("wait for process {pid}"));
        assert!(!out.stdout.contains("enr:"));
    }
    assert_eq!(file_state(&dir.join(KEY)), key_before);

    // The holder dies without any cleanup; its lock file (fresh timestamp, its PID) stays
    // behind, and must not block the next process.
    let mut holder = holder;
    holder.child.kill().unwrap();
    holder.child.wait().unwrap();
    let stale = std::fs::read_to_string(dir.join(LOCK)).unwrap();
    assert!(stale.contains(&format!("\"pid\":{pid}")), "{stale}");
    run(&["enr", "show", "--data-dir", s(dir)]).expect_code(0);
}

#[test]
fn lock_is_released_when_the_holder_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    run(&["enr", "create", "--data-dir", s(dir)]).expect_code(0);
    let out = run(&["enr", "hold-lock", "--seconds", "0", "--data-dir", s(dir)]);
    out.expect_code(0);
    // Immediately after: a quick restart is not mistaken for a running instance.
    run(&["enr", "show", "--data-dir", s(dir)]).expect_code(0);
    run(&["enr", "show", "--data-dir", s(dir)]).expect_code(0);
}

#[test]
fn racing_creates_produce_exactly_one_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fresh");
    let children: Vec<_> = (0..6)
        .map(|_| {
            dkgd()
                .args(["enr", "create", "--data-dir", s(&dir)])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let winners: Vec<_> = outs.iter().filter(|o| o.status.code() == Some(0)).collect();
    assert_eq!(winners.len(), 1, "exactly one create succeeds");
    for o in &outs {
        let code = o.status.code();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            matches!(code, Some(0 | 2 | 75)),
            "unexpected exit {code:?}: {err}"
        );
        if code == Some(75) {
            assert!(err.contains("in use by PID"), "{err}");
        }
    }
    let winner_enr = enr_line(&String::from_utf8_lossy(&winners[0].stdout)).to_owned();
    let shown = run(&["enr", "show", "--data-dir", s(&dir)]);
    shown.expect_code(0);
    assert_eq!(enr_line(&shown.stdout), winner_enr);
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, [KEY, LOCK], "no temp files left by the losers");
}

#[test]
fn a_live_charon_heartbeat_blocks_and_an_old_one_does_not() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    run(&["enr", "create", "--data-dir", s(dir)]).expect_code(0);
    // charon takes no flock; it rewrites this JSON every second (formats.md §5.1). A
    // timestamp ahead of our clock counts as fresh, as in charon.
    let live = r#"{"command":"charon run","timestamp":"2999-01-01T02:00:00.123456789+02:00","cluster_lock_hash":"0xabcd"}"#;
    std::fs::write(dir.join(LOCK), live).unwrap();
    run(&["enr", "show", "--data-dir", s(dir)])
        .expect_code(75)
        .expect_err("in use by a running charon (charon run")
        .expect_err("stop charon");
    assert_eq!(std::fs::read_to_string(dir.join(LOCK)).unwrap(), live);

    let old = r#"{"command":"charon dkg","timestamp":"2024-06-15T12:00:00.5Z"}"#;
    std::fs::write(dir.join(LOCK), old).unwrap();
    run(&["enr", "show", "--data-dir", s(dir)]).expect_code(0);
    // Our own heartbeat is one charon reads as its own: command + RFC 3339 timestamp.
    let ours: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(LOCK)).unwrap()).unwrap();
    assert_eq!(ours["command"], "dkgd enr show");
    assert!(ours["timestamp"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn key_holding_processes_cannot_dump_core() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    run(&["enr", "create", "--data-dir", s(dir)]).expect_code(0);
    let (_holder, pid) = hold(dir);
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    let fields: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(fields[4..6], ["0", "0"], "{core}");
}
