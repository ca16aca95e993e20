//! `dkgd create cluster-definition` through the real binary: a definition over four
//! `dkgd enr create` data dirs that `dkgd verify` accepts, and refusals (exit 2, nothing
//! written or changed) for bad inputs.

#![allow(clippy::unwrap_used)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use support::demo::{operator_args, operator_dirs};
use support::{file_state, run, s};

/// Runs `dkgd create cluster-definition` with the operator dirs, `extra` and `--output out`.
fn create(dirs: &[std::path::PathBuf], extra: &[&str], out: &Path) -> support::Run {
    let ops = operator_args(dirs);
    let mut args = vec!["create", "cluster-definition"];
    args.extend(ops.iter().map(String::as_str));
    args.extend_from_slice(extra);
    args.extend(["--output", s(out)]);
    run(&args)
}

#[test]
fn definition_over_four_operators_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = operator_dirs(tmp.path(), 4);
    let out = tmp.path().join("cluster-definition.json");
    let r = create(&dirs, &["--validators", "2", "--name", "four"], &out);
    r.expect_code(0);
    assert!(
        r.stdout.contains("4 operators, threshold 3"),
        "{}",
        r.stdout
    );
    run(&["verify", s(&out)]).expect_code(0);

    let def: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(def["name"], "four");
    assert_eq!(def["version"], "v1.10.0");
    assert_eq!(def["threshold"], 3);
    assert_eq!(def["num_validators"], 2);
    // Operators in --operator-dir order, each the ENR `dkgd enr show` prints for that dir.
    for (i, d) in dirs.iter().enumerate() {
        let show = run(&["enr", "show", "--json", "--data-dir", s(d)]);
        let shown: serde_json::Value = serde_json::from_str(&show.stdout).unwrap();
        assert_eq!(def["operators"][i]["enr"], shown["enr"], "operator {i}");
    }
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o444);

    // An explicit threshold, version and network; the creator from a data dir.
    let out2 = tmp.path().join("other.json");
    let r = create(
        &dirs,
        &[
            "--threshold",
            "4",
            "--definition-version",
            "v1.8.0",
            "--network",
            "sepolia",
            "--creator-dir",
            s(&dirs[0]),
        ],
        &out2,
    );
    r.expect_code(0);
    run(&["verify", s(&out2)]).expect_code(0);
}

#[test]
fn missing_key_dir_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut dirs = operator_dirs(tmp.path(), 3);
    dirs.push(tmp.path().join("nobody"));
    let out = tmp.path().join("def.json");
    let r = create(&dirs, &[], &out);
    r.expect_code(2).expect_err("nobody");
    assert!(r.stderr.contains("dkgd enr create"), "{}", r.stderr);
    assert!(!out.exists());

    // A data dir without a key is refused the same way.
    std::fs::create_dir(tmp.path().join("empty")).unwrap();
    dirs.pop();
    dirs.push(tmp.path().join("empty"));
    create(&dirs, &[], &out).expect_code(2);
    assert!(!out.exists());
}

#[test]
fn bad_counts_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = operator_dirs(tmp.path(), 4);
    let out = tmp.path().join("def.json");
    create(&dirs, &["--threshold", "5"], &out)
        .expect_code(2)
        .expect_err("--threshold 5");
    create(&dirs, &["--threshold", "1"], &out).expect_code(2);
    create(&dirs[..2], &[], &out)
        .expect_code(2)
        .expect_err("3 to 255");
    create(&dirs, &["--validators", "0"], &out).expect_code(2);
    create(&dirs, &["--definition-version", "v1.5.0"], &out).expect_code(2);
    create(
        &[dirs[0].clone(), dirs[1].clone(), dirs[0].clone()],
        &[],
        &out,
    )
    .expect_code(2)
    .expect_err("same key");
    assert!(!out.exists(), "a refused command must not write");
}

#[test]
fn existing_output_is_left_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = operator_dirs(tmp.path(), 3);
    let out = tmp.path().join("def.json");
    std::fs::write(&out, b"keep me").unwrap();
    let before = file_state(&out);
    create(&dirs, &[], &out)
        .expect_code(2)
        .expect_err("already exists");
    assert_eq!(file_state(&out), before);
}

#[test]
fn mainnet_needs_real_addresses() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = operator_dirs(tmp.path(), 3);
    let out = tmp.path().join("def.json");
    for net in ["mainnet", "gnosis"] {
        create(&dirs, &["--network", net], &out)
            .expect_code(2)
            .expect_err("--fee-recipient is required");
    }
    let placeholders = [
        "--network",
        "mainnet",
        "--fee-recipient",
        "0x1111111111111111111111111111111111111111",
        "--withdrawal-address",
        "0x2222222222222222222222222222222222222222",
    ];
    create(&dirs, &placeholders, &out)
        .expect_code(2)
        .expect_err("placeholder");
    // A checksum typo (one letter's case flipped) is caught.
    let typo = [
        "--fee-recipient",
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD",
    ];
    create(&dirs, &typo, &out)
        .expect_code(2)
        .expect_err("EIP-55");
    assert!(!out.exists());
    let real = [
        "--network",
        "mainnet",
        "--fee-recipient",
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "--withdrawal-address",
        "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359",
    ];
    create(&dirs, &real, &out).expect_code(0);
    run(&["verify", s(&out)]).expect_code(0);
    let def: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(
        def["validators"][0]["fee_recipient_address"],
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    );
}
