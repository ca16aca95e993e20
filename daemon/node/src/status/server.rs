//! The status socket: HTTP/1.1 (hyper) over a Unix socket, bounded in every dimension so a
//! bad client can neither stall the daemon nor make it exit (what is answered: `routes`).
//!
//! * request head at most [`ServerConfig::max_head_bytes`] (8 KiB) ⇒ else 431; malformed ⇒ 400;
//! * one request per connection; the head must arrive within [`ServerConfig::head_timeout`]
//!   (1 s: a client that connects and dawdles loses its slot quickly) and the whole exchange
//!   within [`ServerConfig::conn_timeout`], else the connection is dropped;
//! * at most [`ServerConfig::max_connections`] at once, beyond that an immediate 503;
//! * accept errors (e.g. out of file descriptors) back off and retry, never exit;
//! * the socket is created with mode 0660 (group optional); an existing path is removed only
//!   if it is a socket nobody is listening on.

use super::routes::{self, Context};
use super::SnapshotRx;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::{service_fn, Service};
use hyper::{Request, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;

/// How many over-limit connections get a 503 at once (others are just closed).
const REJECTERS: usize = 4;
/// hyper's smallest read buffer.
const MIN_BUF: usize = 8192;
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
    /// Largest request head read (at least 8 KiB, hyper's smallest buffer).
    pub max_head_bytes: usize,
    /// Time from accept to the end of the request head.
    pub head_timeout: Duration,
    /// Time a connection may take from accept to the last byte of the response.
    pub conn_timeout: Duration,
    /// Where `POST /pair` drops a pairing code (the daemon's inbox); `None`: not offered.
    pub pair_inbox: Option<PathBuf>,
    /// Where backup requests go (the run loop); `None`: not offered.
    pub commands: Option<tokio::sync::mpsc::Sender<super::Command>>,
}

impl ServerConfig {
    /// The defaults: 32 connections, 8 KiB heads, 1 s for the head, 5 s per connection,
    /// no pairing.
    pub fn new(path: PathBuf, group: Option<String>) -> Self {
        Self {
            path,
            group,
            max_connections: 32,
            max_head_bytes: MIN_BUF,
            head_timeout: Duration::from_secs(1),
            conn_timeout: Duration::from_secs(5),
            pair_inbox: None,
            commands: None,
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
                    let cfg = self.cfg.clone();
                    tokio::spawn(async move {
                        let _ = tokio::time::timeout(cfg.head_timeout, busy(stream, &cfg)).await;
                        drop(p);
                    });
                }
                continue;
            };
            let ctx = Context {
                rx: rx.clone(),
                inbox: self.cfg.pair_inbox.clone(),
                commands: self.cfg.commands.clone(),
                peer_uid: stream.peer_cred().ok().map(|c| c.uid()),
            };
            let cfg = self.cfg.clone();
            tokio::spawn(async move {
                let _ = tokio::time::timeout(cfg.conn_timeout, handle(stream, &cfg, ctx)).await;
                drop(permit);
            });
        }
    }
}

/// hyper's HTTP/1.1 server settings: one request per connection, bounded head.
fn builder(cfg: &ServerConfig) -> http1::Builder {
    let mut b = http1::Builder::new();
    b.keep_alive(false)
        .title_case_headers(true)
        .max_buf_size(cfg.max_head_bytes.max(MIN_BUF))
        .timer(TokioTimer::new())
        .header_read_timeout(cfg.head_timeout);
    b
}

/// Serves one connection.
async fn handle(stream: UnixStream, cfg: &ServerConfig, ctx: Context) {
    let ctx = Arc::new(ctx);
    let service = service_fn(move |req| {
        let ctx = Arc::clone(&ctx);
        async move { Ok::<_, Infallible>(routes::route(req, &ctx).await) }
    });
    serve_one(stream, cfg, service).await;
}

/// Answers 503 to whatever the over-limit client asks.
async fn busy(stream: UnixStream, cfg: &ServerConfig) {
    let service = service_fn(|_req| async {
        Ok::<_, Infallible>(routes::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many connections; retry in a moment",
        ))
    });
    serve_one(stream, cfg, service).await;
}

/// One request on `stream` answered by `service`, then a polite close.
async fn serve_one<S>(stream: UnixStream, cfg: &ServerConfig, service: S)
where
    S: Service<Request<Incoming>, Response = routes::Reply, Error = Infallible>,
{
    let Some((stream, keep)) = split_off_closer(stream) else {
        return;
    };
    let _ = builder(cfg)
        .serve_connection(TokioIo::new(stream), service)
        .await;
    close(keep).await;
}

/// A second handle on the same socket, so that the connection outlives hyper (which drops
/// its handle as soon as it answered, also after an error answer such as 431) long enough
/// to hang up politely.
fn split_off_closer(stream: UnixStream) -> Option<(UnixStream, UnixStream)> {
    let std = stream.into_std().ok()?;
    let second = std.try_clone().ok()?;
    Some((
        UnixStream::from_std(std).ok()?,
        UnixStream::from_std(second).ok()?,
    ))
}

/// Hangs up politely: end our side, then discard (briefly, boundedly) what the client still
/// sends, so that closing with unread input does not reset the connection before the client
/// has read our answer.
async fn close(mut stream: UnixStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
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

impl Drop for StatusServer {
    fn drop(&mut self) {
        let ours = std::fs::symlink_metadata(&self.cfg.path)
            .is_ok_and(|m| (m.dev(), m.ino()) == self.inode);
        if ours {
            let _ = std::fs::remove_file(&self.cfg.path);
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
