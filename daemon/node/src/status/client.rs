//! The client end of the status socket (hyper over a Unix socket), for `dkgd status` and
//! `dkgd pair`: one request per connection, bounded in time and size.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::net::UnixStream;

/// Largest answer read.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;
/// Time for the whole exchange.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Why the daemon could not be asked. Every variant names the socket.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// Nothing listens there (no file, or a stale one).
    #[error("the dkgd daemon is not running: cannot connect to {}: {source}", socket.display())]
    NotRunning {
        /// The socket path.
        socket: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The socket refuses this user.
    #[error("no permission to connect to {}: {source}", socket.display())]
    NoPermission {
        /// The socket path.
        socket: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Something answered that does not speak HTTP/1.1.
    #[error("{} gave an unexpected answer (not HTTP: {what})", socket.display())]
    NotHttp {
        /// The socket path.
        socket: PathBuf,
        /// What hyper saw.
        what: String,
    },
    /// Connected, but the exchange failed or took too long.
    #[error("talking to the daemon at {}: {what}", socket.display())]
    Exchange {
        /// The socket path.
        socket: PathBuf,
        /// What went wrong.
        what: String,
    },
}

/// One answer: status code and body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status.
    pub code: StatusCode,
    /// The body (at most [`MAX_ANSWER_BYTES`]).
    pub body: Bytes,
}

impl Answer {
    /// The `error` field of a JSON error body, or the body as text.
    pub fn error_text(&self) -> String {
        serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&self.body).trim().to_owned())
    }
}

/// Sends one request (`body` as text/plain when given) and reads the answer.
pub async fn request(
    socket: &Path,
    method: Method,
    path: &str,
    body: Option<String>,
) -> Result<Answer, ClientError> {
    let exchange = |what: String| ClientError::Exchange {
        socket: socket.to_path_buf(),
        what,
    };
    let stream = UnixStream::connect(socket).await.map_err(|source| {
        let socket = socket.to_path_buf();
        match source.kind() {
            std::io::ErrorKind::PermissionDenied => ClientError::NoPermission { socket, source },
            std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
                ClientError::NotRunning { socket, source }
            }
            _ => ClientError::Exchange {
                socket,
                what: format!("cannot connect: {source}"),
            },
        }
    })?;
    let work = async {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| exchange(format!("HTTP handshake: {e}")))?;
        let driver = tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, "localhost");
        if body.is_some() {
            req = req.header(CONTENT_TYPE, "text/plain; charset=utf-8");
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| exchange(format!("building the request: {e}")))?;
        let resp = sender.send_request(req).await.map_err(|e| {
            if e.is_parse() || e.is_parse_status() {
                ClientError::NotHttp {
                    socket: socket.to_path_buf(),
                    what: e.to_string(),
                }
            } else {
                exchange(format!("no answer: {e}"))
            }
        })?;
        let code = resp.status();
        let body = Limited::new(resp.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|e| exchange(format!("reading the answer: {e}")))?
            .to_bytes();
        driver.abort();
        Ok(Answer { code, body })
    };
    tokio::time::timeout(TIMEOUT, work)
        .await
        .map_err(|_| exchange(format!("no answer within {} s", TIMEOUT.as_secs())))?
}
