//! The CPU lower bound of a ceremony (issue 16): `n` nodes of the real [`Ceremony`] run one
//! whole ceremony for `V` validators in this one process, without any network or disk. The
//! caller (tests/bench/ceremony.py) reads this process's CPU time (user + system, every
//! thread) and divides it by the cores: no networked run of the same ceremony on the same box
//! can finish sooner. Prints one line; exits 1 if any node did not get to its artifacts.
//!
//! ```text
//! cargo run --release -p dkgd-sim --example work -- 4 100            # full-cost keystores
//! cargo run --release -p dkgd-sim --example work -- 4 100 insecure   # the test KDF
//! ```
//!
//! [`Ceremony`]: dkgd_ceremony::Ceremony

use std::time::{Duration, Instant};

use dkgd_ceremony::definition::LocalClusterConfig;
use dkgd_ceremony::wire::profile::V1_10;
use dkgd_crypto::keystore::KdfStrength;
use dkgd_formats::definition::Version;
use dkgd_formats::network::HOODI;
use dkgd_sim::{config, definition, keys, Net};

fn arg(args: &[String], i: usize, what: &str) -> Result<u64, String> {
    args.get(i)
        .ok_or_else(|| format!("missing {what}"))?
        .parse()
        .map_err(|e| format!("{what}: {e}"))
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: work <operators> <validators> [insecure]";
    let n = usize::try_from(arg(&args, 0, "operators").map_err(|e| format!("{e}; {usage}"))?)
        .map_err(|e| e.to_string())?;
    let v = arg(&args, 1, "validators").map_err(|e| format!("{e}; {usage}"))?;
    let insecure = args.get(2).is_some_and(|a| a == "insecure");
    let (ops, creator) = keys(n, 1);
    let def = definition(
        &LocalClusterConfig::new(Version::V1_10, &HOODI, v),
        &ops,
        &creator,
    )
    .map_err(|e| e.to_string())?;
    let mut cfg = config();
    cfg.kdf = if insecure {
        KdfStrength::InsecureTestOnly
    } else {
        KdfStrength::Standard
    };
    // Virtual time moves only when every node is idle, so no bound here is ever reached by
    // slow work; generous ones keep it that way.
    cfg.step_timeout = Duration::from_secs(3600);
    cfg.sig_request_timeout = Duration::from_secs(3600);
    let started = Instant::now();
    let mut net = Net::with_config(&ops, &vec![def; n], &vec![&V1_10; n], 1, &cfg)
        .map_err(|e| e.to_string())?;
    let finished = net.run();
    let staged = (0..n).filter(|&i| net.artifacts(i).is_some()).count();
    if !finished || staged != n {
        return Err(format!(
            "{n}x{v}: {staged} of {n} nodes got to their artifacts"
        ));
    }
    println!(
        "work n={n} V={v}: {:.2} s wall in one process, every node staged",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
