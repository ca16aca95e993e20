//! `dkgd enr create`: the key file (format, mode), the printed ENR (checked with sigp's
//! independent EIP-778 decoder), refusal on an existing key, and bad data directories.

mod support;

use dkgd_crypto::k1::K1SecretKey;
use std::os::unix::fs::MetadataExt;
use std::str::FromStr;
use support::*;

type SigpEnr = enr::Enr<enr::k256::ecdsa::SigningKey>;

#[test]
fn creates_a_charon_key_file_and_its_enr() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a/b/.charon");
    let out = run(&["enr", "create", "--data-dir", s(&dir)]);
    out.expect_code(0);

    // The key file: mode 0600, exactly 64 lower-case hex characters, no newline.
    let key_path = dir.join(KEY);
    let meta = key_path.metadata().unwrap();
    assert!(meta.is_file());
    assert_eq!(meta.mode() & 0o7777, 0o600);
    let text = std::fs::read_to_string(&key_path).unwrap();
    assert_eq!(text.len(), 64, "{text:?}");
    assert!(text.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')));
    // Data dir created owner-only (it holds the key); no temp files left behind.
    assert_eq!(dir.metadata().unwrap().mode() & 0o777, 0o700);
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, [KEY, LOCK]);

    // The output: where the key is, that it must be backed up, the ENR, peer ID, address.
    assert!(
        out.stdout.contains(&key_path.display().to_string()),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("back up"), "{}", out.stdout);
    let key = K1SecretKey::from_hex(&text).unwrap();
    let printed = enr_line(&out.stdout);
    let ours = dkgd_formats::enr::Enr::create(&key);
    assert_eq!(printed, ours.to_text());
    assert_eq!(field(&out.stdout, "peer ID"), ours.peer_id().to_string());
    assert_eq!(
        field(&out.stdout, "Ethereum address"),
        dkgd_crypto::k1::eip55_checksum(&key.public_key().eth_address())
    );

    // `show` prints the same identity.
    let shown = run(&["enr", "show", "--data-dir", s(&dir)]);
    shown.expect_code(0);
    assert_eq!(enr_line(&shown.stdout), printed);
}

#[test]
fn created_enr_decodes_with_an_independent_eip778_implementation() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(&["enr", "create", "--data-dir", s(tmp.path())]);
    out.expect_code(0);
    let text = enr_line(&out.stdout);
    assert!(text.starts_with("enr:-HW4Q"), "{text}");

    // sigp's decoder checks the signature, the key order and the v4 identity scheme.
    let decoded = SigpEnr::from_str(text).expect("sigp enr rejects our record");
    assert!(decoded.verify());
    assert_eq!(decoded.id().as_deref(), Some("v4"));
    assert_eq!(decoded.seq(), 0);
    let keys: Vec<&[u8]> = decoded.iter().map(|(k, _)| k.as_slice()).collect();
    assert_eq!(keys, [b"id".as_slice(), b"secp256k1".as_slice()]);
    let key_hex = std::fs::read_to_string(tmp.path().join(KEY)).unwrap();
    let key = K1SecretKey::from_hex(&key_hex).unwrap();
    let their_pub = decoded.public_key().to_encoded_point(true);
    assert_eq!(their_pub.as_bytes(), key.public_key().to_compressed());
    assert_eq!(decoded.signature().len(), 64, "r||s without recovery byte");
    // Byte-identical re-encoding: the same RLP keys, order and signature.
    assert_eq!(decoded.to_base64(), text);
}

#[test]
fn refuses_an_existing_key_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    run(&["enr", "create", "--data-dir", s(dir)]).expect_code(0);
    let before = snapshot(dir);
    let out = run(&["enr", "create", "--data-dir", s(dir)]);
    out.expect_code(2)
        .expect_err("already exists")
        .expect_err(&format!("dkgd enr show --data-dir {}", dir.display()));
    assert!(!out.stdout.contains("enr:"), "{}", out.stdout);
    assert_eq!(
        snapshot(dir),
        before,
        "byte-for-byte, mode, inode and mtime"
    );
}

#[test]
fn refuses_anything_in_the_key_path() {
    // A directory, a dangling symlink or a malformed file where the key goes: all refused.
    let tmp = tempfile::tempdir().unwrap();
    let d1 = tmp.path().join("d1");
    std::fs::create_dir_all(d1.join(KEY)).unwrap();
    let d2 = tmp.path().join("d2");
    std::fs::create_dir_all(&d2).unwrap();
    std::os::unix::fs::symlink("/nonexistent", d2.join(KEY)).unwrap();
    let d3 = tmp.path().join("d3");
    write_key(&d3, b"garbage", 0o600);
    for d in [d1, d2, d3] {
        let before = snapshot(&d);
        run(&["enr", "create", "--data-dir", s(&d)])
            .expect_code(2)
            .expect_err("already exists");
        assert_eq!(snapshot(&d), before);
    }
}

#[test]
fn data_dir_that_is_a_file_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("file");
    std::fs::write(&f, b"x").unwrap();
    run(&["enr", "create", "--data-dir", s(&f)])
        .expect_code(2)
        .expect_err("expected a directory");
    assert_eq!(std::fs::read(&f).unwrap(), b"x");
}

#[test]
fn unwritable_data_dir_is_refused_with_the_fix() {
    // Root ignores directory modes, so as root the binary runs as `nobody` against a
    // root-owned directory; otherwise the directory is made read-only.
    let tmp = tempfile::tempdir().unwrap();
    chmod(tmp.path(), 0o755);
    let dir = tmp.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    let is_root = nix::unistd::geteuid().is_root();
    let mut cmd = if is_root {
        // Copy the binary somewhere `nobody` can certainly execute it.
        let bin = tmp.path().join("dkgd");
        std::fs::copy(env!("CARGO_BIN_EXE_dkgd"), &bin).unwrap();
        chmod(&bin, 0o755);
        let mut c = std::process::Command::new(bin);
        std::os::unix::process::CommandExt::uid(&mut c, 65534);
        std::os::unix::process::CommandExt::gid(&mut c, 65534);
        c
    } else {
        chmod(&dir, 0o555);
        dkgd()
    };
    let out = cmd
        .args(["enr", "create", "--data-dir", s(&dir)])
        .current_dir(tmp.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(77), "{stderr}");
    assert!(stderr.contains("cannot create files in"), "{stderr}");
    assert!(stderr.contains("writable by uid"), "{stderr}");
    assert!(
        std::fs::read_dir(&dir).unwrap().next().is_none(),
        "nothing written"
    );
    chmod(&dir, 0o755);
}
