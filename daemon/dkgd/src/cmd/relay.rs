//! `dkgd relay`: a circuit-relay v2 server that cluster nodes behind NAT meet through, like
//! `charon relay` (spec §1.3). Its identity is the ENR key in `--data-dir` (created on first
//! start, then reused, so clients' relay multiaddrs stay valid across restarts), held under
//! the key lock for as long as the relay runs. With `--http` it serves its ENR (`/enr`) and
//! multiaddrs (`/`) in charon's format, so nodes can be given `--relay http://HOST:PORT`.
//!
//! stdout gets one machine-readable line per fact once the relay is up
//! (`relay peer_id=…`, `relay addr=…` per multiaddr, `relay http=…`); logs go to stderr.
//! SIGINT or SIGTERM stop it cleanly (exit 0). A taken port is a usage error (exit 2) naming
//! the address.

use super::store_failure::store_failure;
use crate::cli::RelayArgs;
use crate::exit::{Code, Failure};
use dkgd_crypto::k1::K1SecretKey;
use dkgd_node::harden;
use dkgd_p2p::{Multiaddr, RelayServer, RelayServerConfig};
use dkgd_store::{DataDir, KeyLock};
use std::io::Write;
use std::path::Path;
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};

/// Runs `dkgd relay` until SIGINT or SIGTERM.
pub(crate) fn run(args: &RelayArgs) -> Result<Code, Failure> {
    let listen = args
        .listen
        .iter()
        .map(|text| {
            text.parse::<Multiaddr>().map_err(|e| {
                Failure::new(
                    Code::Usage,
                    anyhow::anyhow!("--listen {text:?} is not a multiaddr: {e}"),
                    "give a TCP multiaddr such as /ip4/0.0.0.0/tcp/3610",
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    super::harden_process()?;
    let dir = &args.dir.data_dir;
    let data_dir = DataDir::open_or_create(dir).map_err(|e| store_failure(e, dir))?;
    let mut lock = data_dir
        .lock_key("dkgd relay")
        .map_err(|e| store_failure(e, dir))?;
    let key = Box::new(load_or_create_key(&lock, dir)?);
    let _ = harden::lock_in_memory(&*key, "relay identity key");

    let mut config = RelayServerConfig::new(listen);
    config.http = args.http;
    config.external_ip = args.external_ip;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::new(Code::Failed, e, "the system refused to start threads"))?;
    runtime.block_on(async move {
        let mut sigterm = signal(SignalKind::terminate()).map_err(signal_failure)?;
        let mut sigint = signal(SignalKind::interrupt()).map_err(signal_failure)?;
        let server = RelayServer::start(&key, config)
            .await
            .map_err(|e| match e {
                dkgd_p2p::Error::Listen { .. } => Failure::new(
                    Code::Usage,
                    e,
                    "choose a free port for --listen/--http, or stop the program using it",
                ),
                e => Failure::new(Code::Failed, e, "this is a bug in dkgd; please report it"),
            })?;
        drop(key);
        announce(&server);
        let mut heartbeat = tokio::time::interval(Duration::from_secs(1));
        let stopped_by = loop {
            tokio::select! {
                _ = sigterm.recv() => break "SIGTERM",
                _ = sigint.recv() => break "SIGINT",
                _ = heartbeat.tick() => {
                    // Keeps charon from starting on the same key (its 5 s heartbeat rule).
                    if let Err(e) = lock.refresh() {
                        tracing::warn!(error = %e, "cannot refresh the key lock heartbeat");
                    }
                }
            }
        };
        tracing::info!(signal = stopped_by, "stopping relay");
        server.shutdown().await;
        Ok(Code::Ok)
    })
}

/// Reads the data dir's key, or creates one (mode 0600) on first start, as charon's relay
/// does with `--auto-p2pkey`.
fn load_or_create_key(lock: &KeyLock, dir: &Path) -> Result<K1SecretKey, Failure> {
    if lock.key_exists().map_err(|e| store_failure(e, dir))? {
        return lock.read_key().map_err(|e| store_failure(e, dir));
    }
    let key = K1SecretKey::generate(&mut rand_core::OsRng);
    let path = lock.create_key(&key).map_err(|e| store_failure(e, dir))?;
    tracing::info!(key_file = %path.display(), "created the relay's identity key");
    Ok(key)
}

fn announce(server: &RelayServer) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "relay peer_id={}", server.peer_id());
    for addr in server.multiaddrs() {
        let _ = writeln!(out, "relay addr={addr}");
    }
    if let Some(url) = server.http_url() {
        let _ = writeln!(out, "relay http={url}");
    }
    let _ = out.flush();
}

fn signal_failure(e: std::io::Error) -> Failure {
    Failure::new(
        Code::Failed,
        e,
        "the system refused to install signal handlers",
    )
}
