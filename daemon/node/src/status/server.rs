//! The status socket: HTTP/1.1 over a Unix socket, read-only, bounded in every dimension so a
//! bad client can neither stall the daemon nor make it exit.
//!
//! * request head at most [`ServerConfig::max_head_bytes`] (8 KiB) ⇒ else 431;
//! * one request per connection, answered within [`ServerConfig::conn_timeout`] or dropped;
//! * at most [`ServerConfig::max_connections`] at once, beyond that an immediate 503;
//! * accept errors (e.g. out of file descriptors) back off and retry, never exit;
//! * the socket is created with mode 0660 (group optional); an existing path is removed only
//!   if it is a socket nobody is listening on.

use super::{http, metrics, SnapshotRx};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;

/// How many over-limit connections get a 503 at once (others are just closed).
const REJECTERS: usize = 4;
/// At most this much is discarded after answering, for at most [`DRAIN_TIME`].
const DRAIN_BYTES: usize = 64 * 1024;
/// See [`DRAIN_BYTES`].
const DRAIN_TIME: Duration = Duration::from_millis(200);

/// Mode of the socket file.
pub const SOCKET_MODE: u32 = 0o660;

/// Limits and placement of the status socket.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The socket path.
    pub path: PathBuf,
    /// Group (name or numeric id) given read/write access to the socket.
    pub group: Option<String>,
    /// Connections served at once.
    pub max_connections: usize,
    /// Largest request head read.
    pub max_head_bytes: usize,
    /// Time a connection may take from accept to the last byte of the response.
    pub conn_timeout: Duration,
}

impl ServerConfig {
    /// The defaults: 16 connections, 8 KiB heads, 5 s per connection.
    pub fn new(path: PathBuf, group: Option<String>) -> Self {
        Self {
            path,
            group,
            max_connections: 16,
            max_head_bytes: 8 * 1024,
            conn_timeout: Duration::from_secs(5),
        }
    }
}

/// Why the socket could not be set up. Every variant names the path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// Something other than a socket sits at the path; it was left alone.
    #[error("{} exists and is not a socket; refusing to remove it (remove it or choose another socket path)", path.display())]
    NotASocket {
        /// The path.
        path: PathBuf,
    },
    /// Another process is listening on the socket.
    #[error("another process is listening on {}; is a second dkgd running? (or choose another socket path)", path.display())]
    InUse {
        /// The path.
        path: PathBuf,
    },
    /// The group does not exist.
    #[error("socket group {group:?} does not exist (for {})", path.display())]
    NoSuchGroup {
        /// The socket path.
        path: PathBuf,
        /// The group asked for.
        group: String,
    },
    /// An OS error while setting up the socket.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What we were doing.
        op: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A bound status socket, ready to [`serve`](StatusServer::serve). Removes its socket file
/// when dropped (if it is still ours).
#[derive(Debug)]
pub struct StatusServer {
    listener: UnixListener,
    cfg: ServerConfig,
    inode: (u64, u64),
}

impl StatusServer {
    /// Binds the socket (inside a tokio runtime), sets mode 0660 and the group.
    pub fn bind(cfg: ServerConfig) -> Result<Self, ServerError> {
        let path = cfg.path.clone();
        let io = |op, source| ServerError::Io {
            op,
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| io("creating the directory of", e))?;
        }
        remove_stale(&path)?;
        let listener = UnixListener::bind(&path).map_err(|e| io("binding", e))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(SOCKET_MODE))
            .map_err(|e| io("setting the mode of", e))?;
        if let Some(group) = &cfg.group {
            let gid = resolve_group(&path, group)?;
            nix::unistd::chown(&path, None, Some(gid))
                .map_err(|e| io("changing the group of", e.into()))?;
        }
        let meta = std::fs::symlink_metadata(&path).map_err(|e| io("inspecting", e))?;
        Ok(Self {
            listener,
            cfg,
            inode: (meta.dev(), meta.ino()),
        })
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.cfg.path
    }

    /// Serves requests from snapshots in `rx` until the task is dropped.
    pub async fn serve(&self, rx: SnapshotRx) {
        let permits = Arc::new(Semaphore::new(self.cfg.max_connections));
        let rejecters = Arc::new(Semaphore::new(REJECTERS));
        let mut backoff = Duration::from_millis(50);
        loop {
            let stream = match self.listener.accept().await {
                Ok((s, _)) => {
                    backoff = Duration::from_millis(50);
                    s
                }
                Err(e) => {
                    tracing::warn!(socket = %self.cfg.path.display(), error = %e, "status socket: accept failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            };
            let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
                // Busy: a quick 503 from a few short-lived rejecters, else just hang up.
                if let Ok(p) = Arc::clone(&rejecters).try_acquire_owned() {
                    tokio::spawn(async move {
                        let mut stream = stream;
                        let _ = stream
                            .write_all(&http::error(503, "too many connections", ""))
                            .await;
                        close(stream).await;
                        drop(p);
                    });
                }
                continue;
            };
            let rx = rx.clone();
            let cfg = self.cfg.clone();
            tokio::spawn(async move {
                let _ = tokio::time::timeout(cfg.conn_timeout, handle(stream, &cfg, &rx)).await;
                drop(permit);
            });
        }
    }
}

impl Drop for StatusServer {
    fn drop(&mut self) {
        let ours = std::fs::symlink_metadata(&self.cfg.path)
            .is_ok_and(|m| (m.dev(), m.ino()) == self.inode);
        if ours {
            let _ = std::fs::remove_file(&self.cfg.path);
        }
    }
}

/// Reads one request head and writes one response.
async fn handle(mut stream: UnixStream, cfg: &ServerConfig, rx: &SnapshotRx) {
    let mut buf = vec![0u8; cfg.max_head_bytes];
    let mut len = 0;
    let end = loop {
        if let Some(end) = http::head_end(buf.get(..len).unwrap_or_default()) {
            break Some(end);
        }
        let Some(rest) = buf.get_mut(len..).filter(|r| !r.is_empty()) else {
            break None;
        };
        match stream.read(rest).await {
            Ok(0) | Err(_) if len == 0 => return,
            Ok(0) | Err(_) => {
                let _ = stream
                    .write_all(&http::error(400, "incomplete request", ""))
                    .await;
                return;
            }
            Ok(n) => len += n,
        }
    };
    let reply = match end {
        None => http::error(431, "request head too large", ""),
        Some(end) => answer(buf.get(..end).unwrap_or_default(), rx),
    };
    let _ = stream.write_all(&reply).await;
    close(stream).await;
}

/// Hangs up politely: end our side, then discard (briefly, boundedly) what the client still
/// sends, so that closing with unread input does not reset the connection before the client
/// has read our answer.
async fn close(mut stream: UnixStream) {
    let _ = stream.shutdown().await;
    let drain = async {
        let mut sink = [0u8; 1024];
        let mut left = DRAIN_BYTES;
        while left > 0 {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, drain).await;
}

/// The response to one complete request head.
fn answer(head: &[u8], rx: &SnapshotRx) -> Vec<u8> {
    let Some(req) = http::parse(head) else {
        return http::error(400, "malformed request line", "");
    };
    let known = matches!(req.path, "/status" | "/health" | "/metrics");
    if !known {
        return http::error(
            404,
            "no such endpoint; try /status, /health or /metrics",
            "",
        );
    }
    let head_only = req.method == "HEAD";
    if req.method != "GET" && !head_only {
        return http::error(405, "read-only: use GET", "Allow: GET, HEAD\r\n");
    }
    let status = rx.borrow().status_now();
    match req.path {
        "/status" => {
            let body = serde_json::to_vec_pretty(&status).unwrap_or_default();
            http::response(200, "application/json", &body, "", head_only)
        }
        "/health" => {
            let code = if status.healthy() { 200 } else { 503 };
            let body = serde_json::json!({ "state": status.state, "healthy": status.healthy() });
            http::response(
                code,
                "application/json",
                body.to_string().as_bytes(),
                "",
                head_only,
            )
        }
        _ => {
            let body = metrics::render(&status);
            http::response(
                200,
                "text/plain; version=0.0.4; charset=utf-8",
                body.as_bytes(),
                "",
                head_only,
            )
        }
    }
}

/// Removes `path` if it is a socket nobody listens on; refuses anything else.
fn remove_stale(path: &Path) -> Result<(), ServerError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(ServerError::Io {
                op: "inspecting",
                path: path.to_path_buf(),
                source,
            })
        }
    };
    if !meta.file_type().is_socket() {
        return Err(ServerError::NotASocket {
            path: path.to_path_buf(),
        });
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(ServerError::InUse {
            path: path.to_path_buf(),
        });
    }
    std::fs::remove_file(path).map_err(|source| ServerError::Io {
        op: "removing the stale socket",
        path: path.to_path_buf(),
        source,
    })
}

fn resolve_group(path: &Path, group: &str) -> Result<nix::unistd::Gid, ServerError> {
    if let Ok(n) = group.parse::<u32>() {
        return Ok(nix::unistd::Gid::from_raw(n));
    }
    match nix::unistd::Group::from_name(group) {
        Ok(Some(g)) => Ok(g.gid),
        _ => Err(ServerError::NoSuchGroup {
            path: path.to_path_buf(),
            group: group.to_owned(),
        }),
    }
}
