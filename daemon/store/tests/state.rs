//! The daemon's state database on real sled files: round trips survive reopening, history is
//! capped, and a corrupt or missing database is rebuilt instead of failing.

#![allow(clippy::unwrap_used)]

use dkgd_store::state::{HistoryEvent, Record, RunLock, StateStore, HISTORY_CAP, STATE_DB_NAME};
use std::path::Path;

fn record() -> Record {
    let mut r = Record {
        state: "failed".into(),
        definition_hash: Some("0xabcd".into()),
        attempts: 3,
        failures: 2,
        last_error: Some("peer 2 unreachable".into()),
        next_retry_unix_ms: Some(1_700_000_000_000),
        ..Record::default()
    };
    r.step_durations_ms.insert("frost round 1".into(), 1234);
    r
}

fn event(i: u64) -> HistoryEvent {
    HistoryEvent {
        at_unix_ms: i,
        kind: "state".into(),
        detail: format!("event {i}"),
    }
}

#[test]
fn save_load_round_trip_survives_reopen() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join(STATE_DB_NAME);
    {
        let opened = StateStore::open(&path).unwrap();
        assert!(opened.created);
        assert!(opened.rebuilt.is_none());
        assert_eq!(opened.store.load().unwrap(), None);
        opened.store.save(&record()).unwrap();
        opened.store.append_history(&event(1)).unwrap();
    }
    let opened = StateStore::open(&path).unwrap();
    assert!(!opened.created);
    assert_eq!(opened.store.load().unwrap(), Some(record()));
    assert_eq!(opened.store.history().unwrap(), vec![event(1)]);
    let mut r2 = record();
    r2.state = "complete".into();
    opened.store.save(&r2).unwrap();
    assert_eq!(opened.store.load().unwrap(), Some(r2));
}

#[test]
fn history_is_capped_oldest_first() {
    let d = tempfile::tempdir().unwrap();
    let s = StateStore::open(&d.path().join(STATE_DB_NAME))
        .unwrap()
        .store;
    let n = u64::try_from(HISTORY_CAP).unwrap() + 10;
    for i in 0..n {
        s.append_history(&event(i)).unwrap();
    }
    let h = s.history().unwrap();
    assert_eq!(h.len(), HISTORY_CAP);
    assert_eq!(h.first().unwrap().at_unix_ms, 10);
    assert_eq!(h.last().unwrap().at_unix_ms, n - 1);
}

/// Overwrites every file of the database with garbage of the same size (or a little).
fn trash(dir: &Path) {
    for e in walk(dir) {
        let len = e.metadata().unwrap().len();
        let len = usize::try_from(len).unwrap().max(64);
        let garbage: Vec<u8> = (0..len)
            .map(|i| u8::try_from((i * 7 + 13) % 256).unwrap())
            .collect();
        std::fs::write(&e, garbage).unwrap();
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn garbage_files_are_moved_aside_and_rebuilt() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join(STATE_DB_NAME);
    {
        let s = StateStore::open(&path).unwrap().store;
        s.save(&record()).unwrap();
    }
    trash(&path);
    let opened = StateStore::open(&path).unwrap();
    let rebuilt = opened.rebuilt.expect("a trashed database is rebuilt");
    assert!(rebuilt.moved_to.exists(), "{rebuilt:?}");
    assert!(
        rebuilt
            .moved_to
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("state.sled.corrupt-"),
        "{rebuilt:?}"
    );
    assert_eq!(opened.store.load().unwrap(), None);
    opened.store.save(&record()).unwrap();
    drop(opened.store);
    assert_eq!(
        StateStore::open(&path).unwrap().store.load().unwrap(),
        Some(record())
    );
}

#[test]
fn undecodable_record_is_rebuilt() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join(STATE_DB_NAME);
    {
        // A value from a "newer" dkgd: a valid sled database whose record does not decode.
        let db = sled::open(&path).unwrap();
        db.insert(b"record", &br#"{"schema":99,"value":{}}"#[..])
            .unwrap();
        db.flush().unwrap();
    }
    let opened = StateStore::open(&path).unwrap();
    let rebuilt = opened.rebuilt.expect("rebuilt");
    assert!(rebuilt.reason.contains("schema version 99"), "{rebuilt:?}");
    assert_eq!(opened.store.load().unwrap(), None);
}

#[test]
fn missing_database_is_created_empty() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join(STATE_DB_NAME);
    {
        StateStore::open(&path)
            .unwrap()
            .store
            .save(&record())
            .unwrap();
    }
    std::fs::remove_dir_all(&path).unwrap();
    let opened = StateStore::open(&path).unwrap();
    assert!(opened.created);
    assert!(opened.rebuilt.is_none());
    assert_eq!(opened.store.load().unwrap(), None);
}

#[test]
fn a_database_in_use_is_an_error_not_a_rebuild() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join(STATE_DB_NAME);
    let _first = StateStore::open(&path).unwrap();
    let err = StateStore::open(&path).unwrap_err().to_string();
    assert!(err.contains("state database"), "{err}");
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("busy"), "{err}");
    let mut entries: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(
        entries,
        ["state.sled", "state.sled.lock"],
        "nothing moved aside"
    );
}

/// A database another opener is still using (an orphaned state helper finishing its batch)
/// is waited for, not taken for a crash: the second open succeeds once the first lets go,
/// and nothing is rebuilt.
#[test]
fn an_open_waits_for_the_previous_opener_to_finish() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join(STATE_DB_NAME);
    let first = StateStore::open(&path).unwrap().store;
    first.save(&record()).unwrap();
    let holder = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        drop(first);
    });
    let started = std::time::Instant::now();
    let second = StateStore::open(&path).unwrap();
    assert!(started.elapsed() >= std::time::Duration::from_millis(250));
    assert!(second.rebuilt.is_none());
    assert_eq!(second.store.load().unwrap(), Some(record()));
    holder.join().unwrap();
}

#[test]
fn run_lock_file_lives_in_the_state_dir() {
    let d = tempfile::tempdir().unwrap();
    let lock = RunLock::acquire(d.path()).unwrap();
    assert_eq!(lock.path(), d.path().join("dkgd-run.lock"));
    let pid: u32 = std::fs::read_to_string(lock.path())
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(pid, std::process::id());
}

#[test]
fn an_open_that_never_returned_is_treated_as_corrupt() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join(STATE_DB_NAME);
    StateStore::open(&path)
        .unwrap()
        .store
        .save(&record())
        .unwrap();
    assert!(!d.path().join("state.sled.opening").exists());
    // As if sled had aborted the process while reading.
    std::fs::write(d.path().join("state.sled.opening"), b"").unwrap();
    let opened = StateStore::open(&path).unwrap();
    let rebuilt = opened.rebuilt.as_ref().expect("rebuilt");
    assert!(rebuilt.reason.contains("did not finish"), "{rebuilt:?}");
    assert_eq!(opened.store.load().unwrap(), None);
    assert!(!d.path().join("state.sled.opening").exists());
}
