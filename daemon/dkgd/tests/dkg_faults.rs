//! `dkgd dkg` when things go wrong (issue 5): a node with another definition or another
//! wire profile, a node SIGKILLed in each step, and data dirs that already hold artifacts.
//! Real processes on 127.0.0.1; one cluster at a time (CPU-bound, two CI cores).

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use std::sync::Mutex;
use std::time::{Duration, Instant};
use support::cluster::{wait_for_line, Cluster, Net};
use support::{run, s, snapshot};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Every node's stderr must name `needle` (a peer ID or a step).
fn assert_all_name(cluster: &Cluster, nodes: &[usize], needle: &str) {
    for &i in nodes {
        let log = std::fs::read_to_string(cluster.log(i)).unwrap();
        assert!(
            log.contains(needle),
            "node {i}'s log does not name {needle:?}:\n{}",
            cluster.logs()
        );
    }
}

#[test]
fn a_node_with_another_definition_makes_every_node_fail_fast() {
    let _g = one_at_a_time();
    let cluster = Cluster::new(4, 1);
    let other = cluster.write_definition(
        "other-definition.json",
        "another cluster",
        dkgd_formats::definition::Version::V1_10,
    );
    let mut defs = vec![cluster.definition.clone(); 4];
    defs[3] = other;
    let started = Instant::now();
    let mut nodes = cluster.start_with(Net::Direct, &defs, &[]);
    let codes = nodes.wait(Duration::from_secs(60));
    let took = started.elapsed();
    assert!(
        codes.iter().all(|c| c.is_some_and(|c| c != 0)),
        "exit codes {codes:?}\n{}",
        cluster.logs()
    );
    assert!(took < Duration::from_secs(30), "took {took:?}");
    // The honest nodes name the odd one out.
    assert_all_name(&cluster, &[0, 1, 2], &cluster.peer_id(3));
    cluster.assert_nothing_written();
}

/// The cluster-wide invariant (issue 12 §1): either every survivor published a verifying
/// data dir (and the killed node did too, or holds a sealed staging dir that its next start
/// publishes), or no node published anything (survivors may keep a staged set aside as
/// `.dkgd-staging.unpublished-<n>`). Survivors exit 4 ("complete here, not confirmed"; 0 if
/// the killed node had finished its handshake with them) in the first case and 1 in the
/// second. Returns whether the artifacts were published.
fn assert_complete_or_nothing(cluster: &Cluster, killed: usize, codes: &[Option<i32>]) -> bool {
    let published: Vec<bool> = cluster
        .dirs
        .iter()
        .map(|d| d.join("cluster-lock.json").exists())
        .collect();
    let survivors: Vec<usize> = (0..cluster.dirs.len()).filter(|i| *i != killed).collect();
    let any = survivors.iter().any(|i| published[*i]);
    for &i in &survivors {
        let d = &cluster.dirs[i];
        assert_eq!(
            published[i],
            any,
            "node {i} published={} while another survivor did not (or the reverse)\n{}",
            published[i],
            cluster.logs()
        );
        assert!(
            !d.join(".dkgd-staging").exists(),
            "{} kept a live staging dir",
            d.display()
        );
        // Published: 4 ("complete here, not confirmed"), or 0 for a survivor that had the
        // killed node's shutdown message before the kill.
        let want: &[i32] = if any { &[0, 4] } else { &[1] };
        assert!(
            codes[i].is_some_and(|c| want.contains(&c)),
            "node {i}: {codes:?}\n{}",
            cluster.logs()
        );
        if any {
            run(&["verify", s(d)]).expect_code(0);
        } else {
            let names: Vec<String> = std::fs::read_dir(d)
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            for n in &names {
                assert!(
                    n == support::KEY || n == support::LOCK || n.starts_with(".dkgd-staging."),
                    "{} holds {n} although nothing was published",
                    d.display()
                );
            }
        }
    }
    let k = &cluster.dirs[killed];
    if any {
        assert!(
            published[killed] || k.join(".dkgd-staging/COMMIT").is_file(),
            "the killed node neither published nor holds a sealed staging dir"
        );
    } else {
        assert!(!published[killed], "only the killed node published");
        // A node killed after its seal publishes on its next start (roll-forward): then every
        // survivor must hold the same lock and keys, set aside unpublished.
        let sealed = k.join(".dkgd-staging/COMMIT").is_file();
        if sealed {
            let lock = std::fs::read(k.join(".dkgd-staging/cluster-lock.json")).unwrap();
            for &i in &survivors {
                let kept = cluster.dirs[i].join(".dkgd-staging.unpublished-0");
                assert_eq!(
                    std::fs::read(kept.join("cluster-lock.json")).ok().as_ref(),
                    Some(&lock),
                    "node {i} does not hold the killed node's staged lock"
                );
            }
        }
        eprintln!("the killed node holds a sealed staging dir: {sealed}");
    }
    any
}

/// `dkgd dkg` once more on node `i`'s data dir, with `extra` arguments.
fn dkg_again(cluster: &Cluster, i: usize, extra: &[&str]) -> support::Run {
    let mut a = vec![
        "dkg",
        "--definition",
        s(&cluster.definition),
        "--data-dir",
        s(&cluster.dirs[i]),
        "--insecure-keystores",
    ];
    a.extend_from_slice(extra);
    run(&a)
}

/// Node 3 was killed after its seal: its next start publishes its staged set (and says the
/// data dir is already complete); survivors that kept theirs aside publish them with
/// `--publish-kept`. Then every node holds the same, verifying artifacts.
fn recover_the_killed_node(cluster: &Cluster, survivors_published: bool) {
    let dkg = |i: usize, extra: &[&str]| dkg_again(cluster, i, extra);
    let out = dkg(3, &[]);
    out.expect_code(0);
    assert!(out.stdout.contains("already complete"), "{}", out.all());
    if !survivors_published {
        for i in 0..3 {
            let out = dkg(i, &["--publish-kept"]);
            out.expect_code(0);
            assert!(
                out.stdout.contains("published the kept artifacts"),
                "{}",
                out.all()
            );
            // Once: nothing is left to publish.
            dkg(i, &["--publish-kept"]).expect_code(2);
        }
    }
    cluster.assert_complete();
}

/// Kills node 3 when its progress shows `step`; the others must fail naming it, within the
/// peer-loss bound, and leave complete-or-nothing data dirs. Before the artifacts can exist
/// (`rerun`), nothing is written anywhere and a second run of all four nodes succeeds.
fn killed_in(step: &str, rerun: bool) {
    killed_when(step, false, rerun);
}

/// Kills node 3 when its progress (or, with `in_log`, its log) shows `step`; see
/// [`killed_in`].
fn killed_when(step: &str, in_log: bool, rerun: bool) -> bool {
    let _g = one_at_a_time();
    let mut cluster = Cluster::new(4, 1);
    cluster.extra_args = vec!["--peer-loss-timeout".into(), "5".into()];
    let mut nodes = cluster.start(Net::Direct);
    let (file, marker) = if in_log {
        (cluster.log(3), step.to_string())
    } else {
        (cluster.progress_file(3), format!("\"step\":\"{step}"))
    };
    assert!(
        wait_for_line(&file, &marker, Duration::from_secs(60)),
        "node 3 never reached {step}\n{}",
        cluster.logs()
    );
    // Every node past step 0 first: one still connecting when node 3 dies waits for late
    // joiners without bound, by design (charon too), and this test is about the bounds of
    // the later steps. Seen once in CI when node 3 was killed at its own step 1.
    cluster.wait_all_in_step_1();
    let killed = Instant::now();
    nodes.kill(3);
    let codes = nodes.wait(Duration::from_secs(60));
    eprintln!(
        "killed in {step}: survivors done {:?} later",
        killed.elapsed()
    );
    // 5 s peer-loss bound + the 1.5 s abort linger + process start-up slack.
    assert!(
        killed.elapsed() < Duration::from_secs(30),
        "survivors took {:?} (codes {codes:?})\n{}",
        killed.elapsed(),
        cluster.logs()
    );
    let id = cluster.peer_id(3);
    for i in 0..3 {
        let log = std::fs::read_to_string(cluster.log(i)).unwrap();
        assert!(
            log.contains(&id) || log.contains("peer 3 "),
            "node {i} does not name node 3:\n{}",
            cluster.logs()
        );
    }
    let published = assert_complete_or_nothing(&cluster, 3, &codes);
    eprintln!("killed in {step}: exit codes {codes:?}, published: {published}");
    if cluster.dirs[3].join(".dkgd-staging/COMMIT").is_file() {
        recover_the_killed_node(&cluster, published);
    }
    if rerun {
        cluster.assert_nothing_written();
        let mut again = cluster.start(Net::Direct);
        let codes = again.wait(Duration::from_secs(120));
        assert!(
            codes.iter().all(|c| *c == Some(0)),
            "re-run exit codes {codes:?}\n{}",
            cluster.logs()
        );
        cluster.assert_complete();
    }
    published
}

#[test]
fn killed_after_publishing_leaves_survivors_complete_but_unconfirmed() {
    // Every peer had staged and node 3 published: the survivors publish too and exit 4
    // ("complete here, not confirmed"), not 1 after a minute.
    assert!(killed_when("artifacts published", true, false));
}

#[test]
fn killed_in_step_1_dkg() {
    killed_in("1 (dkg)", true);
}

#[test]
fn killed_in_step_2_deposits() {
    killed_in("2 (deposit data)", true);
}

#[test]
fn killed_in_step_3_registrations() {
    killed_in("3 (builder registrations)", true);
}

#[test]
fn killed_in_step_4_lock_hash() {
    killed_in("4 (lock hash)", true);
}

#[test]
fn killed_in_step_5_node_signatures() {
    killed_in("5 (node signatures)", true);
}

#[test]
fn killed_in_step_6_verify() {
    killed_in("6 (verify and write)", false);
}

#[test]
fn killed_while_committing() {
    killed_in("commit", false);
}

#[test]
fn killed_in_step_7_post_write_barrier() {
    killed_in("7 (post-write barrier)", false);
}

#[test]
fn a_node_with_another_wire_profile_makes_every_node_fail_fast() {
    let _g = one_at_a_time();
    let mut cluster = Cluster::new(4, 1);
    // Every node forces its profile (no negotiation): node 3 speaks charon v1.9's sync
    // version, the others v1.10.
    cluster.extra_args = vec!["--compat".into(), "v1.10".into()];
    let defs = vec![cluster.definition.clone(); 4];
    let runners: Vec<Vec<String>> = Vec::new();
    let mut nodes = cluster.start_with_args(Net::Direct, &defs, &runners, 3, &["--compat", "v1.9"]);
    let codes = nodes.wait(Duration::from_secs(60));
    assert!(
        codes.iter().all(|c| c.is_some_and(|c| c != 0)),
        "exit codes {codes:?}\n{}",
        cluster.logs()
    );
    for i in 0..3 {
        let log = std::fs::read_to_string(cluster.log(i)).unwrap();
        assert!(
            log.contains("v1.9"),
            "node {i} does not name the version:\n{}",
            cluster.logs()
        );
    }
    cluster.assert_nothing_written();
}

#[test]
fn compat_auto_joins_a_cluster_whose_nodes_run_an_older_charon() {
    let _g = one_at_a_time();
    let cluster = Cluster::new(4, 1);
    let defs = vec![cluster.definition.clone(); 4];
    let runners: Vec<Vec<String>> = Vec::new();
    // A v1.10.0 definition; node 3 is pinned to charon v1.9's wire, the others negotiate
    // (`--compat auto` is the default) and must follow it without any flag.
    let mut nodes = cluster.start_with_args(Net::Direct, &defs, &runners, 3, &["--compat", "v1.9"]);
    let codes = nodes.wait(Duration::from_secs(90));
    assert!(
        codes.iter().all(|c| *c == Some(0)),
        "exit codes {codes:?}\n{}",
        cluster.logs()
    );
    for i in 0..3 {
        let log = std::fs::read_to_string(cluster.progress_file(i)).unwrap();
        assert!(
            log.contains("\"name\":\"v1.9\"") && log.contains("\"switched_from\":\"v1.10\""),
            "node {i} does not report the negotiated profile:\n{}",
            cluster.logs()
        );
    }
}

#[test]
fn existing_artifacts_are_refused_at_preflight_and_left_untouched() {
    let _g = one_at_a_time();
    let cluster = Cluster::new(4, 1);
    // Node 1 already holds a lock, node 2 a validator_keys dir.
    std::fs::write(cluster.dirs[1].join("cluster-lock.json"), b"{}").unwrap();
    std::fs::create_dir(cluster.dirs[2].join("validator_keys")).unwrap();
    std::fs::write(
        cluster.dirs[2].join("validator_keys/keystore-0.json"),
        b"{}",
    )
    .unwrap();
    let before: Vec<_> = cluster.dirs.iter().map(|d| snapshot(d)).collect();
    for i in [1, 2] {
        let out = dkg_again(&cluster, i, &[]);
        out.expect_code(2);
        assert!(
            out.stderr.contains("already holds ceremony artifacts"),
            "{}",
            out.stderr
        );
        assert_eq!(
            snapshot(&cluster.dirs[i]),
            before[i],
            "node {i}'s dir changed"
        );
    }
}
