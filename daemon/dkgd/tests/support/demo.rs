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
