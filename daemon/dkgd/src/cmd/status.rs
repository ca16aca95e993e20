//! `dkgd status`: asks the running daemon over its status socket (`GET /status`) and prints
//! a summary for people, or the raw JSON (`--json`) for scripts. Exit 0 when the daemon
//! answered, 75 when its socket is missing or refuses connections.

use crate::cli::StatusArgs;
use crate::exit::{Code, Failure};
use anyhow::anyhow;
use dkgd_node::status::client::{self, Answer, ClientError};
use dkgd_node::status::model::Status;
use hyper::{Method, StatusCode};
use std::path::{Path, PathBuf};

/// Runs `dkgd status`.
pub(crate) fn run(args: &StatusArgs) -> Result<Code, Failure> {
    let socket = socket_path(args.socket.as_ref());
    let body = fetch(&socket, "/status")?;
    if args.json {
        println!("{}", String::from_utf8_lossy(&body).trim_end());
        return Ok(Code::Ok);
    }
    let status: Status = serde_json::from_slice(&body).map_err(|e| {
        Failure::new(
            Code::Failed,
            anyhow!(
                "{} answered with a status this dkgd cannot read: {e}",
                socket.display()
            ),
            "use `dkgd status --json`, or a dkgd of the same version as the daemon",
        )
    })?;
    print!("{}", summary(&status));
    // While the owner must add this box's ENR in the launchpad: the ENR as a QR code too.
    if let (Some(id), Some(_)) = (
        &status.identity,
        status.invite.as_ref().and_then(|i| i.action.as_ref()),
    ) {
        if let Ok(qr) = super::enr::identity::qr(&id.enr) {
            print!("\nthis box's ENR, to scan into the launchpad:\n{qr}");
        }
    }
    Ok(Code::Ok)
}

/// The socket: `--socket`, else `$DKGD_SOCKET`, else the default.
pub(crate) fn socket_path(arg: Option<&PathBuf>) -> PathBuf {
    arg.cloned()
        .or_else(|| std::env::var_os("DKGD_SOCKET").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(dkgd_node::config::DEFAULT_SOCKET))
}

/// One request over the status socket (a small runtime of its own). A 503 is the daemon
/// saying it is busy (every connection slot taken, or its run loop occupied): a temporary
/// failure for every command, never "not dkgd".
pub(crate) fn ask(
    socket: &Path,
    method: Method,
    path: &str,
    body: Option<String>,
) -> Result<Answer, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Failure::new(
                Code::Failed,
                anyhow!("cannot start the I/O runtime: {e}"),
                "check the process limits (threads, file descriptors)",
            )
        })?;
    let answer = runtime
        .block_on(client::request(socket, method, path, body))
        .map_err(client_failure)?;
    if answer.code == StatusCode::SERVICE_UNAVAILABLE {
        return Err(Failure::new(
            Code::TempFail,
            anyhow!(
                "the daemon at {} is busy: {}",
                socket.display(),
                answer.error_text()
            ),
            "retry in a moment",
        ));
    }
    Ok(answer)
}

/// `GET path`; the body of a 200 answer.
fn fetch(socket: &Path, path: &str) -> Result<Vec<u8>, Failure> {
    let answer = ask(socket, Method::GET, path, None)?;
    if answer.code != StatusCode::OK {
        return Err(bad_answer(
            socket,
            &format!("HTTP {}: {}", answer.code.as_u16(), answer.error_text()),
        ));
    }
    Ok(answer.body.to_vec())
}

fn client_failure(e: ClientError) -> Failure {
    let hint = match &e {
        ClientError::NotRunning { .. } => {
            "start it (systemctl start dkgd, or dkgd run), or pass --socket with its socket path"
        }
        ClientError::NoPermission { .. } => {
            "run as root or as a member of the socket's group (socket_group in the config)"
        }
        ClientError::NotHttp { .. } => "is that socket really dkgd's status socket?",
        _ => "the daemon may be busy or stopping; retry in a moment",
    };
    let code = match &e {
        ClientError::NoPermission { .. } => Code::NoPerm,
        ClientError::NotHttp { .. } => Code::Failed,
        _ => Code::TempFail,
    };
    Failure::new(code, anyhow!(e), hint)
}

pub(crate) fn bad_answer(socket: &Path, what: &str) -> Failure {
    Failure::new(
        Code::Failed,
        anyhow!("{} gave an unexpected answer ({what})", socket.display()),
        "is that socket really dkgd's status socket?",
    )
}

/// The human-readable summary.
fn summary(s: &Status) -> String {
    let mut out = String::new();
    let mut line = |k: &str, v: String| out.push_str(&format!("{k:<12}{v}\n"));
    let mut state = s.state.clone();
    if let (Some(step), Some(p)) = (&s.step, &s.progress) {
        state.push_str(&format!(" ({step}, {}/{})", p.done, p.total));
    }
    line("state:", state);
    for w in &s.warnings {
        line("WARNING:", w.clone());
    }
    if matches!(s.state.as_str(), "awaiting-peers" | "ceremony") || s.peers.total > 0 {
        line(
            "peers:",
            format!("{}/{} connected", s.peers.connected, s.peers.total),
        );
    }
    if let Some(id) = &s.identity {
        line("peer ID:", id.peer_id.clone());
        line("ENR:", id.enr.clone());
    }
    if let Some(c) = &s.cluster {
        let name = if c.name.is_empty() {
            "(unnamed)"
        } else {
            &c.name
        };
        line(
            "cluster:",
            format!(
                "{name}, {} operators, definition {}",
                c.operators, c.definition_hash
            ),
        );
    }
    for p in s.peers.list.iter().filter(|p| !p.is_self) {
        let version = s
            .wire
            .as_ref()
            .and_then(|w| w.peer_versions.get(&p.index))
            .map(|v| format!(" (charon {v})"))
            .unwrap_or_default();
        line("  operator:", format!("{} {}{version}", p.name, p.peer_id));
    }
    if let Some(w) = &s.wire {
        let how = match &w.negotiated_from {
            Some(from) => format!(" (negotiated; the definition's default was {from})"),
            None => String::new(),
        };
        line("wire:", format!("charon {} profile{how}", w.profile));
    }
    if let Some(i) = &s.invite {
        let name = i.cluster_name.as_deref().unwrap_or("(not fetched yet)");
        line(
            "invite:",
            format!("{} on {} ({name}): {}", i.config_hash, i.network, i.stage),
        );
        if i.operators > 0 {
            line(
                "  signed:",
                format!("{} of {} operators", i.signed, i.operators),
            );
        }
        for m in &i.missing {
            line("  waiting:", m.clone());
        }
        if let Some(a) = &i.action {
            line("  TO DO:", a.clone());
        }
        if let Some(e) = &i.last_error {
            line("  API error:", e.clone());
        }
        if let Some(t) = i.next_poll_unix {
            line(
                "  next poll:",
                dkgd_store::rfc3339_seconds(i64::try_from(t).unwrap_or(0)),
            );
        }
    }
    if s.attempts > 0 {
        line("attempts:", s.attempts.to_string());
    }
    if let Some(e) = &s.last_error {
        line("last error:", e.clone());
    }
    if let Some(t) = &s.next_retry {
        line("next retry:", t.clone());
    }
    if let Some(d) = s.last_ceremony_secs {
        line("last run:", format!("{d:.1} s"));
    }
    if let Some(h) = &s.lock_hash {
        line("lock hash:", h.clone());
    }
    let b = &s.backup;
    if b.recipients > 0 || b.count > 0 {
        let newest = match (&b.last_kind, b.last_unix) {
            (Some(k), Some(t)) => format!(
                ", newest: {k} at {}",
                dkgd_store::rfc3339_seconds(i64::try_from(t).unwrap_or(0))
            ),
            _ => String::new(),
        };
        line(
            "backups:",
            format!("{} stored, {} recipient(s){newest}", b.count, b.recipients),
        );
    }
    let up = s.uptime_secs;
    line(
        "version:",
        format!(
            "dkgd {} (status API {}), up {}h {:02}m {:02}s",
            s.versions.dkgd,
            s.versions.api,
            up / 3600,
            up % 3600 / 60,
            up % 60
        ),
    );
    out
}
