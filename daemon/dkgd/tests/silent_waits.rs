//! No silent, unbounded waits (issue 12 §3): a node waiting for an operator that never
//! comes names it in its log every 30 s, and `--connect-timeout` bounds the wait, failing
//! with nothing written. Real processes on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use std::time::Duration;
use support::cluster::{Cluster, Net};

#[test]
fn a_missing_operator_is_named_every_30s_and_connect_timeout_bounds_the_wait() {
    let mut cluster = Cluster::new(3, 1);
    cluster.extra_args = vec!["--connect-timeout".into(), "40".into()];
    // Operator 2 never joins: its definition path does not exist (exit 2 before any network).
    let mut defs = vec![cluster.definition.clone(); 3];
    defs[2] = cluster.root.path().join("no-such-definition.json");
    let mut nodes = cluster.start_with(Net::Direct, &defs, &[]);
    let codes = nodes.wait(Duration::from_secs(120));
    assert_eq!(codes, [Some(1), Some(1), Some(2)], "{}", cluster.logs());
    let id = cluster.peer_id(2);
    let short = &id[..10];
    for i in 0..2 {
        let log = std::fs::read_to_string(cluster.log(i)).unwrap();
        let waiting = log
            .lines()
            .find(|l| l.contains("still waiting after 30s for"))
            .unwrap_or_else(|| panic!("node {i} never said whom it waits for:\n{log}"));
        eprintln!("node {i}: {waiting}");
        assert!(
            waiting.contains("step 0 (connect)")
                && waiting.contains(&format!("operator 2 ({short}…"))
                && waiting.contains("not connected")
                && !waiting.contains("operator 1 ("),
            "node {i}: {waiting}"
        );
        let error = log.lines().find(|l| l.starts_with("error: ")).unwrap_or("");
        assert!(
            error.contains("timed out after 40s") && error.contains(&id),
            "node {i}: {error}"
        );
    }
    cluster.assert_nothing_written();
}

/// Waits until every node is past step 0 (a node still connecting waits for late joiners
/// without bound, by design).
fn all_in_step_1(cluster: &Cluster) {
    cluster.wait_all_in_step_1();
}

#[test]
fn a_dead_relay_is_named_by_every_node_instead_of_a_different_peer_each() {
    let mut cluster = Cluster::new(4, 40);
    cluster.extra_args = vec!["--peer-loss-timeout".into(), "5".into()];
    let mut nodes = cluster.start(Net::Relay);
    all_in_step_1(&cluster);
    assert!(nodes.kill_relay());
    let codes = nodes.wait(Duration::from_secs(90));
    assert!(
        codes.iter().all(|c| *c == Some(1)),
        "{codes:?}\n{}",
        cluster.logs()
    );
    for i in 0..4 {
        let log = std::fs::read_to_string(cluster.log(i)).unwrap();
        let error = log.lines().find(|l| l.starts_with("error: ")).unwrap_or("");
        eprintln!("node {i}: {error}");
        assert!(
            error.starts_with("error: relay 16Uiu2") && error.contains("unreachable for"),
            "node {i} does not blame the relay: {error}\n{log}"
        );
        assert!(
            log.contains("relay unreachable or refused our reservation; retrying"),
            "node {i} did not say it keeps retrying the relay:\n{log}"
        );
    }
    cluster.assert_nothing_written();
}

#[test]
fn a_relay_restarted_mid_ceremony_costs_a_pause_not_the_ceremony() {
    let cluster = Cluster::new(4, 40);
    let mut nodes = cluster.start(Net::Relay);
    all_in_step_1(&cluster);
    assert!(nodes.kill_relay());
    std::thread::sleep(Duration::from_secs(2));
    nodes.restart_relay();
    let codes = nodes.wait(Duration::from_secs(150));
    assert!(
        codes.iter().all(|c| *c == Some(0)),
        "{codes:?}\n{}",
        cluster.logs()
    );
    cluster.assert_complete();
}
