//! The backup endpoints of the status socket. The run loop owns the state database, so each
//! request becomes a [`Command`] and waits (bounded) for the loop's answer.

use super::routes::{error, reply, text_body, Context, Reply};
use super::Command;
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use std::time::Duration;
use tokio::sync::oneshot;

/// Largest `POST /backup/recipients` body (a handful of 62-character keys).
const MAX_RECIPIENTS_BODY: usize = 4096;
/// How long a request waits for the run loop (it may be busy writing a backup).
const ANSWER_WAIT: Duration = Duration::from_secs(4);

/// Sends `make(reply)` to the run loop and waits for its answer.
async fn ask<T>(
    ctx: &Context,
    make: impl FnOnce(oneshot::Sender<T>) -> Command,
) -> Result<T, Reply> {
    let Some(commands) = &ctx.commands else {
        return Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "this socket does not manage backups",
        ));
    };
    let (tx, rx) = oneshot::channel();
    let busy = || {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the daemon is busy (or stopping); retry in a moment",
        )
    };
    commands.try_send(make(tx)).map_err(|_| busy())?;
    match tokio::time::timeout(ANSWER_WAIT, rx).await {
        Ok(Ok(answer)) => Ok(answer),
        _ => Err(busy()),
    }
}

fn failed(why: &str) -> Reply {
    error(StatusCode::INTERNAL_SERVER_ERROR, why)
}

/// `GET /backups`: `{"backups": [BackupMeta…]}`.
pub(super) async fn list(ctx: &Context) -> Reply {
    match ask(ctx, |reply| Command::ListBackups { reply }).await {
        Ok(Ok(all)) => {
            let body = serde_json::json!({ "backups": all });
            reply(StatusCode::OK, "application/json", body.to_string())
        }
        Ok(Err(why)) => failed(&why),
        Err(r) => r,
    }
}

/// `POST /backup/recipients`: the body lists `age1…` keys (commas or white space between);
/// they replace the ones set through the socket before (configured ones stay).
pub(super) async fn set_recipients(req: Request<Incoming>, ctx: &Context) -> Reply {
    let text = match text_body(req, MAX_RECIPIENTS_BODY).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let recipients: Vec<String> = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    if recipients.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "no recipient given: send one or more age public keys (age1…)",
        );
    }
    if let Err(e) = dkgd_backup::parse_recipients(&recipients) {
        return error(StatusCode::BAD_REQUEST, &format!("backup recipient: {e}"));
    }
    match ask(ctx, |reply| Command::SetBackupRecipients {
        recipients,
        reply,
    })
    .await
    {
        Ok(Ok(n)) => {
            let body = serde_json::json!({ "recipients": n });
            reply(StatusCode::OK, "application/json", body.to_string())
        }
        Ok(Err(why)) => failed(&why),
        Err(r) => r,
    }
}

/// `POST /backup/acknowledge-restore`: `{"acknowledged": bool}` (false: no restore).
pub(super) async fn acknowledge(ctx: &Context) -> Reply {
    match ask(ctx, |reply| Command::AcknowledgeRestore { reply }).await {
        Ok(Ok(done)) => {
            let body = serde_json::json!({ "acknowledged": done });
            reply(StatusCode::OK, "application/json", body.to_string())
        }
        Ok(Err(why)) => failed(&why),
        Err(r) => r,
    }
}
