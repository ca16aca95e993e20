//! The relay's HTTP endpoint, answering like charon's relay (`cmd/relay/relay.go`):
//! `GET /enr` → ENR text; `GET` anything else → JSON array of multiaddrs. HTTP/1.1 by hyper:
//! one request per connection, heads capped at 8 KiB and due within 2 s, 5 s per connection,
//! 64 clients at a time; it never touches the swarm: it serves a snapshot.

use crate::error::Error;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use libp2p::multiaddr::Protocol;
use libp2p::Multiaddr;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

const MAX_REQUEST_BYTES: usize = 8 * 1024;
const HEAD_TIMEOUT: Duration = Duration::from_secs(2);
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
                    tokio::time::timeout(CONNECTION_TIMEOUT, answer(socket, advert)).await;
                if let Ok(Err(e)) = answered {
                    tracing::debug!(%peer, error = %e, "HTTP client failed");
                }
            });
        }
    });
    Ok((bound, task))
}

/// Serves one connection (one request, then close) with hyper.
async fn answer(socket: TcpStream, advert: Arc<RwLock<Advert>>) -> Result<(), hyper::Error> {
    let service = service_fn(move |req: Request<Incoming>| {
        let reply = route(&req, &advert);
        async move { Ok::<_, Infallible>(reply) }
    });
    let mut builder = http1::Builder::new();
    builder
        .keep_alive(false)
        .max_buf_size(MAX_REQUEST_BYTES)
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT);
    builder
        .serve_connection(TokioIo::new(socket), service)
        .await
}

fn route(req: &Request<Incoming>, advert: &RwLock<Advert>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET {
        return reply(StatusCode::METHOD_NOT_ALLOWED, "text/plain", Vec::new());
    }
    let snapshot = advert
        .read()
        .map(|a| a.clone())
        .unwrap_or_else(|poisoned| poisoned.into_inner().clone());
    if req.uri().path() == "/enr" {
        return match snapshot.enr {
            Some(enr) => reply(StatusCode::OK, "text/plain", enr.into_bytes()),
            None => reply(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", Vec::new()),
        };
    }
    let list: Vec<String> = snapshot.addrs.iter().map(ToString::to_string).collect();
    let body = serde_json::to_vec(&list).unwrap_or_else(|_| b"[]".to_vec());
    reply(StatusCode::OK, "application/json", body)
}

fn reply(code: StatusCode, kind: &'static str, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = code;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    r
}
