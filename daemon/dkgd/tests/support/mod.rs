//! Helpers for the `dkgd enr` integration tests: run the real binary on temporary data
//! directories, snapshot directories to prove "nothing changed", read the charon vectors.

#![allow(dead_code, unreachable_pub)]

pub mod daemon;
pub mod demo;
pub mod fs;
pub mod netns;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

pub mod cluster;

/// Name of the key file in a data dir (formats.md §5.1).
pub const KEY: &str = "charon-enr-private-key";
/// Name of the lock file next to it.
pub const LOCK: &str = "charon-enr-private-key.lock";

/// The real binary, with a clean logging environment.
pub fn dkgd() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dkgd"));
    c.env_remove("RUST_LOG").env("NO_COLOR", "1");
    c
}

/// The outcome of one finished run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout and stderr together, for searching.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Asserts the exit code, printing both streams on mismatch.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "exit code; output:\n{}", self.all());
        self
    }

    /// Asserts that stderr contains `needle`.
    pub fn expect_err(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
        self
    }
}

/// Runs `dkgd args…` in `cwd` and waits for it.
pub fn run_in(cwd: &Path, args: &[&str]) -> Run {
    let out = dkgd()
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("running dkgd");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `dkgd args…` (from the current directory).
pub fn run(args: &[&str]) -> Run {
    run_in(Path::new("."), args)
}

/// A path as a `&str` argument.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

/// Everything observable about one file: content, mode, inode and mtime.
#[derive(Debug, PartialEq, Eq)]
pub struct FileState {
    pub bytes: Vec<u8>,
    pub mode: u32,
    pub ino: u64,
    pub mtime: SystemTime,
}

/// The state of one file (`None` if absent).
pub fn file_state(p: &Path) -> Option<FileState> {
    let m = p.symlink_metadata().ok()?;
    Some(FileState {
        bytes: if m.is_file() {
            std::fs::read(p).expect("reading")
        } else {
            Vec::new()
        },
        mode: m.mode(),
        ino: m.ino(),
        mtime: m.modified().expect("mtime"),
    })
}

/// Every entry below `dir` except the lock file (whose heartbeat every run rewrites).
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Option<FileState>> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if e.file_name() == LOCK {
            continue;
        }
        if p.symlink_metadata().is_ok_and(|m| m.is_dir()) {
            out.extend(snapshot(&p));
        }
        out.insert(p.clone(), file_state(&p));
    }
    out
}

/// Sets a file's permission bits.
pub fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Writes a key file with the given content and mode.
pub fn write_key(dir: &Path, content: &[u8], mode: u32) -> PathBuf {
    std::fs::create_dir_all(dir).expect("mkdir");
    let p = dir.join(KEY);
    std::fs::write(&p, content).expect("write key");
    chmod(&p, mode);
    p
}

/// A spawned child whose stdout lines arrive on a channel, so tests can wait for a line with
/// a deadline instead of sleeping. Killed on drop.
pub struct Spawned {
    pub child: Child,
    lines: mpsc::Receiver<String>,
}

impl Spawned {
    /// Spawns `dkgd args…` with piped stdout.
    pub fn new(args: &[&str]) -> Self {
        let mut child = dkgd()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning dkgd");
        let out = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// Waits (at most `deadline`) for a stdout line starting with `prefix`.
    pub fn wait_line(&self, prefix: &str, deadline: Duration) -> String {
        let end = std::time::Instant::now() + deadline;
        loop {
            let left = end.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.starts_with(prefix) => return l,
                Ok(_) => {}
                Err(e) => panic!("no line starting {prefix:?} within {deadline:?}: {e}"),
            }
        }
    }
}

/// Starts `dkgd relay` on 127.0.0.1 (ephemeral libp2p and HTTP ports, identity in `dir`)
/// and waits for it to announce itself; returns it with its peer ID and `http://` URL.
pub fn start_relay(dir: &Path, deadline: Duration) -> (Spawned, String, String) {
    start_relay_at(dir, (0, 0), deadline)
}

/// As [`start_relay`] on the given (libp2p, HTTP) ports (0: ephemeral); the same `dir` and
/// ports give a restarted relay the same identity and addresses.
pub fn start_relay_at(
    dir: &Path,
    ports: (u16, u16),
    deadline: Duration,
) -> (Spawned, String, String) {
    let listen = format!("/ip4/127.0.0.1/tcp/{}", ports.0);
    let http = format!("127.0.0.1:{}", ports.1);
    let relay = Spawned::new(&[
        "relay",
        "--listen",
        &listen,
        "--http",
        &http,
        "--data-dir",
        s(dir),
    ]);
    let peer = relay.wait_line("relay peer_id=", deadline)["relay peer_id=".len()..].to_owned();
    let http = relay.wait_line("relay http=", deadline)["relay http=".len()..].to_owned();
    (relay, peer, http)
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The charon secp256k1 test vector (vectors.md "secp256k1 signing"): private key hex, the
/// ENR and peer ID derived for it.
pub struct K1Vector {
    pub key_hex: String,
    pub enr: String,
    pub peer_id: String,
}

/// Back-quoted tokens of a markdown text, in order.
pub fn backquoted(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// The vectors file, read through dkgd-testkit (never copied into the repo).
pub fn vectors_md() -> String {
    dkgd_testkit::read_vector_str("charon/vectors.md")
}

/// Extracts [`K1Vector`] from vectors.md.
pub fn k1_vector() -> K1Vector {
    let md = vectors_md();
    let start = md
        .find("## secp256k1 signing")
        .expect("vectors.md: secp256k1 signing section");
    let section = md.get(start..).expect("section");
    let end = section
        .get(3..)
        .and_then(|s| s.find("\n## "))
        .map_or(section.len(), |e| e + 3);
    let toks = backquoted(section.get(..end).expect("section"));
    let key_hex = toks
        .iter()
        .find(|t| t.len() == 64 && t.bytes().all(|c| c.is_ascii_hexdigit()))
        .expect("vectors.md: private key")
        .to_string();
    let enr = toks
        .iter()
        .find(|t| t.starts_with("enr:"))
        .expect("vectors.md: derived ENR")
        .to_string();
    let peer_id = toks
        .iter()
        .find(|t| t.starts_with("16Uiu2HA"))
        .expect("vectors.md: derived peer ID")
        .to_string();
    K1Vector {
        key_hex,
        enr,
        peer_id,
    }
}

/// The value of a `label:   value` line of `dkgd enr show` output.
pub fn field<'a>(stdout: &'a str, label: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .map(|v| v.trim_start_matches(':').trim())
        .unwrap_or_else(|| panic!("no {label:?} line in:\n{stdout}"))
}

/// The `enr:` line of a command's stdout.
pub fn enr_line(stdout: &str) -> &str {
    stdout
        .lines()
        .find(|l| l.starts_with("enr:"))
        .unwrap_or_else(|| panic!("no enr: line in:\n{stdout}"))
}
