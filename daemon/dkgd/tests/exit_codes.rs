//! README "Exit codes" as a table (issue 12 §5): every documented failure of `dkgd dkg` (and
//! the other key-using commands) through the real binary, checking the exit code, the words
//! that tell the operator why, and that nothing below the data dir changed. Each case must
//! fail before the network starts; a case that does not gets killed at a deadline and fails.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::daemon::fresh_cluster;
use support::fs::SmallFs;
use support::{chmod, dkgd, s, snapshot, Spawned, KEY, LOCK};

/// Longer than any preflight; a node that gets past it waits for peers and is killed.
const DEADLINE: Duration = Duration::from_secs(30);
/// `nobody`, for permission cases when the tests run as root (root ignores modes).
const NOBODY: u32 = 65534;

/// One row: what to run, where "nothing changed" is checked, and what must come out.
struct Case {
    name: &'static str,
    cmd: Command,
    watch: PathBuf,
    code: i32,
    says: &'static str,
}

/// Runs `cmd` to its end or the deadline; (exit code, stderr).
fn run_bounded(mut cmd: Command) -> (Option<i32>, String) {
    let err_file = tempfile::NamedTempFile::new().unwrap();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err_file.reopen().unwrap())
        .spawn()
        .unwrap();
    let end = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = std::fs::read_to_string(err_file.path()).unwrap();
    (status.and_then(|s| s.code()), stderr)
}

fn check(case: Case) {
    let before = snapshot(&case.watch);
    let existed = case.watch.symlink_metadata().is_ok();
    let started = Instant::now();
    let (code, stderr) = run_bounded(case.cmd);
    assert_eq!(
        code,
        Some(case.code),
        "{}: exit code (None: still running after {DEADLINE:?}); stderr:\n{stderr}",
        case.name
    );
    assert!(
        stderr.contains(case.says),
        "{}: stderr lacks {:?}:\n{stderr}",
        case.name,
        case.says
    );
    assert!(
        stderr.contains("hint: "),
        "{}: no hint:\n{stderr}",
        case.name
    );
    assert_eq!(
        snapshot(&case.watch),
        before,
        "{}: something changed below {}",
        case.name,
        case.watch.display()
    );
    assert_eq!(
        case.watch.symlink_metadata().is_ok(),
        existed,
        "{}",
        case.name
    );
    eprintln!(
        "{:<40} exit {} in {:?}",
        case.name,
        case.code,
        started.elapsed()
    );
}

/// `dkgd dkg` for operator 0's definition on `data`.
fn dkg(def: &Path, data: &Path) -> Command {
    let mut c = dkgd();
    c.args(["dkg", "--definition", s(def), "--data-dir", s(data)])
        .args(["--listen", "/ip4/127.0.0.1/tcp/0", "--insecure-keystores"]);
    c
}

/// A data dir `root/name` holding a copy of operator 0's key (mode 0600).
fn node_dir(cluster: &Path, root: &Path, name: &str) -> PathBuf {
    let d = root.join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::copy(cluster.join("node0").join(KEY), d.join(KEY)).unwrap();
    chmod(&d.join(KEY), 0o600);
    d
}

#[test]
fn every_documented_dkg_failure_has_its_code_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let cluster = fresh_cluster(root, 3);
    let def = cluster.join("cluster-definition.json");
    let mut cases = Vec::new();

    let missing = root.join("missing");
    cases.push(Case {
        name: "missing data dir",
        cmd: dkg(&def, &missing),
        watch: missing,
        code: 2,
        says: "does not exist",
    });

    let file = root.join("a-file");
    std::fs::write(&file, b"x").unwrap();
    cases.push(Case {
        name: "data dir is a file",
        cmd: dkg(&def, &file),
        watch: file,
        code: 2,
        says: "expected a directory",
    });

    let empty = root.join("no-key");
    std::fs::create_dir(&empty).unwrap();
    cases.push(Case {
        name: "no key",
        cmd: dkg(&def, &empty),
        watch: empty,
        code: 2,
        says: "charon-enr-private-key does not exist",
    });

    let unsafe_key = node_dir(&cluster, root, "unsafe-key");
    chmod(&unsafe_key.join(KEY), 0o644);
    cases.push(Case {
        name: "key readable by others",
        cmd: dkg(&def, &unsafe_key),
        watch: unsafe_key,
        code: 77,
        says: "chmod 600",
    });

    let done = node_dir(&cluster, root, "has-artifacts");
    std::fs::write(done.join("cluster-lock.json"), b"{}").unwrap();
    cases.push(Case {
        name: "artifacts already there",
        cmd: dkg(&def, &done),
        watch: done,
        code: 2,
        says: "already exists",
    });

    let no_def = node_dir(&cluster, root, "no-definition");
    cases.push(Case {
        name: "definition missing",
        cmd: dkg(&root.join("nope.json"), &no_def),
        watch: no_def,
        code: 2,
        says: "cannot read",
    });

    // 50 MB (sparse: nothing to read but zeros, which would parse as garbage after 50 MB).
    let huge = root.join("huge.json");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(50 * 1024 * 1024)
        .unwrap();
    let big_def = node_dir(&cluster, root, "huge-definition");
    cases.push(Case {
        name: "50 MB definition",
        cmd: dkg(&huge, &big_def),
        watch: big_def,
        code: 2,
        says: "it was not read",
    });

    let other_cmds = node_dir(&cluster, root, "relay-unsafe-key");
    chmod(&other_cmds.join(KEY), 0o640);
    let mut relay = dkgd();
    relay.args(["relay", "--listen", "/ip4/127.0.0.1/tcp/0", "--data-dir"]);
    relay.arg(&other_cmds);
    cases.push(Case {
        name: "relay: key readable by group",
        cmd: relay,
        watch: other_cmds,
        code: 77,
        says: "chmod 600",
    });

    let op_dir = node_dir(&cluster, root, "create-unsafe-key");
    chmod(&op_dir.join(KEY), 0o644);
    let mut create = dkgd();
    create.args(["create", "cluster-definition"]);
    for i in 1..3 {
        create
            .arg("--operator-dir")
            .arg(cluster.join(format!("node{i}")));
    }
    create.arg("--operator-dir").arg(&op_dir);
    create.arg("--output").arg(op_dir.join("out.json"));
    cases.push(Case {
        name: "create: operator key readable by others",
        cmd: create,
        watch: op_dir,
        code: 77,
        says: "chmod 600",
    });

    for case in cases {
        check(case);
    }
}

#[test]
fn a_key_in_use_is_75_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cluster = fresh_cluster(tmp.path(), 3);
    let def = cluster.join("cluster-definition.json");
    let data = node_dir(&cluster, tmp.path(), "held");
    let holder = Spawned::new(&[
        "enr",
        "hold-lock",
        "--seconds",
        "120",
        "--data-dir",
        s(&data),
    ]);
    holder.wait_line("locked pid=", DEADLINE);
    check(Case {
        name: "key in use",
        cmd: dkg(&def, &data),
        watch: data,
        code: 75,
        says: "in use by PID",
    });
}

/// Root ignores directory modes, so as root the node runs as `nobody` on a directory that
/// `nobody` owns but may not write (mode 0500); otherwise the directory is made 0500.
#[test]
fn an_unwritable_data_dir_is_77_before_the_network() {
    let tmp = tempfile::tempdir().unwrap();
    chmod(tmp.path(), 0o755);
    let cluster = fresh_cluster(tmp.path(), 3);
    let def = cluster.join("cluster-definition.json");
    chmod(&cluster, 0o755);
    chmod(&def, 0o644);
    let data = node_dir(&cluster, tmp.path(), "read-only");
    // The lock file exists already (as after `dkgd enr create`), so only the preflight probe
    // can find out that nothing can be created.
    std::fs::write(data.join(LOCK), b"").unwrap();
    let cmd = if nix::unistd::geteuid().is_root() {
        let bin = tmp.path().join("dkgd");
        std::fs::copy(env!("CARGO_BIN_EXE_dkgd"), &bin).unwrap();
        chmod(&bin, 0o755);
        let owner = Some(nix::unistd::Uid::from_raw(NOBODY));
        let group = Some(nix::unistd::Gid::from_raw(NOBODY));
        for p in [data.clone(), data.join(KEY), data.join(LOCK)] {
            nix::unistd::chown(&p, owner, group).unwrap();
        }
        let mut c = Command::new(bin);
        std::os::unix::process::CommandExt::uid(&mut c, NOBODY);
        std::os::unix::process::CommandExt::gid(&mut c, NOBODY);
        c.env("NO_COLOR", "1").env_remove("RUST_LOG");
        c.args(["dkg", "--definition", s(&def), "--data-dir", s(&data)])
            .args(["--listen", "/ip4/127.0.0.1/tcp/0", "--insecure-keystores"]);
        c
    } else {
        dkg(&def, &data)
    };
    chmod(&data, 0o500);
    check(Case {
        name: "data dir not writable",
        cmd,
        watch: data.clone(),
        code: 77,
        says: "cannot create files in",
    });
    chmod(&data, 0o700);
}

#[test]
fn a_data_dir_without_room_for_the_artifacts_is_73_before_the_network() {
    let tmp = tempfile::tempdir().unwrap();
    let cluster = fresh_cluster(tmp.path(), 3);
    let def = cluster.join("cluster-definition.json");
    let at = tmp.path().join("small");
    let Some(_fs) = SmallFs::mount(&at, "64k") else {
        return;
    };
    std::fs::copy(cluster.join("node0").join(KEY), at.join(KEY)).unwrap();
    chmod(&at.join(KEY), 0o600);
    assert_eq!(
        at.metadata().unwrap().permissions().mode() & 0o777,
        0o700,
        "the tmpfs root"
    );
    check(Case {
        name: "no room for the artifacts",
        cmd: dkg(&def, &at),
        watch: at.clone(),
        code: 73,
        says: "need about",
    });
}
