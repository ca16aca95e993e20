//! The demo's child processes: one `dkgd relay` (unless `--direct`) and N `dkgd dkg
//! --progress-json`, all started from this very binary, watched until every node exits, the
//! deadline passes or a signal arrives. A `Guard` owns every child and kills it on drop, so
//! each way out of [`run_ceremony`] (return, `?`, failure) leaves nothing running.

use super::procs::{forward_lines, free_ports, spawn, tcp, watch_signals, Guard, Msg, Who};
use super::{node_dir, node_log, DEFINITION};
use crate::exit::{Code, Failure};
use anyhow::anyhow;
use dkgd_node::run::progress::ProgressEvent;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

/// How long the relay may take to announce its HTTP address.
const RELAY_START: Duration = Duration::from_secs(20);
/// How often exits and the deadline are checked while no line arrives.
const POLL: Duration = Duration::from_millis(100);

/// What the ceremony needs to know.
pub(super) struct Setup<'a> {
    /// The demo's output directory.
    pub(super) out: &'a Path,
    /// Every node's peer ID, in operator order.
    pub(super) peer_ids: &'a [String],
    /// Direct addresses instead of the relay.
    pub(super) direct: bool,
    /// Pass `--insecure-keystores` to the nodes.
    pub(super) insecure_keystores: bool,
    /// Overall deadline, from the first node's start.
    pub(super) deadline: Duration,
}

/// How one node's process ended (all exited 0 when [`run_ceremony`] returns `Ok`).
pub(super) struct Outcome {
    /// The exit code.
    pub(super) code: i32,
    /// From spawn to exit.
    pub(super) elapsed: Duration,
    /// The lock hash of its `done` event (0x-hex).
    pub(super) lock_hash: Option<String>,
}

/// Runs the relay and the nodes to the end. `Ok` only when every node exited 0.
pub(super) fn run_ceremony(s: &Setup<'_>) -> Result<Vec<Outcome>, Failure> {
    let exe = std::env::current_exe().map_err(|e| {
        Failure::new(
            Code::Failed,
            anyhow!("cannot find the dkgd binary to start the nodes: {e}"),
            "run the demo from an installed or built dkgd binary",
        )
    })?;
    let (tx, rx) = mpsc::channel();
    watch_signals(tx.clone());
    let mut relay = Guard(Vec::new());
    let relay_url = if s.direct {
        None
    } else {
        Some(start_relay(&exe, s.out, &tx, &rx, &mut relay)?)
    };
    let ports = if s.direct {
        free_ports(s.peer_ids.len())?
    } else {
        Vec::new()
    };
    let mut nodes = Guard(Vec::new());
    let started = Instant::now();
    for i in 0..s.peer_ids.len() {
        let mut cmd = Command::new(&exe);
        cmd.arg("dkg")
            .arg("--definition")
            .arg(s.out.join(DEFINITION))
            .arg("--data-dir")
            .arg(node_dir(s.out, i))
            .arg("--progress-json");
        if s.insecure_keystores {
            cmd.arg("--insecure-keystores");
        }
        match &relay_url {
            Some(url) => {
                cmd.arg("--relay").arg(url);
            }
            None => {
                cmd.arg("--listen").arg(tcp(ports.get(i).copied()));
                for (j, id) in s.peer_ids.iter().enumerate().filter(|(j, _)| *j != i) {
                    cmd.arg("--peer-addr")
                        .arg(format!("{id}={}", tcp(ports.get(j).copied())));
                }
            }
        }
        let child = spawn(cmd, &node_log(s.out, i), &format!("node {i}"))?;
        nodes.0.push(child);
        if let Some(out) = nodes.0.last_mut().and_then(|c| c.stdout.take()) {
            forward_lines(out, Who::Node(i), tx.clone());
        }
    }
    drop(tx);
    println!(
        "started {} nodes ({}); logs: {}",
        s.peer_ids.len(),
        if s.direct { "direct" } else { "via the relay" },
        s.out.join("node*.log").display()
    );
    let outcomes = watch(s, &mut nodes, &mut relay, &rx, started)?;
    drop(nodes);
    drop(relay);
    Ok(outcomes)
}

/// Waits for every node to exit; fails fast on a failed node, the relay dying, the deadline
/// or a signal (the caller's guards then kill the rest).
fn watch(
    s: &Setup<'_>,
    nodes: &mut Guard,
    relay: &mut Guard,
    rx: &Receiver<Msg>,
    started: Instant,
) -> Result<Vec<Outcome>, Failure> {
    let n = nodes.0.len();
    let mut view: Vec<NodeView> = (0..n).map(|_| NodeView::default()).collect();
    let deadline = started + s.deadline;
    loop {
        match rx.recv_timeout(POLL) {
            Ok(Msg::Line(Who::Node(i), line)) => {
                if let (Some(v), Some(e)) = (view.get_mut(i), ProgressEvent::parse(&line)) {
                    v.apply(i, e);
                }
            }
            Ok(Msg::Line(Who::Relay, _)) | Err(RecvTimeoutError::Timeout) => {}
            Ok(Msg::Signal(sig)) => return Err(interrupted(sig, s.out)),
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(POLL),
        }
        for (i, child) in nodes.0.iter_mut().enumerate() {
            let Some(v) = view.get_mut(i) else { continue };
            if v.exit.is_none() {
                if let Ok(Some(status)) = child.try_wait() {
                    v.exit = Some((exit_code(status), started.elapsed()));
                }
            }
        }
        if let Some(i) = view
            .iter()
            .position(|v| matches!(v.exit, Some((c, _)) if c != 0))
        {
            drain(rx, &mut view, Duration::from_millis(300), s.out)?;
            return Err(node_failed(s.out, i, view.get(i)));
        }
        if view.iter().all(|v| v.exit.is_some()) {
            drain(rx, &mut view, Duration::from_secs(2), s.out)?;
            return Ok(view
                .into_iter()
                .map(|v| Outcome {
                    code: v.exit.map_or(-1, |(c, _)| c),
                    elapsed: v.exit.map_or(Duration::ZERO, |(_, t)| t),
                    lock_hash: v.lock_hash,
                })
                .collect());
        }
        if let Some(Ok(Some(status))) = relay.0.first_mut().map(Child::try_wait) {
            return Err(Failure::new(
                Code::Failed,
                anyhow!("the relay exited ({status}) before the ceremony finished"),
                format!("see {}", s.out.join("relay.log").display()),
            ));
        }
        if Instant::now() >= deadline {
            let slow: Vec<String> = view
                .iter()
                .enumerate()
                .filter(|(_, v)| v.exit.is_none())
                .map(|(i, v)| format!("node {i} at {}", v.step.as_deref().unwrap_or("start")))
                .collect();
            return Err(Failure::new(
                Code::Failed,
                anyhow!(
                    "the ceremony did not finish within {} s ({}); every child was stopped",
                    s.deadline.as_secs(),
                    slow.join(", ")
                ),
                format!(
                    "see the logs {}; on a slow machine raise --timeout",
                    s.out.join("node*.log").display()
                ),
            ));
        }
    }
}

/// Takes the lines still queued (e.g. the `done` events of nodes that just exited), for at
/// most `wait`; a signal meanwhile is an interruption.
fn drain(
    rx: &Receiver<Msg>,
    view: &mut [NodeView],
    wait: Duration,
    out: &Path,
) -> Result<(), Failure> {
    let end = Instant::now() + wait;
    while let Ok(msg) = rx.recv_timeout(end.saturating_duration_since(Instant::now())) {
        match msg {
            Msg::Line(Who::Node(i), line) => {
                if let (Some(v), Some(e)) = (view.get_mut(i), ProgressEvent::parse(&line)) {
                    v.apply(i, e);
                }
            }
            Msg::Line(Who::Relay, _) => {}
            Msg::Signal(sig) => return Err(interrupted(sig, out)),
        }
        if view
            .iter()
            .all(|v| v.lock_hash.is_some() || v.failure.is_some())
        {
            break;
        }
    }
    Ok(())
}

/// What the watch loop knows about one node, and what it has printed.
#[derive(Default)]
struct NodeView {
    step: Option<String>,
    steps_seen: Vec<String>,
    all_connected_printed: bool,
    lock_hash: Option<String>,
    failure: Option<String>,
    exit: Option<(i32, Duration)>,
}

impl NodeView {
    /// Records an event; prints one line when a step first starts, when every peer is
    /// connected, and when the node is done.
    fn apply(&mut self, i: usize, e: ProgressEvent) {
        match e {
            ProgressEvent::Connected { peers, total }
                if peers == total && !self.all_connected_printed =>
            {
                println!("node {i}: connected to {peers}/{total} peers");
                self.all_connected_printed = true;
            }
            ProgressEvent::Step { step, done, total } => {
                if !self.steps_seen.contains(&step) {
                    println!("node {i}: step {step} {done}/{total}");
                    self.steps_seen.push(step.clone());
                }
                self.step = Some(step);
            }
            ProgressEvent::Done { lock_hash } => {
                println!(
                    "node {i}: done, lock {}",
                    super::summary::short_hash(&lock_hash)
                );
                self.lock_hash = Some(lock_hash);
            }
            e @ ProgressEvent::Failed { .. } => self.failure = e.failure_text(),
            _ => {}
        }
    }
}

/// The failure for node `i` exiting non-zero: its own `failed` event, the signal that
/// killed it, or the last `error:` line (else the last line) of its log.
fn node_failed(out: &Path, i: usize, v: Option<&NodeView>) -> Failure {
    let log = node_log(out, i);
    let code = v.and_then(|v| v.exit).map_or(-1, |(c, _)| c);
    let reason = v
        .and_then(|v| v.failure.clone())
        .or_else(|| (code > 128).then(|| format!("killed by signal {}", code - 128)))
        .or_else(|| last_line(&log))
        .unwrap_or_default();
    Failure::new(
        Code::Failed,
        anyhow!("node {i} failed (exit {code}): {reason}; every other child was stopped"),
        format!("see {}", log.display()),
    )
}

/// A child's exit code, or 128 + the signal that killed it (as shells report it).
fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}

fn interrupted(sig: &str, out: &Path) -> Failure {
    Failure::new(
        Code::Failed,
        anyhow!("interrupted by {sig}; every child was stopped"),
        format!(
            "the partial data dirs under {} can be deleted",
            out.display()
        ),
    )
}

/// The last `error:` line of a log file (what `dkgd` prints on failure), else its last
/// non-empty line.
fn last_line(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines().rev().filter(|l| !l.trim().is_empty());
    let last = lines.clone().next().map(str::to_owned);
    lines
        .find(|l| l.starts_with("error:"))
        .map(str::to_owned)
        .or(last)
}

/// Starts `dkgd relay` on ephemeral ports and returns its `http://` URL once announced.
fn start_relay(
    exe: &Path,
    out: &Path,
    tx: &Sender<Msg>,
    rx: &Receiver<Msg>,
    guard: &mut Guard,
) -> Result<String, Failure> {
    let mut cmd = Command::new(exe);
    cmd.args([
        "relay",
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--http",
        "127.0.0.1:0",
    ])
    .arg("--data-dir")
    .arg(out.join("relay"));
    let log = out.join("relay.log");
    guard.0.push(spawn(cmd, &log, "the relay")?);
    if let Some(stdout) = guard.0.last_mut().and_then(|c| c.stdout.take()) {
        forward_lines(stdout, Who::Relay, tx.clone());
    }
    let end = Instant::now() + RELAY_START;
    loop {
        match rx.recv_timeout(end.saturating_duration_since(Instant::now())) {
            Ok(Msg::Line(Who::Relay, line)) => {
                if let Some(url) = line.strip_prefix("relay http=") {
                    println!("relay: {url} (log: {})", log.display());
                    return Ok(url.trim().to_owned());
                }
            }
            Ok(Msg::Line(Who::Node(_), _)) => {}
            Ok(Msg::Signal(sig)) => return Err(interrupted(sig, out)),
            Err(_) => {
                return Err(Failure::new(
                    Code::Failed,
                    anyhow!(
                        "the relay did not announce its address within {} s",
                        RELAY_START.as_secs()
                    ),
                    format!("see {}", log.display()),
                ))
            }
        }
    }
}
