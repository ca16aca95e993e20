//! Helpers for the `dkgd create` and `dkgd demo` tests: operator data dirs made by the real
//! `dkgd enr create`, the demo's summary table, and a check that no process is left running.

use super::{run, s};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `n` operator data dirs `root/op{i}`, each with a key made by `dkgd enr create`.
pub fn operator_dirs(root: &Path, n: usize) -> Vec<PathBuf> {
    (0..n)
        .map(|i| {
            let dir = root.join(format!("op{i}"));
            run(&["enr", "create", "--data-dir", s(&dir)]).expect_code(0);
            dir
        })
        .collect()
}

/// `--operator-dir D` for every dir, as owned arguments.
pub fn operator_args(dirs: &[PathBuf]) -> Vec<String> {
    dirs.iter()
        .flat_map(|d| ["--operator-dir".to_owned(), s(d).to_owned()])
        .collect()
}

/// The rows of the demo's summary table (lines `node0 …`, not progress lines `node 0: …`).
pub fn summary_rows(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| {
            l.strip_prefix("node")
                .and_then(|r| r.chars().next())
                .is_some_and(|c| c.is_ascii_digit())
        })
        .collect()
}

/// PIDs of processes whose command line mentions `needle` (e.g. a demo's --out path).
pub fn processes_mentioning(needle: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            text.contains(needle).then_some(pid)
        })
        .filter(|&pid| pid != std::process::id())
        .collect()
}

/// Asserts that no process mentioning `needle` is alive (waiting up to 5 s for exits that
/// are already under way, e.g. a child reaped just after its parent returned).
pub fn assert_no_process_mentions(needle: &str) {
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_mentioning(needle);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < end,
            "processes still running for {needle}: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running `dkgd demo --out out …` with stdout lines on a channel and stderr in a file;
/// stopped on drop.
pub struct RunningDemo {
    pub child: std::process::Child,
    pub stderr_file: PathBuf,
    lines: std::sync::mpsc::Receiver<String>,
}

impl RunningDemo {
    /// Starts the demo; its stderr goes to `<out>.stderr`.
    pub fn start(out: &Path, extra: &[&str]) -> Self {
        use std::io::BufRead;
        let stderr_file = out.with_extension("stderr");
        let err = std::fs::File::create(&stderr_file).expect("stderr file");
        let mut child = super::dkgd()
            .args(["demo", "--out", s(out)])
            .args(extra)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(err)
            .spawn()
            .expect("spawning dkgd demo");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let _ = tx.send(line);
            }
        });
        Self {
            child,
            stderr_file,
            lines,
        }
    }

    /// Waits (at most `deadline`) for a stdout line starting with `prefix`.
    pub fn wait_line(&self, prefix: &str, deadline: Duration) -> String {
        let end = Instant::now() + deadline;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.starts_with(prefix) => return l,
                Ok(_) => {}
                Err(e) => panic!("no line starting {prefix:?} within {deadline:?}: {e}"),
            }
        }
    }

    /// Waits (at most `deadline`) for the demo to exit; returns its exit code and stderr.
    pub fn wait(&mut self, deadline: Duration) -> (Option<i32>, String) {
        let end = Instant::now() + deadline;
        let status = loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                break st;
            }
            assert!(
                Instant::now() < end,
                "demo still running after {deadline:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let err = std::fs::read_to_string(&self.stderr_file).unwrap_or_default();
        (status.code(), err)
    }
}

impl Drop for RunningDemo {
    /// SIGTERM first, so the demo stops its own children (a SIGKILLed demo would orphan
    /// them, e.g. when an assertion fails mid-test); SIGKILL after 10 s.
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
