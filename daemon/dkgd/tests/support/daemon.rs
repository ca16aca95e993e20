//! Helpers for the `dkgd run` / `dkgd status` tests: a daemon in a temporary directory
//! (config file, data dir, socket), its status read through the real `dkgd status` client,
//! and deadline-based waiting (tests never sleep for a fixed time to "let things happen").

use super::{dkgd, s};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A `dkgd run` process and its directories. SIGKILLed on drop if still running.
pub struct Daemon {
    pub child: Child,
    pub root: PathBuf,
    pub data_dir: PathBuf,
    pub socket: PathBuf,
    pub config: PathBuf,
    pub log: PathBuf,
}

/// The config file for a daemon rooted at `root` (data dir `root/data`, socket
/// `root/status.sock`), plus `extra` TOML lines.
pub fn write_config(root: &Path, extra: &str) -> PathBuf {
    std::fs::create_dir_all(root).expect("mkdir root");
    let config = root.join("dkgd.toml");
    let text = format!(
        "data_dir = \"{}\"\nsocket = \"{}\"\nbackoff_initial_secs = 1\nbackoff_max_secs = 2\n\
         insecure_keystores = true\n{extra}",
        s(&root.join("data")),
        s(&root.join("status.sock")),
    );
    std::fs::write(&config, text).expect("write config");
    config
}

impl Daemon {
    /// Starts `dkgd run --config <root>/dkgd.toml` (written with `extra` lines).
    pub fn start(root: &Path, extra: &str) -> Self {
        let config = write_config(root, extra);
        Self::start_with(root, &config, &[])
    }

    /// Starts `dkgd run --config CONFIG ARGS…` for the directories under `root`.
    pub fn start_with(root: &Path, config: &Path, args: &[&str]) -> Self {
        Self::start_env(root, config, args, &[])
    }

    /// [`Daemon::start_with`] with extra environment variables.
    pub fn start_env(root: &Path, config: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let log = root.join("daemon.log");
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let child = dkgd()
            .args(["run", "--config", s(config)])
            .args(args)
            .env("RUST_LOG", "info")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("JOURNAL_STREAM")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("spawning dkgd run");
        Self {
            child,
            root: root.to_path_buf(),
            data_dir: root.join("data"),
            socket: root.join("status.sock"),
            config: config.to_path_buf(),
            log,
        }
    }

    /// The daemon's stderr so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `dkgd status --json` parsed, or `None` while the daemon does not answer.
    pub fn status(&self) -> Option<serde_json::Value> {
        status_json(&self.socket)
    }

    /// Waits until the status satisfies `pred`; panics with the log after `deadline`.
    pub fn wait_status(
        &mut self,
        what: &str,
        deadline: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let end = Instant::now() + deadline;
        let mut last = None;
        loop {
            if let Some(v) = self.status() {
                if pred(&v) {
                    return v;
                }
                last = Some(v);
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!(
                    "dkgd run exited ({st}) while waiting for {what}; log:\n{}",
                    self.log_text()
                );
            }
            assert!(
                Instant::now() < end,
                "no {what} within {deadline:?}; last status {last:#?}; log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the state named `state`.
    pub fn wait_state(&mut self, state: &str, deadline: Duration) -> serde_json::Value {
        self.wait_status(state, deadline, |v| v["state"] == state)
    }

    /// Sends `sig` to the daemon.
    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).expect("pid"));
        nix::sys::signal::kill(pid, sig).expect("kill");
    }

    /// Waits for the daemon to exit; its exit code (`None`: killed by a signal).
    pub fn wait_exit(&mut self, deadline: Duration) -> Option<i32> {
        let end = Instant::now() + deadline;
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                return st.code();
            }
            assert!(
                Instant::now() < end,
                "dkgd run did not exit within {deadline:?}; log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL and reap.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// `dkgd status --json --socket P`, parsed; `None` when it does not exit 0.
pub fn status_json(socket: &Path) -> Option<serde_json::Value> {
    let out = dkgd()
        .args(["status", "--json", "--socket", s(socket)])
        .stdin(Stdio::null())
        .output()
        .expect("running dkgd status");
    if out.status.code() != Some(0) {
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

/// A local cluster made by `dkgd demo` (keys, a signed definition, artifacts per node).
pub fn demo_cluster(root: &Path, nodes: usize) -> PathBuf {
    let out = root.join("demo");
    let n = nodes.to_string();
    super::run(&[
        "demo",
        "--nodes",
        &n,
        "--validators",
        "1",
        "--insecure-keystores",
        "--out",
        s(&out),
    ])
    .expect_code(0);
    out
}

/// Keys (`dkgd enr create`) and a signed definition (`dkgd create cluster-definition`) for
/// `nodes` operators under `root/demo`; no artifacts.
pub fn fresh_cluster(root: &Path, nodes: usize) -> PathBuf {
    let out = root.join("demo");
    let mut args = vec!["create".to_owned(), "cluster-definition".to_owned()];
    for i in 0..nodes {
        let dir = out.join(format!("node{i}"));
        super::run(&["enr", "create", "--data-dir", s(&dir)]).expect_code(0);
        args.extend(["--operator-dir".to_owned(), s(&dir).to_owned()]);
    }
    let def = out.join("cluster-definition.json");
    args.extend(["--output".to_owned(), s(&def).to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    super::run(&args).expect_code(0);
    out
}
