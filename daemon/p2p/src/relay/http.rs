//! The relay's HTTP endpoint, answering like charon's relay (`cmd/relay/relay.go`):
//! `GET /enr` → ENR text; `GET` anything else → JSON array of multiaddrs. It reads only a
//! request line and headers (capped at 8 KiB, 5 s per connection, 64 clients at a time),
//! answers with `Connection: close`, and never touches the swarm: it serves a snapshot.

use crate::error::Error;
use libp2p::multiaddr::Protocol;
use libp2p::Multiaddr;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

const MAX_REQUEST_BYTES: usize = 8 * 1024;
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_CLIENTS: usize = 64;

/// What the endpoint serves.
#[derive(Debug, Clone)]
pub(crate) struct Advert {
    /// Multiaddrs, each ending in `/p2p/<id>`.
    pub(crate) addrs: Vec<Multiaddr>,
    /// The ENR text, if the relay has an IPv4 TCP address.
    pub(crate) enr: Option<String>,
}

/// Binds `at` and serves until the returned task is aborted. Returns the bound address.
pub(crate) async fn serve(
    at: SocketAddr,
    advert: Arc<RwLock<Advert>>,
) -> Result<(SocketAddr, JoinHandle<()>), Error> {
    let as_multiaddr = Multiaddr::from(at.ip()).with(Protocol::Tcp(at.port()));
    let listener = TcpListener::bind(at).await.map_err(|e| Error::Listen {
        addr: as_multiaddr.clone(),
        why: format!("HTTP: {e}"),
    })?;
    let bound = listener.local_addr().map_err(|e| Error::Listen {
        addr: as_multiaddr,
        why: format!("HTTP: {e}"),
    })?;
    let slots = Arc::new(Semaphore::new(MAX_CLIENTS));
    let task = tokio::spawn(async move {
        loop {
            let (socket, peer) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "HTTP accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
                tracing::debug!(%peer, "too many HTTP clients; dropping one");
                continue;
            };
            let advert = Arc::clone(&advert);
            tokio::spawn(async move {
                let _permit = permit;
                let answered =
                    tokio::time::timeout(CONNECTION_TIMEOUT, answer(socket, &advert)).await;
                if let Ok(Err(e)) = answered {
                    tracing::debug!(%peer, error = %e, "HTTP client failed");
                }
            });
        }
    });
    Ok((bound, task))
}

async fn answer(mut socket: TcpStream, advert: &RwLock<Advert>) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        if buf.len() > MAX_REQUEST_BYTES {
            return respond(
                &mut socket,
                "431 Request Header Fields Too Large",
                "text/plain",
                b"",
            )
            .await;
        }
    }
    let line = buf
        .split(|&b| b == b'\r')
        .next()
        .and_then(|l| std::str::from_utf8(l).ok())
        .unwrap_or_default();
    let mut parts = line.split(' ');
    let (method, target) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or("/"),
    );
    if method != "GET" {
        return respond(&mut socket, "405 Method Not Allowed", "text/plain", b"").await;
    }
    let path = target.split('?').next().unwrap_or("/");
    let snapshot = advert
        .read()
        .map(|a| a.clone())
        .unwrap_or_else(|poisoned| poisoned.into_inner().clone());
    if path == "/enr" {
        return match snapshot.enr {
            Some(enr) => respond(&mut socket, "200 OK", "text/plain", enr.as_bytes()).await,
            None => respond(&mut socket, "500 Internal Server Error", "text/plain", b"").await,
        };
    }
    let list: Vec<String> = snapshot.addrs.iter().map(ToString::to_string).collect();
    let body = serde_json::to_vec(&list).unwrap_or_else(|_| b"[]".to_vec());
    respond(&mut socket, "200 OK", "application/json", &body).await
}

async fn respond(
    socket: &mut TcpStream,
    status: &str,
    kind: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).await?;
    socket.write_all(body).await?;
    socket.shutdown().await
}
