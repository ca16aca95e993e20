//! `dkgd demo` end to end through the real binary, and `dkgd verify` of the data dirs it
//! writes, including tampered copies (each tamper must be caught by the matching check).

#![allow(clippy::unwrap_used)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use support::{run, s};

fn demo(out: &Path, extra: &[&str]) -> support::Run {
    let mut args = vec!["demo", "--out", s(out)];
    args.extend_from_slice(extra);
    run(&args)
}

fn set_mode(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn demo_writes_identical_verified_data_dirs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cluster");
    let r = demo(&out, &["--nodes", "4", "--validators", "2"]);
    r.expect_code(0);
    assert!(
        r.stdout.contains("OK: 4 data dirs verified"),
        "{}",
        r.stdout
    );
    let lock0 = std::fs::read(out.join("node0/cluster-lock.json")).unwrap();
    for i in 1..4 {
        assert_eq!(
            std::fs::read(out.join(format!("node{i}/cluster-lock.json"))).unwrap(),
            lock0
        );
    }
    // Each data dir verifies on its own, keystores decrypted.
    let v = run(&["verify", "--decrypt", s(&out.join("node2"))]);
    v.expect_code(0);
    assert!(
        v.stdout
            .contains("PASS         validator_keys/keystore-1.json: decrypts"),
        "{}",
        v.stdout
    );
    assert!(
        v.stdout.contains("PASS         deposit-data.json"),
        "{}",
        v.stdout
    );
    assert!(
        v.stdout.contains("PASS         deposit-data-1eth.json"),
        "{}",
        v.stdout
    );
    assert!(
        v.stdout.contains("PASS         permissions"),
        "{}",
        v.stdout
    );
    // The definition it wrote verifies too (real EIP-712 signatures).
    run(&["verify", s(&out.join("cluster-definition.json"))]).expect_code(0);
}

#[test]
fn verify_catches_tampered_data_dirs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cluster");
    demo(
        &out,
        &["--nodes", "3", "--validators", "1", "--insecure-keystores"],
    )
    .expect_code(0);
    let node = out.join("node0");

    // A keystore password file readable by others.
    let txt = node.join("validator_keys/keystore-0.txt");
    set_mode(&txt, 0o644);
    let v = run(&["verify", s(&node)]);
    v.expect_code(1);
    assert!(
        v.stdout
            .contains("FAIL         permissions: validator_keys/keystore-0.txt holds a secret"),
        "{}",
        v.stdout
    );
    set_mode(&txt, 0o400);

    // A wrong password.
    set_mode(&txt, 0o600);
    std::fs::write(&txt, "00000000000000000000000000000000").unwrap();
    set_mode(&txt, 0o400);
    let v = run(&["verify", "--decrypt", s(&node)]);
    v.expect_code(1);
    assert!(
        v.stdout
            .contains("FAIL         validator_keys/keystore-0.json: does not decrypt"),
        "{}",
        v.stdout
    );

    // One flipped hex digit in a deposit file signature.
    let dep = node.join("deposit-data.json");
    let text = std::fs::read_to_string(&dep).unwrap();
    let at = text.find("\"signature\": \"").unwrap() + 20;
    let mut bytes = text.into_bytes();
    bytes[at] = if bytes[at] == b'a' { b'b' } else { b'a' };
    set_mode(&dep, 0o644);
    std::fs::write(&dep, &bytes).unwrap();
    set_mode(&dep, 0o444);
    let v = run(&["verify", s(&node)]);
    v.expect_code(1);
    assert!(
        v.stdout.contains("FAIL         deposit-data.json"),
        "{}",
        v.stdout
    );

    // A missing lock is a usage error (exit 2), not a crash.
    let v = run(&["verify", s(&out.join("node1/validator_keys"))]);
    v.expect_code(2);
}

#[test]
fn demo_refuses_bad_arguments_and_existing_output() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cluster");
    demo(&out, &["--nodes", "1"]).expect_code(2);
    demo(&out, &["--nodes", "4", "--threshold", "5"]).expect_code(2);
    demo(&out, &["--definition-version", "v1.5.0"]).expect_code(2);
    demo(&out, &["--network", "mainnet", "--insecure-keystores"]).expect_code(2);
    assert!(!out.exists(), "bad arguments must not create anything");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("keep"), b"x").unwrap();
    let r = demo(&out, &[]);
    r.expect_code(2);
    assert!(r.stderr.contains("not empty"), "{}", r.stderr);
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
}
