//! Prints one sweep seed's scenario and what each node saw (progress left out):
//! `cargo run --release -p dkgd-sim --example show_seed -- SEED`.

use std::process::ExitCode;

use dkgd_ceremony::Event;
use dkgd_sim::sweep::{run_net, scenario, Fixture};

fn main() -> ExitCode {
    let Some(seed) = std::env::args().nth(1).and_then(|a| a.parse::<u64>().ok()) else {
        eprintln!("usage: show_seed SEED");
        return ExitCode::from(2);
    };
    let fx = match Fixture::new() {
        Ok(fx) => fx,
        Err(e) => {
            eprintln!("show_seed: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("seed {seed}: {:?}", scenario(seed).0);
    let net = match run_net(&fx, seed) {
        Ok((net, _)) => net,
        Err(v) => {
            println!("{v}");
            return ExitCode::FAILURE;
        }
    };
    println!("ended at {}", net.now);
    for (i, events) in net.events.iter().enumerate() {
        println!(
            "node {i}: crashed={} restarts={} staged={} published={}",
            net.crashed.contains(&i),
            net.restarts[i],
            net.committed_at[i].is_some(),
            net.published_at[i].is_some()
        );
        for e in events {
            match e {
                Event::Progress { .. } => {}
                Event::NeedCommit(_) => println!("  NeedCommit"),
                other => println!("  {other:?}"),
            }
        }
    }
    ExitCode::SUCCESS
}
