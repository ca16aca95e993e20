//! What the status socket answers, one request at a time (the HTTP framing is hyper's):
//!
//! * `GET|HEAD /status`, `/health`, `/metrics`: read-only views of the latest snapshot;
//! * `POST /pair` (body: a pairing code, a launchpad link or `0x… network`): checks the code
//!   and drops it into the inbox as `pairing-code`, where the run loop picks it up like a
//!   file an owner put there. Only root and the daemon's own user may pair (the socket's
//!   group is for monitoring); a box that is not waiting for a definition, or is already
//!   resolving a code, answers 409 and writes nothing;
//! * `GET /backups`, `POST /backup/recipients` (body: `age1…` keys), `POST
//!   /backup/acknowledge-restore`: answered by the run loop, which owns the state database
//!   (`backup_routes`); the POSTs, too, only for root and the daemon's user.

use super::{metrics, SnapshotRx};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use std::path::{Path, PathBuf};

/// Largest `POST /pair` body (a launchpad link with a long host fits easily).
pub const MAX_PAIR_BODY: usize = 1024;

/// A complete response.
pub(super) type Reply = Response<Full<Bytes>>;

/// What a request may use besides the snapshot.
#[derive(Debug, Clone)]
pub(super) struct Context {
    /// The snapshots.
    pub(super) rx: SnapshotRx,
    /// Where `POST /pair` drops the code; `None`: pairing through the socket is off.
    pub(super) inbox: Option<PathBuf>,
    /// Where backup requests go; `None`: not offered.
    pub(super) commands: Option<tokio::sync::mpsc::Sender<super::Command>>,
    /// The connecting process's user, from `SO_PEERCRED`.
    pub(super) peer_uid: Option<u32>,
}

/// A response with `body`, no caching.
pub(super) fn reply(code: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Reply {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = code;
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(CONTENT_TYPE, v);
    }
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A small JSON error body, `{"error": "..."}`.
pub(super) fn error(code: StatusCode, what: &str) -> Reply {
    let body = serde_json::json!({ "error": what }).to_string();
    reply(code, "application/json", body)
}

fn not_allowed(allow: &'static str, what: &str) -> Reply {
    let mut r = error(StatusCode::METHOD_NOT_ALLOWED, what);
    r.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    r
}

/// Answers one request.
pub(super) async fn route(req: Request<Incoming>, ctx: &Context) -> Reply {
    let path = req.uri().path().to_owned();
    match path.as_str() {
        "/status" | "/health" | "/metrics" => {
            let head_only = req.method() == Method::HEAD;
            if req.method() != Method::GET && !head_only {
                return not_allowed("GET, HEAD", "read-only: use GET");
            }
            read_only(&path, ctx)
        }
        "/pair" => {
            if req.method() != Method::POST {
                return not_allowed("POST", "POST the pairing code as the body");
            }
            pair(req, ctx).await
        }
        "/backups" => {
            if req.method() != Method::GET {
                return not_allowed("GET", "use GET");
            }
            super::backup_routes::list(ctx).await
        }
        "/backup/recipients" | "/backup/acknowledge-restore" => {
            if req.method() != Method::POST {
                return not_allowed("POST", "use POST");
            }
            if let Some(refused) = owner_only(ctx, "change the backups") {
                return refused;
            }
            if path == "/backup/recipients" {
                super::backup_routes::set_recipients(req, ctx).await
            } else {
                super::backup_routes::acknowledge(ctx).await
            }
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "no such endpoint; try /status, /health, /metrics, /backups (GET) or /pair, \
             /backup/recipients, /backup/acknowledge-restore (POST)",
        ),
    }
}

fn read_only(path: &str, ctx: &Context) -> Reply {
    let status = ctx.rx.borrow().status_now();
    match path {
        "/status" => {
            let body = serde_json::to_vec_pretty(&status).unwrap_or_default();
            reply(StatusCode::OK, "application/json", body)
        }
        "/health" => {
            let code = if status.healthy() {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            let body = serde_json::json!({ "state": status.state, "healthy": status.healthy() });
            reply(code, "application/json", body.to_string())
        }
        _ => reply(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            metrics::render(&status),
        ),
    }
}

/// `POST /pair`.
async fn pair(req: Request<Incoming>, ctx: &Context) -> Reply {
    let Some(inbox) = ctx.inbox.clone() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "this socket does not take pairing codes",
        );
    };
    if let Some(refused) = owner_only(ctx, "pair this box") {
        return refused;
    }
    let text = match text_body(req, MAX_PAIR_BODY).await {
        Ok(t) => t,
        Err(refused) => return refused,
    };
    let code = match crate::run::invite::parse_code_text(&text) {
        Ok(c) => c,
        Err(why) => return error(StatusCode::BAD_REQUEST, &format!("pairing code: {why}")),
    };
    let status = ctx.rx.borrow().status_now();
    if let Some(inv) = &status.invite {
        let same = inv.config_hash == code.config_hash_hex();
        let what = if same {
            "this box is already resolving that invite"
        } else {
            "this box is already resolving another invite"
        };
        return error(
            StatusCode::CONFLICT,
            &format!(
                "{what} ({} from {}); to change it, remove that file and restart dkgd",
                inv.config_hash, inv.source
            ),
        );
    }
    if status.state != "awaiting-definition" {
        return error(
            StatusCode::CONFLICT,
            &format!(
                "this box is {}: it takes a pairing code only while it waits for a cluster definition (a complete box never joins another cluster)",
                status.state
            ),
        );
    }
    let line = format!("{}\n", code.encode());
    let written = tokio::task::spawn_blocking(move || drop_code(&inbox, line.as_bytes())).await;
    match written {
        Ok(Ok(file)) => {
            tracing::info!(file = %file.display(), config_hash = %code.config_hash_hex(), "pairing code received on the status socket");
            let body = serde_json::json!({
                "config_hash": code.config_hash_hex(),
                "network": code.network().map(|n| n.name).unwrap_or("unknown"),
                "file": file.display().to_string(),
            });
            reply(StatusCode::ACCEPTED, "application/json", body.to_string())
        }
        Ok(Err(dkgd_store::Error::AlreadyExists { path })) => error(
            StatusCode::CONFLICT,
            &format!(
                "a pairing code is already waiting in {}: remove it first",
                path.display()
            ),
        ),
        Ok(Err(e)) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("cannot store the pairing code: {e}"),
        ),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot store the pairing code: the writer task failed",
        ),
    }
}

/// `None` when the caller is root or the daemon's own user; otherwise the 403 to send. The
/// socket's group may read, never change: pairing picks the cluster the key joins, and a
/// backup recipient can decrypt the key.
pub(super) fn owner_only(ctx: &Context, what: &str) -> Option<Reply> {
    let me = nix::unistd::geteuid().as_raw();
    match ctx.peer_uid {
        Some(uid) if uid == 0 || uid == me => None,
        other => {
            let who = other.map_or("an unknown user".to_owned(), |u| format!("uid {u}"));
            Some(error(
                StatusCode::FORBIDDEN,
                &format!("{who} may read the status but not {what}: run the command as root or as the daemon's user (uid {me})"),
            ))
        }
    }
}

/// The request body as UTF-8 text of at most `cap` bytes, or the 400/413 to send.
pub(super) async fn text_body(req: Request<Incoming>, cap: usize) -> Result<String, Reply> {
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the request body is larger than {cap} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cap as u64) {
        return Err(too_large());
    }
    let body = match Limited::new(req.into_body(), cap).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
        Err(_) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "the request body was cut short",
            ))
        }
    };
    String::from_utf8(body.to_vec()).map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            "the request body is not UTF-8 text",
        )
    })
}

/// Writes `inbox/pairing-code` atomically, never replacing one.
fn drop_code(inbox: &Path, line: &[u8]) -> Result<PathBuf, dkgd_store::Error> {
    dkgd_store::atomic::create_new(inbox, crate::run::invite::PAIRING_FILE, line, 0o600)
}
