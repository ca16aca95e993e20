//! `dkgd demo`: a complete local ceremony among N real `dkgd dkg` processes on 127.0.0.1,
//! then `dkgd verify --decrypt` of every data dir and a summary table.
//!
//! ```text
//!  validate flags ─▶ <out>/node{i}/charon-enr-private-key   (as `dkgd enr create`)
//!                 ─▶ <out>/cluster-definition.json           (as `dkgd create cluster-definition`)
//!                 ─▶ `dkgd relay` child (<out>/relay, ephemeral ports)   [not with --direct]
//!                 ─▶ N `dkgd dkg --progress-json` children, stderr → <out>/node{i}.log
//!                 ─▶ live progress, overall deadline, Ctrl-C → every child killed
//!                 ─▶ verify each data dir, compare the locks byte for byte, print the table
//! ```
//!
//! Nothing is simulated: identity keys through dkgd-store, a definition with real EIP-712
//! signatures, libp2p (TCP, Noise, yamux, circuit relay v2) between separate processes,
//! keystores at full KDF cost unless `--insecure-keystores`, the all-or-nothing commit.
//! Children are held by a guard that kills them when the demo returns, fails or is
//! interrupted (SIGINT/SIGTERM), so none is ever left running.

mod nodes;
mod procs;
mod summary;

use super::create::{DefinitionPlan, DefinitionRequest};
use super::store_failure::store_failure;
use crate::cli::DemoArgs;
use crate::exit::{Code, Failure};
use anyhow::anyhow;
use dkgd_crypto::k1::K1SecretKey;
use dkgd_store::DataDir;
use rand_core::OsRng;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The demo's bound on processes (each node is a process with its own runtime).
const MAX_NODES: usize = 64;
/// The demo's bound on validators.
const MAX_VALIDATORS: u64 = 1000;

/// Runs `dkgd demo`.
pub(crate) fn run(args: &DemoArgs) -> Result<Code, Failure> {
    let started = Instant::now();
    let plan = validate(args)?;
    let out = &plan.out;
    std::fs::create_dir_all(out)
        .map_err(|e| usage(anyhow!("--out {}: cannot create it: {e}", out.display())))?;
    super::harden_process()?;

    // 1. Each node's identity, created the way `dkgd enr create` does it.
    let mut keys = Vec::with_capacity(plan.def.operators);
    for i in 0..plan.def.operators {
        keys.push(create_identity(&node_dir(out, i))?);
    }
    let _locked = dkgd_node::harden::lock_in_memory(keys.as_slice(), "demo operator keys");
    let peer_ids: Vec<String> = keys
        .iter()
        .map(|k| dkgd_formats::enr::Enr::create(k).peer_id().to_string())
        .collect();

    // 2. The definition, made as `dkgd create cluster-definition` makes it.
    let name = format!("dkgd demo {}-of-{}", plan.def.threshold, plan.def.operators);
    let creator = K1SecretKey::generate(&mut OsRng);
    let json = plan.def.signed_json(&name, &keys, &creator)?;
    drop(keys);
    drop(creator);
    let def_path = dkgd_store::atomic::create_new(out, DEFINITION, &json, 0o444)
        .map_err(|e| store_failure(e, out))?;
    println!(
        "definition: {} operators, threshold {}, {} validator(s), {} on {} -> {}",
        plan.def.operators,
        plan.def.threshold,
        plan.def.validators,
        plan.def.version.as_str(),
        plan.def.network.name,
        def_path.display()
    );

    // 3. The relay and the nodes, as separate processes; everything is killed on any failure.
    let outcomes = nodes::run_ceremony(&nodes::Setup {
        out,
        peer_ids: &peer_ids,
        direct: plan.direct,
        insecure_keystores: plan.insecure_keystores,
        deadline: plan.deadline,
    })?;

    // 4. Verify every data dir, compare the locks and print the table.
    summary::report(&summary::Input {
        out,
        peer_ids: &peer_ids,
        outcomes: &outcomes,
        validators: plan.def.validators,
        started,
    })
}

/// The definition's file name in `--out`.
const DEFINITION: &str = "cluster-definition.json";

/// Node i's data dir.
fn node_dir(out: &Path, i: usize) -> PathBuf {
    out.join(format!("node{i}"))
}

/// Node i's stderr log.
fn node_log(out: &Path, i: usize) -> PathBuf {
    out.join(format!("node{i}.log"))
}

/// Creates `dir` and a fresh identity key in it under the key lock (released on return).
fn create_identity(dir: &Path) -> Result<K1SecretKey, Failure> {
    let data_dir = DataDir::open_or_create(dir).map_err(|e| store_failure(e, dir))?;
    let lock = data_dir
        .lock_key("dkgd demo")
        .map_err(|e| store_failure(e, dir))?;
    let key = K1SecretKey::generate(&mut OsRng);
    lock.create_key(&key).map_err(|e| store_failure(e, dir))?;
    Ok(key)
}

/// Validated demo settings.
struct Plan {
    def: DefinitionPlan,
    out: PathBuf,
    insecure_keystores: bool,
    direct: bool,
    deadline: Duration,
}

fn validate(args: &DemoArgs) -> Result<Plan, Failure> {
    if args.nodes > MAX_NODES {
        return Err(usage(anyhow!(
            "--nodes {}: a demo runs at most {MAX_NODES} processes",
            args.nodes
        )));
    }
    if args.validators > MAX_VALIDATORS {
        return Err(usage(anyhow!(
            "--validators {}: a demo creates at most {MAX_VALIDATORS}",
            args.validators
        )));
    }
    if matches!(args.network.as_str(), "mainnet" | "gnosis") {
        return Err(usage(anyhow!(
            "--network {}: a demo runs on test networks only (its addresses are placeholders)",
            args.network
        )));
    }
    let def = DefinitionPlan::new(&DefinitionRequest {
        operators: args.nodes,
        operators_flag: "--nodes",
        threshold: args.threshold,
        validators: args.validators,
        version: &args.definition_version,
        network: &args.network,
        fee_recipient: None,
        withdrawal_address: None,
    })
    .map_err(usage)?;
    if args.timeout_secs == 0 {
        return Err(usage(anyhow!("--timeout 0: give a deadline in seconds")));
    }
    let out = match &args.out {
        Some(p) => p.clone(),
        None => PathBuf::from(format!("dkgd-demo-{}", std::process::id())),
    };
    let non_empty = out.exists()
        && std::fs::read_dir(&out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true);
    if non_empty {
        return Err(Failure::new(
            Code::Usage,
            anyhow!("--out {} already exists and is not empty", out.display()),
            "pass a new directory with --out (nothing was written)",
        ));
    }
    Ok(Plan {
        def,
        out,
        insecure_keystores: args.insecure_keystores,
        direct: args.direct,
        deadline: Duration::from_secs(args.timeout_secs),
    })
}

fn usage(e: anyhow::Error) -> Failure {
    Failure::new(
        Code::Usage,
        e,
        "see `dkgd demo --help` (nothing was written)",
    )
}
