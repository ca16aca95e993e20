//! The BLS start-up self-test, through the real binary, on whatever CPU the tests target.
//!
//! This is the test `.ci/aarch64` runs under qemu-user to show that blst's aarch64 code
//! reproduces the known answers. When the test process itself is emulated, the kernel cannot
//! `exec` the aarch64 `dkgd` directly (no binfmt_misc handler on a CI box or in a container),
//! so the binary is started through the runner named in `DKGD_TEST_RUNNER` (whitespace
//! separated, e.g. `qemu-aarch64 -cpu cortex-a72 -L /`), or through `qemu-<arch>` when
//! cross-rs announces itself with `CROSS_RUNNER`. Natively neither is set and the binary runs
//! as is.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};

/// The prefix that starts a target binary from this (possibly emulated) test process.
fn runner() -> Vec<String> {
    if let Ok(r) = std::env::var("DKGD_TEST_RUNNER") {
        return r.split_whitespace().map(str::to_owned).collect();
    }
    match std::env::var("CROSS_RUNNER") {
        Ok(v) if !v.is_empty() && v != "native" => vec![format!("qemu-{}", std::env::consts::ARCH)],
        _ => Vec::new(),
    }
}

/// `dkgd` with debug logs as JSON, so the self-test's own log line can be found.
fn dkgd(args: &[&str]) -> (i32, String, String) {
    let bin = env!("CARGO_BIN_EXE_dkgd");
    let prefix = runner();
    let mut cmd = match prefix.split_first() {
        Some((exe, rest)) => {
            let mut c = Command::new(exe);
            c.args(rest).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    let out = cmd
        .arg("--log-format")
        .arg("json")
        .args(args)
        .env("RUST_LOG", "dkgd=debug")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("starting {bin} (runner {prefix:?}): {e}"));
    let code = out.status.code().unwrap_or(-1);
    // Under qemu-user a failed exec of a foreign binary surfaces as a silent exit 127.
    assert!(
        !(code == 127 && out.stdout.is_empty() && out.stderr.is_empty()),
        "{bin} could not be executed (runner {prefix:?}); when the tests run under emulation, \
         set DKGD_TEST_RUNNER, e.g. \"qemu-aarch64 -cpu cortex-a72 -L /\""
    );
    (
        code,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// True if one JSON log line on stderr says the self-test passed.
fn self_test_passed(stderr: &str) -> bool {
    stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .any(|v| v["fields"]["message"] == "BLS self-test passed")
}

#[test]
fn verify_runs_the_self_test_then_checks_a_real_lock() {
    let lock = dkgd_testkit::vector_path("charon/cluster/examples/cluster-lock-003.json");
    let (code, stdout, stderr) = dkgd(&["verify", lock.to_str().unwrap()]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(self_test_passed(&stderr), "no self-test line:\n{stderr}");
    assert!(
        stdout
            .lines()
            .last()
            .unwrap_or_default()
            .contains(" 0 failed"),
        "{stdout}"
    );
}

/// `dkgd dkg` checks the CPU before it looks at its inputs (a ceremony must never start on a
/// backend that computes wrong keys). The full ceremony on aarch64 is the mixed-architecture
/// test in `dkg_cluster.rs`.
#[test]
fn dkg_runs_the_self_test_before_anything_else() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-definition.json");
    let (code, stdout, stderr) = dkgd(&[
        "dkg",
        "--definition",
        missing.to_str().unwrap(),
        "--data-dir",
        dir.path().join("node").to_str().unwrap(),
    ]);
    assert!(self_test_passed(&stderr), "no self-test line:\n{stderr}");
    assert_ne!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
}
