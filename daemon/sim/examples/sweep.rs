//! Runs a seeded fault sweep and prints what it found:
//! `cargo run --release -p dkgd-sim --example sweep -- [SEEDS] [FIRST]` (default 10 000 from 0).
//! Exits 1 if any seed broke an invariant; each such seed is printed with its scenario.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;

use dkgd_sim::sweep::{run_seed, Fixture};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let seeds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let first: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    let fx = match Fixture::new() {
        Ok(fx) => fx,
        Err(e) => {
            eprintln!("sweep: cannot build the cluster: {e}");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let mut by_kind: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut struck: BTreeMap<String, u64> = BTreeMap::new();
    let mut failed = 0u64;
    for seed in first..first + seeds {
        match run_seed(&fx, seed) {
            Ok(o) => {
                let kind = format!("{:?}", o.fault);
                let kind = kind.split([' ', '{']).next().unwrap_or("?").to_string();
                let e = by_kind.entry(kind).or_default();
                e.0 += 1;
                e.1 += u64::from(o.published);
                if let Some(step) = o.struck_at {
                    *struck.entry(step.to_string()).or_default() += 1;
                }
            }
            Err(v) => {
                failed += 1;
                println!("FAIL {v}");
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{seeds} seeds from {first} in {secs:.1} s ({:.1} ms/seed): {failed} failed",
        secs * 1000.0 / seeds.max(1) as f64
    );
    for (kind, (runs, published)) in &by_kind {
        println!("  {kind:<16} {runs:>6} runs, {published:>6} completed");
    }
    for (step, count) in &struck {
        println!("  crash while node 0 in step {step}: {count}");
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
