//! charon's sync protocol as its Go code runs it: one server, one client per peer, the
//! connect loop, step barriers and the shutdown handshake (`dkg/sync/{client,server}.go`,
//! `dkg/dkg.go` `startSyncProtocol`; tags in `super`'s table).

use super::frame::Frames;
use super::net::{Net, SYNC};
use super::sync_client::{client_task, ClientState, Hello};
use super::{CharonVersion, Fault, Journal};
use dkgd_ceremony::sync::sig::{sign_definition_hash, verify_definition_hash};
use dkgd_ceremony::wire::proto::{MsgSync, MsgSyncResponse};
use dkgd_crypto::k1::K1SecretKey;
use dkgd_p2p::PeerStream;
use prost::Message;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

/// How long our sync server waits for a client's next message (charon's server sets no
/// deadline; clients ping every 100 ms, so this only ends streams of vanished peers).
const STREAM_OP_TIMEOUT: Duration = Duration::from_secs(30);

/// The first fatal error of the run (charon's cancelled context plus its cause).
#[derive(Clone, Default)]
pub struct Fatal(Arc<Mutex<Option<String>>>);

impl Fatal {
    pub fn set(&self, why: String) {
        if let Ok(mut f) = self.0.lock() {
            f.get_or_insert(why);
        }
    }

    pub fn get(&self) -> Option<String> {
        self.0.lock().ok().and_then(|f| f.clone())
    }

    pub fn check(&self) -> Result<(), String> {
        self.get().map_or(Ok(()), Err)
    }
}

#[derive(Default)]
struct ServerState {
    connected: BTreeSet<usize>,
    steps: BTreeMap<usize, i64>,
    /// Peers whose `shutdown = true` arrived, with the step it carried.
    shutdown: BTreeMap<usize, i64>,
    err: Option<String>,
}

struct Server {
    version: CharonVersion,
    def_hash: [u8; 32],
    fault: Fault,
    state: Mutex<ServerState>,
    journal: Journal,
}

struct Client {
    peer: usize,
    state: Arc<ClientState>,
    task: Option<JoinHandle<()>>,
}

/// A running sync protocol, after every peer connected and the step-1 barrier passed.
pub struct Sync {
    version: CharonVersion,
    server: Arc<Server>,
    clients: Vec<Client>,
    step: i64,
    others: usize,
    shutdown_started: Arc<AtomicBool>,
    pub fatal: Fatal,
    journal: Journal,
    extra_shutdown_step: bool,
}

impl Sync {
    /// `startSyncProtocol` up to and including the step-1 barrier.
    #[allow(clippy::too_many_arguments)]
    pub async fn start(
        net: Arc<Net>,
        version: CharonVersion,
        key: &K1SecretKey,
        def_hash: [u8; 32],
        nickname: String,
        fault: Fault,
        fatal: Fatal,
        journal: Journal,
    ) -> Result<Sync, String> {
        let hello = Hello {
            hash_sig: sign_definition_hash(key, &def_hash),
            version: version.minor(),
            nickname: if version.sends_nickname() {
                nickname
            } else {
                String::new()
            },
        };
        let server = Arc::new(Server {
            version,
            def_hash,
            fault: fault.clone(),
            state: Mutex::default(),
            journal: journal.clone(),
        });
        let mut inbound = net.accept(SYNC, Some(STREAM_OP_TIMEOUT))?;
        let srv = Arc::clone(&server);
        tokio::spawn(async move {
            while let Some((from, s)) = inbound.recv().await {
                tokio::spawn(Arc::clone(&srv).handle_stream(from, s));
            }
        });
        let shutdown_started = Arc::new(AtomicBool::new(false));
        let others = net.others();
        let mut clients = Vec::new();
        for &peer in &others {
            let state = Arc::new(ClientState::default());
            state.reconnect.store(true, Ordering::SeqCst);
            let task = tokio::spawn(client_task(
                Arc::clone(&net),
                peer,
                Arc::clone(&state),
                hello.clone(),
                version,
                fault.clone(),
                Arc::clone(&shutdown_started),
                fatal.clone(),
                journal.clone(),
            ));
            clients.push(Client {
                peer,
                state,
                task: Some(task),
            });
        }
        let mut sync = Sync {
            version,
            server,
            clients,
            step: 0,
            others: others.len(),
            shutdown_started,
            fatal,
            journal,
            extra_shutdown_step: fault == Fault::ShutdownReadyStepAlways,
        };
        // The connect loop (250 ms).
        loop {
            sync.fatal.check()?;
            if let Some(e) = sync.server_err() {
                return Err(format!("sync server error: {e}"));
            }
            let connected = sync
                .clients
                .iter()
                .filter(|c| c.state.connected.load(Ordering::SeqCst))
                .count();
            if connected == sync.clients.len() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        sync.journal.note("all sync clients connected");
        if version.disables_reconnect_after_connect() {
            sync.disable_reconnect();
        }
        // Server.AwaitAllConnected.
        loop {
            sync.fatal.check()?;
            if let Some(e) = sync.server_err() {
                return Err(e);
            }
            if sync.lock().connected.len() == sync.others {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        sync.journal.note("every peer's client reached our server");
        if version >= CharonVersion::V1_11 {
            // The watcher: a server error aborts the run at once (until the shutdown).
            let (srv, fatal, started) = (
                Arc::clone(&sync.server),
                sync.fatal.clone(),
                Arc::clone(&sync.shutdown_started),
            );
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    if started.load(Ordering::SeqCst) || fatal.get().is_some() {
                        return;
                    }
                    let err = srv.state.lock().ok().and_then(|s| s.err.clone());
                    if let Some(e) = err {
                        fatal.set(e);
                        return;
                    }
                }
            });
        }
        sync.next_step().await?;
        Ok(sync)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ServerState> {
        self.server.state.lock().expect("sync state")
    }

    fn server_err(&self) -> Option<String> {
        self.lock().err.clone()
    }

    fn disable_reconnect(&self) {
        for c in &self.clients {
            c.state.reconnect.store(false, Ordering::SeqCst);
        }
    }

    /// The current step.
    pub fn step(&self) -> i64 {
        self.step
    }

    /// `stepSyncFunc`: announce the next step, wait until every peer reports it (or the one
    /// after).
    pub async fn next_step(&mut self) -> Result<(), String> {
        self.step += 1;
        let step = self.step;
        for c in &self.clients {
            c.state.step.store(step, Ordering::SeqCst);
        }
        self.journal.note(format!("step {step}: waiting for peers"));
        loop {
            self.fatal.check()?;
            if let Some(e) = self.server_err() {
                return Err(format!("sync step {step}: {e}"));
            }
            {
                let st = self.lock();
                if st.steps.len() == self.others {
                    if let Some((p, s)) = st.steps.iter().find(|(_, s)| **s >= step + 2) {
                        return Err(format!(
                            "sync step {step}: peer step is too far ahead (peer {p} at {s})"
                        ));
                    }
                    if st.steps.values().all(|s| *s == step || *s == step + 1) {
                        break;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        self.journal.note(format!("step {step}: every peer there"));
        Ok(())
    }

    /// `shutdownFunc`: (v1.10+: the "shutdown ready" barrier, then no reconnect) every client
    /// sends `shutdown = true` in turn, then wait for every peer's. Returns the operators
    /// whose shutdown message arrived, with the step each carried.
    pub async fn shutdown(&mut self) -> Result<Vec<(usize, i64)>, String> {
        let bound = self.version.shutdown_bound();
        let extra = self.version.shutdown_ready_step() || self.extra_shutdown_step;
        let run = async {
            if extra {
                self.shutdown_started.store(true, Ordering::SeqCst);
                self.next_step()
                    .await
                    .map_err(|e| format!("sync shutdown ready step: {e}"))?;
                self.disable_reconnect();
            }
            self.journal.note(format!(
                "shutdown: sending shutdown=true at step {}",
                self.step
            ));
            for c in &mut self.clients {
                c.state.shutdown.notify_one();
                if let Some(t) = c.task.take() {
                    let _ = t.await;
                }
                self.journal
                    .note(format!("shutdown: client to peer {} done", c.peer));
            }
            // Server.AwaitAllShutdown (does not look at the server error).
            loop {
                self.fatal
                    .check()
                    .map_err(|e| format!("sync shutdown: {e}"))?;
                let done = {
                    let st = self.lock();
                    (st.shutdown.len() == self.others).then(|| {
                        st.shutdown
                            .iter()
                            .map(|(p, s)| (*p, *s))
                            .collect::<Vec<_>>()
                    })
                };
                if let Some(from) = done {
                    return Ok(from);
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        };
        match bound {
            Some(b) => tokio::time::timeout(b, run)
                .await
                .map_err(|_| "sync shutdown: context deadline exceeded".to_owned())?,
            None => run.await,
        }
    }

    /// Operators whose shutdown message arrived so far.
    pub fn shutdowns(&self) -> Vec<(usize, i64)> {
        self.lock().shutdown.iter().map(|(p, s)| (*p, *s)).collect()
    }
}

/// charon's `version.Parse` + `Compare` for a minor version: equal major.minor.
fn same_minor(ours: (u64, u64), theirs: &str) -> Result<bool, String> {
    let bad = || format!("parse peer version: invalid version string {theirs:?}");
    let rest = theirs.strip_prefix('v').ok_or_else(bad)?;
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    if pre.is_some_and(str::is_empty) {
        return Err(bad());
    }
    let nums: Vec<&str> = core.split('.').collect();
    if !(2..=3).contains(&nums.len())
        || nums
            .iter()
            .any(|n| n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    let major: u64 = nums[0].parse().map_err(|_| bad())?;
    let minor: u64 = nums[1].parse().map_err(|_| bad())?;
    Ok((major, minor) == ours)
}

impl Server {
    fn validate(
        &self,
        peer: usize,
        net_key: &dkgd_crypto::k1::K1PublicKey,
        msg: &MsgSync,
    ) -> Result<(), String> {
        let _ = peer;
        if !same_minor(self.version.numbers(), &msg.version)? {
            return Err(format!(
                "mismatching charon version; expect={}, got={}",
                self.version.minor(),
                msg.version
            ));
        }
        verify_definition_hash(net_key, &self.def_hash, &msg.hash_signature)
            .map_err(|_| "invalid definition hash signature".to_owned())
    }

    fn update_step(&self, st: &mut ServerState, peer: usize, step: i64) -> Result<(), String> {
        match st.steps.get(&peer) {
            Some(&last) if step < last => {
                return Err(format!(
                    "peer reported step is behind the last known step (peer_step={step}, last_step={last})"
                ))
            }
            Some(&last) if step > last + 2 => {
                return Err(format!(
                    "peer reported step is ahead the last known step (peer_step={step}, last_step={last})"
                ))
            }
            None if !(0..=1).contains(&step) => {
                return Err(format!(
                    "peer reported abnormal initial step, expected 0 or 1 (peer_step={step})"
                ))
            }
            _ => {}
        }
        st.steps.insert(peer, step);
        Ok(())
    }

    /// `handleStream`: one long-lived client stream.
    async fn handle_stream(self: Arc<Self>, peer: usize, mut s: PeerStream) {
        let key = s.peer().public_key();
        let mut first = true;
        loop {
            let Ok(frame) = s.recv_frame().await else {
                break;
            };
            let msg = match MsgSync::decode(frame.as_slice()) {
                Ok(m) => m,
                Err(e) => {
                    self.journal
                        .note(format!("sync server: bad MsgSync from peer {peer}: {e}"));
                    break;
                }
            };
            if first {
                self.journal.note(format!(
                    "sync server: first MsgSync from peer {peer}: version {:?} step {} nickname {:?}",
                    msg.version, msg.step, msg.nickname
                ));
                first = false;
            }
            let mut resp = MsgSyncResponse {
                sync_timestamp: msg.timestamp,
                error: String::new(),
            };
            let valid = match &self.fault {
                Fault::SyncErrorResponse(text) => Err(text.clone()),
                _ => self.validate(peer, &key, &msg),
            };
            let step_result = {
                let mut st = self.state.lock().expect("sync state");
                match valid {
                    Err(e) => {
                        if st.err.is_none() {
                            self.journal.note(format!(
                                "sync server: invalid sync message from peer {peer}: {e}"
                            ));
                        }
                        st.err = Some(format!("invalid sync message (peer {peer}): {e}"));
                        resp.error = e;
                    }
                    Ok(()) => {
                        st.connected.insert(peer);
                    }
                }
                if self.version.step_error_is_fatal() && !resp.error.is_empty() {
                    Ok(())
                } else {
                    self.update_step(&mut st, peer, msg.step).map_err(|e| {
                        if self.version.step_error_is_fatal() {
                            let e = format!("detected inconsistent peer sync state (node restarted mid-ceremony), ceremony aborted: all operators must stop charon and restart the ceremony together: {e}");
                            st.err = Some(e.clone());
                            e
                        } else {
                            e
                        }
                    })
                }
            };
            if let Err(e) = step_result {
                self.journal
                    .note(format!("sync server: step error from peer {peer}: {e}"));
                if self.version.step_error_is_fatal() {
                    resp.error = e;
                    let _ = s.send_frame(&resp.encode_to_vec()).await;
                }
                break;
            }
            if s.send_frame(&resp.encode_to_vec()).await.is_err() {
                break;
            }
            if msg.shutdown {
                self.journal.note(format!(
                    "sync server: shutdown=true from peer {peer} at step {}",
                    msg.step
                ));
                self.state
                    .lock()
                    .expect("sync state")
                    .shutdown
                    .insert(peer, msg.step);
                break;
            }
        }
        if let Ok(mut st) = self.state.lock() {
            st.connected.remove(&peer);
        }
        let _ = s.close().await;
    }
}
