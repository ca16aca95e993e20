//! The ceremony runs as a child process, `dkgd dkg … --progress-json` (crash containment,
//! secrets freed at exit, the same code path as the one-shot command). [`CeremonyRunner`] is
//! the seam: the daemon uses [`ProcessRunner`]; tests can substitute anything that produces
//! [`CeremonyEvent`]s.
//!
//! Stopping: a child whose last step is [`COMMIT_STEP`] is left to finish (an artifact commit
//! is never interrupted); any other gets SIGTERM, then SIGKILL after [`KILL_AFTER`].
//! A daemon that dies without stopping it (SIGKILL, crash) takes the child with it: the child
//! sets SIGTERM as its parent-death signal at start ([`crate::supervised`]).

use super::progress::{ProgressEvent, COMMIT_STEP};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{mpsc, watch};

/// How long a signalled child gets before SIGKILL.
pub const KILL_AFTER: Duration = Duration::from_secs(10);

/// One ceremony attempt's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CeremonySpec {
    /// Attempt number (from 1), for logs.
    pub attempt: u32,
    /// `<data dir>/cluster-definition.json`.
    pub definition: PathBuf,
    /// The data dir (key and artifacts).
    pub data_dir: PathBuf,
    /// `--relay` values.
    pub relays: Vec<String>,
    /// `--listen` values.
    pub listen: Vec<String>,
    /// `--peer-addr` values.
    pub peer_addrs: Vec<String>,
    /// `--insecure-keystores`.
    pub insecure_keystores: bool,
}

impl CeremonySpec {
    /// The child's arguments: `dkg --definition D --data-dir DIR [--relay R]… [--listen L]…
    /// [--peer-addr P]… [--insecure-keystores] --progress-json`.
    pub fn args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = vec![
            "dkg".into(),
            "--definition".into(),
            self.definition.clone().into(),
            "--data-dir".into(),
            self.data_dir.clone().into(),
        ];
        for (flag, values) in [
            ("--relay", &self.relays),
            ("--listen", &self.listen),
            ("--peer-addr", &self.peer_addrs),
        ] {
            for v in values {
                a.push(flag.into());
                a.push(v.into());
            }
        }
        if self.insecure_keystores {
            a.push("--insecure-keystores".into());
        }
        a.push("--progress-json".into());
        a
    }
}

/// What a running attempt reports. `Exited` is always the last event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CeremonyEvent {
    /// A progress line.
    Progress(ProgressEvent),
    /// The attempt ended: `Ok` for exit code 0, else the reason.
    Exited(Result<(), String>),
}

/// A started attempt: its events, and the switch that asks it to stop.
#[derive(Debug)]
pub struct CeremonyHandle {
    /// Progress, then exactly one `Exited`.
    pub events: mpsc::Receiver<CeremonyEvent>,
    /// Set to `true` to stop the attempt (it still ends with `Exited`).
    pub stop: watch::Sender<bool>,
}

/// Starts ceremony attempts (inside a tokio runtime).
pub trait CeremonyRunner: Send + Sync {
    /// Starts one attempt; `Err` when it cannot even start (the reason for the operator).
    fn start(&self, spec: CeremonySpec) -> Result<CeremonyHandle, String>;
}

/// Runs `<exe> dkg … --progress-json` as a child process.
#[derive(Debug, Clone)]
pub struct ProcessRunner {
    exe: PathBuf,
}

impl ProcessRunner {
    /// A runner for the dkgd binary at `exe` (normally `std::env::current_exe()`).
    pub fn new(exe: PathBuf) -> Self {
        Self { exe }
    }
}

impl CeremonyRunner for ProcessRunner {
    fn start(&self, spec: CeremonySpec) -> Result<CeremonyHandle, String> {
        let mut cmd = tokio::process::Command::new(&self.exe);
        // The child sets its own parent-death signal (crate::supervised): a SIGKILLed daemon
        // must not leave a ceremony running that holds the key lock.
        crate::supervised::supervise_tokio_command(&mut cmd);
        cmd.args(spec.args())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {} dkg: {e}", self.exe.display()))?;
        let (tx, events) = mpsc::channel(64);
        let (stop, stop_rx) = watch::channel(false);
        tracing::info!(
            attempt = spec.attempt,
            pid = child.id().unwrap_or(0),
            "ceremony child started"
        );
        tokio::spawn(supervise(child, tx, stop_rx));
        Ok(CeremonyHandle { events, stop })
    }
}

/// Forwards the child's progress, handles stop requests, and reports its exit.
async fn supervise(
    mut child: tokio::process::Child,
    tx: mpsc::Sender<CeremonyEvent>,
    mut stop: watch::Receiver<bool>,
) {
    let mut out = child.stdout.take().map(|s| BufReader::new(s).lines());
    let mut err = child.stderr.take().map(|s| BufReader::new(s).lines());
    let mut last_step = String::new();
    let mut failure: Option<String> = None;
    let mut last_stderr = LastWords::default();
    let mut stopping = false;
    let mut kill_at: Option<tokio::time::Instant> = None;
    let status = loop {
        tokio::select! {
            line = next(&mut out), if out.is_some() => match line {
                Some(l) => {
                    if let Some(e) = ProgressEvent::parse(&l) {
                        if let ProgressEvent::Step { step, .. } = &e {
                            last_step.clone_from(step);
                        }
                        if let Some(f) = e.failure_text() {
                            failure = Some(f);
                        }
                        let _ = tx.send(CeremonyEvent::Progress(e)).await;
                    }
                }
                None => out = None,
            },
            line = next(&mut err), if err.is_some() => match line {
                Some(l) => stderr_line(&l, &mut last_stderr),
                None => err = None,
            },
            status = child.wait() => break status,
            r = stop.changed(), if !stopping => {
                stopping = true;
                if r.is_ok() && last_step == COMMIT_STEP {
                    tracing::info!("stopping: the ceremony is committing its artifacts; letting it finish");
                } else {
                    signal_term(&child);
                    kill_at = Some(tokio::time::Instant::now() + KILL_AFTER);
                }
            },
            () = sleep_until(kill_at), if kill_at.is_some() => {
                tracing::warn!("the ceremony child ignored SIGTERM; killing it");
                let _ = child.start_kill();
                kill_at = None;
            },
        }
    };
    // The pipes may still hold the last lines (e.g. the `failed` event).
    let drain = async {
        while let Some(l) = next(&mut out).await {
            if let Some(e) = ProgressEvent::parse(&l) {
                if let Some(f) = e.failure_text() {
                    failure = Some(f);
                }
                let _ = tx.send(CeremonyEvent::Progress(e)).await;
            }
        }
        while let Some(l) = next(&mut err).await {
            stderr_line(&l, &mut last_stderr);
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
    let outcome = match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => {
            let how = match (s.code(), std::os::unix::process::ExitStatusExt::signal(&s)) {
                (Some(c), _) => format!("dkgd dkg exited with code {c}"),
                (None, Some(sig)) => format!("dkgd dkg was killed by signal {sig}"),
                _ => "dkgd dkg failed".to_owned(),
            };
            Err(match failure.or_else(|| last_stderr.best()) {
                Some(r) => format!("{r} ({how})"),
                None => how,
            })
        }
        Err(e) => Err(format!("waiting for dkgd dkg: {e}")),
    };
    let _ = tx.send(CeremonyEvent::Exited(outcome)).await;
}

/// The child's last words, best first: an `error:` line, else the last non-empty line.
#[derive(Default)]
struct LastWords {
    error: Option<String>,
    any: Option<String>,
}

impl LastWords {
    fn best(self) -> Option<String> {
        self.error.or(self.any)
    }
}

/// Forwards one stderr line of the child to our log and remembers it.
fn stderr_line(line: &str, words: &mut LastWords) {
    tracing::info!(target: "dkgd::ceremony", "{line}");
    let l = line.trim();
    if let Some(e) = l.strip_prefix("error: ") {
        words.error = Some(e.to_owned());
    } else if !l.is_empty() && !l.starts_with("hint:") {
        words.any = Some(l.to_owned());
    }
}

type Lines<R> = Option<tokio::io::Lines<BufReader<R>>>;

async fn next<R: tokio::io::AsyncRead + Unpin>(lines: &mut Lines<R>) -> Option<String> {
    match lines {
        Some(l) => l.next_line().await.ok().flatten(),
        None => None,
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn signal_term(child: &tokio::process::Child) {
    let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) else {
        return;
    };
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    );
}
