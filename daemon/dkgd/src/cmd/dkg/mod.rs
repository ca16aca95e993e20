//! `dkgd dkg`: this node's part of a DKG ceremony over libp2p (issue 5).
//!
//! Before any network: the arguments parse, the data dir holds no artifacts
//! (`commit::preflight`), the key lock is taken, the definition parses and a `Plan` is built
//! for our key. Then `dkgd_node::session` runs it over the network (host, driver, key-lock
//! heartbeat): the artifacts are staged, published once every peer staged theirs, and the
//! data dir is verified as `dkgd verify` would. Three outcomes (README "Exit codes"): 0, complete on every node; 4,
//! complete here but not confirmed by every peer at the very end; 1 (or the store error's
//! code), failed with nothing published here (staged files set aside unpublished).

mod outcome;
mod writer;

use crate::cli::DkgArgs;
use crate::exit::{Code, Failure};
use anyhow::anyhow;
use dkgd_ceremony::wire::Profile;
use dkgd_ceremony::{Ceremony, CeremonyConfig, Plan};
use dkgd_crypto::keystore::KdfStrength;
use dkgd_formats::definition::Definition;
use dkgd_formats::enr::PeerId;
use dkgd_node::driver::{self, CommitFn, DriverError};
use dkgd_node::harden;
use dkgd_node::run::progress::{ProgressEvent, COMMIT_STEP};
use dkgd_node::session::{self, Session, SessionError};
use dkgd_p2p::{HostConfig, Multiaddr, RelaySpec};
use dkgd_store::commit;
use dkgd_store::DataDir;
use rand_core::{OsRng, SeedableRng};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use writer::DataDirWriter;

/// Runs `dkgd dkg`.
pub(crate) fn run(args: &DkgArgs) -> Result<Code, Failure> {
    let listen = args
        .listen
        .iter()
        .map(|t| {
            t.parse::<Multiaddr>()
                .map_err(|e| usage(anyhow!("--listen {t:?} is not a multiaddr: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut peer_addrs = Vec::new();
    for text in &args.peer_addr {
        let (id, addr) = text
            .split_once('=')
            .ok_or_else(|| usage(anyhow!("--peer-addr {text:?}: expected PEERID=MULTIADDR")))?;
        let id = id
            .parse::<PeerId>()
            .map_err(|e| usage(anyhow!("--peer-addr {text:?}: bad peer ID: {e}")))?;
        let addr = addr
            .parse::<Multiaddr>()
            .map_err(|e| usage(anyhow!("--peer-addr {text:?}: bad multiaddr: {e}")))?;
        peer_addrs.push((id, addr));
    }
    let relays = args
        .relay
        .iter()
        .map(|t| RelaySpec::parse(t).map_err(|e| usage(anyhow!("--relay {t:?}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;

    super::harden_process()?;
    let dir: PathBuf = args.data_dir.clone();
    // Never created here: a mistyped --data-dir must not become an empty one (exit 2).
    let data_dir = DataDir::open(&dir).map_err(|e| store_failure(e, &dir))?;
    let mut lock = data_dir
        .lock_key("dkgd dkg")
        .map_err(|e| store_failure(e, &dir))?;
    // Under the key lock. A commit interrupted by a crash: publish it if it was sealed, else set it aside
    // (never deleted: it holds key shares).
    match commit::recover(&dir) {
        Ok(Some(aside)) => tracing::warn!(
            path = %aside.display(),
            "an interrupted artifact commit was set aside (not used; remove it once you no longer need it)"
        ),
        Ok(None) => {}
        Err(e) => return Err(store_failure(e, &dir)),
    }
    if let Some(hash) = &args.publish_kept {
        return outcome::publish_kept(&dir, &args.definition, hash.as_deref());
    }
    if let Err(e) = commit::preflight(&dir) {
        return outcome::already_complete(&dir, &args.definition)
            .map_or_else(|| Err(store_failure(e, &dir)), Ok);
    }
    let key = Arc::new(lock.read_key().map_err(|e| store_failure(e, &dir))?);
    let _ = harden::lock_in_memory(&*key, "identity key");

    let def_bytes = super::input::read_capped(&args.definition)?;
    let definition = Definition::from_json(&def_bytes)
        .map_err(|e| usage(anyhow!("{}: {e}", args.definition.display())))?;
    let peers = dkgd_p2p::cluster_peers(&definition)
        .map_err(|e| usage(anyhow!("{}: {e}", args.definition.display())))?;
    let negotiate = args.compat == "auto";
    let profile = if negotiate {
        Profile::for_definition(&definition)
    } else {
        let name = &args.compat;
        Profile::by_name(name).ok_or_else(|| {
            usage(anyhow!(
                "--compat {name:?}: unknown charon version (known: auto, v1.7 to v1.11)"
            ))
        })?
    };
    if !profile.accepts_definition(definition.version) {
        return Err(usage(anyhow!(
            "charon {} does not accept a {} definition; choose another --compat",
            profile.sync_version,
            definition.version.as_str()
        )));
    }
    let step_timeout = args.timeout_secs.map_or_else(
        || default_step_timeout(peers.len(), definition.num_validators),
        Duration::from_secs,
    );
    let plan = Plan::new(definition, &key.public_key())
        .map_err(|e| usage(anyhow!("{}: {e}", args.definition.display())))?;
    super::preflight::check_data_dir(&dir, &plan)?;
    let kdf = if args.insecure_keystores {
        KdfStrength::InsecureTestOnly
    } else {
        KdfStrength::Standard
    };
    let mut cfg = CeremonyConfig::new(kdf);
    cfg.step_timeout = step_timeout;
    cfg.negotiate = negotiate;
    cfg.sync_timers.peer_loss_timeout = Duration::from_secs(args.peer_loss_timeout_secs);
    cfg.connect_timeout = args.connect_timeout_secs.map(Duration::from_secs);
    tracing::info!(
        profile = profile.sync_version,
        negotiate,
        step_timeout_s = step_timeout.as_secs(),
        operators = peers.len(),
        "ceremony settings"
    );
    cfg.unix_time_at_origin = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let rng = rand_chacha::ChaCha20Rng::from_rng(OsRng)
        .map_err(|e| Failure::new(Code::Failed, anyhow!("{e}"), "the OS RNG failed"))?;
    let ceremony = Ceremony::new(
        plan,
        Arc::clone(&key),
        profile,
        cfg,
        Box::new(rng),
        dkgd_ceremony::wire::Instant::ZERO,
    )
    .map_err(|e| usage(anyhow!("{e}")))?;

    let mut host_cfg = HostConfig::new(peers.clone());
    host_cfg.listen = listen;
    host_cfg.peer_addrs = peer_addrs;
    host_cfg.relays = relays;
    host_cfg.protocols =
        driver::protocols(profile, negotiate).map_err(|e| usage(anyhow!("{e}")))?;
    let commit_fn: CommitFn = Arc::new(DataDirWriter::new(&dir));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::new(Code::Failed, e, "the system refused to start threads"))?;
    let progress = Progress(args.progress);
    let n = peers.len();
    let session = Session {
        key,
        host: host_cfg,
        peers,
        negotiate,
        commit: commit_fn,
        observer: Arc::new(move |r| progress.report(r)),
        on_connected: Arc::new(move |peers, total| {
            progress.emit(&ProgressEvent::Connected { peers, total });
        }),
    };
    let result = runtime.block_on(session::run_session(ceremony, session, &mut lock));
    runtime.shutdown_timeout(Duration::from_secs(1));
    let outcome = match result {
        Ok(o) => o,
        Err(SessionError::HostStart(e)) => {
            return Err(Failure::new(
                Code::Usage,
                e,
                "check --listen (a free port?) and --relay",
            ))
        }
        Err(SessionError::Ceremony { error, relay_down }) => {
            progress.failed(&error);
            return Err(outcome::failed(error, &dir, &args.definition, relay_down));
        }
    };

    tracing::info!(
        nodes = n,
        profile = outcome.profile.name,
        "ceremony complete on all nodes"
    );
    for peer in &outcome.skipped_shutdown_ready {
        tracing::info!(
            peer = %peer,
            "that operator ended without the shutdown-ready step (charon < v1.10); it had written its artifacts"
        );
    }
    let report = super::verify::verify_data_dir(&dir, false)?;
    if report.all_passed() {
        if progress.0 {
            let lock_hash = outcome::lock_hash_in(&dir)
                .map(|h| format!("0x{h}"))
                .unwrap_or_default();
            progress.emit(&ProgressEvent::Traffic {
                sent_bytes: outcome.traffic.sent,
                received_bytes: outcome.traffic.received,
            });
            progress.emit(&ProgressEvent::Done { lock_hash });
        } else {
            println!(
                "dkg complete on all {n} nodes (every peer confirmed its commit; charon {} wire profile): artifacts in {}",
                outcome.profile.sync_version,
                dir.display()
            );
        }
        Ok(Code::Ok)
    } else {
        Err(Failure::new(
            Code::Failed,
            anyhow!("the written data dir does not verify"),
            format!("run `dkgd verify {}` for details", dir.display()),
        ))
    }
}

/// The default bound on each step: 60 s, growing by 150 ms per operator × validator above
/// 200 (the FROST and signing work of a step grows with both; a Pi is ~4× slower than the
/// machines the figures in the README were taken on).
fn default_step_timeout(operators: usize, validators: u64) -> Duration {
    let work = u64::try_from(operators)
        .unwrap_or(u64::MAX)
        .saturating_mul(validators);
    Duration::from_secs(60)
        + Duration::from_millis(150)
            .saturating_mul(u32::try_from(work.saturating_sub(200)).unwrap_or(u32::MAX))
}

/// `--progress-json`: one [`ProgressEvent`] per stdout line for a supervising `dkgd run`.
#[derive(Clone, Copy)]
struct Progress(bool);

impl Progress {
    fn emit(self, event: &ProgressEvent) {
        if self.0 {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            // A supervisor that went away must not stop the ceremony.
            let _ = out.write_all(event.to_line().as_bytes());
            let _ = out.flush();
        }
    }

    fn report(self, report: driver::Report) {
        let to_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let event = match report {
            driver::Report::Step { step, done, of } => ProgressEvent::Step {
                step: step.to_string(),
                done: to_u32(done),
                total: to_u32(of),
            },
            driver::Report::Committing => ProgressEvent::Step {
                step: COMMIT_STEP.to_owned(),
                done: 0,
                total: 1,
            },
            driver::Report::Committed => ProgressEvent::Step {
                step: COMMIT_STEP.to_owned(),
                done: 1,
                total: 1,
            },
            driver::Report::Profile {
                name,
                switched_from,
            } => ProgressEvent::Profile {
                name: name.to_owned(),
                switched_from: switched_from.map(str::to_owned),
            },
            driver::Report::PeerVersion { peer, version } => ProgressEvent::PeerVersion {
                operator: u32::from(peer.get()),
                version,
            },
            driver::Report::PeerSkippedShutdownReady { peer } => {
                ProgressEvent::PeerSkippedShutdownReady {
                    operator: u32::from(peer.get()),
                }
            }
            _ => return,
        };
        self.emit(&event);
    }

    fn failed(self, e: &DriverError) {
        let (step, peer) = match e {
            DriverError::Aborted { error, culprit, .. } => (
                Some(error.step().to_string()),
                culprit.map(|p| p.to_string()),
            ),
            DriverError::Stalled(step) => (Some(step.to_string()), None),
            _ => (None, None),
        };
        self.emit(&ProgressEvent::Failed {
            step,
            peer,
            reason: e.to_string(),
        });
    }
}

fn usage(e: anyhow::Error) -> Failure {
    Failure::new(Code::Usage, e, "see `dkgd dkg --help`")
}

fn store_failure(e: dkgd_store::Error, dir: &Path) -> Failure {
    super::store_failure::store_failure(e, dir)
}
