//! Child-process plumbing for `dkgd demo`: the kill-on-drop [`Guard`], spawning with logs,
//! stdout lines and signals as one stream of [`Msg`], and ports for `--direct`.

use crate::exit::{Code, Failure};
use anyhow::anyhow;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Sender};
use std::time::Duration;

/// Children killed (SIGKILL) and reaped on drop.
pub(super) struct Guard(pub(super) Vec<Child>);

impl Drop for Guard {
    fn drop(&mut self) {
        for c in &mut self.0 {
            if matches!(c.try_wait(), Ok(None)) {
                let _ = c.kill();
            }
            let _ = c.wait();
        }
    }
}

/// Whose stdout a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Who {
    /// The relay.
    Relay,
    /// Node i.
    Node(usize),
}

/// Everything the watch loop reacts to.
pub(super) enum Msg {
    /// One stdout line of a child.
    Line(Who, String),
    /// SIGINT or SIGTERM arrived.
    Signal(&'static str),
}

/// Spawns `cmd` with stdin closed, stdout piped and stderr written to `log` (created).
pub(super) fn spawn(mut cmd: Command, log: &Path, what: &str) -> Result<Child, Failure> {
    let io = |e: std::io::Error, doing: String| {
        Failure::new(
            Code::Failed,
            anyhow!("{doing}: {e}"),
            "check free memory and process limits (ulimit -u), then retry",
        )
    };
    let file = std::fs::File::create(log)
        .map_err(|e| io(e, format!("cannot create {}", log.display())))?;
    // Plain text in the log files (tracing honours NO_COLOR).
    // Children die with the demo, even a SIGKILLed one (dkgd_node::supervised).
    dkgd_node::supervised::supervise_command(&mut cmd);
    cmd.env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(file)
        .spawn()
        .map_err(|e| io(e, format!("cannot start {what}")))
}

/// Forwards each stdout line of a child to the watch loop. Keeps reading after the loop has
/// gone, so a child never blocks or dies on a full or closed pipe.
pub(super) fn forward_lines(out: impl Read + Send + 'static, who: Who, tx: Sender<Msg>) {
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(Msg::Line(who, line));
        }
    });
}

/// Turns SIGINT and SIGTERM into a [`Msg::Signal`] (instead of dying with the children left
/// behind). Returns once the handlers are installed; they stay until the process exits.
pub(super) fn watch_signals(tx: Sender<Msg>) {
    let (ready_tx, ready) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch for Ctrl-C");
                return;
            }
        };
        runtime.block_on(async move {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut int), Ok(mut term)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) else {
                tracing::warn!("cannot watch for Ctrl-C");
                return;
            };
            let _ = ready_tx.send(());
            let sig = tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            };
            let _ = tx.send(Msg::Signal(sig));
        });
    });
    // An Err means the watcher gave up (and logged why); the demo runs on without it.
    let _ = ready.recv_timeout(Duration::from_secs(5));
}

/// `n` free TCP ports on 127.0.0.1 (probed and released; a race with other programs is
/// possible, and would show as a node failing to listen).
pub(super) fn free_ports(n: usize) -> Result<Vec<u16>, Failure> {
    let listeners = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .and_then(|ls| {
            ls.iter()
                .map(|l| l.local_addr().map(|a| a.port()))
                .collect()
        });
    listeners.map_err(|e| {
        Failure::new(
            Code::Failed,
            anyhow!("cannot find free TCP ports on 127.0.0.1: {e}"),
            "check the loopback interface, or run without --direct",
        )
    })
}

/// A TCP multiaddr on 127.0.0.1.
pub(super) fn tcp(port: Option<u16>) -> String {
    format!("/ip4/127.0.0.1/tcp/{}", port.unwrap_or(0))
}
