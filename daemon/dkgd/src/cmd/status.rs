//! `dkgd status`: asks the running daemon over its status socket (`GET /status`) and prints
//! a summary for people, or the raw JSON (`--json`) for scripts. Exit 0 when the daemon
//! answered, 75 when its socket is missing or refuses connections.

use crate::cli::StatusArgs;
use crate::exit::{Code, Failure};
use anyhow::anyhow;
use dkgd_node::status::model::Status;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Largest response read.
const MAX_RESPONSE_BYTES: u64 = 1024 * 1024;

/// Runs `dkgd status`.
pub(crate) fn run(args: &StatusArgs) -> Result<Code, Failure> {
    let socket = args
        .socket
        .clone()
        .or_else(|| std::env::var_os("DKGD_SOCKET").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(dkgd_node::config::DEFAULT_SOCKET));
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

/// `GET path` over the Unix socket; the response body of a 2xx/503 answer.
fn fetch(socket: &Path, path: &str) -> Result<Vec<u8>, Failure> {
    let mut stream = UnixStream::connect(socket).map_err(|e| connect_failure(socket, e))?;
    let timeout = Some(Duration::from_secs(10));
    let _ = stream.set_read_timeout(timeout);
    let _ = stream.set_write_timeout(timeout);
    let io = |e: std::io::Error| {
        Failure::new(
            Code::TempFail,
            anyhow!("talking to the daemon at {}: {e}", socket.display()),
            "the daemon may be busy or stopping; retry in a moment",
        )
    };
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).map_err(io)?;
    let mut raw = Vec::new();
    stream
        .take(MAX_RESPONSE_BYTES)
        .read_to_end(&mut raw)
        .map_err(io)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad_answer(socket, "no HTTP header"))?;
    let head = String::from_utf8_lossy(raw.get(..split).unwrap_or_default()).into_owned();
    let code: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| bad_answer(socket, "no HTTP status code"))?;
    if code != 200 {
        return Err(bad_answer(socket, &format!("HTTP {code}")));
    }
    Ok(raw.get(split + 4..).unwrap_or_default().to_vec())
}

fn connect_failure(socket: &Path, e: std::io::Error) -> Failure {
    match e.kind() {
        ErrorKind::NotFound | ErrorKind::ConnectionRefused => Failure::new(
            Code::TempFail,
            anyhow!(
                "the dkgd daemon is not running: cannot connect to {}: {e}",
                socket.display()
            ),
            "start it (systemctl start dkgd, or dkgd run), or pass --socket with its socket path",
        ),
        ErrorKind::PermissionDenied => Failure::new(
            Code::NoPerm,
            anyhow!("no permission to connect to {}: {e}", socket.display()),
            "run as root or as a member of the socket's group (socket_group in the config)",
        ),
        _ => Failure::new(
            Code::TempFail,
            anyhow!("cannot connect to {}: {e}", socket.display()),
            "check that dkgd run is running and that this is its socket",
        ),
    }
}

fn bad_answer(socket: &Path, what: &str) -> Failure {
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
