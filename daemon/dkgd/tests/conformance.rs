//! Conformance against charon's wire sequences (issue 10 §3): real `dkgd dkg` processes and
//! one scripted charon peer ([`charon_peer`], written from charon's Go source, sharing no
//! state machine with dkgd) in one ceremony over libp2p on 127.0.0.1.
//!
//! Each case: 4 operators, threshold 3, 1 validator; 3 dkgd processes and the scripted peer
//! playing charon vX. A conformant dkgd completes, exits 0 soon after it committed, writes a
//! data dir that `dkgd verify` accepts with the lock the scripted peer signed, and sends the
//! scripted peer its `shutdown = true` in the sequence that charon version expects.

mod support;

#[path = "support/charon_peer/mod.rs"]
mod charon_peer;

use charon_peer::{CharonVersion, Fault, Journal, Outcome, PeerConfig};
use dkgd_formats::definition::{Definition, Version};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use support::cluster::Cluster;
use support::{dkgd, run, s};

/// Cases run one at a time: each is four processes' worth of work on a small CI box.
static SERIAL: Mutex<()> = Mutex::new(());

/// Bound on a whole case.
const CASE_DEADLINE: Duration = Duration::from_secs(120);
/// How long after every dkgd node committed the scripted peer may still be shutting down.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);
/// How long after the scripted peer finished the dkgd nodes may still run.
const EXIT_GRACE: Duration = Duration::from_secs(15);
/// "Exits within ~10 s after its last commit."
const EXIT_AFTER_COMMIT: Duration = Duration::from_secs(10);

/// Who knows whose address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// Everyone knows everyone; everyone listens.
    Both,
    /// The scripted peer does not listen (charon's default: no `--p2p-tcp-address`) and
    /// dials the dkgd nodes; they are not told its address.
    PeerDials,
    /// The scripted peer listens and knows no address; the dkgd nodes dial it.
    WeDial,
    /// Nobody listens; everyone meets through one local `dkgd relay` (charon's default).
    Relay,
}

/// `--compat` for the dkgd nodes.
#[derive(Debug, Clone, Copy)]
enum Compat {
    Fixed(&'static str),
    Auto,
}

struct Case {
    version: CharonVersion,
    compat: Compat,
    dial: Reach,
    fault: Fault,
    /// The scripted peer's operator index.
    scripted: usize,
    /// More `dkgd dkg` arguments.
    extra: Vec<&'static str>,
    /// The definition version (default: the newest the charon version accepts).
    definition: Option<Version>,
}

impl Case {
    fn new(version: CharonVersion) -> Case {
        Case {
            version,
            compat: Compat::Fixed(version.minor()),
            dial: Reach::Both,
            fault: Fault::None,
            scripted: 3,
            extra: Vec::new(),
            definition: None,
        }
    }
}

struct NodeRun {
    index: usize,
    code: Option<i32>,
    committed: Option<Instant>,
    exited: Option<Instant>,
}

struct Finished {
    version: CharonVersion,
    cluster: Cluster,
    outcome: Result<Outcome, String>,
    peer_done: Option<Instant>,
    nodes: Vec<NodeRun>,
    journal: Journal,
    started: Instant,
}

impl Finished {
    /// Everything useful for a failure message.
    fn dump(&self) -> String {
        let mut out = format!(
            "scripted peer (operator {}): {:?}\n---- its journal\n{}",
            self.cluster.peer_id(self.scripted()),
            self.outcome.as_ref().map(|o| &o.shutdown_from),
            self.journal.render()
        );
        for n in &self.nodes {
            let log = std::fs::read_to_string(self.cluster.log(n.index)).unwrap_or_default();
            out.push_str(&format!(
                "---- dkgd operator {} ({}): exit {:?}, committed at {:?}, exited at {:?}\n{log}",
                n.index,
                self.cluster.peer_id(n.index),
                n.code,
                n.committed.map(|t| t - self.started),
                n.exited.map(|t| t - self.started),
            ));
        }
        out
    }

    fn scripted(&self) -> usize {
        (0..self.cluster.dirs.len())
            .find(|i| !self.nodes.iter().any(|n| n.index == *i))
            .expect("scripted index")
    }

    fn node_stderr(&self, i: usize) -> String {
        std::fs::read_to_string(self.cluster.log(i)).unwrap_or_default()
    }
}

fn spawn_node(
    cluster: &Cluster,
    i: usize,
    case: &Case,
    ports: &[u16],
    relay: Option<&str>,
) -> Child {
    let n = cluster.dirs.len();
    let mut args: Vec<String> = vec![
        "dkg".into(),
        "--definition".into(),
        s(&cluster.definition).into(),
        "--data-dir".into(),
        s(&cluster.dirs[i]).into(),
        "--insecure-keystores".into(),
    ];
    if let Some(url) = relay {
        args.extend(["--relay".to_owned(), url.to_owned()]);
    } else {
        args.extend([
            "--listen".to_owned(),
            format!("/ip4/127.0.0.1/tcp/{}", ports[i]),
        ]);
    }
    args.extend(match case.compat {
        Compat::Fixed(v) => ["--compat".to_owned(), v.to_owned()],
        Compat::Auto => ["--compat".to_owned(), "auto".to_owned()],
    });
    args.extend(case.extra.iter().map(|a| (*a).to_owned()));
    for j in (0..n).filter(|&j| j != i && relay.is_none()) {
        if j == case.scripted && case.dial == Reach::PeerDials {
            continue;
        }
        args.push("--peer-addr".into());
        args.push(format!(
            "{}=/ip4/127.0.0.1/tcp/{}",
            cluster.peer_id(j),
            ports[j]
        ));
    }
    let log = std::fs::File::create(cluster.log(i)).expect("log file");
    let out = std::fs::File::create(cluster.progress_file(i)).expect("stdout file");
    let level = std::env::var("DKGD_TEST_LOG").unwrap_or_else(|_| "info".to_owned());
    dkgd()
        .args(&args)
        .env("RUST_LOG", level)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(log)
        .spawn()
        .expect("spawning dkgd dkg")
}

/// `n` different free ports on 127.0.0.1. Calling `free_port` n times can hand out the same
/// port twice, and dkgd binds its listen address with port reuse, so two nodes would then
/// share one port without an error and never meet.
fn distinct_ports(n: usize) -> Vec<u16> {
    let held: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    held.iter()
        .map(|l| l.local_addr().expect("local addr").port())
        .collect()
}

fn committed(log: &Path) -> bool {
    std::fs::read_to_string(log).is_ok_and(|t| t.contains("artifacts written"))
}

/// Runs one mixed ceremony to its end (or the case deadline) and collects what happened.
fn run_case(case: Case) -> Finished {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let def_version = case
        .definition
        .unwrap_or_else(|| case.version.definition_version());
    let cluster = Cluster::with_version(4, 1, def_version);
    let n = cluster.dirs.len();
    let ports = distinct_ports(n);
    let relay = (case.dial == Reach::Relay).then(|| {
        let (relay, _, url) =
            support::start_relay(&cluster.root.path().join("relay"), Duration::from_secs(20));
        (relay, url)
    });
    let relay_url = relay.as_ref().map(|(_, url)| url.clone());
    let started = Instant::now();
    let mut children: Vec<(usize, Child)> = (0..n)
        .filter(|&i| i != case.scripted)
        .map(|i| {
            (
                i,
                spawn_node(&cluster, i, &case, &ports, relay_url.as_deref()),
            )
        })
        .collect();

    let k = case.scripted;
    let listen = match case.dial {
        Reach::PeerDials | Reach::Relay => Vec::new(),
        _ => vec![charon_peer::net::addr(&format!(
            "/ip4/127.0.0.1/tcp/{}",
            ports[k]
        ))],
    };
    let peer_addrs = match case.dial {
        Reach::WeDial | Reach::Relay => Vec::new(),
        _ => (0..n)
            .filter(|&j| j != k)
            .map(|j| {
                let a = charon_peer::net::addr(&format!("/ip4/127.0.0.1/tcp/{}", ports[j]));
                (j, a)
            })
            .collect(),
    };
    let definition =
        Definition::from_json(&std::fs::read(&cluster.definition).expect("definition"))
            .expect("definition json");
    let cfg = PeerConfig {
        version: case.version,
        key: charon_peer::ceremony::copy_key(&cluster.keys[k]),
        definition,
        listen,
        peer_addrs,
        relays: relay_url.into_iter().collect(),
        nickname: "scripted-charon".to_owned(),
        fault: case.fault.clone(),
        timeout: Duration::from_secs(60),
    };
    let journal = Journal::new();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut nodes: Vec<NodeRun> = children
        .iter()
        .map(|(i, _)| NodeRun {
            index: *i,
            code: None,
            committed: None,
            exited: None,
        })
        .collect();
    let (outcome, peer_done) = rt.block_on(async {
        let mut script = tokio::spawn(charon_peer::run(cfg, journal.clone()));
        let mut outcome: Option<Result<Outcome, String>> = None;
        let mut peer_done = None;
        loop {
            let now = Instant::now();
            for ((_, child), node) in children.iter_mut().zip(nodes.iter_mut()) {
                if node.committed.is_none() && committed(&cluster.log(node.index)) {
                    node.committed = Some(now);
                }
                if node.code.is_none() {
                    if let Ok(Some(st)) = child.try_wait() {
                        node.code = Some(st.code().unwrap_or(-1));
                        node.exited = Some(now);
                    }
                }
            }
            if outcome.is_none() && script.is_finished() {
                outcome = Some(match (&mut script).await {
                    Ok(r) => r,
                    Err(e) => Err(format!("script task failed: {e}")),
                });
                peer_done = Some(now);
            }
            let all_exited = nodes.iter().all(|n| n.code.is_some());
            if outcome.is_some() && all_exited {
                break;
            }
            if now - started > CASE_DEADLINE {
                break;
            }
            if peer_done.is_some_and(|d| now - d > EXIT_GRACE) {
                break;
            }
            let last_commit = nodes.iter().map(|n| n.committed).collect::<Option<Vec<_>>>();
            if let Some(c) = last_commit.and_then(|c| c.into_iter().max()) {
                if outcome.is_none() && now - c > SHUTDOWN_GRACE {
                    journal.note(format!(
                        "test: still shutting down {SHUTDOWN_GRACE:?} after every dkgd node committed"
                    ));
                    break;
                }
            }
            if outcome.is_none() && all_exited && peer_done.is_none() {
                // Every dkgd node is gone; give the script a moment to notice.
                if nodes.iter().filter_map(|n| n.exited).max().is_some_and(|e| now - e > EXIT_GRACE) {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if outcome.is_none() {
            script.abort();
        }
        let outcome = outcome.unwrap_or_else(|| Err("the scripted peer did not finish".to_owned()));
        (outcome, peer_done)
    });
    for (_, c) in &mut children {
        let _ = c.kill();
        let _ = c.wait();
    }
    rt.shutdown_timeout(Duration::from_secs(2));
    drop(relay);
    let finished = Finished {
        version: case.version,
        cluster,
        outcome,
        peer_done,
        nodes,
        journal,
        started,
    };
    if std::env::var_os("DKGD_CONFORMANCE_DUMP").is_some() {
        eprintln!("{}", finished.dump());
    }
    finished
}

/// The acceptance checks of a successful mixed ceremony.
fn assert_completed(f: &Finished) {
    let dump = || f.dump();
    let outcome = match &f.outcome {
        Ok(o) => o,
        Err(e) => panic!("the scripted peer failed: {e}\n{}", dump()),
    };
    let mut expect: Vec<usize> = f.nodes.iter().map(|n| n.index).collect();
    expect.sort_unstable();
    assert_eq!(
        outcome.shutdown_from,
        expect,
        "shutdown messages received\n{}",
        dump()
    );
    // charon v1.7 – v1.9 send `shutdown = true` at the post-write step (7); v1.10 on after
    // the "shutdown ready" barrier (8). dkgd must do the same as the charon it plays.
    let want_step = if f.version.shutdown_ready_step() {
        8
    } else {
        7
    };
    assert_eq!(
        outcome.shutdown_step,
        want_step,
        "our shutdown step\n{}",
        dump()
    );
    for (p, step) in &outcome.peer_shutdown_steps {
        assert_eq!(
            *step,
            want_step,
            "dkgd operator {p} sent shutdown=true at step {step}\n{}",
            dump()
        );
    }
    for n in &f.nodes {
        assert_eq!(
            n.code,
            Some(0),
            "dkgd operator {} exit code\n{}",
            n.index,
            dump()
        );
        let (c, e) = (n.committed.expect("committed"), n.exited.expect("exited"));
        assert!(
            e - c <= EXIT_AFTER_COMMIT,
            "dkgd operator {} exited {:?} after its commit\n{}",
            n.index,
            e - c,
            dump()
        );
    }
    let want = format!("0x{}", hex::encode(outcome.lock_hash));
    for n in &f.nodes {
        let dir = &f.cluster.dirs[n.index];
        run(&["verify", s(dir)]).expect_code(0);
        let lock: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("cluster-lock.json")).expect("lock"))
                .expect("lock json");
        assert_eq!(
            lock["lock_hash"].as_str(),
            Some(want.as_str()),
            "operator {}'s lock is not the one the scripted peer signed",
            n.index
        );
    }
    eprintln!(
        "charon {} mixed ceremony: scripted peer done after {:?}; dkgd exits after commit: {:?}; shutdown at step {}\n{}",
        f.version.minor(),
        f.peer_done.map(|d| d - f.started),
        f.nodes
            .iter()
            .map(|n| n.exited.zip(n.committed).map(|(e, c)| e - c))
            .collect::<Vec<_>>(),
        outcome.shutdown_step,
        f.journal.render(),
    );
}

/// Every dkgd node failed (non-zero), nothing written, each naming the scripted operator
/// (its peer ID, or `peer <index>` when the reason was relayed by another dkgd node) and
/// every one of `needles`.
fn assert_failed_naming(f: &Finished, needles: &[&str]) {
    let k = f.scripted();
    let (id, by_index) = (f.cluster.peer_id(k), format!("peer {k} "));
    for n in &f.nodes {
        assert!(
            n.code.is_some_and(|c| c != 0),
            "dkgd operator {} should have failed\n{}",
            n.index,
            f.dump()
        );
        let err = f.node_stderr(n.index);
        let line = err
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or_else(|| panic!("dkgd operator {} printed no error\n{}", n.index, f.dump()));
        assert!(
            line.contains(&id) || line.contains(&by_index),
            "dkgd operator {}'s error does not name operator {k}\n{}",
            n.index,
            f.dump()
        );
        for needle in needles {
            assert!(
                line.contains(needle),
                "dkgd operator {}'s error lacks {needle:?}\n{}",
                n.index,
                f.dump()
            );
        }
    }
    f.cluster.assert_nothing_written();
}

fn dkgd_has_compat_auto() -> bool {
    let help = run(&["dkg", "--help"]);
    help.stdout
        .lines()
        .skip_while(|l| !l.contains("--compat"))
        .take(8)
        .any(|l| l.contains("auto"))
}

// ---- 1. charon v1.7 – v1.11 peers complete with dkgd nodes ----

#[test]
fn v1_7_peer_completes_with_dkgd_nodes() {
    assert_completed(&run_case(Case::new(CharonVersion::V1_7)));
}

#[test]
fn v1_8_peer_completes_with_dkgd_nodes() {
    assert_completed(&run_case(Case::new(CharonVersion::V1_8)));
}

#[test]
fn v1_9_peer_completes_with_dkgd_nodes() {
    assert_completed(&run_case(Case::new(CharonVersion::V1_9)));
}

#[test]
fn v1_10_peer_completes_with_dkgd_nodes() {
    assert_completed(&run_case(Case::new(CharonVersion::V1_10)));
}

#[test]
fn v1_11_peer_completes_with_dkgd_nodes() {
    assert_completed(&run_case(Case::new(CharonVersion::V1_11)));
}

// ---- 2. who dials whom ----

#[test]
fn v1_7_peer_dials_dkgd_nodes_that_do_not_know_its_address() {
    let mut case = Case::new(CharonVersion::V1_7);
    case.dial = Reach::PeerDials;
    case.scripted = 0;
    assert_completed(&run_case(case));
}

#[test]
fn dkgd_nodes_dial_a_listening_v1_10_peer() {
    let mut case = Case::new(CharonVersion::V1_10);
    case.dial = Reach::WeDial;
    case.scripted = 0;
    assert_completed(&run_case(case));
}

/// The home setup: no listen addresses, everyone through a relay URL (charon resolves it
/// over HTTP; the smaller peer ID dials the larger through the circuit).
#[test]
fn v1_9_peer_meets_dkgd_nodes_through_a_relay() {
    let mut case = Case::new(CharonVersion::V1_9);
    case.dial = Reach::Relay;
    assert_completed(&run_case(case));
}

#[test]
fn v1_11_peer_meets_dkgd_nodes_through_a_relay() {
    let mut case = Case::new(CharonVersion::V1_11);
    case.dial = Reach::Relay;
    case.scripted = 0;
    assert_completed(&run_case(case));
}

// ---- 3. negative: version mismatch and charon error strings ----

#[test]
fn v1_7_peer_and_dkgd_speaking_v1_10_reject_each_other() {
    let mut case = Case::new(CharonVersion::V1_7);
    case.compat = Compat::Fixed("v1.10");
    let f = run_case(case);
    // Whichever rejection lands first ends the charon run: its server's (charon's text), or
    // a dkgd server's answer to its client.
    let why = f.outcome.as_ref().err().cloned().unwrap_or_default();
    let journal = f.journal.render();
    assert!(
        journal.contains("mismatching charon version; expect=v1.7, got=v1.10")
            || why.contains(
                "peer responded with error: mismatching charon version; expect=v1.10, got=v1.7"
            ),
        "the scripted v1.7 peer must fail on the version\n{}",
        f.dump()
    );
    assert_failed_naming(&f, &["v1.7"]);
}

#[test]
fn dkgd_with_compat_auto_follows_a_v1_7_peer() {
    assert!(
        dkgd_has_compat_auto(),
        "`dkgd dkg --compat auto` does not exist yet (issue 10 §2)"
    );
    let mut case = Case::new(CharonVersion::V1_7);
    case.compat = Compat::Auto;
    assert_completed(&run_case(case));
}

#[test]
fn dkgd_with_compat_auto_follows_v1_8_v1_9_and_v1_10_peers() {
    assert!(
        dkgd_has_compat_auto(),
        "`dkgd dkg --compat auto` does not exist yet (issue 10 §2)"
    );
    for v in [
        CharonVersion::V1_8,
        CharonVersion::V1_9,
        CharonVersion::V1_10,
    ] {
        let mut case = Case::new(v);
        case.compat = Compat::Auto;
        case.scripted = 1;
        assert_completed(&run_case(case));
    }
}

#[test]
fn dkgd_with_compat_auto_follows_a_v1_11_peer() {
    assert!(
        dkgd_has_compat_auto(),
        "`dkgd dkg --compat auto` does not exist yet (issue 10 §2)"
    );
    let mut case = Case::new(CharonVersion::V1_11);
    case.compat = Compat::Auto;
    assert_completed(&run_case(case));
}

/// charon v1.11 runs v1.6 – v1.11 definitions; dkgd's default profile for a v1.10 definition
/// is v1.10, so only `--compat v1.11` or `auto` meets such a cluster.
#[test]
fn v1_11_peer_with_a_v1_10_definition() {
    let mut case = Case::new(CharonVersion::V1_11);
    case.definition = Some(Version::V1_10);
    assert_completed(&run_case(case));
    if dkgd_has_compat_auto() {
        let mut case = Case::new(CharonVersion::V1_11);
        case.definition = Some(Version::V1_10);
        case.compat = Compat::Auto;
        assert_completed(&run_case(case));
    }
}

/// Older definitions change what is exchanged (v1.6/v1.7: one 32 ETH deposit, so only
/// parsigex slot 200; v1.6 locks have no node signatures and blank registrations).
#[test]
fn v1_7_peer_with_v1_6_v1_7_and_v1_8_definitions() {
    for def in [Version::V1_6, Version::V1_7, Version::V1_8] {
        let mut case = Case::new(CharonVersion::V1_7);
        case.definition = Some(def);
        assert_completed(&run_case(case));
    }
}

#[test]
fn a_charon_error_in_sync_responses_stops_dkgd_naming_it() {
    let text = "invalid definition hash signature";
    let mut case = Case::new(CharonVersion::V1_10);
    case.fault = Fault::SyncErrorResponse(text.to_owned());
    let f = run_case(case);
    assert!(
        f.outcome.is_err(),
        "the faulty scripted peer aborts\n{}",
        f.dump()
    );
    assert_failed_naming(&f, &[text]);
}

// ---- 4. charon behaviours dkgd must tolerate ----

/// charon clients always reconnect after a relay-style reset, even in v1.7 where reconnect is
/// otherwise off once everyone connected; the server keeps the peer's step across streams.
/// The old stream's end reaches dkgd after the new stream is up (as with a recycled relay
/// circuit). Known dkgd bug: the node driver keys inbound sync streams by peer (all with
/// `InboundId(0)`), so the old stream's `Closed` drops the new stream's writer and marks the
/// peer disconnected; later answers to the charon client are lost and its client, which has
/// no read deadline, blocks, while dkgd waits for it until its step timeout (seen: stuck at
/// the shutdown message, or at step 5 with neither side's node signature delivered).
#[test]
#[ignore = "dkgd bug: a replaced inbound sync stream's late close clobbers the new stream"]
fn v1_7_peer_resets_its_sync_streams_mid_ceremony() {
    let mut case = Case::new(CharonVersion::V1_7);
    case.fault = Fault::ResetSyncAt(2);
    assert_completed(&run_case(case));
}

#[test]
#[ignore = "dkgd bug: a replaced inbound sync stream's late close clobbers the new stream"]
fn v1_11_peer_resets_its_sync_streams_mid_ceremony() {
    let mut case = Case::new(CharonVersion::V1_11);
    case.fault = Fault::ResetSyncAt(2);
    assert_completed(&run_case(case));
}

/// charon's step barriers have no bound (`AwaitAllAtStep` waits on the context only): a
/// charon node whose keystore writes are slow reaches the post-write barrier late.
/// Known discrepancy: dkgd bounds every barrier by `--timeout`, so its nodes exit non-zero
/// after they committed, and answer the charon peer `aborted: …`, which then fails too.
#[test]
#[ignore = "dkgd bounds the post-write barrier by --timeout; charon waits without bound"]
fn v1_10_peer_slow_to_reach_the_post_write_barrier() {
    let mut case = Case::new(CharonVersion::V1_10);
    case.fault = Fault::DelayBeforeStep(7, Duration::from_secs(8));
    case.extra = vec!["--timeout", "5"];
    assert_completed(&run_case(case));
}

/// The old bug, mirrored: a v1.7 peer that runs the v1.10 "shutdown ready" step waits at a
/// step 8 that v1.7 nodes never announce, while they wait for its shutdown message. The
/// harness must see this as a failure (it is what test 1 caught on the dkgd side).
#[test]
fn a_v1_7_peer_running_the_v1_10_shutdown_step_does_not_complete() {
    let mut case = Case::new(CharonVersion::V1_7);
    case.fault = Fault::ShutdownReadyStepAlways;
    let f = run_case(case);
    assert!(
        f.outcome.is_err(),
        "the mismatched shutdown must not complete\n{}",
        f.dump()
    );
    eprintln!("{}", f.dump());
}
