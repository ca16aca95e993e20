//! The loop itself (see the module docs of [`super`]).

use super::child::{CeremonyEvent, CeremonyHandle, CeremonySpec};
use super::definition::{self, Accepted, FileStamp, DEFINITION_FILE};
use super::identity::{self, PublicIdentity};
use super::progress::ProgressEvent;
use super::state::StateDb;
use super::{blocking, snapshot, startup, Hooks, RunError};
use crate::config::Config;
use crate::lifecycle::{Action, Input, Lifecycle, State, UnixMs};
use crate::notify::Notifier;
use crate::status::model::Wire;
use crate::status::{Command, ServerConfig, Snapshot, StatusServer};
use dkgd_store::state::{HistoryEvent, RunLock};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};

/// How often the inbox is looked at while awaiting a definition without inotify, and how
/// often the key lock is tried while another process holds the key.
const INBOX_POLL: Duration = Duration::from_secs(2);
/// How often the inbox is looked at anyway while inotify watches it (a missed event).
const INBOX_RESCAN: Duration = Duration::from_secs(60);
/// Longest a stopping daemon waits for its ceremony child (a commit plus SIGKILL grace).
const STOP_WAIT: Duration = Duration::from_secs(150);

pub(super) struct Shell {
    cfg: Config,
    hooks: Hooks,
    lc: Lifecycle,
    store: Arc<StateDb>,
    _run_lock: RunLock,
    server: Arc<StatusServer>,
    tx: watch::Sender<Arc<Snapshot>>,
    started: Instant,
    notifier: Notifier,
    identity: Option<PublicIdentity>,
    definition: Option<Accepted>,
    child: Option<CeremonyHandle>,
    retry_at: Option<UnixMs>,
    refused: HashMap<PathBuf, FileStamp>,
    backups: super::backup::AutoBackup,
    logged: (String, Option<String>),
    /// The wire profile and peer versions the ceremony child reported.
    wire: Option<Wire>,
    /// The pairing code being resolved, if one was found.
    invite: Option<super::invite::Running>,
    /// A ceremony ran in this process and `publish_lock` is set: POST the lock once complete.
    publish_pending: bool,
    /// Backup requests from the status socket.
    commands: mpsc::Receiver<Command>,
    /// The invite progress last stored in sled.
    invite_saved: Option<crate::status::model::Invite>,
    /// SIGTERM and SIGINT, listened for from the first moment of start-up: a signal that
    /// arrives while start-up is still writing state is a clean stop, not a kill.
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

/// The next change in a watched folder (never, without a watch).
async fn changed(watch: &mut Option<super::watch::DirWatch>) {
    match watch {
        Some(w) => w.changed().await,
        None => std::future::pending().await,
    }
}

fn now() -> UnixMs {
    let ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    UnixMs(u64::try_from(ms).unwrap_or(u64::MAX))
}

impl Shell {
    /// Start-up checks, the state database, the status socket; then `READY=1`.
    pub(super) async fn start(cfg: Config, hooks: Hooks) -> Result<Self, RunError> {
        let started = Instant::now();
        let term = signal(SignalKind::terminate()).map_err(|_| RunError::Internal)?;
        let int = signal(SignalKind::interrupt()).map_err(|_| RunError::Internal)?;
        let (c, v) = (cfg.clone(), Arc::clone(&hooks.verify));
        let helper = hooks.state_helper.clone();
        let s = blocking(move || startup::prepare(&c, &v, helper.as_deref()))
            .await
            .ok_or(RunError::Internal)??;
        let mut lc = Lifecycle::new(cfg.backoff);
        lc.handle(
            now(),
            Input::Started {
                facts: s.facts,
                record: s.record,
            },
        );
        let mut refused = HashMap::new();
        if let Some((file, reason)) = s.refused {
            tracing::warn!(file = %file, reason = %reason, "refused the cluster definition in the data dir");
            let path = cfg.data_dir.join(DEFINITION_FILE);
            if let Some(stamp) = definition::stamp(&path) {
                refused.insert(path, stamp);
            }
            lc.handle(now(), Input::DefinitionRejected { file, reason });
        }
        let mut socket_cfg = ServerConfig::new(cfg.socket.clone(), cfg.socket_group.clone());
        socket_cfg.pair_inbox = Some(cfg.inbox());
        let (command_tx, commands) = mpsc::channel(4);
        socket_cfg.commands = Some(command_tx);
        let server = StatusServer::bind(socket_cfg)?;
        // The first snapshot is already complete (identity, cluster, backups): a client that
        // asks right after start-up must not see a status that changes a moment later.
        let backups = super::backup::AutoBackup::new(&cfg, &s.store);
        let first = snapshot::status(&lc, s.identity.as_ref(), s.definition.as_ref());
        let placeholder = Snapshot {
            status: super::backup::with_backup(first, &s.store, &backups),
            started,
        };
        let (tx, rx) = watch::channel(Arc::new(placeholder));
        let server = Arc::new(server);
        let serving = Arc::clone(&server);
        tokio::spawn(async move { serving.serve(rx).await });
        let mut shell = Self {
            cfg,
            hooks,
            lc,
            store: Arc::new(s.store),
            _run_lock: s.run_lock,
            server,
            tx,
            started,
            notifier: Notifier::from_env(),
            identity: s.identity,
            definition: s.definition,
            child: None,
            retry_at: None,
            refused,
            backups,
            logged: (String::new(), None),
            wire: None,
            invite: None,
            publish_pending: false,
            commands,
            invite_saved: None,
            term,
            int,
        };
        shell.apply_actions().await;
        let line = snapshot::status_line(&shell.tx.borrow().status);
        shell.notifier.ready(&line);
        tracing::info!(socket = %shell.server.path().display(), dkgd_state = %shell.lc.state().name(), "dkgd run ready");
        Ok(shell)
    }

    /// The main loop, until a shutdown signal.
    pub(super) async fn run(mut self) -> Result<(), RunError> {
        let mut inbox = tokio::time::interval(INBOX_POLL);
        inbox.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Awaiting a definition, the loop sleeps until a file lands in one of these folders
        // (or the slow rescan): an idle box wakes less than once a second (issue 16).
        let inbox_dir = self.cfg.inbox();
        let pairing_dir = self
            .cfg
            .pairing_file
            .as_deref()
            .and_then(std::path::Path::parent);
        let mut dirs = vec![inbox_dir.as_path(), self.cfg.data_dir.as_path()];
        dirs.extend(pairing_dir);
        let mut watch = super::watch::DirWatch::new(&dirs);
        let mut rescan = tokio::time::interval(INBOX_RESCAN);
        rescan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let wd_every = self.notifier.watchdog_interval();
        let mut watchdog = tokio::time::interval(wd_every.unwrap_or(Duration::from_secs(3600)));
        watchdog.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let awaiting = *self.lc.state() == State::AwaitingDefinition;
            let locked = matches!(self.lc.state(), State::KeyLocked { .. });
            let retry_in = self
                .retry_at
                .map(|at| Duration::from_millis(at.millis_since(now())));
            tokio::select! {
                _ = self.term.recv() => break,
                _ = self.int.recv() => break,
                _ = watchdog.tick(), if wd_every.is_some() => self.notifier.watchdog(),
                _ = inbox.tick(), if locked || (awaiting && watch.is_none()) => {
                    if locked {
                        self.poll_key_lock().await;
                    } else {
                        self.poll_definition().await;
                    }
                }
                () = changed(&mut watch), if awaiting && watch.is_some() => self.poll_definition().await,
                _ = rescan.tick(), if awaiting && watch.is_some() => self.poll_definition().await,
                () = tokio::time::sleep(retry_in.unwrap_or_default()), if retry_in.is_some() => {
                    self.retry_at = None;
                    self.lc.handle(now(), Input::Timer);
                }
                ev = next_event(&mut self.child), if self.child.is_some() => self.on_child(ev).await,
                () = invite_changed(&mut self.invite), if self.invite.is_some() => {
                    if let Some(now) = self.invite.as_ref().map(|r| r.status.borrow().clone()) {
                        super::invite::persist(Arc::clone(&self.store), &mut self.invite_saved, now).await;
                    }
                    self.publish();
                }
                Some(cmd) = self.commands.recv() => self.on_command(cmd).await,
            }
            self.apply_actions().await;
        }
        self.shutdown(&mut watchdog, wd_every.is_some()).await;
        Ok(())
    }

    async fn shutdown(&mut self, watchdog: &mut tokio::time::Interval, wd: bool) {
        self.notifier.stopping();
        tracing::info!(dkgd_state = %self.lc.state().name(), "stopping");
        if let Some(child) = &mut self.child {
            let _ = child.stop.send(true);
            let deadline = tokio::time::sleep(STOP_WAIT);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    ev = child.events.recv() => match ev {
                        Some(CeremonyEvent::Exited(r)) => {
                            tracing::info!(outcome = ?r, "ceremony child stopped");
                            break;
                        }
                        Some(_) => {}
                        None => break,
                    },
                    _ = watchdog.tick(), if wd => self.notifier.watchdog(),
                    () = &mut deadline => {
                        tracing::warn!("the ceremony child did not stop in time");
                        break;
                    }
                }
            }
        }
        self.child = None;
        let store = Arc::clone(&self.store);
        let event = HistoryEvent {
            at_unix_ms: now().0,
            kind: "stopped".into(),
            detail: "clean shutdown".into(),
        };
        blocking(move || store.append_history(&event)).await;
    }

    /// Carries out everything the lifecycle asked for (which may produce further inputs).
    async fn apply_actions(&mut self) {
        while let Some(action) = self.lc.poll_action() {
            match action {
                Action::CreateKey => {
                    let dir = self.cfg.data_dir.clone();
                    let input = match blocking(move || identity::create_key(&dir)).await {
                        Some(Ok(id)) => {
                            self.identity = Some(id);
                            Input::KeyCreated
                        }
                        Some(Err(e)) => Input::KeyFailed {
                            reason: e.to_string(),
                        },
                        None => Input::KeyFailed {
                            reason: "the key creation task failed".into(),
                        },
                    };
                    self.lc.handle(now(), input);
                }
                Action::StartCeremony { attempt } => {
                    self.publish_pending |= self.cfg.publish_lock;
                    self.start_ceremony(attempt).await;
                }
                Action::ScheduleRetry(at) => self.retry_at = Some(at),
                Action::Persist(record) => {
                    let store = Arc::clone(&self.store);
                    if let Some(Err(e)) = blocking(move || store.save(&record)).await {
                        tracing::warn!(error = %e, "cannot save the daemon state (the data dir still holds it)");
                    }
                }
                Action::History(event) => {
                    let store = Arc::clone(&self.store);
                    if let Some(Err(e)) = blocking(move || store.append_history(&event)).await {
                        tracing::warn!(error = %e, "cannot append to the daemon history");
                    }
                }
                Action::StateChanged => {
                    self.auto_backup().await;
                    if self.publish_pending && *self.lc.state() == State::Complete {
                        self.publish_pending = false;
                        super::invite::publish_lock(&self.cfg);
                    }
                    self.publish();
                }
            }
        }
    }

    fn publish(&mut self) {
        let mut status =
            snapshot::status(&self.lc, self.identity.as_ref(), self.definition.as_ref());
        status.wire = self.wire.clone();
        status.invite = self.invite.as_ref().map(|r| r.status.borrow().clone());
        if let Some(shown) = status
            .invite
            .as_ref()
            .and_then(|i| crate::status::model::invite_state(&i.stage))
            .filter(|_| *self.lc.state() == State::AwaitingDefinition)
        {
            status.state = shown.to_owned();
        }
        let status = super::backup::with_backup(status, &self.store, &self.backups);
        let line = snapshot::status_line(&status);
        let key = (status.state.clone(), status.step.clone());
        if key != self.logged {
            self.logged = key;
            match self.lc.state() {
                State::Failed { reason, .. } => {
                    tracing::warn!(dkgd_state = %status.state, next_retry = ?status.next_retry, reason = %reason, "{line}")
                }
                State::KeyLocked { pid, .. } => {
                    tracing::warn!(dkgd_state = %status.state, holder_pid = ?pid, "{line}")
                }
                _ => tracing::info!(dkgd_state = %status.state, step = ?status.step, "{line}"),
            }
        }
        self.notifier.status(&line);
        let snap = Snapshot {
            status,
            started: self.started,
        };
        self.tx.send_replace(Arc::new(snap));
    }

    /// Answers a backup request from the status socket (the loop owns the state database);
    /// new recipients get a new backup right away.
    async fn on_command(&mut self, cmd: Command) {
        let store = Arc::clone(&self.store);
        let configured = self.cfg.backup_recipients.clone();
        if super::backup::answer(cmd, store, &mut self.backups, &configured).await {
            self.backups.done = None;
            self.auto_backup().await;
        }
        self.publish();
    }

    /// Takes an automatic backup when there is something new to protect: the key once it
    /// exists, everything once the ceremony is complete (see `super::backup`).
    async fn auto_backup(&mut self) {
        let want = match self.lc.state() {
            State::Complete => dkgd_backup::Kind::Full,
            _ if self.identity.is_some() => dkgd_backup::Kind::Key,
            _ => return,
        };
        if self.backups.done == Some(want) {
            return;
        }
        self.backups.done = Some(want);
        let (dir, store, b) = (
            self.cfg.data_dir.clone(),
            Arc::clone(&self.store),
            self.backups.clone(),
        );
        let outcome = blocking(move || {
            super::backup::ensure(&dir, &store, &b.recipients, b.export_dir.as_deref(), want)
        })
        .await;
        match outcome {
            Some(Ok(o)) => super::backup::log(&o),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "automatic backup failed (the data dir is unchanged)")
            }
            None => {}
        }
    }

    async fn start_ceremony(&mut self, attempt: u32) {
        // Artifacts already there (a child that finished before a crash): never run again.
        let (dir, verify) = (self.cfg.data_dir.clone(), Arc::clone(&self.hooks.verify));
        if let Some(input) = blocking(move || artifacts_outcome(&dir, &verify))
            .await
            .flatten()
        {
            self.lc.handle(now(), input);
            return;
        }
        let spec = CeremonySpec {
            attempt,
            definition: self.cfg.data_dir.join(DEFINITION_FILE),
            data_dir: self.cfg.data_dir.clone(),
            relays: self.cfg.relays.clone(),
            listen: self.cfg.listen.clone(),
            peer_addrs: self.cfg.peer_addrs.clone(),
            insecure_keystores: self.cfg.insecure_keystores,
        };
        match self.hooks.runner.start(spec) {
            Ok(h) => self.child = Some(h),
            Err(reason) => self.lc.handle(now(), Input::CeremonyFailed { reason }),
        }
    }

    async fn on_child(&mut self, ev: Option<CeremonyEvent>) {
        let input = match ev {
            Some(CeremonyEvent::Progress(ProgressEvent::Connected { peers, total })) => {
                tracing::info!(peers, total, "peers connected");
                Input::PeersConnected {
                    connected: peers,
                    total,
                }
            }
            Some(CeremonyEvent::Progress(ProgressEvent::Step { step, done, total })) => {
                Input::CeremonyProgress { step, done, total }
            }
            Some(CeremonyEvent::Progress(e)) => {
                if super::wire::apply(&mut self.wire, e) {
                    self.publish();
                }
                return;
            }
            Some(CeremonyEvent::Exited(result)) => {
                self.child = None;
                let (dir, verify) = (self.cfg.data_dir.clone(), Arc::clone(&self.hooks.verify));
                let after = blocking(move || artifacts_outcome(&dir, &verify))
                    .await
                    .flatten();
                match (result, after) {
                    (_, Some(input)) => input,
                    (Ok(()), None) => Input::CeremonyFailed {
                        reason: "dkgd dkg exited 0 but wrote no cluster-lock.json".into(),
                    },
                    (Err(reason), None) => Input::CeremonyFailed { reason },
                }
            }
            None => {
                self.child = None;
                Input::CeremonyFailed {
                    reason: "lost contact with the ceremony process".into(),
                }
            }
        };
        self.lc.handle(now(), input);
    }

    /// In `key-locked`: once the other process let go of the key, re-reads the data dir (the
    /// holder may have finished a ceremony or changed the definition) and moves on.
    async fn poll_key_lock(&mut self) {
        let (cfg, verify) = (self.cfg.clone(), Arc::clone(&self.hooks.verify));
        let Some(d) = blocking(move || startup::derive(&cfg, true, &verify)).await else {
            return;
        };
        if d.facts.key_holder.is_some() {
            return;
        }
        tracing::info!("the identity key is free again");
        self.identity = d.identity;
        self.definition = d.definition;
        self.lc.handle(now(), Input::KeyReleased { facts: d.facts });
        if let Some((file, reason)) = d.refused {
            tracing::warn!(file = %file, reason = %reason, "refused the cluster definition in the data dir");
            let path = self.cfg.data_dir.join(DEFINITION_FILE);
            if let Some(stamp) = definition::stamp(&path) {
                self.refused.insert(path, stamp);
            }
            self.lc
                .handle(now(), Input::DefinitionRejected { file, reason });
        }
    }

    /// Looks for a definition: the data dir's own (after first boot), then the inbox.
    async fn poll_definition(&mut self) {
        if self.identity.is_none() {
            let dir = self.cfg.data_dir.clone();
            match blocking(move || identity::read_identity(&dir)).await {
                Some(Ok(id)) => self.identity = Some(id),
                _ => return,
            }
        }
        let Some(me) = self.identity.clone() else {
            return;
        };
        let in_data_dir = self.cfg.data_dir.join(DEFINITION_FILE);
        let inbox_file = self.cfg.inbox().join(DEFINITION_FILE);
        let (candidate, adopt) = if in_data_dir.exists() {
            (in_data_dir, false)
        } else {
            (inbox_file, true)
        };
        let Some(stamp) = definition::stamp(&candidate) else {
            self.poll_pairing(&me).await;
            return;
        };
        if self.refused.get(&candidate) == Some(&stamp) {
            return;
        }
        let data_dir = self.cfg.data_dir.clone();
        let path = candidate.clone();
        let result = blocking(move || {
            let accepted = definition::check(&path, &me)?;
            if adopt {
                definition::adopt(&path, &data_dir)?;
            }
            Ok::<_, String>(accepted)
        })
        .await;
        match result {
            Some(Ok(accepted)) => {
                tracing::info!(file = %candidate.display(), def_hash = %accepted.facts.hash, "accepted the cluster definition");
                self.lc
                    .handle(now(), Input::DefinitionFound(accepted.facts.clone()));
                self.definition = Some(accepted);
            }
            Some(Err(reason)) => {
                tracing::warn!(file = %candidate.display(), reason = %reason, "refused the cluster definition");
                self.refused.insert(candidate.clone(), stamp);
                let file = candidate.display().to_string();
                let reason = if adopt {
                    reason
                } else {
                    format!("{reason}; remove it to use the inbox instead")
                };
                self.lc
                    .handle(now(), Input::DefinitionRejected { file, reason });
            }
            None => {}
        }
    }
}

impl Shell {
    /// Without a definition file: looks for a pairing code (inbox, then `pairing_file`) and
    /// starts resolving it. A code that cannot be read is refused once per file version.
    async fn poll_pairing(&mut self, me: &PublicIdentity) {
        if self.invite.is_some() {
            return;
        }
        let mut candidates = vec![self.cfg.inbox().join(super::invite::PAIRING_FILE)];
        candidates.extend(self.cfg.pairing_file.clone());
        for path in candidates {
            let Some(stamp) = definition::stamp(&path) else {
                continue;
            };
            if self.refused.get(&path) == Some(&stamp) {
                continue;
            }
            let p = path.clone();
            let Some(read) = blocking(move || super::invite::read_code(&p)).await else {
                return;
            };
            let file = path.display().to_string();
            let code = match read {
                Ok(code) => code,
                Err(why) => {
                    tracing::warn!(file = %file, reason = %why, "refused the pairing code");
                    self.refused.insert(path, stamp);
                    let reason = format!("pairing code: {why}");
                    self.lc
                        .handle(now(), Input::DefinitionRejected { file, reason });
                    continue;
                }
            };
            tracing::info!(file = %file, config_hash = %code.config_hash_hex(), api = %self.cfg.api_url.as_str(), "pairing code read: resolving the cluster invite");
            self.start_invite(me, super::invite::Invitation::Code(code), path);
            return;
        }
        if let Some(address) = self.cfg.operator_address {
            tracing::info!(api = %self.cfg.api_url.as_str(), "zero-touch: looking for this operator's cluster invites");
            let source = PathBuf::from(format!(
                "operator_address {}",
                dkgd_crypto::k1::eip55_checksum(&address)
            ));
            self.start_invite(me, super::invite::Invitation::Operator(address), source);
        }
    }

    fn start_invite(
        &mut self,
        me: &PublicIdentity,
        code: super::invite::Invitation,
        source: PathBuf,
    ) {
        let prior = self.store.invite().ok().flatten();
        if let Some(ctx) = super::invite::Context::new(&self.cfg, &me.enr, code, source, prior) {
            self.invite = Some(super::invite::spawn(ctx));
        }
        self.publish();
    }
}

/// The lifecycle input for artifacts found on disk, if there are any.
fn artifacts_outcome(dir: &std::path::Path, verify: &super::VerifyFn) -> Option<Input> {
    match startup::artifacts(dir, verify) {
        crate::lifecycle::ArtifactFacts::Absent => None,
        crate::lifecycle::ArtifactFacts::Verified { lock_hash } => {
            Some(Input::CeremonySucceeded { lock_hash })
        }
        crate::lifecycle::ArtifactFacts::Invalid { why } => Some(Input::ArtifactsInvalid { why }),
    }
}

/// Resolves when the invite task's status changed; never when it has ended.
async fn invite_changed(invite: &mut Option<super::invite::Running>) {
    match invite {
        Some(r) => {
            if r.status.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

async fn next_event(child: &mut Option<CeremonyHandle>) -> Option<CeremonyEvent> {
    match child {
        Some(c) => c.events.recv().await,
        None => std::future::pending().await,
    }
}
