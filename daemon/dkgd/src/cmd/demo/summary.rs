//! After every node exited 0: `dkgd verify --decrypt` of each data dir, a byte comparison of
//! all cluster-lock.json files, and the summary table.

use super::nodes::Outcome;
use super::{node_dir, node_log};
use crate::exit::{Code, Failure};
use anyhow::anyhow;
use dkgd_formats::verify::Status;
use std::path::Path;
use std::time::Instant;

/// What the table is made from.
pub(super) struct Input<'a> {
    /// The demo's output directory.
    pub(super) out: &'a Path,
    /// Every node's peer ID, in operator order.
    pub(super) peer_ids: &'a [String],
    /// Every node's process outcome, in operator order.
    pub(super) outcomes: &'a [Outcome],
    /// Validators in the definition.
    pub(super) validators: u64,
    /// When the demo started.
    pub(super) started: Instant,
}

/// One node's verdict.
struct Row {
    verify: String,
    lock_hash: Option<String>,
    problem: Option<String>,
}

/// Verifies, prints the table and the verdict: exit 0 when every data dir verifies and every
/// lock is identical (and matches what the node reported), else a failure naming the node.
pub(super) fn report(input: &Input<'_>) -> Result<Code, Failure> {
    let out = input.out;
    let lock0 = std::fs::read(node_dir(out, 0).join("cluster-lock.json")).ok();
    let rows: Vec<Row> = input
        .outcomes
        .iter()
        .enumerate()
        .map(|(i, o)| check_node(out, i, o, lock0.as_deref()))
        .collect();

    println!();
    println!(
        "{:<6} {:<18} {:>4} {:>10}  {:<22} lock hash",
        "node", "peer ID", "exit", "ceremony", "verify (--decrypt)"
    );
    for (i, (row, o)) in rows.iter().zip(input.outcomes).enumerate() {
        println!(
            "{:<6} {:<18} {:>4} {:>8.1} s  {:<22} {}",
            format!("node{i}"),
            short_peer(input.peer_ids.get(i).map_or("", String::as_str)),
            o.code,
            o.elapsed.as_secs_f64(),
            row.verify,
            row.lock_hash
                .as_deref()
                .map_or_else(|| "-".to_owned(), short_hash)
        );
    }
    println!();
    if let Some((i, problem)) = rows
        .iter()
        .enumerate()
        .find_map(|(i, r)| r.problem.as_ref().map(|p| (i, p)))
    {
        return Err(Failure::new(
            Code::Failed,
            anyhow!("node {i}: {problem}"),
            format!(
                "run `dkgd verify {}` for details; the node's log is {}",
                node_dir(out, i).display(),
                node_log(out, i).display()
            ),
        ));
    }
    let lock = rows
        .first()
        .and_then(|r| r.lock_hash.clone())
        .unwrap_or_default();
    println!(
        "total {:.1} s; data dirs, logs and the definition are in {}",
        input.started.elapsed().as_secs_f64(),
        out.display()
    );
    println!(
        "demo complete: {} nodes, {} validators, lock {lock}",
        rows.len(),
        input.validators
    );
    Ok(Code::Ok)
}

/// Verifies node `i`'s data dir and compares its lock with node 0's.
fn check_node(out: &Path, i: usize, o: &Outcome, lock0: Option<&[u8]>) -> Row {
    let dir = node_dir(out, i);
    let bytes = std::fs::read(dir.join("cluster-lock.json")).ok();
    let lock_hash = bytes
        .as_deref()
        .and_then(|b| dkgd_formats::lock::Lock::from_json(b).ok())
        .and_then(|l| l.lock_hash)
        .map(|h| format!("0x{}", hex::encode(h)));
    let (verify, mut problem) = match super::super::verify::verify_data_dir(&dir, true) {
        Ok(report) => {
            let s = report.summary();
            if report.all_passed() {
                (format!("PASS ({} checks)", s.passed), None)
            } else {
                let first = report
                    .checks
                    .iter()
                    .find(|c| c.status != Status::Pass && c.status != Status::Skip)
                    .map(ToString::to_string)
                    .unwrap_or_default();
                (
                    format!(
                        "FAIL ({} of {})",
                        s.failed + s.unverifiable,
                        report.checks.len()
                    ),
                    Some(format!("its data dir does not verify: {}", first.trim())),
                )
            }
        }
        Err(f) => (
            "ERROR".to_owned(),
            Some(format!("cannot verify its data dir: {:#}", f.error)),
        ),
    };
    if problem.is_none() {
        problem = if bytes.is_none() || bytes.as_deref() != lock0 {
            Some("its cluster-lock.json differs from node 0's".to_owned())
        } else if o.lock_hash.is_some() && o.lock_hash != lock_hash {
            Some("the lock hash it reported differs from its cluster-lock.json".to_owned())
        } else {
            None
        };
    }
    Row {
        verify,
        lock_hash,
        problem,
    }
}

/// `16Uiu2HA…` plus the peer ID's last 6 characters (all secp256k1 peer IDs share the head).
fn short_peer(id: &str) -> String {
    match (
        id.get(..8),
        id.len().checked_sub(6).and_then(|s| id.get(s..)),
    ) {
        (Some(head), Some(tail)) if id.len() > 16 => format!("{head}…{tail}"),
        _ => id.to_owned(),
    }
}

/// `0x` and the first 8 hex digits of a hash.
pub(super) fn short_hash(hash: &str) -> String {
    match hash.get(..10) {
        Some(head) if hash.len() > 12 => format!("{head}…"),
        _ => hash.to_owned(),
    }
}
