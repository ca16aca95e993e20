//! Multi-process ceremonies on 127.0.0.1: N `dkgd dkg` processes (each with its own data dir
//! and key made by `dkgd enr create`), optionally a `dkgd relay`, progress read from each
//! node's `--progress-json` stdout, and deadlines instead of sleeps.

use super::{dkgd, run, s, Spawned, KEY};
use dkgd_ceremony::definition::{definition_for_local_cluster, LocalClusterConfig};
use dkgd_crypto::k1::K1SecretKey;
use dkgd_formats::definition::Version;
use dkgd_formats::enr::Enr;
use dkgd_formats::network::HOODI;
use rand_core::OsRng;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How the nodes reach each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Net {
    /// Every node listens on 127.0.0.1 and knows every other node's address.
    Direct,
    /// No node listens; they meet through one local `dkgd relay` (given as its http:// URL).
    Relay,
}

/// N operators' data dirs, keys and a signed definition over them.
pub struct Cluster {
    pub root: tempfile::TempDir,
    pub dirs: Vec<PathBuf>,
    pub keys: Vec<K1SecretKey>,
    pub definition: PathBuf,
    pub validators: u64,
    /// Arguments every node gets in addition.
    pub extra_args: Vec<String>,
    /// Keystores at full KDF cost (default: `--insecure-keystores`, for speed).
    pub full_kdf: bool,
    /// Node i's address with `Net::Direct` (default: 127.0.0.1 for every node; network
    /// namespace hosts set their own).
    pub hosts: Option<Vec<String>>,
}

impl Cluster {
    /// Creates the keys (`dkgd enr create`) and a v1.10 definition for `validators`.
    pub fn new(n: usize, validators: u64) -> Self {
        Self::with_version(n, validators, Version::V1_10)
    }

    /// As [`Cluster::new`] with another definition version.
    pub fn with_version(n: usize, validators: u64, version: Version) -> Self {
        let root = tempfile::tempdir().expect("tempdir");
        let mut dirs = Vec::new();
        let mut keys = Vec::new();
        for i in 0..n {
            let dir = root.path().join(format!("node{i}"));
            run(&["enr", "create", "--data-dir", s(&dir)]).expect_code(0);
            let hex = std::fs::read_to_string(dir.join(KEY)).expect("key");
            keys.push(K1SecretKey::from_hex(hex.trim()).expect("key hex"));
            dirs.push(dir);
        }
        let mut cluster = Self {
            root,
            dirs,
            keys,
            definition: PathBuf::new(),
            validators,
            extra_args: Vec::new(),
            full_kdf: false,
            hosts: None,
        };
        cluster.definition = cluster.write_definition("cluster-definition.json", "test", version);
        cluster
    }

    /// Writes another signed definition over the same operators (a different name gives
    /// different hashes) and returns its path.
    pub fn write_definition(&self, file: &str, name: &str, version: Version) -> PathBuf {
        let mut cfg = LocalClusterConfig::new(version, &HOODI, self.validators);
        cfg.name = name.to_owned();
        let creator = K1SecretKey::generate(&mut OsRng);
        let def = definition_for_local_cluster(&cfg, &self.keys, &creator, &mut OsRng)
            .expect("definition");
        let path = self.root.path().join(file);
        std::fs::write(&path, def.to_json().expect("json")).expect("write definition");
        path
    }

    /// The peer ID of node `i`.
    pub fn peer_id(&self, i: usize) -> String {
        Enr::create(&self.keys[i]).peer_id().to_string()
    }

    /// Starts every node on `net`, all with the cluster's definition.
    pub fn start(&self, net: Net) -> Nodes {
        let defs = vec![self.definition.clone(); self.dirs.len()];
        self.start_with(net, &defs, &[])
    }

    /// Starts every node; node i reads `defs[i]`; `runners[i]`, when present and non-empty,
    /// is a command prefix for node i (e.g. qemu-aarch64 and an aarch64 binary).
    pub fn start_with(&self, net: Net, defs: &[PathBuf], runners: &[Vec<String>]) -> Nodes {
        self.start_with_args(net, defs, runners, usize::MAX, &[])
    }

    /// As [`Cluster::start_with`]; node `odd` also gets `odd_args`.
    pub fn start_with_args(
        &self,
        net: Net,
        defs: &[PathBuf],
        runners: &[Vec<String>],
        odd: usize,
        odd_args: &[&str],
    ) -> Nodes {
        let n = self.dirs.len();
        let relay_dir = self.root.path().join("relay");
        let relay_ports = free_ports(2);
        let relay_ports = (relay_ports[0], relay_ports[1]);
        let relay = (net == Net::Relay).then(|| {
            let (relay, _, url) =
                super::start_relay_at(&relay_dir, relay_ports, Duration::from_secs(20));
            (relay, url)
        });
        let ports = free_ports(n);
        let host = |i: usize| {
            self.hosts
                .as_ref()
                .and_then(|h| h.get(i).cloned())
                .unwrap_or_else(|| "127.0.0.1".to_owned())
        };
        let mut children = Vec::new();
        for i in 0..n {
            let mut args = vec![
                "dkg".to_owned(),
                "--definition".to_owned(),
                s(&defs[i]).to_owned(),
                "--data-dir".to_owned(),
                s(&self.dirs[i]).to_owned(),
                "--progress-json".to_owned(),
            ];
            if !self.full_kdf {
                args.push("--insecure-keystores".to_owned());
            }
            args.extend(self.extra_args.iter().cloned());
            if i == odd {
                args.extend(odd_args.iter().map(|a| (*a).to_owned()));
            }
            match &relay {
                Some((_, url)) => args.extend(["--relay".to_owned(), url.clone()]),
                None => {
                    args.push("--listen".to_owned());
                    args.push(format!("/ip4/{}/tcp/{}", host(i), ports[i]));
                    for j in (0..n).filter(|&j| j != i) {
                        args.push("--peer-addr".to_owned());
                        args.push(format!(
                            "{}=/ip4/{}/tcp/{}",
                            self.peer_id(j),
                            host(j),
                            ports[j]
                        ));
                    }
                }
            }
            let mut cmd = match runners.get(i).filter(|r| !r.is_empty()) {
                Some(prefix) => {
                    let mut c = Command::new(&prefix[0]);
                    c.args(&prefix[1..]);
                    c.env("NO_COLOR", "1");
                    c
                }
                None => dkgd(),
            };
            let log = std::fs::File::create(self.log(i)).expect("log file");
            let out = std::fs::File::create(self.progress_file(i)).expect("progress file");
            let level = std::env::var("DKGD_TEST_LOG").unwrap_or_else(|_| "info".to_owned());
            children.push(
                cmd.args(&args)
                    .env("RUST_LOG", level)
                    .stdin(Stdio::null())
                    .stdout(out)
                    .stderr(log)
                    .spawn()
                    .expect("spawning dkgd dkg"),
            );
        }
        Nodes {
            children,
            codes: vec![None; n],
            relay: relay.map(|(r, _)| r),
            relay_at: (relay_dir, relay_ports),
        }
    }

    /// Waits until every node reports step 1 (dkg), at most 60 s each.
    pub fn wait_all_in_step_1(&self) {
        for i in 0..self.dirs.len() {
            assert!(
                wait_for_line(
                    &self.progress_file(i),
                    "\"step\":\"1 (dkg)",
                    Duration::from_secs(60)
                ),
                "node {i} never started step 1\n{}",
                self.logs()
            );
        }
    }

    /// Node i's stderr log.
    pub fn log(&self, i: usize) -> PathBuf {
        self.dirs[i].with_extension("log")
    }

    /// Node i's `--progress-json` stdout.
    pub fn progress_file(&self, i: usize) -> PathBuf {
        self.dirs[i].with_extension("progress")
    }

    /// Every node's log, for assertion messages.
    pub fn logs(&self) -> String {
        (0..self.dirs.len())
            .map(|i| {
                let l = std::fs::read_to_string(self.log(i)).unwrap_or_default();
                format!("==== node {i} ({})\n{l}", self.peer_id(i))
            })
            .collect()
    }

    /// Asserts every node's data dir verifies and all locks are byte-identical.
    pub fn assert_complete(&self) {
        let lock0 = std::fs::read(self.dirs[0].join("cluster-lock.json")).expect("lock of node 0");
        for d in &self.dirs {
            let lock = std::fs::read(d.join("cluster-lock.json")).expect("lock");
            assert_eq!(lock, lock0, "{} has another lock", d.display());
            run(&["verify", s(d)]).expect_code(0);
        }
    }

    /// Asserts no node has any artifact (nor a staging dir) in its data dir.
    pub fn assert_nothing_written(&self) {
        for d in &self.dirs {
            for name in std::fs::read_dir(d).expect("data dir").flatten() {
                let name = name.file_name().to_string_lossy().into_owned();
                assert!(
                    name == KEY || name == super::LOCK,
                    "{} holds {name} after a failed ceremony",
                    d.display()
                );
            }
        }
    }
}

/// Running nodes; killed on drop.
pub struct Nodes {
    pub children: Vec<Child>,
    pub codes: Vec<Option<i32>>,
    relay: Option<Spawned>,
    /// The relay's data dir and ports, to restart it as the same relay.
    relay_at: (PathBuf, (u16, u16)),
}

impl Nodes {
    /// Waits until every node exited or `deadline` passed; returns the exit codes (`None`:
    /// still running at the deadline, then killed).
    pub fn wait(&mut self, deadline: Duration) -> Vec<Option<i32>> {
        let end = Instant::now() + deadline;
        while Instant::now() < end && self.codes.iter().any(Option::is_none) {
            self.poll();
            std::thread::sleep(Duration::from_millis(50));
        }
        self.poll();
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.codes.clone()
    }

    fn poll(&mut self) {
        for (i, c) in self.children.iter_mut().enumerate() {
            if self.codes[i].is_none() {
                if let Ok(Some(st)) = c.try_wait() {
                    self.codes[i] = Some(st.code().unwrap_or(-1));
                }
            }
        }
    }

    /// SIGKILLs node i.
    /// Kills the relay (with `Net::Relay`); returns whether there was one.
    #[allow(dead_code)] // not every test binary kills its relay
    pub fn kill_relay(&mut self) -> bool {
        match self.relay.as_mut() {
            Some(r) => {
                let _ = r.child.kill();
                let _ = r.child.wait();
                true
            }
            None => false,
        }
    }

    /// Starts the killed relay again: same identity, same addresses.
    #[allow(dead_code)] // not every test binary restarts its relay
    pub fn restart_relay(&mut self) {
        let (dir, ports) = &self.relay_at;
        let (relay, _, _) = super::start_relay_at(dir, *ports, Duration::from_secs(20));
        self.relay = Some(relay);
    }

    pub fn kill(&mut self, i: usize) {
        let _ = self.children[i].kill();
        let _ = self.children[i].wait();
        self.codes[i] = Some(-9);
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Waits until `file` has a line containing `needle`; false at the deadline.
pub fn wait_for_line(file: &Path, needle: &str, deadline: Duration) -> bool {
    let end = Instant::now() + deadline;
    while Instant::now() < end {
        if std::fs::read_to_string(file).is_ok_and(|t| t.lines().any(|l| l.contains(needle))) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

/// A free TCP port on 127.0.0.1 (released before use; good enough for tests).
/// `n` distinct free ports: every listener stays bound until all are chosen (the kernel may
/// hand out a just-released port again).
pub fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("free port"))
        .collect();
    held.iter()
        .map(|l| l.local_addr().expect("local addr").port())
        .collect()
}

/// One free port (it may be handed out again once released; use [`free_ports`] for several).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}
