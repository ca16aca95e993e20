//! `dkgd run`: the appliance daemon (issue 7). Configuration and glue only; the daemon itself
//! is `dkgd_node::run` (lifecycle, status socket, systemd notifications). The binary supplies
//! what lives here: artifact verification (`dkgd verify`'s data-dir checks) and the path of
//! itself for the ceremony child (`dkgd dkg … --progress-json`).

use crate::cli::{LogFormat, RunArgs, StateHelperArgs};
use crate::exit::{Code, Failure};
use anyhow::anyhow;
use dkgd_node::config::{self, Settings};
use dkgd_node::run::{Hooks, ProcessRunner, RunError, VerifyFn};
use dkgd_node::status::ServerError;
use std::path::Path;
use std::sync::Arc;

/// Runs `dkgd run` until SIGTERM/SIGINT; exit 0 after a clean shutdown.
pub(crate) fn run(args: &RunArgs) -> Result<Code, Failure> {
    let file = args
        .config
        .clone()
        .or_else(|| std::env::var_os("DKGD_CONFIG").map(Into::into));
    let flags = Settings {
        data_dir: args.data_dir.clone(),
        state_dir: args.state_dir.clone(),
        socket: args.socket.clone(),
        socket_group: args.socket_group.clone(),
        relays: non_empty(&args.relays),
        listen: non_empty(&args.listen),
        peer_addrs: non_empty(&args.peer_addrs),
        backoff_initial_secs: args.backoff_initial_secs,
        backoff_max_secs: args.backoff_max_secs,
        backoff_factor: args.backoff_factor,
        insecure_keystores: args.insecure_keystores.then_some(true),
        backup_recipients: None,
        backup_export_dir: None,
        api_url: args.api_url.clone(),
        pairing_file: args.pairing_file.clone(),
        operator_address: None,
        publish_lock: None,
    };
    let cfg = config::load(file.as_deref(), |k| std::env::var(k).ok(), flags).map_err(|e| {
        Failure::new(
            Code::Usage,
            e,
            "fix the setting named above (see `dkgd run --help` and README \"dkgd run\")",
        )
    })?;
    super::harden_process()?;
    let exe = std::env::current_exe().map_err(|e| {
        Failure::new(
            Code::Failed,
            anyhow!("cannot find the dkgd executable for the ceremony process: {e}"),
            "run dkgd from its installed path",
        )
    })?;
    let verify: VerifyFn = Arc::new(verify_artifacts);
    let hooks = Hooks {
        verify,
        runner: Arc::new(ProcessRunner::new(exe.clone())),
        // sled only in a short-lived helper: an idle daemon has none of sled's threads.
        state_helper: Some(exe.clone()),
    };
    // One thread for the loop; blocking work (sled, files, verification) on the blocking pool.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(4)
        .build()
        .map_err(|e| Failure::new(Code::Failed, e, "the system refused to start threads"))?;
    runtime
        .block_on(dkgd_node::run::run_daemon(cfg, hooks))
        .map_err(run_failure)?;
    Ok(Code::Ok)
}

/// `dkgd state-helper --db PATH`: one batch of the daemon's state database operations, read
/// from stdin and answered on stdout (dkgd_node::run::state).
/// It finishes its batch (milliseconds) even when the daemon is being stopped: a helper
/// killed mid-open would leave a marker the next open takes for a crash.
pub(crate) fn state_helper(args: &StateHelperArgs) -> Result<Code, Failure> {
    use nix::sys::signal::{SigSet, Signal};
    // Blocked, not handled: a stop signal stays pending until the helper exits by itself.
    let mut stops = SigSet::empty();
    for sig in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        stops.add(sig);
    }
    stops.thread_block().map_err(|e| {
        Failure::new(
            Code::Failed,
            e,
            "report this with your OS version (blocking stop signals failed)",
        )
    })?;
    dkgd_node::run::state::serve_helper(
        &args.db,
        std::io::stdin().lock(),
        std::io::stdout().lock(),
    )
    .map_err(|e| {
        Failure::new(
            Code::Failed,
            e,
            "`dkgd run` starts this helper itself; see the daemon's log for what it was doing",
        )
    })?;
    Ok(Code::Ok)
}

fn non_empty(v: &[String]) -> Option<Vec<String>> {
    (!v.is_empty()).then(|| v.to_vec())
}

/// `dkgd verify DIR` for the daemon: `Ok(lock_hash)` when no check fails.
fn verify_artifacts(dir: &Path) -> Result<String, String> {
    let report = super::verify::verify_data_dir(dir, false).map_err(|f| f.error.to_string())?;
    if let Some(bad) = report
        .checks
        .iter()
        .find(|c| c.status == dkgd_formats::verify::Status::Fail)
    {
        return Err(format!("{}: {}", bad.check, bad.detail));
    }
    let path = dir.join("cluster-lock.json");
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let lock = dkgd_formats::lock::Lock::from_json(&bytes)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let hash = lock
        .lock_hash
        .ok_or_else(|| format!("{}: no lock_hash", path.display()))?;
    Ok(format!("0x{}", hex::encode(hash)))
}

fn run_failure(e: RunError) -> Failure {
    use dkgd_store::Error as S;
    match e {
        RunError::Store(e) => {
            let hint = match &*e {
                S::InUse { .. } => "another dkgd run uses this state dir; stop it (systemctl stop dkgd) or choose another --state-dir",
                S::NotWritable { .. } | S::UnsafePermissions { .. } => {
                    "give the dkgd user write access to its data and state dirs"
                }
                _ => "check the path named above",
            };
            super::store_failure::with_hint(*e, hint)
        }
        RunError::Socket(e) => {
            let code = match &e {
                ServerError::InUse { .. } => Code::TempFail,
                ServerError::Io { source, .. }
                    if source.kind() == std::io::ErrorKind::PermissionDenied =>
                {
                    Code::NoPerm
                }
                _ => Code::Usage,
            };
            Failure::new(
                code,
                e,
                "choose another --socket or fix the path named above",
            )
        }
        e => Failure::new(Code::Failed, e, "this is a bug in dkgd; please report it"),
    }
}

/// Logging for the daemon: journald (structured fields) when systemd connected stderr to the
/// journal, else the usual stderr subscriber. Falls back to stderr if journald fails.
pub(crate) fn init_logging(format: LogFormat) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    if dkgd_node::logging::journald_wanted() {
        match dkgd_node::logging::journald_layer() {
            Ok(layer) => {
                let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
                if tracing_subscriber::registry()
                    .with(filter)
                    .with(layer)
                    .try_init()
                    .is_ok()
                {
                    return;
                }
            }
            Err(e) => eprintln!("warning: cannot log to journald ({e}); logging to stderr"),
        }
    }
    crate::exit::init_logging(format);
}
