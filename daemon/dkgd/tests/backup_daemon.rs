//! Automatic backups of `dkgd run` (README "Backups"), through the real binary: the key after
//! first boot, everything after a ceremony three daemons complete together, each kept in sled
//! and copied to the export directory, and each opened and checked by `dkgd backup verify`
//! with the owner's identity. Without a recipient the status warns instead.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::daemon::{fresh_cluster, Daemon};
use support::{run, s, KEY};

const START: Duration = Duration::from_secs(20);

/// An owner identity under `root`: (identity file, public key).
fn owner(root: &Path) -> (PathBuf, String) {
    let id = root.join("owner-key.txt");
    let r = run(&["backup", "keygen", "--output", s(&id)]);
    r.expect_code(0);
    (id, r.stdout.trim().to_owned())
}

/// The export dir's backups of `kind`, sorted.
fn exported(dir: &Path, kind: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.to_string_lossy().contains(&format!("-{kind}-")));
    v.sort();
    v
}

/// Waits until the status satisfies `ok`.
fn wait_status(
    d: &Daemon,
    what: &str,
    ok: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(st) = d.status() {
            if ok(&st) {
                return st;
            }
            assert!(Instant::now() < end, "{what}: last status {st}");
        }
        assert!(Instant::now() < end, "{what}: no status");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `GET /metrics` over the status socket.
fn metrics(socket: &Path) -> String {
    let mut c = UnixStream::connect(socket).unwrap();
    c.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn without_a_recipient_the_status_warns_and_nothing_is_stored() {
    let d = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(d.path(), "");
    let st = daemon.wait_state("awaiting-definition", START);
    let warnings = st["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w == "no backup recipient: this box's keys exist only here"),
        "{st}"
    );
    assert_eq!(st["backup"]["count"], 0);
    assert!(metrics(&daemon.socket).contains("dkgd_backup_recipients 0\n"));
    let status = run(&["status", "--socket", s(&daemon.socket)]);
    status.expect_code(0);
    assert!(
        status.stdout.contains("WARNING:    no backup recipient"),
        "{}",
        status.stdout
    );
}

#[test]
fn a_bad_recipient_is_a_config_error() {
    let d = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(d.path(), "backup_recipients = [\"age1notakey\"]\n");
    assert_eq!(daemon.wait_exit(Duration::from_secs(10)), Some(2));
    assert!(
        daemon.log_text().contains("backup_recipients"),
        "{}",
        daemon.log_text()
    );
}

/// Three daemons with backup recipients complete a ceremony over 127.0.0.1; each takes a
/// key backup after first boot and a full one after the ceremony.
#[test]
fn daemons_back_up_the_key_and_then_everything() {
    use dkgd_formats::enr::Enr;
    const N: usize = 3;
    let d = tempfile::tempdir().unwrap();
    let (identity, public) = owner(d.path());
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
        let usb = root.join("usb");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::create_dir_all(&usb).unwrap();
        std::fs::copy(demo.join(format!("node{i}")).join(KEY), data.join(KEY)).unwrap();
        std::fs::set_permissions(data.join(KEY), std::fs::Permissions::from_mode(0o600)).unwrap();
        let peers: Vec<String> = (0..N)
            .filter(|&j| j != i)
            .map(|j| format!("\"{}=/ip4/127.0.0.1/tcp/{}\"", ids[j], ports[j]))
            .collect();
        let extra = format!(
            "listen = [\"/ip4/127.0.0.1/tcp/{}\"]\npeer_addrs = [{}]\n\
             backup_recipients = [\"{public}\"]\nbackup_export_dir = \"{}\"\n",
            ports[i],
            peers.join(", "),
            s(&usb)
        );
        let mut daemon = Daemon::start(&root, &extra);
        daemon.wait_state("awaiting-definition", START);
        let st = wait_status(&daemon, "key backup", |st| st["backup"]["count"] == 1);
        assert_eq!(st["backup"]["last_kind"], "key", "{st}");
        assert_eq!(st["warnings"].as_array().map_or(0, Vec::len), 0, "{st}");
        assert_eq!(exported(&usb, "key").len(), 1);
        daemons.push((daemon, usb));
    }
    // A key-only backup verifies with the owner's identity (and matches the key's ENR).
    let key_backup = exported(&daemons[0].1, "key").remove(0);
    run(&[
        "backup",
        "verify",
        s(&key_backup),
        "--identity",
        s(&identity),
    ])
    .expect_code(0);

    for (daemon, _) in &daemons {
        std::fs::copy(
            demo.join("cluster-definition.json"),
            daemon.data_dir.join("inbox/cluster-definition.json"),
        )
        .unwrap();
    }
    for (daemon, usb) in &mut daemons {
        daemon.wait_state("complete", Duration::from_secs(300));
        let st = wait_status(daemon, "full backup", |st| st["backup"]["count"] == 2);
        assert_eq!(st["backup"]["last_kind"], "full", "{st}");
        let m = metrics(&daemon.socket);
        assert!(m.contains("dkgd_backups_stored 2\n"), "{m}");
        assert!(m.contains("dkgd_backup_age_seconds "), "{m}");
        let full = exported(usb, "full");
        assert_eq!(full.len(), 1, "{full:?}");
        let v = run(&["backup", "verify", s(&full[0]), "--identity", s(&identity)]);
        v.expect_code(0);
        assert!(v.stdout.contains("full backup"), "{}", v.stdout);
    }
    // A restart takes no new backup: nothing new to protect.
    let (first, usb) = &mut daemons[0];
    first.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(first.wait_exit(Duration::from_secs(20)), Some(0));
    let mut again = Daemon::start_with(&first.root, &first.config, &[]);
    let st = again.wait_state("complete", START);
    assert_eq!(st["backup"]["count"], 2, "{st}");
    assert_eq!(exported(usb, "full").len(), 1);
    assert_eq!(exported(usb, "key").len(), 1);
}

/// A box restored from a backup: the daemon completes at once from the restored files and
/// warns, prominently, until the owner acknowledges that the old box is gone.
#[test]
fn a_restored_box_warns_until_the_owner_acknowledges() {
    let d = tempfile::tempdir().unwrap();
    let (identity, public) = owner(d.path());
    let demo = support::daemon::demo_cluster(d.path(), 3);
    let file = d.path().join("box.age");
    run(&[
        "backup",
        "export",
        s(&file),
        "--data-dir",
        s(&demo.join("node2")),
        "--recipient",
        &public,
    ])
    .expect_code(0);
    let root = d.path().join("new-box");
    let data = root.join("data");
    run(&[
        "backup",
        "restore",
        s(&file),
        "--identity",
        s(&identity),
        "--data-dir",
        s(&data),
        "--i-understand-the-old-box-must-never-run-again",
    ])
    .expect_code(0);
    let listed = run(&["backup", "list", "--data-dir", s(&data)]);
    listed.expect_code(0);
    assert!(
        listed.stdout.contains("NOT acknowledged"),
        "{}",
        listed.stdout
    );

    let extra = format!("backup_recipients = [\"{public}\"]\n");
    let mut daemon = Daemon::start(&root, &extra);
    let st = daemon.wait_state("complete", START);
    let warned = |st: &serde_json::Value| {
        st["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().starts_with("RESTORED FROM A BACKUP"))
    };
    assert!(warned(&st), "{st}");
    let human = run(&["status", "--socket", s(&daemon.socket)]);
    human.expect_code(0);
    assert!(
        human.stdout.contains("WARNING:    RESTORED FROM A BACKUP"),
        "{}",
        human.stdout
    );
    assert!(human.stdout.contains("backups:"), "{}", human.stdout);
    // While the daemon runs, its state database is its own: the commands ask the daemon
    // through its status socket.
    let cfg = s(&daemon.config);
    let listed = run(&["backup", "list", "--config", cfg]);
    listed.expect_code(0);
    assert!(
        listed.stdout.contains("listed by the running daemon"),
        "{}",
        listed.stdout
    );
    let ack = run(&["backup", "acknowledge-restore", "--config", cfg]);
    ack.expect_code(0);
    assert!(ack.stdout.contains("acknowledged:"), "{}", ack.stdout);
    wait_status(&daemon, "the warning gone", |st| !warned(st));
    daemon.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(daemon.wait_exit(Duration::from_secs(20)), Some(0));

    let mut again = Daemon::start_with(&root, &daemon.config, &[]);
    let st = again.wait_state("complete", START);
    assert!(!warned(&st), "{st}");
    // The restored box took its own full backup of the restored files.
    let st = wait_status(&again, "full backup", |st| st["backup"]["count"] == 1);
    assert_eq!(st["backup"]["last_kind"], "full", "{st}");
}

/// kill -9 at random points while a daemon on a complete box takes its automatic backup: the
/// export dir only ever shows whole backups that verify, sled reopens, and a later clean run
/// keeps one full backup in sled and leaves no temporary files.
#[test]
fn sigkill_during_automatic_backups_leaves_only_whole_backups() {
    use rand_core::RngCore;
    let d = tempfile::tempdir().unwrap();
    let (identity, public) = owner(d.path());
    let demo = support::daemon::demo_cluster(d.path(), 3);
    let file = d.path().join("seed.age");
    run(&[
        "backup",
        "export",
        s(&file),
        "--data-dir",
        s(&demo.join("node0")),
        "--recipient",
        &public,
    ])
    .expect_code(0);
    let root = d.path().join("box");
    let usb = root.join("usb");
    std::fs::create_dir_all(&usb).unwrap();
    run(&[
        "backup",
        "restore",
        s(&file),
        "--identity",
        s(&identity),
        "--data-dir",
        s(&root.join("data")),
        "--i-understand-the-old-box-must-never-run-again",
    ])
    .expect_code(0);
    let config = support::daemon::write_config(
        &root,
        &format!(
            "backup_recipients = [\"{public}\"]\nbackup_export_dir = \"{}\"\n",
            s(&usb)
        ),
    );
    let whole = |usb: &Path| {
        for f in exported(usb, "full") {
            let v = run(&["backup", "verify", s(&f), "--identity", s(&identity)]);
            assert_eq!(v.code, 0, "{}: {}", f.display(), v.all());
        }
    };
    for i in 0..6 {
        let mut daemon = Daemon::start_with(&root, &config, &[]);
        let delay = rand_core::OsRng.next_u32() % 300;
        std::thread::sleep(Duration::from_millis(u64::from(delay)));
        daemon.kill9();
        // A kill between the export and the sled record can leave one more file; every
        // visible file is a whole backup either way.
        assert!(exported(&usb, "full").len() <= 2, "iteration {i}");
        whole(&usb);
    }
    let mut daemon = Daemon::start_with(&root, &config, &[]);
    daemon.wait_state("complete", START);
    let st = wait_status(&daemon, "full backup", |st| st["backup"]["count"] == 1);
    assert_eq!(st["backup"]["last_kind"], "full", "{st}");
    daemon.signal(nix::sys::signal::Signal::SIGTERM);
    let code = daemon.wait_exit(Duration::from_secs(20));
    assert_eq!(code, Some(0), "{}", daemon.log_text());
    assert!(!exported(&usb, "full").is_empty());
    whole(&usb);
    let hidden: Vec<_> = std::fs::read_dir(&usb)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    assert!(hidden.is_empty(), "temporary files left: {hidden:?}");
}

/// A box set up without a recipient: the owner sets one through the status socket
/// (`dkgd backup set-recipient`), the daemon takes a key backup for it at once, the warning
/// goes, and the recipient survives a restart. A bad key changes nothing.
#[test]
fn the_owner_sets_a_recipient_through_the_socket() {
    let d = tempfile::tempdir().unwrap();
    let (identity, public) = owner(d.path());
    let export = d.path().join("export");
    std::fs::create_dir(&export).unwrap();
    let extra = format!("backup_export_dir = \"{}\"\n", export.display());
    let mut daemon = Daemon::start(&d.path().join("box"), &extra);
    let st = daemon.wait_state("awaiting-definition", START);
    assert_eq!(st["backup"]["count"], 0, "{st}");
    let cfg = daemon.config.clone();

    let bad = run(&[
        "backup",
        "set-recipient",
        "age1notakey",
        "--config",
        s(&cfg),
    ]);
    bad.expect_code(2);
    assert!(bad.stderr.contains("recipient"), "{}", bad.stderr);

    let set = run(&["backup", "set-recipient", &public, "--config", s(&cfg)]);
    set.expect_code(0);
    assert!(set.stdout.contains("1 recipient"), "{}", set.stdout);
    let st = wait_status(&daemon, "a key backup for the new recipient", |st| {
        st["backup"]["count"] == 1 && st["backup"]["recipients"] == 1
    });
    let warnings = st["warnings"].as_array().unwrap();
    assert!(
        !warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("no backup recipient")),
        "{st}"
    );
    let files = exported(&export, "key");
    assert_eq!(files.len(), 1, "{files:?}");
    run(&["backup", "verify", s(&files[0]), "--identity", s(&identity)]).expect_code(0);
    let listed = run(&["backup", "list", "--config", s(&cfg)]);
    listed.expect_code(0);
    assert!(listed.stdout.contains("key"), "{}", listed.stdout);

    daemon.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(daemon.wait_exit(Duration::from_secs(20)), Some(0));
    let again = Daemon::start_with(&d.path().join("box"), &cfg, &[]);
    let st = wait_status(&again, "the recipient after a restart", |st| {
        st["backup"]["recipients"] == 1 && st["state"] == "awaiting-definition"
    });
    assert_eq!(
        st["backup"]["count"], 1,
        "no second backup for the same files: {st}"
    );
}
