//! Logs are plain text off a terminal (issue 12 §5): `dkgd run` writing to a file, and the
//! ceremony child's output it re-logs, carry no ANSI escape codes, even without `NO_COLOR`.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::daemon::{fresh_cluster, write_config};
use support::{s, KEY};

#[test]
fn daemon_and_re_logged_child_output_are_plain_text_in_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let cluster = fresh_cluster(tmp.path(), 3);
    let root = tmp.path().join("node");
    let data = root.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::copy(cluster.join("node0").join(KEY), data.join(KEY)).unwrap();
    std::fs::set_permissions(data.join(KEY), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::copy(
        cluster.join("cluster-definition.json"),
        data.join("cluster-definition.json"),
    )
    .unwrap();
    let config = write_config(&root, "listen = [\"/ip4/127.0.0.1/tcp/0\"]\n");
    let log = root.join("daemon.log");
    let mut daemon = std::process::Command::new(env!("CARGO_BIN_EXE_dkgd"))
        .args(["run", "--config", s(&config)])
        .env("RUST_LOG", "info")
        .env_remove("NO_COLOR")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("JOURNAL_STREAM")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // The child's own lines, re-logged by the daemon under the `dkgd::ceremony` target.
    let end = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("dkgd::ceremony") && text.contains("dkg host started") {
            break text;
        }
        assert!(Instant::now() < end, "no re-logged child output:\n{text}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = daemon.kill();
    let _ = daemon.wait();
    assert!(
        !text.contains('\u{1b}'),
        "ANSI escape codes in a log file:\n{}",
        text.escape_debug()
    );
}
