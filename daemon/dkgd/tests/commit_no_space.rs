//! A node that cannot write its artifacts at the end (issue 12 §1): it keeps every node from
//! publishing (nobody ends with keys its peers lack), and its error keeps the cause. Two
//! ways to fail after the preflight: a disk that fills up ("No space left on device", exit
//! 73; needs root for the tmpfs, skips loudly otherwise) and a `validator_keys/` that
//! appears in the data dir meanwhile (exit 2; runs anywhere). Real processes on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::time::Duration;
use support::cluster::{wait_for_line, Cluster, Net};
use support::fs::SmallFs;
use support::{run, s, KEY};

/// Nobody published: no lock, keys or deposit data anywhere; each node other than `failed`
/// staged a complete, verifying set and kept it aside unpublished.
fn assert_nobody_published(cluster: &Cluster, failed: usize) {
    for (i, d) in cluster.dirs.iter().enumerate() {
        for name in ["cluster-lock.json", "validator_keys", "deposit-data.json"] {
            assert!(
                !d.join(name).exists(),
                "node {i} published {name}\n{}",
                cluster.logs()
            );
        }
        let kept = d.join(".dkgd-staging.unpublished-0");
        if i == failed {
            assert!(!kept.exists(), "node {i} cannot have staged");
            continue;
        }
        assert!(
            kept.join("cluster-lock.json").is_file()
                && kept.join("validator_keys/keystore-0.json").is_file(),
            "node {i} did not keep its staged set\n{}",
            cluster.logs()
        );
        assert!(
            !d.join(".dkgd-staging").exists(),
            "node {i}: live staging dir"
        );
        // The kept set is complete and verifies on its own.
        run(&["verify", s(&kept)]).expect_code(0);
    }
}

/// Freezes node `i` right after its preflight (its host is not up, so no peer can be ahead
/// of it), runs `meanwhile`, and lets it carry on into the ceremony.
fn after_preflight(
    cluster: &Cluster,
    nodes: &support::cluster::Nodes,
    i: usize,
    meanwhile: impl FnOnce(),
) {
    assert!(
        wait_for_line(
            &cluster.log(i),
            "with room for the artifacts",
            Duration::from_secs(30)
        ),
        "node {i} passed its preflight:\n{}",
        cluster.logs()
    );
    let pid = Pid::from_raw(i32::try_from(nodes.children[i].id()).unwrap());
    kill(pid, Signal::SIGSTOP).unwrap();
    meanwhile();
    kill(pid, Signal::SIGCONT).unwrap();
}

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
    let mut filled = 0;
    after_preflight(&cluster, &nodes, 0, || filled = fs.fill("filler"));
    eprintln!("filled the data dir's file system with {filled} bytes after the preflight");

    let codes = nodes.wait(Duration::from_secs(120));
    assert_eq!(codes, [Some(73), Some(1), Some(1)], "{}", cluster.logs());
    assert_nobody_published(&cluster, 0);
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

#[test]
fn a_node_whose_commit_is_refused_keeps_every_node_from_publishing() {
    let cluster = Cluster::new(4, 1);
    let mut nodes = cluster.start(Net::Direct);
    let stray = cluster.dirs[2].join("validator_keys");
    after_preflight(&cluster, &nodes, 2, || std::fs::create_dir(&stray).unwrap());
    let codes = nodes.wait(Duration::from_secs(120));
    assert_eq!(
        codes,
        [Some(1), Some(1), Some(2), Some(1)],
        "{}",
        cluster.logs()
    );
    std::fs::remove_dir(&stray).unwrap();
    assert_nobody_published(&cluster, 2);
    for i in [0, 1, 3] {
        let log = std::fs::read_to_string(cluster.log(i)).unwrap();
        let error = log.lines().find(|l| l.starts_with("error: ")).unwrap_or("");
        // The cause reaches every node that heard it from node 2 itself; a node that heard
        // it relayed first may get the text cut (relayed reasons are capped at 200
        // characters, and node 2's starts with a long path), but then still names node 2.
        let names_why = error.contains("already exists") || error.contains("[culprit: operator 2]");
        assert!(
            error.contains("nothing was published here") && names_why,
            "node {i} must say nothing was published and why or whom: {error}"
        );
    }
    // The cluster can run again: nothing stands in the way, and it completes everywhere.
    let mut again = cluster.start(Net::Direct);
    let codes = again.wait(Duration::from_secs(120));
    assert!(
        codes.iter().all(|c| *c == Some(0)),
        "{codes:?}\n{}",
        cluster.logs()
    );
    cluster.assert_complete();
}
