//! Backups of real data dirs (an in-process ceremony committed through dkgd-store): export,
//! open, restore, and every way a backup can be wrong (identity, passphrase, flipped byte,
//! truncation, a manifest that disagrees with its files, hostile archive entries), plus the
//! refusal to restore onto a box that has a key.

#![allow(clippy::unwrap_used)]

mod support;

use dkgd_backup::{
    export, generate_identity, open, parse_identities, parse_recipients, restore, Error, Kind,
    Meta, Passphrase, Problem, Seal, Unlock,
};
use dkgd_crypto::secret::SecretVec;
use std::path::{Path, PathBuf};
use support::{full_dir, key_hex, key_only_dir, mode, snapshot};
use zeroize::Zeroizing;

fn meta() -> Meta {
    Meta {
        dkgd_version: "0.1.0-test".into(),
        created_unix_secs: 1_796_000_000,
    }
}

/// A fresh identity: (identities to unlock, recipient to seal to).
fn owner() -> (Vec<age::x25519::Identity>, Vec<age::x25519::Recipient>) {
    let id = generate_identity();
    let text = format!(
        "# created by a test\n{}\n",
        age::secrecy::ExposeSecret::expose_secret(&id.secret)
    );
    let ids = parse_identities(text.as_bytes(), Path::new("key.txt")).unwrap();
    (ids, parse_recipients([id.recipient.as_str()]).unwrap())
}

fn passphrase(text: &str) -> Passphrase {
    Passphrase::new(Zeroizing::new(text.to_owned())).with_work_factor(10)
}

const FILE: &str = "box.age";

fn sealed_full(root: &Path) -> (PathBuf, Vec<u8>, Vec<age::x25519::Identity>) {
    let dir = full_dir(root);
    let (ids, to) = owner();
    let (bytes, collected) = export(&dir, &meta(), Seal::Recipients(to)).unwrap();
    assert!(collected.skipped.is_empty(), "{:?}", collected.skipped);
    (dir, bytes, ids)
}

#[test]
fn full_backup_round_trips_byte_identical_with_ceremony_modes() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, bytes, ids) = sealed_full(tmp.path());
    assert!(bytes.starts_with(b"age-encryption.org/v1\n"));
    let bundle = open(&bytes, Unlock::Identities(ids), Path::new(FILE)).unwrap();
    let m = bundle.manifest();
    assert_eq!(m.kind, Kind::Full);
    assert_eq!(m.format_version, 1);
    assert_eq!(m.created, "2026-11-30T00:53:20Z");
    assert_eq!(m.cluster_name.as_deref(), Some("backup test"));
    let lock: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("cluster-lock.json")).unwrap()).unwrap();
    assert_eq!(m.lock_hash.as_deref(), lock["lock_hash"].as_str());
    assert!(m.peer_id.starts_with("16Uiu2HA"), "{}", m.peer_id);
    let paths: Vec<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "charon-enr-private-key",
            "cluster-definition.json",
            "cluster-lock.json",
            "deposit-data-1eth.json",
            "deposit-data.json",
            "validator_keys/keystore-0.json",
            "validator_keys/keystore-0.txt",
            "validator_keys/keystore-1.json",
            "validator_keys/keystore-1.txt",
        ]
    );

    let target = tmp.path().join("new-box");
    std::fs::create_dir(&target).unwrap();
    let lock = dkgd_store::DataDir::open(&target)
        .unwrap()
        .lock_key("test restore")
        .unwrap();
    let written = restore(&bundle, &lock).unwrap();
    assert_eq!(
        written.last().unwrap(),
        &target.join("charon-enr-private-key")
    );
    for p in &paths {
        assert_eq!(
            std::fs::read(target.join(p)).unwrap(),
            std::fs::read(dir.join(p)).unwrap(),
            "{p}"
        );
        assert_eq!(mode(&target.join(p)), mode(&dir.join(p)), "{p}");
    }
    assert_eq!(mode(&target.join("charon-enr-private-key")), 0o600);
    assert_eq!(mode(&target.join("validator_keys/keystore-1.txt")), 0o400);
    // Keystore JSON gets whatever mode a ceremony's commit gives it (compared above).
    assert_eq!(mode(&target.join("cluster-lock.json")), 0o444);
    assert_eq!(mode(&target.join("deposit-data.json")), 0o444);
    // The restored key is usable through the store's strict reader.
    lock.read_key().unwrap();
}

#[test]
fn key_only_backup_round_trips() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = key_only_dir(tmp.path());
    let (ids, to) = owner();
    let (bytes, _) = export(&dir, &meta(), Seal::Recipients(to)).unwrap();
    let bundle = open(&bytes, Unlock::Identities(ids), Path::new(FILE)).unwrap();
    assert_eq!(bundle.manifest().kind, Kind::Key);
    assert_eq!(bundle.manifest().lock_hash, None);
    assert_eq!(bundle.entries().len(), 1);
    let target = tmp.path().join("t");
    std::fs::create_dir(&target).unwrap();
    let lock = dkgd_store::DataDir::open(&target)
        .unwrap()
        .lock_key("t")
        .unwrap();
    restore(&bundle, &lock).unwrap();
    assert_eq!(
        std::fs::read_to_string(target.join("charon-enr-private-key")).unwrap(),
        key_hex()
    );
}

#[test]
fn several_recipients_each_open_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = key_only_dir(tmp.path());
    let (ids1, to1) = owner();
    let (ids2, to2) = owner();
    let list = format!("{}, {}", to1[0], to2[0]);
    let to = parse_recipients([list]).unwrap();
    assert_eq!(to.len(), 2);
    let (bytes, _) = export(&dir, &meta(), Seal::Recipients(to)).unwrap();
    let info = dkgd_backup::inspect(&bytes, Path::new(FILE)).unwrap();
    assert_eq!((info.x25519_recipients, info.passphrase), (2, false));
    open(&bytes, Unlock::Identities(ids1), Path::new(FILE)).unwrap();
    open(&bytes, Unlock::Identities(ids2), Path::new(FILE)).unwrap();
}

#[test]
fn wrong_identity_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, bytes, _) = sealed_full(tmp.path());
    let (stranger, _) = owner();
    let err = open(&bytes, Unlock::Identities(stranger), Path::new(FILE)).unwrap_err();
    assert!(matches!(err, Error::NoMatchingIdentity { .. }), "{err}");
    assert!(err.to_string().contains(FILE), "{err}");
    assert!(err.hint().contains("age1"), "{}", err.hint());
}

#[test]
fn passphrase_round_trip_and_wrong_passphrase() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = full_dir(tmp.path());
    let (bytes, _) = export(&dir, &meta(), Seal::Passphrase(passphrase("correct horse"))).unwrap();
    let info = dkgd_backup::inspect(&bytes, Path::new(FILE)).unwrap();
    assert!(info.passphrase);
    let b = open(
        &bytes,
        Unlock::Passphrase(passphrase("correct horse")),
        Path::new(FILE),
    )
    .unwrap();
    assert_eq!(b.manifest().kind, Kind::Full);
    let err = open(
        &bytes,
        Unlock::Passphrase(passphrase("battery staple")),
        Path::new(FILE),
    )
    .unwrap_err();
    assert!(matches!(err, Error::WrongPassphrase { .. }), "{err}");
    let (ids, _) = owner();
    let err = open(&bytes, Unlock::Identities(ids), Path::new(FILE)).unwrap_err();
    assert!(matches!(err, Error::WrongUnlock { .. }), "{err}");
    assert!(err.hint().contains("--passphrase"), "{}", err.hint());
}

/// An owner whose identity file text is kept, so the same file can be opened many times.
fn owner_text() -> (String, Vec<age::x25519::Recipient>) {
    let id = generate_identity();
    let text = age::secrecy::ExposeSecret::expose_secret(&id.secret).to_owned();
    (text, parse_recipients([id.recipient.as_str()]).unwrap())
}

fn unlock(text: &str) -> Unlock {
    Unlock::Identities(parse_identities(text.as_bytes(), Path::new("key.txt")).unwrap())
}

#[test]
fn a_flipped_byte_anywhere_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = key_only_dir(tmp.path());
    let (text, to) = owner_text();
    let (bytes, _) = export(&dir, &meta(), Seal::Recipients(to)).unwrap();
    // One byte in the payload (past the header): authentication fails.
    let mut damaged = bytes.clone();
    let at = damaged.len() - 20;
    damaged[at] ^= 0x01;
    let err = open(&damaged, unlock(&text), Path::new(FILE)).unwrap_err();
    assert!(matches!(err, Error::Damaged { .. }), "{err}");
    assert!(err.hint().contains("another copy"), "{}", err.hint());
    // Every position, header included: never a success, never a panic.
    for at in 0..bytes.len() {
        let mut b = bytes.clone();
        b[at] ^= 0x20;
        assert!(
            open(&b, unlock(&text), Path::new(FILE)).is_err(),
            "flip at {at} accepted"
        );
    }
    open(&bytes, unlock(&text), Path::new(FILE)).unwrap();
}

#[test]
fn a_truncated_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = full_dir(tmp.path());
    let (text, to) = owner_text();
    let (bytes, _) = export(&dir, &meta(), Seal::Recipients(to)).unwrap();
    for keep in [
        0,
        10,
        100,
        bytes.len() / 2,
        bytes.len() - 17,
        bytes.len() - 1,
    ] {
        let err = open(&bytes[..keep], unlock(&text), Path::new(FILE)).unwrap_err();
        assert!(
            matches!(err, Error::Damaged { .. } | Error::NotABackup { .. }),
            "{keep}: {err}"
        );
    }
    open(&bytes, unlock(&text), Path::new(FILE)).unwrap();
}

#[test]
fn restore_is_refused_on_a_box_with_a_key_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, bytes, ids) = sealed_full(tmp.path());
    let bundle = open(&bytes, Unlock::Identities(ids), Path::new(FILE)).unwrap();
    // A box that already has its own key (and nothing else).
    let other = tmp.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let lock = dkgd_store::DataDir::open(&other)
        .unwrap()
        .lock_key("t")
        .unwrap();
    lock.create_key(&dkgd_crypto::k1::K1SecretKey::generate(&mut rand_core_os()))
        .unwrap();
    let before = snapshot(&other);
    let err = restore(&bundle, &lock).unwrap_err();
    assert!(matches!(err, Error::NotEmpty { .. }), "{err}");
    assert!(err.to_string().contains("charon-enr-private-key"), "{err}");
    assert_eq!(snapshot(&other), before);
    // A box with only artifacts (say a stray deposit file) is refused too.
    let stray = tmp.path().join("stray");
    std::fs::create_dir(&stray).unwrap();
    std::fs::write(stray.join("deposit-data-32eth.json"), b"[]").unwrap();
    let lock = dkgd_store::DataDir::open(&stray)
        .unwrap()
        .lock_key("t")
        .unwrap();
    let before = snapshot(&stray);
    assert!(matches!(
        restore(&bundle, &lock),
        Err(Error::NotEmpty { .. })
    ));
    assert_eq!(snapshot(&stray), before);
}

fn rand_core_os() -> rand_chacha::ChaCha20Rng {
    use rand_chacha::rand_core::SeedableRng;
    rand_chacha::ChaCha20Rng::seed_from_u64(42)
}

#[test]
fn nothing_secret_in_debug_or_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, bytes, ids) = sealed_full(tmp.path());
    let id_text = age::secrecy::ExposeSecret::expose_secret(&ids[0].to_string()).to_owned();
    let bundle = open(&bytes, Unlock::Identities(ids), Path::new(FILE)).unwrap();
    let key = key_hex();
    let debug = format!("{bundle:?} {:?}", passphrase("hunter2"));
    assert!(!debug.contains(&key[..16]), "{debug}");
    assert!(!debug.contains("hunter2"), "{debug}");
    let pw = String::from_utf8(
        bundle
            .entry("validator_keys/keystore-0.txt")
            .unwrap()
            .expose_secret()
            .to_vec(),
    )
    .unwrap();
    assert!(!debug.contains(&pw), "{debug}");
    let bad = format!("# x\n{}x\n", &id_text);
    let Err(err) = parse_identities(bad.as_bytes(), Path::new("id.txt")) else {
        panic!("a damaged identity line parsed");
    };
    let msg = format!("{err} {err:?} {}", err.hint());
    assert!(msg.contains("line 2"), "{msg}");
    assert!(!msg.contains(&id_text[..20]), "{msg}");
}

/// Seals a hand-made archive (for hostile or inconsistent bundles).
fn seal_tar(tar: Vec<u8>) -> (Vec<u8>, Unlock) {
    let (ids, to) = owner();
    let sealed = dkgd_backup::encrypt(&SecretVec::new(tar), Seal::Recipients(to)).unwrap();
    (sealed, Unlock::Identities(ids))
}

/// The archive of a real key-only bundle, entries as (path, bytes).
fn real_entries(root: &Path) -> Vec<(String, Vec<u8>)> {
    let dir = full_dir(root);
    let (ids, to) = owner();
    let (bytes, _) = export(&dir, &meta(), Seal::Recipients(to)).unwrap();
    let plain = dkgd_backup::decrypt(&bytes, Unlock::Identities(ids), Path::new(FILE)).unwrap();
    let mut a = tar::Archive::new(plain.expose_secret());
    a.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let p = String::from_utf8(e.path_bytes().into_owned()).unwrap();
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut v).unwrap();
            (p, v)
        })
        .collect()
}

fn make_tar(entries: &[(String, Vec<u8>)], kind: tar::EntryType) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (i, (p, v)) in entries.iter().enumerate() {
        let mut h = tar::Header::new_gnu();
        // set_path refuses "..": write the name bytes directly.
        let name = p.as_bytes();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_size(v.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(if i + 1 == entries.len() {
            kind
        } else {
            tar::EntryType::Regular
        });
        h.set_cksum();
        b.append(&h, v.as_slice()).unwrap();
    }
    b.into_inner().unwrap()
}

fn open_tar(entries: &[(String, Vec<u8>)], kind: tar::EntryType) -> Error {
    let (sealed, unlock) = seal_tar(make_tar(entries, kind));
    open(&sealed, unlock, Path::new(FILE)).unwrap_err()
}

#[test]
fn hand_made_archive_of_real_entries_opens() {
    let tmp = tempfile::tempdir().unwrap();
    let entries = real_entries(tmp.path());
    let (sealed, unlock) = seal_tar(make_tar(&entries, tar::EntryType::Regular));
    open(&sealed, unlock, Path::new(FILE)).unwrap();
}

#[test]
fn manifest_disagreeing_with_files_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let entries = real_entries(tmp.path());
    let why = |e: Error| match e {
        Error::Invalid { why, entry, .. } => (why, entry),
        other => panic!("{other}"),
    };
    // A changed lock byte: the lock's hash no longer matches the manifest.
    let mut e = entries.clone();
    let lock = e
        .iter_mut()
        .find(|(p, _)| p == "cluster-lock.json")
        .unwrap();
    let at = lock.1.len() / 2;
    lock.1[at] ^= 0x01;
    let (w, entry) = why(open_tar(&e, tar::EntryType::Regular));
    assert_eq!(
        (w, entry.as_deref()),
        (Problem::HashMismatch, Some("cluster-lock.json"))
    );
    // A file dropped from the archive.
    let e: Vec<_> = entries
        .iter()
        .filter(|(p, _)| p != "deposit-data.json")
        .cloned()
        .collect();
    assert_eq!(
        why(open_tar(&e, tar::EntryType::Regular)).0,
        Problem::Missing
    );
    // An extra file the manifest does not list.
    let mut e = entries.clone();
    e.push(("deposit-data-extra.json".into(), b"[]".to_vec()));
    assert_eq!(
        why(open_tar(&e, tar::EntryType::Regular)).0,
        Problem::Unlisted
    );
    // A manifest edited to name another peer (hashes intact).
    let mut e = entries.clone();
    let mut m: serde_json::Value = serde_json::from_slice(&e[0].1).unwrap();
    m["peer_id"] = "16Uiu2HAmSomeoneElse".into();
    e[0].1 = serde_json::to_vec(&m).unwrap();
    assert_eq!(
        why(open_tar(&e, tar::EntryType::Regular)).0,
        Problem::IdentityMismatch
    );
    // A manifest from the future.
    let mut e = entries.clone();
    let mut m: serde_json::Value = serde_json::from_slice(&e[0].1).unwrap();
    m["format_version"] = 7.into();
    e[0].1 = serde_json::to_vec(&m).unwrap();
    assert_eq!(
        why(open_tar(&e, tar::EntryType::Regular)).0,
        Problem::NewerFormat(7)
    );
    // The manifest not first.
    let mut e = entries.clone();
    e.swap(0, 1);
    assert_eq!(
        why(open_tar(&e, tar::EntryType::Regular)).0,
        Problem::NoManifest
    );
}

#[test]
fn hostile_entries_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let entries = real_entries(tmp.path());
    let with = |p: &str| {
        let mut e = entries.clone();
        e.push((p.to_owned(), b"x".to_vec()));
        e
    };
    for p in [
        "../evil",
        "/etc/cron.d/x",
        "validator_keys/../../x",
        ".ssh/authorized_keys",
    ] {
        match open_tar(&with(p), tar::EntryType::Regular) {
            Error::Invalid {
                why: Problem::Path(_),
                entry: Some(e),
                ..
            } => assert_eq!(e, p),
            other => panic!("{p}: {other}"),
        }
    }
    // A symlink (even at an allowed name) and a directory are refused.
    for kind in [
        tar::EntryType::Symlink,
        tar::EntryType::Directory,
        tar::EntryType::Fifo,
    ] {
        let e = open_tar(&with("deposit-data-x.json"), kind);
        assert!(
            matches!(
                e,
                Error::Invalid {
                    why: Problem::NotAFile,
                    ..
                }
            ),
            "{kind:?}: {e}"
        );
    }
    // A duplicate path.
    let mut e = entries.clone();
    e.push(entries[1].clone());
    assert!(matches!(
        open_tar(&e, tar::EntryType::Regular),
        Error::Invalid {
            why: Problem::Duplicate,
            ..
        }
    ));
}

#[test]
fn oversize_entries_are_refused_before_reading() {
    let tmp = tempfile::tempdir().unwrap();
    let entries = real_entries(tmp.path());
    // A header claiming 1 GiB followed by a few bytes: refused on the header alone.
    let header = |path: &str, size: u64| {
        let mut h = tar::Header::new_ustar();
        h.set_path(path).unwrap();
        h.set_size(size);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        h
    };
    let manifest = &entries[0].1;
    let mut raw = header("manifest.json", manifest.len() as u64)
        .as_bytes()
        .to_vec();
    raw.extend_from_slice(manifest);
    raw.resize(raw.len().div_ceil(512) * 512, 0);
    raw.extend_from_slice(header("cluster-lock.json", 1 << 30).as_bytes());
    raw.extend_from_slice(&[0u8; 4096]);
    let (sealed, unlock) = seal_tar(raw);
    let err = open(&sealed, unlock, Path::new(FILE)).unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { bytes, .. } if bytes == 1 << 30),
        "{err}"
    );
}

#[test]
fn data_dir_symlinks_are_refused_at_export() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = key_only_dir(tmp.path());
    let elsewhere = tmp.path().join("lock-elsewhere.json");
    std::fs::write(&elsewhere, b"{}").unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.join("cluster-lock.json")).unwrap();
    let (_, to) = owner();
    let err = export(&dir, &meta(), Seal::Recipients(to)).unwrap_err();
    assert!(
        matches!(err, Error::Invalid { why: Problem::NotAFile, ref file, .. } if file.ends_with("cluster-lock.json")),
        "{err}"
    );
}

#[test]
fn bad_recipients_are_named() {
    let err = parse_recipients(["age1notakey"]).unwrap_err();
    assert!(err.to_string().contains("age1notakey"), "{err}");
    assert!(parse_recipients(["", " , "]).unwrap().is_empty());
    let tmp = tempfile::tempdir().unwrap();
    let dir = key_only_dir(tmp.path());
    assert!(matches!(
        export(&dir, &meta(), Seal::Recipients(Vec::new())),
        Err(Error::NoRecipient)
    ));
}
