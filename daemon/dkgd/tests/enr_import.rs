//! `dkgd enr import FILE`: valid charon key files are copied in canonical form; every
//! malformed file gets its own message and leaves the disk untouched; nothing is overwritten.

mod support;

use std::os::unix::fs::MetadataExt;
use support::*;

#[test]
fn imports_the_charon_vector_key_and_reproduces_its_enr() {
    let v = k1_vector();
    let tmp = tempfile::tempdir().unwrap();
    for (name, content) in [
        ("plain", v.key_hex.clone()),
        ("newline", format!("{}\n", v.key_hex)),
        ("upper", format!("  {}\r\n", v.key_hex.to_uppercase())),
    ] {
        let src = tmp.path().join(name);
        std::fs::write(&src, &content).unwrap();
        chmod(&src, 0o600);
        let dir = tmp.path().join(format!("dd-{name}"));
        let out = run(&["enr", "import", s(&src), "--data-dir", s(&dir)]);
        out.expect_code(0);
        assert_eq!(enr_line(&out.stdout), v.enr, "vectors.md ENR");
        assert_eq!(
            field(&out.stdout, "peer ID"),
            v.peer_id,
            "vectors.md peer ID"
        );
        let key = dir.join(KEY);
        // Stored in charon's canonical form, mode 0600, whatever the source looked like.
        assert_eq!(std::fs::read_to_string(&key).unwrap(), v.key_hex);
        assert_eq!(key.metadata().unwrap().mode() & 0o7777, 0o600);
        assert!(out.stdout.contains("back up"), "{}", out.stdout);
        // The source is left alone.
        assert_eq!(std::fs::read_to_string(&src).unwrap(), content);
    }
}

#[test]
fn each_malformed_source_has_a_specific_error_and_changes_nothing() {
    let v = k1_vector();
    let hex = v.key_hex.as_str();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "the file is empty"),
        ("short", hex[..63].into(), "wrong length: 63 hex characters"),
        (
            "long",
            format!("{hex}{hex}").into(),
            "wrong length: 128 hex characters",
        ),
        ("prefix", format!("0x{hex}").into(), "starts with 0x"),
        (
            "nonhex",
            format!("{}z{}", &hex[..20], &hex[21..]).into(),
            "character 21 is not a hex digit",
        ),
        (
            "garbage",
            format!("{hex}\n-----END-----\n").into(),
            "trailing garbage: 14 unexpected bytes",
        ),
        ("binary", vec![0xff; 32], "character 1 is not a hex digit"),
        (
            "zero",
            "0".repeat(64).into(),
            "not a valid secp256k1 private key",
        ),
        ("huge", vec![b'a'; 10_000], "10000 bytes long"),
    ];
    let tmp = tempfile::tempdir().unwrap();
    for (name, content, message) in cases {
        let src = tmp.path().join(name);
        std::fs::write(&src, &content).unwrap();
        let dir = tmp.path().join(format!("dd-{name}"));
        let before = snapshot(tmp.path());
        let out = run(&["enr", "import", s(&src), "--data-dir", s(&dir)]);
        out.expect_code(2)
            .expect_err(message)
            .expect_err(&format!("{} is not a valid charon key file", src.display()));
        assert!(!dir.exists(), "{name}: data dir must not be created");
        assert_eq!(snapshot(tmp.path()), before, "{name}: nothing changed");
        assert!(!out.all().contains(hex), "{name}: key echoed");
    }
}

#[test]
fn missing_or_non_file_sources_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dd");
    let missing = tmp.path().join("missing");
    run(&["enr", "import", s(&missing), "--data-dir", s(&dir)])
        .expect_code(2)
        .expect_err("does not exist");
    let sub = tmp.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    run(&["enr", "import", s(&sub), "--data-dir", s(&dir)])
        .expect_code(2)
        .expect_err("is a directory, expected a regular file");
    assert!(!dir.exists());
}

#[test]
fn never_overwrites_an_existing_key() {
    let v = k1_vector();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dd");
    run(&["enr", "create", "--data-dir", s(&dir)]).expect_code(0);
    let src = tmp.path().join("src");
    std::fs::write(&src, &v.key_hex).unwrap();
    let before = snapshot(&dir);
    run(&["enr", "import", s(&src), "--data-dir", s(&dir)])
        .expect_code(2)
        .expect_err("already exists")
        .expect_err("dkgd enr show --data-dir");
    assert_eq!(snapshot(&dir), before);

    // Importing the very key that is already there is a no-op success.
    let own = tmp.path().join("own");
    std::fs::copy(dir.join(KEY), &own).unwrap();
    let out = run(&["enr", "import", s(&own), "--data-dir", s(&dir)]);
    out.expect_code(0);
    assert!(out.stdout.contains("nothing changed"), "{}", out.stdout);
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn loose_source_permissions_are_imported_with_a_warning() {
    let v = k1_vector();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("usb-copy");
    std::fs::write(&src, &v.key_hex).unwrap();
    chmod(&src, 0o644);
    let dir = tmp.path().join("dd");
    let out = run(&["enr", "import", s(&src), "--data-dir", s(&dir)]);
    out.expect_code(0);
    assert!(
        out.stdout
            .contains("readable by group or others (mode 0644)"),
        "{}",
        out.stdout
    );
    assert_eq!(dir.join(KEY).metadata().unwrap().mode() & 0o7777, 0o600);
}
