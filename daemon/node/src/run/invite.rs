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
    parse_code_text(&text)
}

/// Parses the text of a pairing-code file or of `POST /pair`: a code, a launchpad link, or
/// `0x… network` (hash and network on one line). A byte-order mark (Notepad's UTF-8) and
/// CRLF line ends from a laptop are not part of the code. The error is for the owner.
pub fn parse_code_text(text: &str) -> Result<PairingCode, String> {
    let mut words = text.trim_start_matches('\u{feff}').split_whitespace();
    let first = words.next().unwrap_or_default();
    let network = match words.next() {
        Some(name) => Some(dkgd_formats::network::by_name(name).map_err(|e| format!("{e}"))?),
        None => None,
    };
    parse_invite(first, network).map_err(|e| e.to_string())
}

/// Stores the invite's progress in sled when it changed (the poll time aside), so that a
/// restart carries on with it. `saved` is what was stored last.
pub(super) async fn persist(
    store: std::sync::Arc<super::state::StateDb>,
    saved: &mut Option<Invite>,
    current: Invite,
) {
    let doc = Invite {
        next_poll_unix: None,
        ..current
    };
    if saved.as_ref() == Some(&doc) {
        return;
    }
    *saved = Some(doc.clone());
    match super::blocking(move || store.save_invite(&doc)).await {
        Some(Ok(())) => {}
        Some(Err(e)) => {
            tracing::warn!(error = %e, "cannot store the pairing progress (the pairing goes on)")
        }
        None => tracing::warn!("cannot store the pairing progress: the writer task failed"),
    }
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
    pub(super) code: Invitation,
    pub(super) source: PathBuf,
    pub(super) api: ApiClient,
    pub(super) data_dir: PathBuf,
    pub(super) inbox: PathBuf,
    pub(super) enr: Enr,
    pub(super) backoff: Backoff,
    /// The progress stored before a restart (sled), if any.
    pub(super) prior: Option<Invite>,
}

impl Context {
    /// The context of one invite for this box (`enr`: its ENR text); `None` (logged) when the
    /// ENR does not parse or the API client cannot be set up.
    pub(super) fn new(
        cfg: &crate::config::Config,
        enr: &str,
        code: Invitation,
        source: PathBuf,
        prior: Option<Invite>,
    ) -> Option<Self> {
        let enr = Enr::parse(enr)
            .map_err(|e| tracing::error!(error = %e, "this node's own ENR does not parse"))
            .ok()?;
        let api = ApiClient::new(cfg.api_url.clone(), dkgd_invite::Limits::default())
            .map_err(|e| tracing::error!(error = %e, "cannot set up the Obol API client"))
            .ok()?;
        Some(Self {
            code,
            source,
            api,
            data_dir: cfg.data_dir.clone(),
            inbox: cfg.inbox(),
            enr,
            backoff: cfg.backoff,
            prior,
        })
    }
}

/// What names the invite.
#[derive(Debug, Clone, Copy)]
pub(super) enum Invitation {
    /// A pairing code.
    Code(PairingCode),
    /// Zero-touch: the operator's wallet address; the API is searched for its invites.
    Operator([u8; 20]),
}

/// Starts resolving the invitation.
pub(super) fn spawn(ctx: Context) -> Running {
    let mut first = Invite {
        source: ctx.source.display().to_string(),
        ..Invite::default()
    };
    match ctx.code {
        Invitation::Code(code) => show_code(&mut first, &code),
        Invitation::Operator(_) => first.stage = "searching".to_owned(),
    }
    // The same invite as before a restart: its request counts and last error carry on.
    if let Some(prior) = ctx
        .prior
        .as_ref()
        .filter(|p| p.source == first.source && p.config_hash == first.config_hash)
    {
        first.requests = prior.requests.clone();
        first.last_error = prior.last_error.clone();
    }
    let (tx, rx) = watch::channel(first);
    let task = tokio::spawn(async move {
        let code = match ctx.code {
            Invitation::Code(code) => code,
            Invitation::Operator(address) => {
                let code = search(&ctx, &address, &tx).await;
                tx.send_modify(|s| show_code(s, &code));
                code
            }
        };
        resolve(ctx, code, tx).await;
    });
    Running { status: rx, task }
}

fn show_code(s: &mut Invite, code: &PairingCode) {
    s.config_hash = code.config_hash_hex();
    s.network = code
        .network()
        .map(|n| n.name)
        .unwrap_or("unknown")
        .to_owned();
    s.stage = "fetching".to_owned();
}

/// Zero-touch: polls the operator's definitions until exactly one qualifies (verifies, and
/// names this box's ENR or key address, or the operator's address). Two or more: all refused,
/// never a guess.
async fn search(ctx: &Context, address: &[u8; 20], tx: &watch::Sender<Invite>) -> PairingCode {
    let mut failures = 0u32;
    let shown = dkgd_crypto::k1::eip55_checksum(address);
    loop {
        let delay = match ctx.api.operator_definitions(address, api::MAX_PAGES).await {
            Err(e) => {
                failures = failures.saturating_add(1);
                note_error(tx, &e);
                e.retry_after()
                    .unwrap_or_else(|| ctx.backoff.delay(failures))
            }
            Ok(found) => {
                count(tx, "ok");
                failures = 0;
                let mut qualifying: Vec<(PairingCode, String)> = Vec::new();
                for bytes in &found {
                    if let Some(q) = qualifies(bytes, &ctx.enr, address) {
                        if !qualifying.iter().any(|(c, _)| c == &q.0) {
                            qualifying.push(q);
                        }
                    }
                }
                match qualifying.as_slice() {
                    [(code, name)] => {
                        tracing::info!(config_hash = %code.config_hash_hex(), cluster = %name, "zero-touch: found this box's cluster invite");
                        return *code;
                    }
                    [] => tx.send_modify(|s| {
                        s.last_error = None;
                        s.action = Some(format!(
                            "no cluster invite names operator {shown} or this box yet ({} found for the address): create the cluster in the launchpad with this operator",
                            found.len()
                        ));
                    }),
                    many => {
                        let list: Vec<String> = many
                            .iter()
                            .map(|(c, n)| format!("{n} ({})", c.config_hash_hex()))
                            .collect();
                        let why = format!(
                            "{} cluster invites name this box: {}; refusing all of them (dkgd never guesses which cluster to join): cancel the extra ones in the launchpad, or give this box a pairing code",
                            many.len(),
                            list.join(", ")
                        );
                        tracing::warn!("{why}");
                        tx.send_modify(|s| s.last_error = Some(why));
                    }
                }
                ctx.backoff.delay(1)
            }
        };
        let delay = with_jitter(delay);
        tx.send_modify(|s| s.next_poll_unix = Some(unix_now().saturating_add(delay.as_secs())));
        tokio::time::sleep(delay).await;
    }
}

/// A definition from an operator page that this box should join, with its code and name.
fn qualifies(bytes: &[u8], enr: &Enr, operator: &[u8; 20]) -> Option<(PairingCode, String)> {
    let def = dkgd_formats::definition::Definition::from_json(bytes).ok()?;
    let net = dkgd_formats::network::by_fork_version(&def.fork_version).ok()?;
    let code = PairingCode::new(net, def.config_hash?);
    let checked = check_definition(bytes, &code, enr).ok()?;
    let names_operator = checked
        .definition
        .operators()
        .iter()
        .any(|o| o.address.bytes() == Some(*operator));
    (checked.our_index.is_some() || names_operator).then_some((code, def.name))
}

async fn resolve(ctx: Context, code: PairingCode, tx: watch::Sender<Invite>) {
    let mut failures = 0u32;
    let mut accepted = false;
    loop {
        let delay = match ctx.api.definition(&code.config_hash).await {
            Err(e) => {
                failures = failures.saturating_add(1);
                note_error(&tx, &e);
                e.retry_after()
                    .unwrap_or_else(|| ctx.backoff.delay(failures))
            }
            Ok(bytes) => {
                count(&tx, "ok");
                match check_definition(&bytes, &code, &ctx.enr) {
                    Err(e) => {
                        failures = failures.saturating_add(1);
                        tracing::warn!(config_hash = %code.config_hash_hex(), error = %e, "refused the API's definition");
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
                        match accept(&ctx, &code, &c).await {
                            Ok(()) => {
                                accepted = true;
                                failures = 0;
                                tracing::info!(config_hash = %code.config_hash_hex(), "accepted the cluster invite (terms and operator signatures sent)");
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

async fn accept(ctx: &Context, code: &PairingCode, c: &Checked) -> Result<(), ApiError> {
    let data_dir = ctx.data_dir.clone();
    let enr = ctx.enr.to_text().to_owned();
    let version = c.definition.version.as_str().to_owned();
    let fork = c.definition.fork_version;
    let hash = code.config_hash;
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

/// Attempts at publishing a lock before giving up (logged; completion is never undone).
const PUBLISH_ATTEMPTS: u32 = 8;

/// POSTs the data dir's lock to the API in the background, retried with backoff (what
/// `charon dkg --publish` does); failures are logged, never fatal.
pub(super) fn publish_lock(cfg: &crate::config::Config) {
    let path = cfg.data_dir.join("cluster-lock.json");
    let backoff = cfg.backoff;
    let api = match ApiClient::new(cfg.api_url.clone(), dkgd_invite::Limits::default()) {
        Ok(api) => api,
        Err(e) => {
            tracing::warn!(error = %e, "cannot publish the lock: no API client");
            return;
        }
    };
    tokio::spawn(async move {
        let p = path.clone();
        let Ok(Ok(lock)) = tokio::task::spawn_blocking(move || std::fs::read(p)).await else {
            tracing::warn!(file = %path.display(), "cannot publish the lock: cannot read it");
            return;
        };
        for attempt in 1..=PUBLISH_ATTEMPTS {
            match api.publish_lock(&lock).await {
                Ok(()) => {
                    tracing::info!(api = %api.base().as_str(), "published the cluster lock to the Obol API");
                    return;
                }
                Err(e) if attempt < PUBLISH_ATTEMPTS && e.is_transient() => {
                    tracing::warn!(error = %e, attempt, "publishing the lock failed; retrying");
                    let wait = e.retry_after().unwrap_or_else(|| backoff.delay(attempt));
                    tokio::time::sleep(with_jitter(wait)).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "publishing the lock failed; the ceremony is complete regardless (publish it from the launchpad)");
                    return;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::read_code;

    const CODE: &str = "dkg1qygqqzgsqqqsyqcyq5rqwzqfpg9scrgwpugpzysnzs23v9ccrydpk8qarc0sl367ah";

    fn read(content: &[u8]) -> Result<String, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = dir.path().join("pairing-code");
        std::fs::write(&path, content).map_err(|e| e.to_string())?;
        read_code(&path).map(|c| c.config_hash_hex())
    }

    #[test]
    fn a_laptop_written_code_reads_the_same() {
        let want = format!(
            "0x{}",
            (0u8..32).map(|b| format!("{b:02x}")).collect::<String>()
        );
        assert_eq!(read(CODE.as_bytes()).as_deref(), Ok(want.as_str()));
        let windows = format!("\u{feff}{CODE}\r\n");
        assert_eq!(read(windows.as_bytes()).as_deref(), Ok(want.as_str()));
        let hash_and_net = format!("{want} hoodi\n");
        assert_eq!(read(hash_and_net.as_bytes()).as_deref(), Ok(want.as_str()));
    }

    #[test]
    fn typos_and_strangers_are_refused() {
        let typo = CODE.replace("qygq", "qygp");
        assert!(read(typo.as_bytes()).is_err());
        assert!(read(b"0x0011 nosuchnet").is_err());
        assert!(read(b"").is_err());
        let dir = tempfile::tempdir().expect("tempdir");
        let err = read_code(&dir.path().join("absent")).expect_err("no file");
        assert!(err.contains("cannot read it"), "{err}");
    }
}
