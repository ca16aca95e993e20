//! The key never appears in output: every `dkgd enr` path (successes and refusals) is run
//! with `RUST_LOG=trace` in both log formats, and the combined stdout and stderr is searched
//! for the key's hex, whole or in part, in either case.

mod support;

use support::*;

/// Runs `args` with trace logging in `format`, returning all output.
fn traced(format: &str, args: &[&str]) -> String {
    let out = dkgd()
        .env("RUST_LOG", "trace")
        .args(["--log-format", format])
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running dkgd");
    format!(
        "$ dkgd {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Asserts that no 16-character window of `key_hex` occurs in `haystack` (either case).
fn assert_no_key(haystack: &str, key_hex: &str) {
    let lower = haystack.to_lowercase();
    for i in 0..=key_hex.len() - 16 {
        let window = &key_hex[i..i + 16];
        assert!(
            !lower.contains(window),
            "key material ({window}) leaked in:\n{haystack}"
        );
    }
}

#[test]
fn no_command_prints_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let v = k1_vector();
    for format in ["text", "json"] {
        let root = tmp.path().join(format);
        let created = root.join("created");
        let imported = root.join("imported");
        let src = root.join("src-key");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(&src, format!("{}\n", v.key_hex)).unwrap();

        let mut log = String::new();
        log += &traced(format, &["enr", "create", "--data-dir", s(&created)]);
        log += &traced(format, &["enr", "create", "--data-dir", s(&created)]);
        log += &traced(format, &["enr", "show", "--data-dir", s(&created)]);
        log += &traced(
            format,
            &["enr", "show", "--json", "--data-dir", s(&created)],
        );
        log += &traced(format, &["enr", "show", "--qr", "--data-dir", s(&created)]);
        log += &traced(
            format,
            &["enr", "import", s(&src), "--data-dir", s(&imported)],
        );
        log += &traced(
            format,
            &["enr", "import", s(&src), "--data-dir", s(&imported)],
        );
        log += &traced(
            format,
            &["enr", "import", s(&src), "--data-dir", s(&created)],
        );
        log += &traced(format, &["enr", "show", "--data-dir", s(&imported)]);
        // Refusals: loose permissions, and a key with trailing garbage.
        chmod(&imported.join(KEY), 0o644);
        log += &traced(format, &["enr", "show", "--data-dir", s(&imported)]);
        let garbage = root.join("garbage");
        write_key(&garbage, format!("{} extra", v.key_hex).as_bytes(), 0o600);
        log += &traced(format, &["enr", "show", "--data-dir", s(&garbage)]);
        log += &traced(
            format,
            &[
                "enr",
                "import",
                s(&garbage.join(KEY)),
                "--data-dir",
                s(&root.join("x")),
            ],
        );

        // Sanity: the runs really happened and logged at trace level.
        assert!(log.contains(&v.enr), "{log}");
        assert!(log.contains("readable by group or others"), "{log}");
        assert!(log.contains("trailing garbage"), "{log}");

        assert_no_key(&log, &v.key_hex);
        let created_hex = std::fs::read_to_string(created.join(KEY)).unwrap();
        assert_no_key(&log, &created_hex);
    }
}
