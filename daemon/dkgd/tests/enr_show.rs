//! `dkgd enr show`: identity output (text, JSON, QR), strict checks of the data directory's
//! key (permissions, format, file type), and the ENR vectors of vectors.md.

mod support;

use dkgd_formats::enr::Enr;
use support::*;

#[test]
fn shows_enr_peer_id_address_json_and_qr() {
    let v = k1_vector();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_key(dir, v.key_hex.as_bytes(), 0o600);

    let out = run(&["enr", "show", "--data-dir", s(dir)]);
    out.expect_code(0);
    assert_eq!(enr_line(&out.stdout), v.enr);
    assert_eq!(field(&out.stdout, "peer ID"), v.peer_id);
    let address = field(&out.stdout, "Ethereum address");
    assert!(
        address.starts_with("0x") && address.len() == 42,
        "{address}"
    );
    assert!(dkgd_crypto::k1::is_eip55_checksummed(address), "{address}");

    let json = run(&["enr", "show", "--json", "--data-dir", s(dir)]);
    json.expect_code(0);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["enr"], v.enr.as_str());
    assert_eq!(doc["peer_id"], v.peer_id.as_str());
    assert_eq!(doc["address"], address);

    let qr = run(&["enr", "show", "--qr", "--data-dir", s(dir)]);
    qr.expect_code(0);
    assert_eq!(enr_line(&qr.stdout), v.enr);
    let art: Vec<&str> = qr.stdout.lines().filter(|l| l.contains('█')).collect();
    assert!(art.len() >= 20, "QR code missing:\n{}", qr.stdout);
    assert!(
        art.iter().all(|l| l.chars().count() <= 80),
        "fits 80 columns"
    );
}

#[test]
fn enr_vectors_round_trip() {
    // Every ENR quoted in vectors.md parses and re-encodes to the same text.
    let md = vectors_md();
    let enrs: Vec<&str> = backquoted(&md)
        .into_iter()
        .filter(|t| t.starts_with("enr:-") && t.len() > 40)
        .collect();
    assert!(
        enrs.len() >= 4,
        "vectors.md: expected the ENR table, got {enrs:?}"
    );
    for text in enrs {
        let enr = Enr::parse(text).unwrap_or_else(|e| panic!("vectors.md ENR {text}: {e}"));
        assert_eq!(enr.to_text(), text, "vectors.md ENR re-encoding");
    }
    // And the one whose key we know is reproduced by `dkgd enr show`.
    let v = k1_vector();
    let key = dkgd_crypto::k1::K1SecretKey::from_hex(&v.key_hex).unwrap();
    assert_eq!(Enr::create(&key).to_text(), v.enr, "vectors.md k1 ENR");
}

#[test]
fn world_or_group_readable_key_is_refused_with_chmod_fix() {
    let v = k1_vector();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let key = write_key(dir, v.key_hex.as_bytes(), 0o644);
    for mode in [0o644, 0o640, 0o604] {
        chmod(&key, mode);
        let before = snapshot(dir);
        let out = run(&["enr", "show", "--data-dir", s(dir)]);
        out.expect_code(77)
            .expect_err("readable by group or others")
            .expect_err(&format!("chmod 600 {}", key.display()));
        assert!(!out.stdout.contains("enr:"));
        assert!(!out.all().contains(&v.key_hex));
        assert_eq!(snapshot(dir), before, "mode {mode:o}: nothing changed");
    }
    chmod(&key, 0o600);
    run(&["enr", "show", "--data-dir", s(dir)]).expect_code(0);
}

#[test]
fn malformed_key_files_get_specific_errors() {
    let v = k1_vector();
    let hex = v.key_hex.as_str();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (Vec::new(), "the file is empty"),
        (
            hex[..40].into(),
            "wrong length: 40 hex characters, expected exactly 64",
        ),
        (format!("{hex}00").into(), "wrong length: 66 hex characters"),
        (
            format!("{hex} # mine").into(),
            "trailing garbage: 7 unexpected bytes",
        ),
        (
            format!("{}-{}", &hex[..5], &hex[6..]).into(),
            "character 6 is not a hex digit",
        ),
        (format!("0x{hex}").into(), "starts with 0x"),
    ];
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for (content, message) in cases {
        write_key(dir, &content, 0o600);
        let before = snapshot(dir);
        run(&["enr", "show", "--data-dir", s(dir)])
            .expect_code(2)
            .expect_err(message)
            .expect_err("restore it from your backup");
        assert_eq!(snapshot(dir), before);
    }
}

#[test]
fn key_path_must_be_a_regular_file() {
    let v = k1_vector();
    let tmp = tempfile::tempdir().unwrap();
    let d1 = tmp.path().join("d1");
    std::fs::create_dir_all(d1.join(KEY)).unwrap();
    run(&["enr", "show", "--data-dir", s(&d1)])
        .expect_code(2)
        .expect_err("is a directory, expected a regular file");

    let d2 = tmp.path().join("d2");
    std::fs::create_dir_all(&d2).unwrap();
    let real = write_key(&tmp.path().join("elsewhere"), v.key_hex.as_bytes(), 0o600);
    std::os::unix::fs::symlink(&real, d2.join(KEY)).unwrap();
    run(&["enr", "show", "--data-dir", s(&d2)])
        .expect_code(2)
        .expect_err("is a symbolic link, expected a regular file");
}

#[test]
fn missing_key_or_data_dir_says_how_to_create_one() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    run(&["enr", "show", "--data-dir", s(&missing)])
        .expect_code(2)
        .expect_err("does not exist")
        .expect_err("dkgd enr create --data-dir");
    assert!(!missing.exists(), "show never creates a data dir");
    run(&["enr", "show", "--data-dir", s(tmp.path())])
        .expect_code(2)
        .expect_err(&format!(
            "{} does not exist",
            tmp.path().join(KEY).display()
        ))
        .expect_err("dkgd enr import FILE");
}

#[test]
fn default_data_dir_is_dot_charon() {
    let tmp = tempfile::tempdir().unwrap();
    run_in(tmp.path(), &["enr", "create"]).expect_code(0);
    assert!(tmp.path().join(".charon").join(KEY).is_file());
    run_in(tmp.path(), &["enr", "show"]).expect_code(0);
}
