//! `dkgd dkg` end to end: four real processes on 127.0.0.1 with direct addresses run a
//! ceremony over libp2p; every node must exit 0 with an identical, verifying cluster lock.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use dkgd_ceremony::definition::{definition_for_local_cluster, LocalClusterConfig};
use dkgd_crypto::k1::K1SecretKey;
use dkgd_formats::definition::Version;
use dkgd_formats::enr::Enr;
use dkgd_formats::network::HOODI;
use rand_core::OsRng;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use support::{dkgd, run, s};

const N: usize = 4;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Creates N keys with `dkgd enr create` and a signed definition over them.
fn setup(root: &Path, validators: u64) -> (Vec<PathBuf>, Vec<K1SecretKey>, PathBuf) {
    let mut dirs = Vec::new();
    let mut keys = Vec::new();
    for i in 0..N {
        let dir = root.join(format!("node{i}"));
        run(&["enr", "create", "--data-dir", s(&dir)]).expect_code(0);
        let hex = std::fs::read_to_string(dir.join(support::KEY)).unwrap();
        keys.push(K1SecretKey::from_hex(hex.trim()).unwrap());
        dirs.push(dir);
    }
    let mut cfg = LocalClusterConfig::new(Version::V1_10, &HOODI, validators);
    cfg.name = "dkg cli test".to_owned();
    let creator = K1SecretKey::generate(&mut OsRng);
    let def = definition_for_local_cluster(&cfg, &keys, &creator, &mut OsRng).unwrap();
    let path = root.join("cluster-definition.json");
    std::fs::write(&path, def.to_json().unwrap()).unwrap();
    (dirs, keys, path)
}

fn spawn_all(dirs: &[PathBuf], keys: &[K1SecretKey], defs: &[&Path]) -> Vec<Child> {
    let ports: Vec<u16> = (0..N).map(|_| free_port()).collect();
    let ids: Vec<String> = keys
        .iter()
        .map(|k| Enr::create(k).peer_id().to_string())
        .collect();
    (0..N)
        .map(|i| {
            let mut args = vec![
                "dkg".to_owned(),
                "--definition".to_owned(),
                s(defs[i]).to_owned(),
                "--data-dir".to_owned(),
                s(&dirs[i]).to_owned(),
                "--listen".to_owned(),
                format!("/ip4/127.0.0.1/tcp/{}", ports[i]),
                "--insecure-keystores".to_owned(),
            ];
            for j in (0..N).filter(|&j| j != i) {
                args.push("--peer-addr".to_owned());
                args.push(format!("{}=/ip4/127.0.0.1/tcp/{}", ids[j], ports[j]));
            }
            let log = std::fs::File::create(dirs[i].with_extension("log")).unwrap();
            dkgd()
                .args(&args)
                .env("RUST_LOG", std::env::var("DKGD_TEST_LOG").unwrap_or_else(|_| "info".to_owned()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap()
        })
        .collect()
}

/// Waits for every child; kills the rest at the deadline. Returns exit codes.
fn wait_all(children: &mut [Child], deadline: Duration) -> Vec<Option<i32>> {
    let start = Instant::now();
    let mut codes = vec![None; children.len()];
    while start.elapsed() < deadline && codes.iter().any(Option::is_none) {
        for (i, c) in children.iter_mut().enumerate() {
            if codes[i].is_none() {
                if let Some(st) = c.try_wait().unwrap() {
                    codes[i] = Some(st.code().unwrap_or(-1));
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for c in children.iter_mut() {
        let _ = c.kill();
        let _ = c.wait();
    }
    codes
}

fn logs(dirs: &[PathBuf]) -> String {
    dirs.iter()
        .map(|d| {
            let l = std::fs::read_to_string(d.with_extension("log")).unwrap_or_default();
            format!("==== {}\n{l}", d.display())
        })
        .collect()
}

#[test]
#[ignore = "issue 5: networked driver aborts in step 1 (bcast sig request unanswered / connection closed); see report"]
fn four_processes_complete_a_ceremony() {
    let tmp = tempfile::tempdir().unwrap();
    let (dirs, keys, def) = setup(tmp.path(), 1);
    let defs = vec![def.as_path(); N];
    let started = Instant::now();
    let mut children = spawn_all(&dirs, &keys, &defs);
    let codes = wait_all(&mut children, Duration::from_secs(std::env::var("DKGD_TEST_DEADLINE").ok().and_then(|s| s.parse().ok()).unwrap_or(120)));
    eprintln!("ceremony took {:.1}s", started.elapsed().as_secs_f64());
    assert!(
        codes.iter().all(|c| *c == Some(0)),
        "exit codes {codes:?}\n{}",
        logs(&dirs)
    );
    let lock0 = std::fs::read(dirs[0].join("cluster-lock.json")).unwrap();
    for d in &dirs {
        assert_eq!(std::fs::read(d.join("cluster-lock.json")).unwrap(), lock0);
        run(&["verify", s(d)]).expect_code(0);
    }
}

#[test]
#[ignore = "issue 5: honest nodes wait forever once the mismatched peer exits (no connect_timeout); see report"]
fn a_node_with_another_definition_makes_all_fail() {
    let tmp = tempfile::tempdir().unwrap();
    let (dirs, keys, def) = setup(tmp.path(), 1);
    // Same operators, another definition (different name → different hashes).
    let mut cfg = LocalClusterConfig::new(Version::V1_10, &HOODI, 1);
    cfg.name = "another cluster".to_owned();
    let creator = K1SecretKey::generate(&mut OsRng);
    let other = definition_for_local_cluster(&cfg, &keys, &creator, &mut OsRng).unwrap();
    let other_path = tmp.path().join("other-definition.json");
    std::fs::write(&other_path, other.to_json().unwrap()).unwrap();
    let defs = vec![
        def.as_path(),
        def.as_path(),
        def.as_path(),
        other_path.as_path(),
    ];
    let mut children = spawn_all(&dirs, &keys, &defs);
    let codes = wait_all(&mut children, Duration::from_secs(60));
    assert!(
        codes.iter().all(|c| c.is_some_and(|c| c != 0)),
        "exit codes {codes:?}\n{}",
        logs(&dirs)
    );
    for d in &dirs {
        assert!(!d.join("cluster-lock.json").exists());
    }
}
