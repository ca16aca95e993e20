//! The ceremony child runner with real processes: a stand-in `dkgd` (a shell script) prints
//! progress lines and exits as told; the runner must report progress, the reason of a failure,
//! stop a child with SIGTERM, and let a child in its commit step finish.

#![allow(clippy::unwrap_used)]

use dkgd_node::run::{CeremonyEvent, CeremonyRunner, CeremonySpec, ProcessRunner, ProgressEvent};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn fake(dir: &Path, body: &str) -> PathBuf {
    let p = dir.join("fake-dkgd");
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn spec(dir: &Path) -> CeremonySpec {
    CeremonySpec {
        attempt: 1,
        definition: dir.join("cluster-definition.json"),
        data_dir: dir.to_path_buf(),
        relays: vec!["http://relay".into()],
        listen: vec![],
        peer_addrs: vec![],
        insecure_keystores: true,
    }
}

async fn collect(
    h: &mut dkgd_node::run::CeremonyHandle,
) -> (Vec<ProgressEvent>, Result<(), String>) {
    let mut progress = Vec::new();
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(20), h.events.recv())
            .await
            .expect("events within 20 s")
            .expect("an Exited event before the channel closes");
        match ev {
            CeremonyEvent::Progress(p) => progress.push(p),
            CeremonyEvent::Exited(r) => return (progress, r),
        }
    }
}

#[tokio::test]
async fn progress_and_success() {
    let d = tempfile::tempdir().unwrap();
    let args_file = d.path().join("args");
    let exe = fake(
        d.path(),
        &format!(
            "echo \"$@\" > {}\n\
             echo '{{\"event\":\"connected\",\"peers\":2,\"total\":2}}'\n\
             echo 'not json'\n\
             echo '{{\"event\":\"step\",\"step\":\"frost round 1\",\"done\":1,\"total\":9}}'\n\
             echo '{{\"event\":\"done\",\"lock_hash\":\"0xab\"}}'\n\
             exit 0",
            args_file.display()
        ),
    );
    let mut h = ProcessRunner::new(exe).start(spec(d.path())).unwrap();
    let (progress, result) = collect(&mut h).await;
    assert_eq!(result, Ok(()));
    assert_eq!(
        progress,
        vec![
            ProgressEvent::Connected { peers: 2, total: 2 },
            ProgressEvent::Step {
                step: "frost round 1".into(),
                done: 1,
                total: 9
            },
            ProgressEvent::Done {
                lock_hash: "0xab".into()
            },
        ]
    );
    let args = std::fs::read_to_string(args_file).unwrap();
    assert!(args.starts_with("dkg --definition "), "{args}");
    assert!(
        args.contains("--relay http://relay --insecure-keystores --progress-json"),
        "{args}"
    );
}

#[tokio::test]
async fn failure_reasons() {
    let d = tempfile::tempdir().unwrap();
    let exe = fake(
        d.path(),
        "echo '{\"event\":\"failed\",\"step\":\"dkg\",\"peer\":\"16Uiu2X\",\"reason\":\"timed out\"}'\n\
         echo 'error: ceremony failed' >&2\nexit 1",
    );
    let (_, r) = collect(&mut ProcessRunner::new(exe).start(spec(d.path())).unwrap()).await;
    assert_eq!(
        r,
        Err("step dkg: timed out (peer 16Uiu2X) (dkgd dkg exited with code 1)".into())
    );

    let exe = fake(d.path(), "echo 'INFO something' >&2\necho 'error: the key is in use by PID 7' >&2\necho 'hint: retry later' >&2\nexit 75");
    let (_, r) = collect(&mut ProcessRunner::new(exe).start(spec(d.path())).unwrap()).await;
    assert_eq!(
        r,
        Err("the key is in use by PID 7 (dkgd dkg exited with code 75)".into())
    );

    // A missing binary fails at start naming it; under qemu-user (aarch64 CI) the exec
    // failure surfaces as the child's exit instead. Either way it is a failure.
    match ProcessRunner::new(d.path().join("nope")).start(spec(d.path())) {
        Err(missing) => assert!(missing.contains("nope"), "{missing}"),
        Ok(mut h) => {
            let (_, r) = collect(&mut h).await;
            assert!(r.is_err(), "{r:?}");
        }
    }
}

#[tokio::test]
async fn stop_sends_sigterm() {
    let d = tempfile::tempdir().unwrap();
    let exe = fake(
        d.path(),
        "echo '{\"event\":\"step\",\"step\":\"sync\"}'\nexec sleep 30",
    );
    let mut h = ProcessRunner::new(exe).start(spec(d.path())).unwrap();
    let first = h.events.recv().await.unwrap();
    assert!(matches!(
        first,
        CeremonyEvent::Progress(ProgressEvent::Step { .. })
    ));
    let t = Instant::now();
    h.stop.send(true).unwrap();
    let (_, r) = collect(&mut h).await;
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(r.unwrap_err().contains("signal 15"));
}

#[tokio::test]
async fn a_child_committing_is_let_finish() {
    let d = tempfile::tempdir().unwrap();
    let marker = d.path().join("committed");
    let exe = fake(
        d.path(),
        &format!(
            "echo '{{\"event\":\"step\",\"step\":\"commit\"}}'\nsleep 1\ntouch {}\nexit 0",
            marker.display()
        ),
    );
    let mut h = ProcessRunner::new(exe).start(spec(d.path())).unwrap();
    let _ = h.events.recv().await.unwrap();
    h.stop.send(true).unwrap();
    let (_, r) = collect(&mut h).await;
    assert_eq!(r, Ok(()));
    assert!(marker.exists(), "the commit finished");
}
