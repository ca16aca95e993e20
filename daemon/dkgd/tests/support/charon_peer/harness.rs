//! The mixed-ceremony harness of `tests/conformance.rs`: starts `dkgd dkg` processes (and a
//! `dkgd relay` when asked) next to the scripted peer, watches logs and exits under
//! deadlines, and checks the outcome. Uses the test crate's `crate::support` (data dirs,
//! keys, definitions, the binary), so it is meant to be included from a test crate root that
//! declares `mod support;`.

use super::{CharonVersion, Fault, Journal, Outcome, PeerConfig};
use crate::support::cluster::Cluster;
use crate::support::{dkgd, run, s};
use dkgd_formats::definition::{Definition, Version};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
pub enum Reach {
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
pub enum Compat {
    Fixed(&'static str),
    Auto,
}

pub struct Case {
    pub version: CharonVersion,
    pub compat: Compat,
    pub dial: Reach,
    pub fault: Fault,
    /// The scripted peer's operator index.
    pub scripted: usize,
    /// More `dkgd dkg` arguments.
    pub extra: Vec<&'static str>,
    /// The definition version (default: the newest the charon version accepts).
    pub definition: Option<Version>,
}

impl Case {
    pub fn new(version: CharonVersion) -> Case {
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

pub struct NodeRun {
    pub index: usize,
    pub code: Option<i32>,
    pub committed: Option<Instant>,
    pub exited: Option<Instant>,
}

pub struct Finished {
    pub version: CharonVersion,
    pub cluster: Cluster,
    pub outcome: Result<Outcome, String>,
    pub peer_done: Option<Instant>,
    pub nodes: Vec<NodeRun>,
    pub journal: Journal,
    pub started: Instant,
}

impl Finished {
    /// Everything useful for a failure message.
    pub fn dump(&self) -> String {
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

    pub fn scripted(&self) -> usize {
        (0..self.cluster.dirs.len())
            .find(|i| !self.nodes.iter().any(|n| n.index == *i))
            .expect("scripted index")
    }

    pub fn node_stderr(&self, i: usize) -> String {
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
    std::fs::read_to_string(log).is_ok_and(|t| t.contains("artifacts published"))
}

/// Runs one mixed ceremony to its end (or the case deadline) and collects what happened.
pub fn run_case(case: Case) -> Finished {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let def_version = case
        .definition
        .unwrap_or_else(|| case.version.definition_version());
    let cluster = Cluster::with_version(4, 1, def_version);
    let n = cluster.dirs.len();
    let ports = distinct_ports(n);
    let relay = (case.dial == Reach::Relay).then(|| {
        let (relay, _, url) = crate::support::start_relay(
            &cluster.root.path().join("relay"),
            Duration::from_secs(20),
        );
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
        _ => vec![super::net::addr(&format!(
            "/ip4/127.0.0.1/tcp/{}",
            ports[k]
        ))],
    };
    let peer_addrs = match case.dial {
        Reach::WeDial | Reach::Relay => Vec::new(),
        _ => (0..n)
            .filter(|&j| j != k)
            .map(|j| {
                let a = super::net::addr(&format!("/ip4/127.0.0.1/tcp/{}", ports[j]));
                (j, a)
            })
            .collect(),
    };
    let definition =
        Definition::from_json(&std::fs::read(&cluster.definition).expect("definition"))
            .expect("definition json");
    let cfg = PeerConfig {
        version: case.version,
        key: super::ceremony::copy_key(&cluster.keys[k]),
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
        let mut script = tokio::spawn(super::run(cfg, journal.clone()));
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
pub fn assert_completed(f: &Finished) {
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
pub fn assert_failed_naming(f: &Finished, needles: &[&str]) {
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

pub fn dkgd_has_compat_auto() -> bool {
    let help = run(&["dkg", "--help"]);
    help.stdout
        .lines()
        .skip_while(|l| !l.contains("--compat"))
        .take(8)
        .any(|l| l.contains("auto"))
}
