//! A disk that fills up after the preflight (issue 12 §1: errors keep their cause): the node
//! whose commit hits ENOSPC says "No space left on device", in its error and in the progress
//! line a supervising `dkgd run` shows. Real processes on 127.0.0.1; needs root for the tmpfs
//! (skips loudly otherwise).

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::time::Duration;
use support::cluster::{wait_for_line, Cluster, Net};
use support::fs::SmallFs;
use support::KEY;

#[test]
fn a_disk_that_fills_after_preflight_is_named_at_commit() {
    let mut cluster = Cluster::new(3, 1);
    let at = cluster.root.path().join("small-node0");
    let Some(fs) = SmallFs::mount(&at, "512k") else {
        return;
    };
    std::fs::copy(cluster.dirs[0].join(KEY), at.join(KEY)).unwrap();
    support::chmod(&at.join(KEY), 0o600);
    cluster.dirs[0] = at;
    let mut nodes = cluster.start(Net::Direct);
    assert!(
        wait_for_line(
            &cluster.log(0),
            "with room for the artifacts",
            Duration::from_secs(30)
        ),
        "node 0 passed its preflight:\n{}",
        cluster.logs()
    );
    // Frozen right after its preflight (its host is not up, so no peer can be ahead of it),
    // node 0's disk fills up; then it carries on into the ceremony.
    let pid = Pid::from_raw(i32::try_from(nodes.children[0].id()).unwrap());
    kill(pid, Signal::SIGSTOP).unwrap();
    let filled = fs.fill("filler");
    kill(pid, Signal::SIGCONT).unwrap();
    eprintln!("filled the data dir's file system with {filled} bytes after the preflight");

    let codes = nodes.wait(Duration::from_secs(120));
    assert_eq!(codes[0], Some(1), "{codes:?}\n{}", cluster.logs());
    let log = std::fs::read_to_string(cluster.log(0)).unwrap();
    let error = log.lines().find(|l| l.starts_with("error: ")).unwrap_or("");
    assert!(
        error.contains("No space left on device"),
        "node 0's error lacks the cause: {error:?}\n{log}"
    );
    eprintln!("exit codes {codes:?}; node 0: {error}");
    let progress = std::fs::read_to_string(cluster.progress_file(0)).unwrap();
    let failed = progress
        .lines()
        .find(|l| l.contains("\"failed\""))
        .unwrap_or("");
    assert!(
        failed.contains("No space left on device"),
        "the progress line for dkgd run lacks the cause: {failed:?}"
    );
}
