//! `dkgd demo`: a complete local ceremony among N dkgd nodes, each with its own data dir,
//! then `dkgd verify` of every data dir and a summary table.
//!
//! What is real: identity keys created through dkgd-store (0600, atomic, flock), a definition
//! with real EIP-712 operator and creator signatures, the FROST DKG, threshold signing of
//! deposits, registrations and the lock, node signatures, EIP-2335 keystores at full cost,
//! the all-or-nothing artifact commit, and the same verification `dkgd verify --decrypt` runs.
//! What is not (yet): the network. The nodes exchange messages in memory, in one process; the
//! ceremony over libp2p (`dkgd dkg`) replaces the transport, not the steps.

use crate::cli::DemoArgs;
use crate::exit::{Code, Failure};
use anyhow::anyhow;
use dkgd_ceremony::definition::{definition_for_local_cluster, LocalClusterConfig};
use dkgd_ceremony::local::{self, LocalOptions};
use dkgd_crypto::k1::K1SecretKey;
use dkgd_crypto::keystore::KdfStrength;
use dkgd_formats::definition::Version;
use dkgd_formats::network;
use dkgd_store::DataDir;
use rand_core::{OsRng, RngCore};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Runs `dkgd demo`.
pub(crate) fn run(args: &DemoArgs) -> Result<Code, Failure> {
    let started = Instant::now();
    let plan = validate(args)?;
    let out = &plan.out;
    std::fs::create_dir_all(out)
        .map_err(|e| usage(anyhow!("cannot create {}: {e}", out.display())))?;

    // 1. Each node's identity, created the way `dkgd enr create` does it.
    let mut keys = Vec::with_capacity(plan.nodes);
    for i in 0..plan.nodes {
        let dir = out.join(format!("node{i}"));
        let data_dir = DataDir::open_or_create(&dir).map_err(|e| io_failure(e, &dir))?;
        let lock = data_dir
            .lock_key("dkgd demo")
            .map_err(|e| io_failure(e, &dir))?;
        let key = K1SecretKey::generate(&mut OsRng);
        lock.create_key(&key).map_err(|e| io_failure(e, &dir))?;
        keys.push(key);
    }
    // 2. A definition signed by the operators (their keys double as wallets) and a creator.
    let mut cfg = LocalClusterConfig::new(plan.version, plan.network, plan.validators);
    cfg.name = format!("dkgd demo {}-of-{}", plan.threshold, plan.nodes);
    cfg.timestamp = dkgd_store::now_rfc3339_seconds();
    cfg.threshold = Some(plan.threshold);
    let creator = K1SecretKey::generate(&mut OsRng);
    let def = definition_for_local_cluster(&cfg, &keys, &creator, &mut OsRng).map_err(failed)?;
    let def_json = def.to_json().map_err(|e| failed(anyhow!("{e}")))?;
    dkgd_store::atomic::create_new(out, "cluster-definition.json", &def_json, 0o444)
        .map_err(|e| io_failure(e, out))?;
    println!(
        "definition: {} operators, threshold {}, {} validator(s), {} on {} -> {}",
        plan.nodes,
        plan.threshold,
        plan.validators,
        plan.version.as_str(),
        plan.network.name,
        out.join("cluster-definition.json").display()
    );

    // 3. The ceremony (in memory), then each node commits its own artifacts.
    let ceremony_started = Instant::now();
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    let kdf = if plan.insecure_keystores {
        KdfStrength::InsecureTestOnly
    } else {
        KdfStrength::Standard
    };
    let results =
        local::run::<rand_chacha::ChaCha20Rng>(&def, &keys, seed, &LocalOptions::new(kdf))
            .map_err(|e| failed(anyhow!("ceremony failed: {e}")))?;
    let ceremony_secs = ceremony_started.elapsed().as_secs_f64();
    for (i, a) in results.iter().enumerate() {
        let dir = out.join(format!("node{i}"));
        super::commit_artifacts(&dir, a).map_err(|e| io_failure(e, &dir))?;
    }

    // 4. Verify every data dir exactly as `dkgd verify --decrypt` would.
    println!();
    println!(
        "{:<6} {:<54} {:<20} {:>6} {:>6}",
        "node", "peer id", "lock hash", "passed", "failed"
    );
    let mut all_ok = true;
    let first_hash = results.first().map(|a| a.lock_hash);
    for (i, a) in results.iter().enumerate() {
        let dir = out.join(format!("node{i}"));
        let report = super::verify::verify_data_dir(&dir, true)?;
        let s = report.summary();
        let same = Some(a.lock_hash) == first_hash;
        all_ok &= report.all_passed() && same;
        let peer = dkgd_formats::enr::Enr::create(&keys[i])
            .peer_id()
            .to_string();
        println!(
            "{:<6} {:<54} 0x{:<18} {:>6} {:>6}",
            format!("node{i}"),
            peer,
            &hex::encode(a.lock_hash)[..16],
            s.passed,
            s.failed + s.unverifiable + usize::from(!same)
        );
        for c in report
            .checks
            .iter()
            .filter(|c| c.status == dkgd_formats::verify::Status::Fail)
        {
            println!("       {c}");
        }
    }
    println!();
    println!(
        "ceremony {ceremony_secs:.2}s, total {:.2}s; data dirs under {}",
        started.elapsed().as_secs_f64(),
        out.display()
    );
    if all_ok {
        println!(
            "OK: {} data dirs verified, identical cluster-lock.json on every node",
            results.len()
        );
        Ok(Code::Ok)
    } else {
        println!("FAILED: see the lines above");
        Ok(Code::Failed)
    }
}

/// Validated demo settings.
struct Plan {
    nodes: usize,
    threshold: u64,
    validators: u64,
    version: Version,
    network: &'static network::Network,
    out: PathBuf,
    insecure_keystores: bool,
}

fn validate(args: &DemoArgs) -> Result<Plan, Failure> {
    let n = args.nodes;
    if !(2..=64).contains(&n) {
        return Err(usage(anyhow!(
            "--nodes {n}: a demo cluster has 2 to 64 nodes"
        )));
    }
    let threshold = args
        .threshold
        .unwrap_or_else(|| dkgd_ceremony::definition::default_threshold(n));
    if threshold < 2 || threshold > n as u64 {
        return Err(usage(anyhow!(
            "--threshold {threshold}: must be between 2 and --nodes ({n})"
        )));
    }
    if !(1..=1000).contains(&args.validators) {
        return Err(usage(anyhow!(
            "--validators {}: must be 1 to 1000",
            args.validators
        )));
    }
    let version = Version::parse(&args.definition_version)
        .filter(|v| v.dkg_supported())
        .ok_or_else(|| {
            usage(anyhow!(
                "--version {}: a DKG needs v1.6.0 to v1.11.0",
                args.definition_version
            ))
        })?;
    let network = network::by_name(&args.network).map_err(|e| usage(anyhow!("--network: {e}")))?;
    if args.insecure_keystores && matches!(network.name, "mainnet" | "gnosis") {
        return Err(usage(anyhow!(
            "--insecure-keystores is refused on {}",
            network.name
        )));
    }
    let out = match &args.out {
        Some(p) => p.clone(),
        None => PathBuf::from(format!("dkgd-demo-{}", std::process::id())),
    };
    if out.exists()
        && std::fs::read_dir(&out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(Failure::new(
            Code::Usage,
            anyhow!("{} already exists and is not empty", out.display()),
            "pass a new directory with --out (nothing was written)",
        ));
    }
    Ok(Plan {
        nodes: n,
        threshold,
        validators: args.validators,
        version,
        network,
        out,
        insecure_keystores: args.insecure_keystores,
    })
}

fn usage(e: anyhow::Error) -> Failure {
    Failure::new(Code::Usage, e, "see `dkgd demo --help`")
}

fn failed(e: impl Into<anyhow::Error>) -> Failure {
    Failure::new(
        Code::Failed,
        e,
        "this is a bug if it happens in a local demo; please report it",
    )
}

fn io_failure(e: dkgd_store::Error, dir: &Path) -> Failure {
    Failure::new(
        Code::Failed,
        anyhow!("{e}"),
        format!(
            "check that {} is on a writable local file system",
            dir.display()
        ),
    )
}
