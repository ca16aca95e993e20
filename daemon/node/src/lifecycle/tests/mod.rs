//! Every transition of the lifecycle ([`restart`]: a restart from every state).

#![allow(clippy::unwrap_used)]

mod restart;

use super::*;
use std::time::Duration;

const T0: UnixMs = UnixMs(1_000_000);

fn def(hash: &str) -> DefinitionFacts {
    DefinitionFacts {
        hash: hash.into(),
        name: "test cluster".into(),
        operators: 4,
    }
}

fn facts(key: bool, definition: bool, artifacts: ArtifactFacts) -> Facts {
    Facts {
        key_present: key,
        definition: definition.then(|| def("0xd1")),
        artifacts,
        key_holder: None,
    }
}

fn drain(l: &mut Lifecycle) -> Vec<Action> {
    std::iter::from_fn(|| l.poll_action()).collect()
}

/// The non-bookkeeping actions (no Persist/History/StateChanged).
fn effects(l: &mut Lifecycle) -> Vec<Action> {
    drain(l)
        .into_iter()
        .filter(|a| {
            !matches!(
                a,
                Action::Persist(_) | Action::History(_) | Action::StateChanged
            )
        })
        .collect()
}

fn started(f: Facts, record: Option<Record>) -> (Lifecycle, Vec<Action>) {
    let mut l = Lifecycle::new(Backoff::default());
    l.handle(T0, Input::Started { facts: f, record });
    let a = drain(&mut l);
    (l, a)
}

fn is_persisted(actions: &[Action], state: &str) -> bool {
    actions
        .iter()
        .any(|a| matches!(a, Action::Persist(r) if r.state == state))
}

#[test]
fn fresh_box_creates_a_key_then_waits_for_a_definition() {
    let (mut l, a) = started(facts(false, false, ArtifactFacts::Absent), None);
    assert_eq!(l.state(), &State::FirstBoot);
    assert!(a.contains(&Action::CreateKey));
    assert!(is_persisted(&a, "first-boot"));
    assert!(a.contains(&Action::StateChanged));
    l.handle(T0, Input::KeyCreated);
    let a = drain(&mut l);
    assert_eq!(l.state(), &State::AwaitingDefinition);
    assert!(is_persisted(&a, "awaiting-definition"));
}

#[test]
fn key_creation_failure_is_retried_with_backoff() {
    let (mut l, _) = started(facts(false, false, ArtifactFacts::Absent), None);
    l.handle(
        T0,
        Input::KeyFailed {
            reason: "read-only file system".into(),
        },
    );
    let at = T0.plus(Duration::from_secs(10));
    assert_eq!(effects(&mut l), vec![Action::ScheduleRetry(at)]);
    assert!(
        matches!(l.state(), State::Failed { reason, retry_at: Some(t) } if reason.contains("read-only") && *t == at)
    );
    l.handle(at, Input::Timer);
    assert_eq!(l.state(), &State::FirstBoot);
    assert_eq!(effects(&mut l), vec![Action::CreateKey]);
}

#[test]
fn definition_starts_the_first_attempt() {
    let (mut l, _) = started(facts(true, false, ArtifactFacts::Absent), None);
    assert_eq!(l.state(), &State::AwaitingDefinition);
    l.handle(T0, Input::DefinitionFound(def("0xd1")));
    assert_eq!(l.state(), &State::AwaitingPeers);
    assert_eq!(effects(&mut l), vec![Action::StartCeremony { attempt: 1 }]);
    assert_eq!(l.record().definition_hash.as_deref(), Some("0xd1"));
    assert_eq!(l.peers(), (0, 3));
}

#[test]
fn rejected_definition_keeps_waiting_and_names_the_file() {
    let (mut l, _) = started(facts(true, false, ArtifactFacts::Absent), None);
    l.handle(
        T0,
        Input::DefinitionRejected {
            file: "/inbox/cluster-definition.json".into(),
            reason: "not JSON".into(),
        },
    );
    let a = drain(&mut l);
    assert_eq!(l.state(), &State::AwaitingDefinition);
    assert!(is_persisted(&a, "awaiting-definition"));
    let err = l.record().last_error.clone().unwrap();
    assert!(err.contains("/inbox/cluster-definition.json") && err.contains("not JSON"));
    // A later accepted definition clears nothing it should not, and starts.
    l.handle(T0, Input::DefinitionFound(def("0xd1")));
    assert_eq!(l.state(), &State::AwaitingPeers);
}

fn running() -> Lifecycle {
    let (l, a) = started(facts(true, true, ArtifactFacts::Absent), None);
    assert!(a.contains(&Action::StartCeremony { attempt: 1 }));
    l
}

#[test]
fn peers_and_progress_are_reported() {
    let mut l = running();
    l.handle(
        T0,
        Input::PeersConnected {
            connected: 2,
            total: 3,
        },
    );
    assert_eq!(l.peers(), (2, 3));
    assert_eq!(l.state(), &State::AwaitingPeers);
    assert!(drain(&mut l).contains(&Action::StateChanged));
    l.handle(
        T0,
        Input::PeersConnected {
            connected: 3,
            total: 3,
        },
    );
    drain(&mut l);
    let step = |s: &str, done| Input::CeremonyProgress {
        step: s.into(),
        done,
        total: 9,
    };
    l.handle(UnixMs(T0.0 + 100), step("frost round 1", 1));
    assert!(is_persisted(&drain(&mut l), "ceremony"));
    l.handle(UnixMs(T0.0 + 200), step("frost round 1", 7));
    let a = drain(&mut l);
    assert_eq!(a, vec![Action::StateChanged], "no persist within a step");
    assert_eq!(
        l.state(),
        &State::Ceremony {
            step: "frost round 1".into(),
            done: 7,
            total: 9
        }
    );
    l.handle(UnixMs(T0.0 + 600), step("lock", 0));
    assert_eq!(
        l.record().step_durations_ms.get("frost round 1"),
        Some(&500)
    );
}

#[test]
fn success_is_complete_and_final() {
    let mut l = running();
    l.handle(
        UnixMs(T0.0 + 50),
        Input::CeremonyProgress {
            step: "dkg".into(),
            done: 0,
            total: 1,
        },
    );
    l.handle(
        UnixMs(T0.0 + 3000),
        Input::CeremonySucceeded {
            lock_hash: "0x10c4".into(),
        },
    );
    let a = drain(&mut l);
    assert_eq!(l.state(), &State::Complete);
    assert!(is_persisted(&a, "complete"));
    assert_eq!(l.record().lock_hash.as_deref(), Some("0x10c4"));
    assert_eq!(l.record().last_attempt_duration_ms, Some(3000));
    assert_eq!(l.record().step_durations_ms.get("dkg"), Some(&2950));
    // Nothing moves a complete daemon.
    for input in [
        Input::CeremonyFailed {
            reason: "late".into(),
        },
        Input::Timer,
        Input::DefinitionFound(def("0xd2")),
        Input::KeyCreated,
        Input::CeremonyProgress {
            step: "x".into(),
            done: 1,
            total: 1,
        },
    ] {
        l.handle(UnixMs(u64::MAX), input);
        assert_eq!(l.state(), &State::Complete);
        assert!(drain(&mut l).is_empty());
    }
}

#[test]
fn failures_back_off_exponentially_and_retry() {
    let mut l = running();
    let mut now = T0;
    for (n, delay) in [(1u32, 10u64), (2, 20), (3, 40), (4, 80)] {
        l.handle(
            now,
            Input::CeremonyFailed {
                reason: format!("peer 2 gone #{n}"),
            },
        );
        let at = now.plus(Duration::from_secs(delay));
        assert_eq!(effects(&mut l), vec![Action::ScheduleRetry(at)]);
        assert_eq!(l.record().failures, n);
        assert_eq!(l.record().next_retry_unix_ms, Some(at.0));
        // Early timers do nothing.
        l.handle(UnixMs(at.0 - 1), Input::Timer);
        assert!(drain(&mut l).is_empty());
        l.handle(at, Input::Timer);
        assert_eq!(l.state(), &State::AwaitingPeers);
        assert_eq!(
            effects(&mut l),
            vec![Action::StartCeremony { attempt: n + 1 }]
        );
        now = at;
    }
    l.handle(
        now,
        Input::CeremonySucceeded {
            lock_hash: "0x1".into(),
        },
    );
    assert_eq!(l.record().failures, 0);
    assert_eq!(l.record().attempts, 5);
}

#[test]
fn invalid_artifacts_after_a_run_are_terminal() {
    let mut l = running();
    l.handle(
        T0,
        Input::ArtifactsInvalid {
            why: "keystore-0.json mismatch".into(),
        },
    );
    assert_eq!(effects(&mut l), vec![]);
    assert!(matches!(l.state(), State::Failed { retry_at: None, .. }));
    l.handle(UnixMs(u64::MAX), Input::Timer);
    assert!(matches!(l.state(), State::Failed { retry_at: None, .. }));
}

#[test]
fn inputs_out_of_place_are_ignored() {
    let (mut l, _) = started(facts(true, false, ArtifactFacts::Absent), None);
    for input in [
        Input::KeyCreated,
        Input::KeyFailed { reason: "x".into() },
        Input::PeersConnected {
            connected: 1,
            total: 3,
        },
        Input::CeremonyProgress {
            step: "x".into(),
            done: 0,
            total: 0,
        },
        Input::CeremonySucceeded {
            lock_hash: "0x".into(),
        },
        Input::CeremonyFailed { reason: "x".into() },
        Input::ArtifactsInvalid { why: "x".into() },
        Input::Timer,
    ] {
        l.handle(T0, input.clone());
        assert_eq!(l.state(), &State::AwaitingDefinition, "{input:?}");
        assert!(drain(&mut l).is_empty(), "{input:?}");
    }
    let mut l = running();
    l.handle(T0, Input::DefinitionFound(def("0xd2")));
    l.handle(
        T0,
        Input::DefinitionRejected {
            file: "f".into(),
            reason: "r".into(),
        },
    );
    assert_eq!(l.state(), &State::AwaitingPeers);
    assert!(drain(&mut l).is_empty());
}

#[test]
fn awaiting_peers_lasts_until_every_peer_is_connected() {
    let mut l = running();
    let step = |s: &str| Input::CeremonyProgress {
        step: s.into(),
        done: 0,
        total: 2,
    };
    l.handle(
        T0,
        Input::PeersConnected {
            connected: 1,
            total: 3,
        },
    );
    l.handle(T0, step("connect"));
    assert_eq!(l.state(), &State::AwaitingPeers);
    l.handle(
        UnixMs(T0.0 + 10),
        Input::PeersConnected {
            connected: 3,
            total: 3,
        },
    );
    assert_eq!(
        l.state(),
        &State::Ceremony {
            step: "connect".into(),
            done: 0,
            total: 2
        }
    );
    // A peer dropping mid-ceremony does not send the state back.
    l.handle(
        T0,
        Input::PeersConnected {
            connected: 2,
            total: 3,
        },
    );
    l.handle(T0, step("sync"));
    assert!(matches!(l.state(), State::Ceremony { step, .. } if step == "sync"));
    // Without peer reports, the first step starts the ceremony state at once.
    let mut l = running();
    l.handle(T0, step("connect"));
    assert!(matches!(l.state(), State::Ceremony { .. }));
}

fn held(f: Facts) -> Facts {
    Facts {
        key_holder: Some(KeyHolder {
            holder: "PID 4242 (dkgd dkg)".into(),
            pid: Some(4242),
        }),
        ..f
    }
}

#[test]
fn a_held_key_lock_is_reported_not_hidden_behind_awaiting_definition() {
    for def in [false, true] {
        let (l, a) = started(held(facts(true, def, ArtifactFacts::Absent)), None);
        assert_eq!(
            l.state(),
            &State::KeyLocked {
                holder: "PID 4242 (dkgd dkg)".into(),
                pid: Some(4242)
            }
        );
        assert!(is_persisted(&a, "key-locked"));
        assert!(l
            .record()
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("PID 4242"));
        assert!(!a
            .iter()
            .any(|x| matches!(x, Action::StartCeremony { .. } | Action::ScheduleRetry(_))));
    }
}

#[test]
fn verified_artifacts_win_over_a_held_lock() {
    let verified = ArtifactFacts::Verified {
        lock_hash: "0xab".into(),
    };
    let (l, _) = started(held(facts(true, true, verified)), None);
    assert_eq!(l.state(), &State::Complete);
}

#[test]
fn a_released_key_lock_re_derives_the_state() {
    let (mut l, _) = started(held(facts(true, true, ArtifactFacts::Absent)), None);
    // Ignored outside key-locked, and while still held the state stays.
    l.handle(T0, Input::Timer);
    assert_eq!(l.state().name(), "key-locked");
    l.handle(
        T0,
        Input::KeyReleased {
            facts: facts(true, true, ArtifactFacts::Absent),
        },
    );
    assert_eq!(l.state(), &State::AwaitingPeers);
    assert_eq!(l.record().last_error, None);
    assert!(effects(&mut l).contains(&Action::StartCeremony { attempt: 1 }));
    // Not in key-locked: ignored.
    l.handle(
        T0,
        Input::KeyReleased {
            facts: facts(true, false, ArtifactFacts::Absent),
        },
    );
    assert_eq!(l.state(), &State::AwaitingPeers);
}
