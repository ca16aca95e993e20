//! Pairing codes in the daemon: a code in `<inbox>/pairing-code` (or the configured
//! `pairing_file`, e.g. on the boot partition) names a cluster invite; a task resolves it
//! against the Obol API until the definition is fully signed, then drops the checked
//! definition into the inbox, where the ordinary inbox path adopts it (checked again).
//!
//! ```text
//!  pairing-code ─read─▶ PairingCode ─spawn─▶ fetch ─check─┬─ complete ─▶ inbox/cluster-definition.json
//!                                             ▲           ├─ ours by address, not signed ─▶ terms + PUT acceptance
//!                                             └─ backoff ─┴─ others pending ─▶ "operator 2 must sign" (status)
//! ```
//!
//! The API is untrusted (dkgd-invite checks everything); nothing secret is sent; the key is
//! read only for the moment of signing an acceptance.

use super::definition::DEFINITION_FILE;
use crate::lifecycle::Backoff;
use crate::status::model::Invite;
use dkgd_formats::enr::Enr;
use dkgd_formats::pairing::{parse_invite, PairingCode};
use dkgd_invite::{api, check_definition, ApiClient, ApiError, Checked};
use rand_core::RngCore;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

/// The pairing code's file name in the inbox.
pub const PAIRING_FILE: &str = "pairing-code";
/// Largest pairing-code file read.
const MAX_CODE_FILE: u64 = 4096;

/// Reads and parses a pairing-code file (a code, a launchpad link or `0x… network`).
/// Blocking. The error is for the owner.
pub fn read_code(path: &Path) -> Result<PairingCode, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| format!("cannot read it: {e}"))?;
    let mut text = String::new();
    file.take(MAX_CODE_FILE)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read it as text: {e}"))?;
    // `0x… hoodi` (hash and network on one line) is accepted as well.
    let mut words = text.split_whitespace();
    let first = words.next().unwrap_or_default();
    let network = match words.next() {
        Some(name) => Some(dkgd_formats::network::by_name(name).map_err(|e| format!("{e}"))?),
        None => None,
    };
    parse_invite(first, network).map_err(|e| e.to_string())
}

/// A running resolution of one code.
pub(super) struct Running {
    /// Its status, updated by the task.
    pub(super) status: watch::Receiver<Invite>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What the task needs.
pub(super) struct Context {
    pub(super) code: PairingCode,
    pub(super) source: PathBuf,
    pub(super) api: ApiClient,
    pub(super) data_dir: PathBuf,
    pub(super) inbox: PathBuf,
    pub(super) enr: Enr,
    pub(super) backoff: Backoff,
}

/// Starts resolving `ctx.code`.
pub(super) fn spawn(ctx: Context) -> Running {
    let network = ctx.code.network().map(|n| n.name).unwrap_or("unknown");
    let first = Invite {
        source: ctx.source.display().to_string(),
        config_hash: ctx.code.config_hash_hex(),
        network: network.to_owned(),
        stage: "fetching".to_owned(),
        ..Invite::default()
    };
    let (tx, rx) = watch::channel(first);
    let task = tokio::spawn(resolve(ctx, tx));
    Running { status: rx, task }
}

async fn resolve(ctx: Context, tx: watch::Sender<Invite>) {
    let mut failures = 0u32;
    let mut accepted = false;
    loop {
        let delay = match ctx.api.definition(&ctx.code.config_hash).await {
            Err(e) => {
                failures = failures.saturating_add(1);
                note_error(&tx, &e);
                e.retry_after()
                    .unwrap_or_else(|| ctx.backoff.delay(failures))
            }
            Ok(bytes) => {
                count(&tx, "ok");
                match check_definition(&bytes, &ctx.code, &ctx.enr) {
                    Err(e) => {
                        failures = failures.saturating_add(1);
                        tracing::warn!(config_hash = %ctx.code.config_hash_hex(), error = %e, "refused the API's definition");
                        tx.send_modify(|s| s.last_error = Some(e.to_string()));
                        ctx.backoff.delay(failures)
                    }
                    Ok(c) if c.is_complete() => match write_definition(&ctx, &c).await {
                        Ok(()) => {
                            tx.send_modify(|s| {
                                show(s, &c);
                                s.stage = "complete".into();
                                s.next_poll_unix = None;
                                s.action = None;
                                s.last_error = None;
                            });
                            return;
                        }
                        Err(why) => {
                            failures = failures.saturating_add(1);
                            tx.send_modify(|s| s.last_error = Some(why));
                            ctx.backoff.delay(failures)
                        }
                    },
                    Ok(c) if c.self_operated && !c.we_signed && !accepted => {
                        tx.send_modify(|s| {
                            show(s, &c);
                            s.stage = "accepting".into();
                        });
                        match accept(&ctx, &c).await {
                            Ok(()) => {
                                accepted = true;
                                failures = 0;
                                tracing::info!(config_hash = %ctx.code.config_hash_hex(), "accepted the cluster invite (terms and operator signatures sent)");
                                continue;
                            }
                            Err(e) => {
                                failures = failures.saturating_add(1);
                                note_error(&tx, &e);
                                e.retry_after()
                                    .unwrap_or_else(|| ctx.backoff.delay(failures))
                            }
                        }
                    }
                    Ok(c) => {
                        failures = 0;
                        tx.send_modify(|s| {
                            show(s, &c);
                            s.stage = "awaiting-signatures".into();
                            s.last_error = None;
                            s.action = owner_action(&c, &ctx.enr);
                        });
                        ctx.backoff.delay(1)
                    }
                }
            }
        };
        let delay = with_jitter(delay);
        tx.send_modify(|s| s.next_poll_unix = Some(unix_now().saturating_add(delay.as_secs())));
        tokio::time::sleep(delay).await;
    }
}

fn show(s: &mut Invite, c: &Checked) {
    s.cluster_name = Some(c.definition.name.clone());
    s.operators = u32::try_from(c.operators.len()).unwrap_or(u32::MAX);
    s.signed = u32::try_from(c.signed()).unwrap_or(u32::MAX);
    s.missing = c
        .missing()
        .map(|o| format!("operator {} ({})", o.index, o.address))
        .collect();
}

/// What the owner must do when the box cannot accept by itself.
fn owner_action(c: &Checked, enr: &Enr) -> Option<String> {
    if c.we_signed {
        return None;
    }
    let who = match c.our_index.and_then(|i| c.operators.get(i)) {
        Some(o) => format!("operator {}", o.address),
        None => "this box's operator (one of the operators still to accept)".to_owned(),
    };
    Some(format!(
        "{who} must add this box's ENR {} in the launchpad and sign",
        enr.to_text()
    ))
}

async fn accept(ctx: &Context, c: &Checked) -> Result<(), ApiError> {
    let data_dir = ctx.data_dir.clone();
    let enr = ctx.enr.to_text().to_owned();
    let version = c.definition.version.as_str().to_owned();
    let fork = c.definition.fork_version;
    let hash = ctx.code.config_hash;
    let signed = tokio::task::spawn_blocking(move || {
        super::identity::with_key(&data_dir, "dkgd run (accepting an invite)", |key| {
            (
                api::terms_acceptance(key),
                api::acceptance(key, &enr, &version, &fork, &hash),
            )
        })
    })
    .await;
    let unavailable = |why: String| ApiError::BadAnswer {
        url: ctx.api.base().as_str().to_owned(),
        why,
    };
    let (terms, acceptance) = match signed {
        Ok(Ok((terms, Ok(acceptance)))) => (terms, acceptance),
        Ok(Ok((_, Err(e)))) => {
            return Err(unavailable(format!("cannot sign for this network: {e}")))
        }
        Ok(Err(e)) => {
            return Err(unavailable(format!(
                "cannot read the identity key to sign: {e}"
            )))
        }
        Err(_) => return Err(unavailable("signing task failed".into())),
    };
    ctx.api.accept_terms(&terms).await?;
    ctx.api.accept(&hash, &acceptance).await.map(|_| ())
}

async fn write_definition(ctx: &Context, c: &Checked) -> Result<(), String> {
    let json = c
        .definition
        .to_json()
        .map_err(|e| format!("cannot write the definition: {e}"))?;
    let inbox = ctx.inbox.clone();
    let r = tokio::task::spawn_blocking(move || {
        dkgd_store::atomic::create_new(&inbox, DEFINITION_FILE, &json, 0o644)
    })
    .await
    .map_err(|_| "writing task failed".to_owned())?;
    match r {
        Ok(path) => {
            tracing::info!(file = %path.display(), "every operator signed: the cluster definition is in the inbox");
            Ok(())
        }
        Err(dkgd_store::Error::AlreadyExists { .. }) => Ok(()),
        Err(e) => Err(format!("cannot write the definition into the inbox: {e}")),
    }
}

fn note_error(tx: &watch::Sender<Invite>, e: &ApiError) {
    let outcome = match e {
        ApiError::NotFound { .. } => "not-found",
        ApiError::RetryLater { .. } => "retry-later",
        ApiError::Unreachable { .. } | ApiError::Timeout { .. } => "unreachable",
        ApiError::Status { status, .. } if *status >= 500 => "server-error",
        _ => "refused",
    };
    count(tx, outcome);
    tracing::warn!(error = %e, "Obol API request failed");
    tx.send_modify(|s| s.last_error = Some(e.to_string()));
}

fn count(tx: &watch::Sender<Invite>, outcome: &str) {
    tx.send_modify(|s| *s.requests.entry(outcome.to_owned()).or_default() += 1);
}

/// `d` plus up to 20 %, so boxes paired together do not poll in step.
fn with_jitter(d: Duration) -> Duration {
    let r = rand_core::OsRng.next_u32() % 1000;
    d + d.mul_f64(f64::from(r) / 5000.0)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
