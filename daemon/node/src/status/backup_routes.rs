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

/// A 200 with `body(answer)` as JSON, or the run loop's error as a 500, or the 503 of `ask`.
fn answered<T>(
    result: Result<Result<T, String>, Reply>,
    body: impl FnOnce(T) -> serde_json::Value,
) -> Reply {
    match result {
        Ok(Ok(v)) => reply(StatusCode::OK, "application/json", body(v).to_string()),
        Ok(Err(why)) => error(StatusCode::INTERNAL_SERVER_ERROR, &why),
        Err(r) => r,
    }
}

/// `GET /backups`: `{"backups": [BackupMeta…]}`.
pub(super) async fn list(ctx: &Context) -> Reply {
    let result = ask(ctx, |reply| Command::ListBackups { reply }).await;
    answered(result, |all| serde_json::json!({ "backups": all }))
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
    let result = ask(ctx, |reply| Command::SetBackupRecipients {
        recipients,
        reply,
    })
    .await;
    answered(result, |n| serde_json::json!({ "recipients": n }))
}

/// `POST /backup/acknowledge-restore`: `{"acknowledged": bool}` (false: no restore).
pub(super) async fn acknowledge(ctx: &Context) -> Reply {
    let result = ask(ctx, |reply| Command::AcknowledgeRestore { reply }).await;
    answered(result, |done| serde_json::json!({ "acknowledged": done }))
}
