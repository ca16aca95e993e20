//! A restart from every state: the data dir decides, sled only adds history.

use super::*;

fn record(state: &str) -> Record {
    Record {
        state: state.into(),
        definition_hash: Some("0xd1".into()),
        attempts: 2,
        ..Record::default()
    }
}

#[test]
fn verified_artifacts_mean_complete_whatever_sled_says() {
    let verified = || ArtifactFacts::Verified {
        lock_hash: "0x10c4".into(),
    };
    for rec in [
        None,
        Some(record("failed")),
        Some(record("first-boot")),
        Some(record("ceremony")),
    ] {
        for key in [true, false] {
            let (l, a) = started(facts(key, true, verified()), rec.clone());
            assert_eq!(l.state(), &State::Complete, "{rec:?} key={key}");
            assert!(is_persisted(&a, "complete"));
            assert!(!a
                .iter()
                .any(|x| matches!(x, Action::StartCeremony { .. } | Action::CreateKey)));
        }
    }
}

#[test]
fn bad_artifacts_on_disk_are_never_retried_or_touched() {
    let (l, a) = started(
        facts(
            true,
            true,
            ArtifactFacts::Invalid {
                why: "lock signature".into(),
            },
        ),
        Some(record("complete")),
    );
    assert!(
        matches!(l.state(), State::Failed { retry_at: None, reason } if reason.contains("lock signature"))
    );
    assert!(!a
        .iter()
        .any(|x| matches!(x, Action::StartCeremony { .. } | Action::ScheduleRetry(_))));
}

#[test]
fn missing_key_means_first_boot_whatever_sled_says() {
    for state in State::NAMES {
        let (l, a) = started(
            facts(false, true, ArtifactFacts::Absent),
            Some(record(state)),
        );
        assert_eq!(l.state(), &State::FirstBoot, "{state}");
        assert!(a.contains(&Action::CreateKey));
    }
}

#[test]
fn recorded_complete_without_artifacts_refuses_to_rerun() {
    let mut r = record("complete");
    r.lock_hash = Some("0x10c4".into());
    let (l, a) = started(facts(true, true, ArtifactFacts::Absent), Some(r));
    assert!(
        matches!(l.state(), State::Failed { retry_at: None, reason } if reason.contains("cluster-lock.json is missing") && reason.contains("0x10c4"))
    );
    assert!(!a.iter().any(|x| matches!(x, Action::StartCeremony { .. })));
}

#[test]
fn restart_without_definition_awaits_one_in_every_recorded_state() {
    for state in [
        "first-boot",
        "awaiting-definition",
        "awaiting-peers",
        "ceremony",
        "failed",
    ] {
        let (l, a) = started(
            facts(true, false, ArtifactFacts::Absent),
            Some(record(state)),
        );
        assert_eq!(l.state(), &State::AwaitingDefinition, "{state}");
        assert!(is_persisted(&a, "awaiting-definition"));
    }
}

#[test]
fn restart_mid_ceremony_starts_the_next_attempt() {
    for state in [
        "awaiting-peers",
        "ceremony",
        "awaiting-definition",
        "first-boot",
    ] {
        let (mut l, _) = started(
            facts(true, true, ArtifactFacts::Absent),
            Some(record(state)),
        );
        assert_eq!(l.state(), &State::AwaitingPeers, "{state}");
        assert_eq!(l.record().attempts, 3, "attempts continue from the record");
        l.handle(T0, Input::Timer);
        assert_eq!(l.state(), &State::AwaitingPeers);
    }
}

#[test]
fn restart_while_waiting_to_retry_keeps_the_schedule() {
    let mut r = record("failed");
    r.failures = 2;
    r.last_error = Some("peer 1 unreachable".into());
    r.next_retry_unix_ms = Some(T0.0 + 5_000);
    let (mut l, a) = started(facts(true, true, ArtifactFacts::Absent), Some(r.clone()));
    let at = UnixMs(T0.0 + 5_000);
    assert!(a.contains(&Action::ScheduleRetry(at)));
    assert!(
        matches!(l.state(), State::Failed { reason, retry_at: Some(t) } if reason == "peer 1 unreachable" && *t == at)
    );
    l.handle(at, Input::Timer);
    assert_eq!(effects(&mut l), vec![Action::StartCeremony { attempt: 3 }]);

    // A retry time that is already due runs now.
    r.next_retry_unix_ms = Some(T0.0 - 1);
    let (l, a) = started(facts(true, true, ArtifactFacts::Absent), Some(r.clone()));
    assert_eq!(l.state(), &State::AwaitingPeers);
    assert!(a.contains(&Action::StartCeremony { attempt: 3 }));

    // A retry time absurdly far ahead (clock jumped back) is capped at one maximum delay.
    r.next_retry_unix_ms = Some(u64::MAX);
    let (_, a) = started(facts(true, true, ArtifactFacts::Absent), Some(r));
    assert!(a.contains(&Action::ScheduleRetry(T0.plus(Duration::from_secs(600)))));
}

#[test]
fn a_new_definition_resets_the_attempt_count() {
    let mut r = record("failed");
    r.definition_hash = Some("0xold".into());
    r.failures = 5;
    r.attempts = 9;
    r.next_retry_unix_ms = Some(T0.0 + 100_000);
    let (l, a) = started(facts(true, true, ArtifactFacts::Absent), Some(r));
    assert_eq!(l.record().definition_hash.as_deref(), Some("0xd1"));
    assert!(a.contains(&Action::StartCeremony { attempt: 1 }));
}

#[test]
fn every_transition_persists_and_notifies() {
    let mut l = running();
    l.handle(T0, Input::CeremonyFailed { reason: "x".into() });
    let a = drain(&mut l);
    assert!(a.iter().any(
        |x| matches!(x, Action::History(h) if h.kind == "state" && h.detail.starts_with("failed"))
    ));
    assert!(is_persisted(&a, "failed"));
    assert_eq!(
        a.last(),
        Some(&Action::ScheduleRetry(T0.plus(Duration::from_secs(10))))
    );
}
