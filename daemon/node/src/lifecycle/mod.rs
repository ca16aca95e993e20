//! The daemon's lifecycle as a plain state machine (sans-IO): inputs in through
//! [`Lifecycle::handle`], actions out through [`Lifecycle::poll_action`]. Time is an input,
//! there are no clocks, files or processes here, so every transition is unit-tested.
//!
//! ```text
//!  Started{facts, record} ──▶ derive: artifacts verify        ⇒ complete
//!                                   artifacts present, bad    ⇒ failed (no retry)
//!                                   no key                    ⇒ first-boot ─CreateKey─▶
//!                                   key lock held elsewhere   ⇒ key-locked ─KeyReleased─▶ derive
//!                                   recorded complete, no lock⇒ failed (no retry)
//!                                   no definition             ⇒ awaiting-definition
//!                                   retry still pending       ⇒ failed (retry at T)
//!                                   otherwise                 ⇒ awaiting-peers ─StartCeremony─▶
//!  first-boot ─KeyCreated─▶ awaiting-definition ─DefinitionFound─▶ awaiting-peers
//!  awaiting-peers ─CeremonyProgress─▶ ceremony ─CeremonySucceeded─▶ complete
//!        └──────────────┴─CeremonyFailed─▶ failed ─Timer ≥ T─▶ awaiting-peers
//! ```
//!
//! Every transition emits `Persist` (the shell saves and flushes sled), `History` and
//! `StateChanged`. Inputs that do not fit the current state are ignored (e.g. progress from a
//! child that was already given up on).

pub mod backoff;
#[cfg(test)]
mod tests;
mod types;

pub use backoff::{Backoff, BackoffError};
pub use types::{Action, ArtifactFacts, DefinitionFacts, Facts, Input, KeyHolder, State, UnixMs};

use dkgd_store::state::{HistoryEvent, Record};
use std::collections::VecDeque;

/// The daemon's lifecycle. Starts in `first-boot` until [`Input::Started`] arrives.
#[derive(Debug)]
pub struct Lifecycle {
    backoff: Backoff,
    state: State,
    record: Record,
    key_present: bool,
    definition: Option<DefinitionFacts>,
    peers: (u32, u32),
    /// Peer counts have been reported during this attempt (so they can be waited for).
    peers_reported: bool,
    /// A step reported while still waiting for every peer: entered once they are all there.
    pending_step: Option<(String, u32, u32)>,
    step_started: Option<UnixMs>,
    actions: VecDeque<Action>,
}

impl Lifecycle {
    /// A lifecycle that retries failed ceremonies with `backoff`.
    pub fn new(backoff: Backoff) -> Self {
        Self {
            backoff,
            state: State::FirstBoot,
            record: Record::default(),
            key_present: false,
            definition: None,
            peers: (0, 0),
            peers_reported: false,
            pending_step: None,
            step_started: None,
            actions: VecDeque::new(),
        }
    }

    /// The current state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The record as it would be persisted now (attempts, errors, timings).
    pub fn record(&self) -> &Record {
        &self.record
    }

    /// The accepted definition, if any.
    pub fn definition(&self) -> Option<&DefinitionFacts> {
        self.definition.as_ref()
    }

    /// Peers connected and in total (not counting us), as last reported by the ceremony.
    pub fn peers(&self) -> (u32, u32) {
        self.peers
    }

    /// The next action for the shell, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Feeds one input at wall-clock time `now`.
    pub fn handle(&mut self, now: UnixMs, input: Input) {
        match input {
            Input::Started { facts, record } => self.started(now, facts, record),
            Input::KeyCreated if self.state == State::FirstBoot => {
                self.key_present = true;
                self.record.last_error = None;
                self.proceed(now, "identity key created");
            }
            Input::KeyFailed { reason } if self.state == State::FirstBoot => {
                self.fail(now, format!("cannot create the identity key: {reason}"));
            }
            Input::DefinitionFound(def) if self.state == State::AwaitingDefinition => {
                let detail = format!("definition {} accepted", def.hash);
                self.adopt_definition(def);
                self.start_attempt(now, &detail);
            }
            Input::DefinitionRejected { file, reason }
                if self.state == State::AwaitingDefinition =>
            {
                let detail = format!("{file}: {reason}");
                self.record.last_error = Some(detail.clone());
                self.history(now, "error", detail);
                self.persist_and_notify();
            }
            Input::PeersConnected { connected, total }
                if self.running() && self.peers != (connected, total) =>
            {
                self.peers = (connected, total);
                self.peers_reported = true;
                self.history(now, "peers", format!("{connected}/{total} peers connected"));
                self.actions.push_back(Action::StateChanged);
                if connected >= total && self.state == State::AwaitingPeers {
                    if let Some((step, done, total)) = self.pending_step.take() {
                        self.progress(now, step, done, total);
                    }
                }
            }
            Input::CeremonyProgress { step, done, total } if self.running() => {
                self.progress(now, step, done, total);
            }
            Input::CeremonySucceeded { lock_hash } if self.running() => {
                self.finish_attempt(now);
                self.record.failures = 0;
                self.record.last_error = None;
                self.record.next_retry_unix_ms = None;
                self.record.lock_hash = Some(lock_hash.clone());
                self.enter(
                    now,
                    State::Complete,
                    format!("ceremony complete, lock {lock_hash}"),
                );
            }
            Input::ArtifactsInvalid { why } if self.running() => {
                self.finish_attempt(now);
                self.terminal(now, why);
            }
            Input::CeremonyFailed { reason } if self.running() => {
                self.finish_attempt(now);
                self.fail(now, reason);
            }
            Input::Timer => self.timer(now),
            Input::KeyReleased { facts } if matches!(self.state, State::KeyLocked { .. }) => {
                let mut record = self.record.clone();
                record.last_error = None;
                self.started(now, facts, Some(record));
            }
            _ => {}
        }
    }

    fn running(&self) -> bool {
        matches!(self.state, State::AwaitingPeers | State::Ceremony { .. })
    }

    fn started(&mut self, now: UnixMs, facts: Facts, record: Option<Record>) {
        self.key_present = facts.key_present;
        self.record = record.unwrap_or_default();
        let recorded_complete = self.record.state == State::Complete.name();
        if let Some(def) = facts.definition {
            self.adopt_definition(def);
        }
        match facts.artifacts {
            ArtifactFacts::Verified { lock_hash } => {
                self.record.lock_hash = Some(lock_hash);
                self.record.last_error = None;
                self.record.next_retry_unix_ms = None;
                return self.enter(
                    now,
                    State::Complete,
                    "artifacts present and verified".into(),
                );
            }
            ArtifactFacts::Invalid { why } => return self.terminal(now, why),
            ArtifactFacts::Absent => {}
        }
        if !self.key_present {
            return self.proceed(now, "no identity key");
        }
        if let Some(h) = facts.key_holder {
            // Not a failure of ours and not retried on a timer: the shell watches the lock.
            self.record.last_error = Some(format!(
                "the identity key is in use by {}; waiting for it to stop (stop that process \
                 if it is a leftover)",
                h.holder
            ));
            let detail = format!("key lock held by {}", h.holder);
            return self.enter(
                now,
                State::KeyLocked {
                    holder: h.holder,
                    pid: h.pid,
                },
                detail,
            );
        }
        if recorded_complete {
            let lock = self.record.lock_hash.clone().unwrap_or_default();
            return self.terminal(
                now,
                format!(
                    "the state database records a completed ceremony (lock {lock}) but \
                     cluster-lock.json is missing from the data dir; not re-running it: restore \
                     the artifacts from your backup"
                ),
            );
        }
        let pending = self
            .record
            .next_retry_unix_ms
            .filter(|_| self.definition.is_some() && self.record.failures > 0)
            .map(UnixMs);
        match pending {
            Some(at) if at > now => {
                // A clock that jumped back must not postpone the retry past one maximum delay.
                let at = at.min(now.plus(self.backoff.max()));
                let reason = self
                    .record
                    .last_error
                    .clone()
                    .unwrap_or_else(|| "the previous attempt failed".into());
                self.record.next_retry_unix_ms = Some(at.0);
                self.enter(
                    now,
                    State::Failed {
                        reason,
                        retry_at: Some(at),
                    },
                    "restarted while waiting to retry".into(),
                );
                self.actions.push_back(Action::ScheduleRetry(at));
            }
            _ => self.proceed(now, "restarted"),
        }
    }

    /// Goes to the state the facts call for: create the key, wait for a definition, or run.
    fn proceed(&mut self, now: UnixMs, why: &str) {
        if !self.key_present {
            self.enter(now, State::FirstBoot, why.to_owned());
            self.actions.push_back(Action::CreateKey);
        } else if self.definition.is_some() {
            self.start_attempt(now, why);
        } else {
            self.enter(now, State::AwaitingDefinition, why.to_owned());
        }
    }

    fn adopt_definition(&mut self, def: DefinitionFacts) {
        if self.record.definition_hash.as_deref() != Some(def.hash.as_str()) {
            // A new definition starts a fresh attempt count.
            self.record.definition_hash = Some(def.hash.clone());
            self.record.attempts = 0;
            self.record.failures = 0;
            self.record.next_retry_unix_ms = None;
            self.record.last_attempt_started_unix_ms = None;
            self.record.last_attempt_duration_ms = None;
            self.record.step_durations_ms.clear();
        }
        self.peers = (0, def.operators.saturating_sub(1));
        self.definition = Some(def);
    }

    fn start_attempt(&mut self, now: UnixMs, why: &str) {
        self.record.attempts = self.record.attempts.saturating_add(1);
        self.record.last_attempt_started_unix_ms = Some(now.0);
        self.record.next_retry_unix_ms = None;
        self.record.step_durations_ms.clear();
        self.step_started = None;
        self.peers.0 = 0;
        self.peers_reported = false;
        self.pending_step = None;
        let attempt = self.record.attempts;
        self.enter(
            now,
            State::AwaitingPeers,
            format!("{why}; attempt {attempt}"),
        );
        self.actions.push_back(Action::StartCeremony { attempt });
    }

    fn progress(&mut self, now: UnixMs, step: String, done: u32, total: u32) {
        // Still connecting (the child reports peer counts and not all are there): the state
        // stays `awaiting-peers`; the step is entered when the last peer connects.
        if self.state == State::AwaitingPeers && self.peers_reported && self.peers.0 < self.peers.1
        {
            self.pending_step = Some((step, done, total));
            self.actions.push_back(Action::StateChanged);
            return;
        }
        let changed = match &self.state {
            State::Ceremony { step: s, .. } => *s != step,
            _ => true,
        };
        if changed {
            self.close_step(now);
            self.step_started = Some(now);
            let detail = format!("step {step}");
            self.state = State::Ceremony { step, done, total };
            self.record.state = self.state.name().to_owned();
            self.history(now, "step", detail);
            self.persist_and_notify();
        } else {
            self.state = State::Ceremony { step, done, total };
            self.actions.push_back(Action::StateChanged);
        }
    }

    /// Adds the running step's time to the record.
    fn close_step(&mut self, now: UnixMs) {
        if let (State::Ceremony { step, .. }, Some(start)) = (&self.state, self.step_started) {
            let ms = now.millis_since(start);
            let slot = self
                .record
                .step_durations_ms
                .entry(step.clone())
                .or_default();
            *slot = slot.saturating_add(ms);
        }
        self.step_started = None;
    }

    fn finish_attempt(&mut self, now: UnixMs) {
        self.close_step(now);
        if let Some(start) = self.record.last_attempt_started_unix_ms {
            self.record.last_attempt_duration_ms = Some(now.millis_since(UnixMs(start)));
        }
    }

    /// A failure that is retried after the backoff delay.
    fn fail(&mut self, now: UnixMs, reason: String) {
        self.record.failures = self.record.failures.saturating_add(1);
        let at = now.plus(self.backoff.delay(self.record.failures));
        self.record.last_error = Some(reason.clone());
        self.record.next_retry_unix_ms = Some(at.0);
        let detail = format!("{reason}; retry at {} ms", at.0);
        self.enter(
            now,
            State::Failed {
                reason,
                retry_at: Some(at),
            },
            detail,
        );
        self.actions.push_back(Action::ScheduleRetry(at));
    }

    /// A failure only the operator can fix: no retry.
    fn terminal(&mut self, now: UnixMs, reason: String) {
        self.record.last_error = Some(reason.clone());
        self.record.next_retry_unix_ms = None;
        self.enter(
            now,
            State::Failed {
                reason: reason.clone(),
                retry_at: None,
            },
            reason,
        );
    }

    fn timer(&mut self, now: UnixMs) {
        if let State::Failed {
            retry_at: Some(at), ..
        } = self.state
        {
            if now >= at {
                self.proceed(now, "retrying");
            }
        }
    }

    fn enter(&mut self, now: UnixMs, state: State, detail: String) {
        self.state = state;
        self.record.state = self.state.name().to_owned();
        self.history(now, "state", format!("{}: {detail}", self.state.name()));
        self.persist_and_notify();
    }

    fn history(&mut self, now: UnixMs, kind: &str, detail: String) {
        self.actions.push_back(Action::History(HistoryEvent {
            at_unix_ms: now.0,
            kind: kind.to_owned(),
            detail,
        }));
    }

    fn persist_and_notify(&mut self) {
        self.actions.push_back(Action::Persist(self.record.clone()));
        self.actions.push_back(Action::StateChanged);
    }
}
