//! `dkgd backup` end to end through the real binary, on a data dir written by a real
//! `dkgd demo` ceremony: export, verify, restore onto a fresh box (then `dkgd verify
//! --decrypt` passes and every file is byte-identical), the refusals (no acknowledgement, a
//! box with a key, wrong identity or passphrase, damaged or truncated files), and a backup
//! opened by Debian's `age` CLI and plain `tar`, as an owner with only a laptop would.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn expect(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code; stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Runs `dkgd args…` with `stdin` as its standard input.
fn dkgd_with(args: &[&str], stdin: &[u8]) -> Out {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dkgd"))
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("DKGD_DATA_DIR")
        .env_remove("DKGD_BACKUP_RECIPIENTS")
        .env_remove("DKGD_CONFIG")
        .env_remove("DKGD_STATE_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn dkgd(args: &[&str]) -> Out {
    dkgd_with(args, b"")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// One demo ceremony per test binary (n=3, V=1, insecure KDF); node 1's data dir is the box.
fn demo() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, node) = DIR.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("cluster");
        dkgd(&[
            "demo",
            "--nodes",
            "3",
            "--validators",
            "1",
            "--insecure-keystores",
            "--direct",
            "--out",
            s(&out),
        ])
        .expect(0);
        (tmp, out.join("node1"))
    });
    node
}

/// Exports (and `enr show`) take the demo box's key lock, and a concurrent one exits 75 as
/// it should: tests take it one at a time.
fn one_export() -> std::sync::MutexGuard<'static, ()> {
    static M: std::sync::Mutex<()> = std::sync::Mutex::new(());
    M.lock().unwrap_or_else(|e| e.into_inner())
}

/// An owner identity file in `dir`; returns (identity file, public key).
fn owner(dir: &Path, name: &str) -> (PathBuf, String) {
    let id = dir.join(name);
    let r = dkgd(&["backup", "keygen", "--output", s(&id)]);
    r.expect(0);
    assert_eq!(id.metadata().unwrap().mode() & 0o777, 0o600);
    (id, r.stdout.trim().to_owned())
}

/// A backup of the demo box encrypted to a new owner: (backup, identity file).
fn exported(tmp: &Path) -> (PathBuf, PathBuf) {
    let (id, public) = owner(tmp, "owner.txt");
    let file = tmp.join("box.age");
    let _one = one_export();
    let r = dkgd(&[
        "backup",
        "export",
        s(&file),
        "--data-dir",
        s(demo()),
        "--recipient",
        &public,
    ]);
    r.expect(0);
    assert!(r.stdout.contains("full backup"), "{}", r.stdout);
    (file, id)
}

/// Every path under `dir` with content, mode and mtime.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32, i64, i64)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let bytes = if m.is_file() {
                std::fs::read(&p).unwrap()
            } else {
                stack.push(p.clone());
                Vec::new()
            };
            out.insert(p, (bytes, m.mode(), m.mtime(), m.mtime_nsec()));
        }
    }
    out
}

/// The key and artifact files of a data dir (relative path → bytes); lock files, the state
/// database and the manifest excluded.
fn artifacts(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    snapshot(dir)
        .into_iter()
        .filter(|(_, (_, mode, ..))| mode & 0o170000 == 0o100000)
        .map(|(p, (b, ..))| (p.strip_prefix(dir).unwrap().display().to_string(), b))
        .filter(|(p, _)| {
            p == "charon-enr-private-key"
                || p.starts_with("cluster-")
                || p.starts_with("deposit-data")
                || p.starts_with("validator_keys/")
        })
        .collect()
}

/// Asserts two data dirs hold the same key and artifacts (names first, then bytes).
fn assert_same_artifacts(a: &Path, b: &Path) {
    let (x, y) = (artifacts(a), artifacts(b));
    assert_eq!(x.keys().collect::<Vec<_>>(), y.keys().collect::<Vec<_>>());
    for (k, v) in &x {
        assert!(
            y[k] == *v,
            "{k} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

#[test]
fn export_verify_restore_onto_a_new_box() {
    let tmp = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let (file, id) = exported(tmp.path());
    eprintln!(
        "export: {} bytes in {:.0} ms",
        file.metadata().unwrap().len(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    // Without an identity: the header only.
    let r = dkgd(&["backup", "verify", s(&file)]);
    r.expect(0);
    assert!(r.stdout.contains("1 age public key"), "{}", r.stdout);
    // With it: the manifest and the whole data-dir verification, keystores decrypted.
    let r = dkgd(&["backup", "verify", s(&file), "--identity", s(&id)]);
    r.expect(0);
    assert!(
        r.stdout.contains("decrypts to operator 1's share"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("0 failed"), "{}", r.stdout);

    // Restore needs the acknowledgement; without it nothing is created.
    let new_box = tmp.path().join("new-box");
    let r = dkgd(&[
        "backup",
        "restore",
        s(&file),
        "--identity",
        s(&id),
        "--data-dir",
        s(&new_box),
    ]);
    r.expect(2);
    assert!(r.stderr.contains("never-run-again"), "{}", r.stderr);
    assert!(!new_box.exists());
    let r = dkgd(&[
        "backup",
        "restore",
        s(&file),
        "--identity",
        s(&id),
        "--data-dir",
        s(&new_box),
        "--i-understand-the-old-box-must-never-run-again",
    ]);
    r.expect(0);
    assert!(r.stdout.contains("must never run again"), "{}", r.stdout);
    assert_same_artifacts(&new_box, demo());
    assert_eq!(
        std::fs::read(new_box.join("cluster-lock.json")).unwrap(),
        std::fs::read(demo().join("cluster-lock.json")).unwrap()
    );
    for (p, m) in [
        ("charon-enr-private-key", 0o600),
        ("validator_keys/keystore-0.txt", 0o400),
        ("cluster-lock.json", 0o444),
    ] {
        assert_eq!(new_box.join(p).metadata().unwrap().mode() & 0o777, m, "{p}");
    }
    dkgd(&["verify", "--decrypt", s(&new_box)]).expect(0);
    // The restored box's key is the old box's.
    let a = dkgd(&["enr", "show", "--data-dir", s(&new_box)]);
    let b = {
        let _one = one_export();
        dkgd(&["enr", "show", "--data-dir", s(demo())])
    };
    let enr = |o: &Out| o.stdout.lines().next().unwrap_or_default().to_owned();
    assert_eq!(enr(a.expect(0)), enr(b.expect(0)));
    // A second restore onto the now-restored box is refused.
    let before = snapshot(&new_box);
    dkgd(&[
        "backup",
        "restore",
        s(&file),
        "--identity",
        s(&id),
        "--data-dir",
        s(&new_box),
        "--i-understand-the-old-box-must-never-run-again",
    ])
    .expect(2);
    assert_eq!(snapshot(&new_box), before);
}

#[test]
fn restore_refused_on_a_box_with_a_key_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (file, id) = exported(tmp.path());
    let other = tmp.path().join("other-box");
    dkgd(&["enr", "create", "--data-dir", s(&other)]).expect(0);
    let before = snapshot(&other);
    let r = dkgd(&[
        "backup",
        "restore",
        s(&file),
        "--identity",
        s(&id),
        "--data-dir",
        s(&other),
        "--i-understand-the-old-box-must-never-run-again",
    ]);
    r.expect(2);
    assert!(
        r.stderr.contains("charon-enr-private-key already exists"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("nothing was changed"), "{}", r.stderr);
    assert_eq!(snapshot(&other), before);
}

#[test]
fn wrong_identity_damage_and_truncation_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (file, _) = exported(tmp.path());
    let (stranger, _) = owner(tmp.path(), "stranger.txt");
    let r = dkgd(&["backup", "verify", s(&file), "--identity", s(&stranger)]);
    r.expect(2);
    assert!(
        r.stderr.contains("none of the given identities"),
        "{}",
        r.stderr
    );
    let id = tmp.path().join("owner.txt");
    let bytes = std::fs::read(&file).unwrap();
    let flipped = tmp.path().join("flipped.age");
    let mut b = bytes.clone();
    let at = b.len() - 100;
    b[at] ^= 0x04;
    std::fs::write(&flipped, &b).unwrap();
    let r = dkgd(&["backup", "verify", s(&flipped), "--identity", s(&id)]);
    r.expect(1);
    assert!(r.stderr.contains("damaged or truncated"), "{}", r.stderr);
    let short = tmp.path().join("short.age");
    std::fs::write(&short, &bytes[..bytes.len() / 2]).unwrap();
    dkgd(&["backup", "verify", s(&short), "--identity", s(&id)]).expect(1);
    let nonsense = tmp.path().join("nonsense.age");
    std::fs::write(&nonsense, b"not a backup\n").unwrap();
    let r = dkgd(&["backup", "verify", s(&nonsense)]);
    r.expect(1);
    assert!(r.stderr.contains("not an age-encrypted"), "{}", r.stderr);
}

#[test]
fn passphrase_from_stdin_never_argv() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("pw.age");
    let pw = b"a long passphrase nobody guesses\n";
    let one = one_export();
    dkgd_with(
        &[
            "backup",
            "export",
            s(&file),
            "--data-dir",
            s(demo()),
            "--passphrase",
        ],
        pw,
    )
    .expect(0);
    drop(one);
    let r = dkgd_with(&["backup", "verify", s(&file), "--passphrase"], pw);
    r.expect(0);
    assert!(r.stdout.contains("a passphrase"), "{}", r.stdout);
    let r = dkgd_with(&["backup", "verify", s(&file), "--passphrase"], b"wrong\n");
    r.expect(2);
    assert!(r.stderr.contains("wrong passphrase"), "{}", r.stderr);
    // An identity on a passphrase backup says what to give instead.
    let (id, _) = owner(tmp.path(), "id.txt");
    let r = dkgd(&["backup", "verify", s(&file), "--identity", s(&id)]);
    r.expect(2);
    assert!(r.stderr.contains("--passphrase"), "{}", r.stderr);
}

#[test]
fn export_refusals_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("b.age");
    // No recipient at all.
    let r = dkgd(&["backup", "export", s(&file), "--data-dir", s(demo())]);
    r.expect(2);
    assert!(r.stderr.contains("no backup recipient"), "{}", r.stderr);
    // A malformed recipient.
    dkgd(&[
        "backup",
        "export",
        s(&file),
        "--data-dir",
        s(demo()),
        "--recipient",
        "age1nope",
    ])
    .expect(2);
    assert!(!file.exists());
    // An existing file is never replaced.
    std::fs::write(&file, b"keep me").unwrap();
    let (_, public) = owner(tmp.path(), "o.txt");
    let _one = one_export();
    dkgd(&[
        "backup",
        "export",
        s(&file),
        "--data-dir",
        s(demo()),
        "--recipient",
        &public,
    ])
    .expect(2);
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
}

#[test]
fn export_takes_data_dir_and_recipients_from_the_run_config() {
    let tmp = tempfile::tempdir().unwrap();
    let (id, public) = owner(tmp.path(), "o.txt");
    let config = tmp.path().join("dkgd.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{}\"\nbackup_recipients = [\"{public}\"]\n",
            s(demo())
        ),
    )
    .unwrap();
    let file = tmp.path().join("from-config.age");
    {
        let _one = one_export();
        dkgd(&["backup", "export", s(&file), "--config", s(&config)]).expect(0);
    }
    dkgd(&["backup", "verify", s(&file), "--identity", s(&id)]).expect(0);
    // A bad recipient in the config file is a usage error naming the key.
    std::fs::write(&config, "backup_recipients = [\"age1nope\"]\n").unwrap();
    let r = dkgd(&[
        "backup",
        "export",
        s(&tmp.path().join("x.age")),
        "--config",
        s(&config),
    ]);
    r.expect(2);
    assert!(r.stderr.contains("backup_recipients"), "{}", r.stderr);
}

#[test]
fn debian_age_cli_decrypts_a_backup_into_charon_files() {
    if Command::new("age").arg("--version").output().is_err() {
        eprintln!("SKIP: `age` is not on PATH (apt-get install age); the age CLI test did not run");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (file, id) = exported(tmp.path());
    let out = tmp.path().join("laptop");
    std::fs::create_dir(&out).unwrap();
    let plain = Command::new("age")
        .args(["--decrypt", "--identity", s(&id), s(&file)])
        .output()
        .unwrap();
    assert!(
        plain.status.success(),
        "{}",
        String::from_utf8_lossy(&plain.stderr)
    );
    let mut tar = Command::new("tar")
        .args(["-x", "-C", s(&out)])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    tar.stdin.take().unwrap().write_all(&plain.stdout).unwrap();
    assert!(tar.wait().unwrap().success());
    // charon-compatible files, byte-identical to the box's, that dkgd verify accepts.
    assert_same_artifacts(&out, demo());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["format"], "dkgd-backup");
    assert_eq!(manifest["kind"], "full");
    std::fs::remove_file(out.join("manifest.json")).unwrap();
    dkgd(&["verify", "--decrypt", s(&out)]).expect(0);
}
