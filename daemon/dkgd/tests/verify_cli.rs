//! `dkgd verify` through the real binary: exit codes, one line per check, JSON output, and
//! clear one-line errors (exit 2, no panic) on bad input.

#![allow(clippy::unwrap_used)]

mod support;

use dkgd_testkit::vector_path;
use support::{run, s};

fn vector(rel: &str) -> String {
    vector_path(rel).display().to_string()
}

#[test]
fn real_lock_passes_with_exit_0() {
    let r = run(&[
        "verify",
        &vector("charon/cluster/examples/cluster-lock-003.json"),
    ]);
    r.expect_code(0);
    assert!(
        r.stdout.contains("PASS         lock_hash: "),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("PASS         signature_aggregate: "),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("node_signatures[3]"), "{}", r.stdout);
    let last = r.stdout.lines().last().unwrap();
    assert_eq!(
        last,
        "result: 30 checks passed, 0 failed, 0 unverifiable offline, 0 skipped"
    );
}

#[test]
fn real_definition_passes() {
    let r = run(&[
        "verify",
        &vector("charon/cluster/examples/cluster-definition-000.json"),
    ]);
    r.expect_code(0);
    assert!(
        r.stdout.contains("operators[3].enr_signature"),
        "{}",
        r.stdout
    );
}

#[test]
fn hand_edited_lock_fails_its_hashes_with_exit_1() {
    let r = run(&[
        "verify",
        &vector("charon/cmd/testdata/test_cluster_lock.json"),
    ]);
    r.expect_code(1);
    for name in ["config_hash", "definition_hash", "lock_hash"] {
        assert!(
            r.stdout.contains(&format!("FAIL         {name}: stored")),
            "{name}: {}",
            r.stdout
        );
    }
}

#[test]
fn random_signature_testdata_reports_invalid_signatures() {
    let r = run(&[
        "verify",
        &vector("charon/cluster/testdata/cluster_lock_v1_9_0.json"),
    ]);
    r.expect_code(1);
    assert!(r.stdout.contains("PASS         lock_hash"), "{}", r.stdout);
    assert!(
        r.stdout.contains("FAIL         signature_aggregate"),
        "{}",
        r.stdout
    );
    assert!(r.stderr.is_empty(), "{}", r.stderr);
}

#[test]
fn json_output_is_one_document() {
    let r = run(&[
        "verify",
        "--json",
        &vector("obol-sdk/fixtures-clusterLockWithCompoundingWithdrawalss.json"),
    ]);
    r.expect_code(0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["kind"], "lock");
    assert_eq!(v["ok"], true);
    assert_eq!(v["summary"]["failed"], 0);
    let checks = v["checks"].as_array().unwrap();
    assert!(checks
        .iter()
        .all(|c| c["status"] == "pass" || c["status"] == "skip"));
    assert!(checks
        .iter()
        .any(|c| c["check"] == "distributed_validators[0].deposit_data[0]"));
}

fn bad_file(name: &str, content: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, content).unwrap();
    (dir, p)
}

fn expect_one_line_error(p: &std::path::Path, needle: &str) {
    let r = run(&["verify", s(p)]);
    r.expect_code(2);
    let first = r.stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with("error: "), "{}", r.stderr);
    assert!(first.contains(needle), "wanted {needle:?} in {first:?}");
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}

#[test]
fn bad_inputs_get_one_line_errors_and_exit_2() {
    let lock =
        std::fs::read_to_string(vector_path("charon/cluster/examples/cluster-lock-003.json"))
            .unwrap();
    let (_d, p) = bad_file("trunc.json", &lock.as_bytes()[..lock.len() / 2]);
    expect_one_line_error(&p, "not valid JSON");

    let wrong_type = lock.replacen("\"threshold\": 3", "\"threshold\": \"3\"", 1);
    assert_ne!(wrong_type, lock);
    let (_d, p) = bad_file("type.json", wrong_type.as_bytes());
    expect_one_line_error(&p, "threshold");

    let unknown = lock.replacen("\"version\": \"v1.7.0\"", "\"version\": \"v9.9.9\"", 1);
    assert_ne!(unknown, lock);
    let (_d, p) = bad_file("version.json", unknown.as_bytes());
    expect_one_line_error(&p, "v9.9.9");

    let (_d, p) = bad_file("empty.json", b"");
    expect_one_line_error(&p, "empty.json");

    let (_d, p) = bad_file("binary.json", &[0xff, 0x00, 0x13, 0x37]);
    expect_one_line_error(&p, "binary.json");

    expect_one_line_error(
        std::path::Path::new("/nonexistent/cluster-lock.json"),
        "cannot read",
    );
}

#[test]
fn huge_file_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("huge.json");
    let f = std::fs::File::create(&p).unwrap();
    f.set_len(2 * 1024 * 1024 * 1024).unwrap(); // sparse: 2 GiB apparent size
    let started = std::time::Instant::now();
    expect_one_line_error(&p, "at most");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn invalid_curve_points_are_reported_not_panicked() {
    let lock =
        std::fs::read_to_string(vector_path("charon/cluster/examples/cluster-lock-003.json"))
            .unwrap();
    let v: serde_json::Value = serde_json::from_str(&lock).unwrap();
    let share = v["distributed_validators"][0]["public_shares"][0]
        .as_str()
        .unwrap()
        .to_string();
    // 48 bytes of 0x11 is not a valid compressed G1 point.
    let bogus = format!("0x{}", "11".repeat(48));
    let tampered = lock.replacen(&share, &bogus, 1);
    let (_d, p) = bad_file("points.json", tampered.as_bytes());
    let r = run(&["verify", s(&p)]);
    r.expect_code(1);
    assert!(
        r.stdout
            .contains("FAIL         distributed_validators[0].public_shares"),
        "{}",
        r.stdout
    );
    assert!(!r.all().contains("panicked"));
}
