//! A network partition between two nodes, made with network namespaces and veth pairs this
//! test creates (issue 12 §6). Four `dkgd dkg` processes, each on its own host (namespace)
//! on a private bridge, connect directly; once every node is in step 1, hosts 1 and 2 are cut
//! apart by blackhole routes, so their established connection goes silent (no reset), while
//! every other pair still talks.
//!
//! The cluster must fail as one: every node exits 1 within the step bound, no node writes
//! anything, and every node's error names operator 1 or 2 (the two that cannot talk), never
//! operator 0 or 3. Skipped, loudly, where namespaces cannot be made (not root, no iproute2).

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use std::time::{Duration, Instant};
use support::cluster::{Cluster, Net};
use support::netns::Hosts;

#[test]
fn a_partition_between_two_nodes_fails_the_whole_cluster_naming_them() {
    let hosts = match Hosts::new(4) {
        Ok(h) => h,
        Err(why) => {
            eprintln!("SKIPPED: network namespaces unavailable here: {why}");
            return;
        }
    };
    let mut cluster = Cluster::new(4, 40);
    cluster.hosts = Some(hosts.addrs());
    cluster.extra_args = vec!["--timeout".into(), "20".into()];
    let dkgd = env!("CARGO_BIN_EXE_dkgd");
    let runners: Vec<Vec<String>> = (0..4).map(|i| hosts.runner(i, dkgd)).collect();
    let defs = vec![cluster.definition.clone(); 4];
    let mut nodes = cluster.start_with(Net::Direct, &defs, &runners);
    cluster.wait_all_in_step_1();
    hosts.partition(1, 2).unwrap();
    let cut = Instant::now();
    let codes = nodes.wait(Duration::from_secs(120));
    let took = cut.elapsed();
    assert!(
        codes.iter().all(|c| *c == Some(1)),
        "{codes:?} after {took:?}\n{}",
        cluster.logs()
    );
    cluster.assert_nothing_written();
    let cut_off = [cluster.peer_id(1), cluster.peer_id(2)];
    let bystanders = [cluster.peer_id(0), cluster.peer_id(3)];
    for i in 0..4 {
        let log = std::fs::read_to_string(cluster.log(i)).unwrap();
        let error = log.lines().find(|l| l.starts_with("error: ")).unwrap_or("");
        eprintln!("node {i}: {error}");
        let names = |id: &String| error.contains(&id[id.len() - 6..]);
        assert!(
            cut_off.iter().any(names)
                || error.contains("operator 1")
                || error.contains("operator 2"),
            "node {i} does not name operator 1 or 2: {error}\n{log}"
        );
        assert!(
            !error.contains("PeerIdx("),
            "node {i} prints an internal type name: {error}"
        );
        assert!(
            !bystanders.iter().any(names),
            "node {i} blames a node on the healthy side: {error}"
        );
    }
    eprintln!("partition to last exit: {took:?}");
}
