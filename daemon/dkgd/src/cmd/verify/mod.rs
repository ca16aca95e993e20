//! `dkgd verify PATH`: checks a cluster-definition.json, a cluster-lock.json or a whole data dir
//! and prints one line per check plus a summary (or one JSON document with `--json`).
//!
//! Exit codes: 0 every check passed; 1 a check failed; 3 nothing failed but some signatures
//! cannot be verified offline (ERC-1271 contract signers); 2 the input could not be read or
//! parsed at all (the message names the file and field).

mod datadir;

use crate::cli::VerifyArgs;
use crate::exit::{Code, Failure};
use anyhow::anyhow;
use dkgd_formats::definition::Definition;
use dkgd_formats::error::MAX_INPUT_BYTES;
use dkgd_formats::lock::Lock;
use dkgd_formats::verify::{self, Report};
use serde::Serialize;
use std::path::Path;

/// Verifies a data dir (used by `dkgd demo` as well).
pub(crate) fn verify_data_dir(dir: &Path, decrypt: bool) -> Result<Report, Failure> {
    datadir::verify(dir, decrypt)
}

/// What PATH turned out to be.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Definition,
    Lock,
    DataDir,
}

/// The `--json` document.
#[derive(Serialize)]
struct JsonOut<'a> {
    path: String,
    kind: Kind,
    ok: bool,
    summary: verify::Summary,
    checks: &'a [verify::Check],
}

/// Runs `dkgd verify`.
pub(crate) fn run(args: &VerifyArgs) -> Result<Code, Failure> {
    let path = &args.path;
    let meta = std::fs::metadata(path).map_err(|e| {
        Failure::new(
            Code::Usage,
            anyhow!("cannot read {}: {e}", path.display()),
            "pass a cluster-definition.json, a cluster-lock.json or a data dir",
        )
    })?;
    let (kind, report) = if meta.is_dir() {
        (Kind::DataDir, verify_data_dir(path, args.decrypt)?)
    } else {
        verify_file(path, meta.len())?
    };
    print_report(args, kind, &report);
    let s = report.summary();
    Ok(if s.failed > 0 {
        Code::Failed
    } else if s.unverifiable > 0 {
        Code::Unverifiable
    } else {
        Code::Ok
    })
}

fn print_report(args: &VerifyArgs, kind: Kind, report: &Report) {
    let summary = report.summary();
    if args.json {
        let doc = JsonOut {
            path: args.path.display().to_string(),
            kind,
            ok: report.all_passed(),
            summary,
            checks: &report.checks,
        };
        match serde_json::to_string_pretty(&doc) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("error: cannot encode the report as JSON: {e}"),
        }
    } else {
        for c in &report.checks {
            println!("{c}");
        }
        println!("result: {summary}");
    }
}

/// Reads a file of at most [`MAX_INPUT_BYTES`] (refusing larger ones before reading them).
pub(super) fn read_capped(path: &Path, len: u64) -> Result<Vec<u8>, Failure> {
    if len > MAX_INPUT_BYTES as u64 {
        return Err(Failure::new(
            Code::Usage,
            anyhow!(
                "{} is {len} bytes; definitions, locks and deposit files are at most {MAX_INPUT_BYTES} bytes",
                path.display()
            ),
            "check that PATH names the right file",
        ));
    }
    std::fs::read(path).map_err(|e| {
        Failure::new(
            Code::Usage,
            anyhow!("cannot read {}: {e}", path.display()),
            "check the path and its permissions",
        )
    })
}

fn verify_file(path: &Path, len: u64) -> Result<(Kind, Report), Failure> {
    let bytes = read_capped(path, len)?;
    if is_lock(&bytes) {
        let lock = parse_lock(path, &bytes)?;
        Ok((Kind::Lock, verify::verify_lock(&lock)))
    } else {
        let def = Definition::from_json(&bytes).map_err(|e| bad_input(path, e))?;
        Ok((Kind::Definition, verify::verify_definition(&def)))
    }
}

/// Parses a lock, mapping errors to a usage failure naming the file.
pub(super) fn parse_lock(path: &Path, bytes: &[u8]) -> Result<Lock, Failure> {
    Lock::from_json(bytes).map_err(|e| bad_input(path, e))
}

/// A lock has a top-level `cluster_definition` object (keys match case-insensitively). Bytes
/// that are not JSON are classified by whether they mention that key, so the parse error
/// names the right kind of file.
fn is_lock(bytes: &[u8]) -> bool {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(serde_json::Value::Object(m)) => m
            .keys()
            .any(|k| k.eq_ignore_ascii_case("cluster_definition")),
        Ok(_) => false,
        Err(_) => bytes
            .windows(b"cluster_definition".len())
            .any(|w| w.eq_ignore_ascii_case(b"cluster_definition")),
    }
}

fn bad_input(path: &Path, e: impl std::fmt::Display) -> Failure {
    Failure::new(
        Code::Usage,
        anyhow!("{}: {e}", path.display()),
        "the file is not a valid charon definition or lock; nothing was checked",
    )
}
