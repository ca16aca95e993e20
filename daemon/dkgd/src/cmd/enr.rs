//! `dkgd enr create | show | import`: the operator's identity, i.e. the secp256k1 ENR key in
//! `<data-dir>/charon-enr-private-key` (formats.md §5), managed through dkgd-store.
//!
//! Every subcommand that touches the key first hardens the process (no core dumps, not
//! dumpable), then takes the key lock, and keeps the key only in a boxed, mlocked
//! `K1SecretKey`. Nothing is written until all input has been validated; a key is only ever
//! created, never replaced.

mod failure;
pub(super) mod identity;

use crate::cli::{DataDirArgs, EnrArgs, EnrCommand, EnrHoldLockArgs, EnrImportArgs, EnrShowArgs};
use crate::exit::{Code, Failure};
use dkgd_crypto::k1::K1SecretKey;
use dkgd_node::harden;
use dkgd_store::{DataDir, KeyLock};
use failure::{from_store, shell};
use identity::Identity;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// Runs `dkgd enr …`.
pub(crate) fn run(args: &EnrArgs) -> Result<Code, Failure> {
    match &args.command {
        EnrCommand::Create(a) => create(a),
        EnrCommand::Show(a) => show(a),
        EnrCommand::Import(a) => import(a),
        EnrCommand::HoldLock(a) => hold_lock(a),
    }
}

/// `dkgd enr create`: a fresh key, written once (mode 0600), and its ENR.
fn create(args: &DataDirArgs) -> Result<Code, Failure> {
    super::harden_process()?;
    let dir = &args.data_dir;
    let data_dir = DataDir::open_or_create(dir).map_err(|e| from_store(e, dir))?;
    let lock = lock_key(&data_dir, "dkgd enr create")?;
    refuse_existing(&lock, dir)?;
    let key = Box::new(K1SecretKey::generate(&mut rand_core::OsRng));
    let _ = harden::lock_in_memory(&*key, "ENR private key");
    let id = Identity::of(&key)?;
    let path = lock.create_key(&key).map_err(|e| from_store(e, dir))?;
    tracing::info!(key_file = %path.display(), peer_id = %id.peer_id, "created ENR private key");
    print_new_key("Created", &path, &id, dir);
    Ok(Code::Ok)
}

/// `dkgd enr import FILE`: validate a charon key file and copy it into the data directory.
fn import(args: &EnrImportArgs) -> Result<Code, Failure> {
    super::harden_process()?;
    let dir = &args.dir.data_dir;
    // Validate the source completely before creating anything.
    let source = dkgd_store::read_import_source(&args.file).map_err(|e| match e {
        dkgd_store::Error::NotFound { .. } => Failure::new(
            Code::Usage,
            e,
            "give the path of a charon-enr-private-key file to import",
        ),
        e => from_store(e, dir),
    })?;
    let key = Box::new(source.key);
    let _ = harden::lock_in_memory(&*key, "ENR private key");
    let id = Identity::of(&key)?;
    let data_dir = DataDir::open_or_create(dir).map_err(|e| from_store(e, dir))?;
    let lock = lock_key(&data_dir, "dkgd enr import")?;
    if lock.key_exists().map_err(|e| from_store(e, dir))? {
        // Idempotent when the very same key is already there; a refusal otherwise.
        let same = lock
            .read_key()
            .is_ok_and(|existing| existing.public_key() == key.public_key());
        if same {
            println!(
                "{} already holds this key (ENR {}); nothing changed.",
                lock.key_path().display(),
                id.enr
            );
            return Ok(Code::Ok);
        }
        refuse_existing(&lock, dir)?;
    }
    let path = lock.create_key(&key).map_err(|e| from_store(e, dir))?;
    tracing::info!(key_file = %path.display(), peer_id = %id.peer_id, "imported ENR private key");
    print_new_key("Imported", &path, &id, dir);
    if let Some(mode) = source.loose_mode {
        tracing::warn!(file = %args.file.display(), mode = format!("{mode:04o}"), "import source is readable by others");
        println!(
            "\nwarning: {} is readable by group or others (mode {mode:04o}). Once your backup is \
             safe, delete or protect that copy.",
            args.file.display()
        );
    }
    Ok(Code::Ok)
}

/// `dkgd enr show`: ENR, peer ID, Ethereum address (and a QR code) of the existing key.
fn show(args: &EnrShowArgs) -> Result<Code, Failure> {
    super::harden_process()?;
    let dir = &args.dir.data_dir;
    let data_dir = DataDir::open(dir).map_err(|e| from_store(e, dir))?;
    let lock = lock_key(&data_dir, "dkgd enr show")?;
    let key = Box::new(lock.read_key().map_err(|e| from_store(e, dir))?);
    let _ = harden::lock_in_memory(&*key, "ENR private key");
    let id = Identity::of(&key)?;
    drop(key);
    let key_file = lock.key_path();
    drop(lock);
    if args.json {
        let doc = serde_json::json!({
            "enr": id.enr,
            "peer_id": id.peer_id,
            "address": id.address,
            "key_file": key_file.display().to_string(),
        });
        println!("{doc:#}");
        return Ok(Code::Ok);
    }
    println!("{}", id.enr);
    println!();
    println!("peer ID:          {}", id.peer_id);
    println!("Ethereum address: {}", id.address);
    println!("key file:         {}", key_file.display());
    if args.qr {
        println!();
        print!("{}", identity::qr(&id.enr)?);
        println!("(the QR code holds the ENR above; scan it to copy it to the launchpad)");
    }
    Ok(Code::Ok)
}

/// Hidden `dkgd enr hold-lock`: hardens like a key-holding command, takes the key lock and
/// holds it, heartbeating like a long-running command, until the time is up (or it is
/// killed). Prints `locked pid=<pid>` once the lock is held. Used by tests.
fn hold_lock(args: &EnrHoldLockArgs) -> Result<Code, Failure> {
    super::harden_process()?;
    let dir = &args.dir.data_dir;
    let data_dir = DataDir::open(dir).map_err(|e| from_store(e, dir))?;
    let mut lock = lock_key(&data_dir, "dkgd enr hold-lock")?;
    println!("locked pid={}", std::process::id());
    let _ = std::io::stdout().flush();
    let end = Instant::now() + Duration::from_secs(args.seconds);
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        std::thread::sleep(left.min(Duration::from_secs(1)));
        lock.refresh().map_err(|e| from_store(e, dir))?;
    }
    Ok(Code::Ok)
}

fn lock_key(data_dir: &DataDir, command: &str) -> Result<KeyLock, Failure> {
    data_dir
        .lock_key(command)
        .map_err(|e| from_store(e, data_dir.path()))
}

/// Refuses (exit 2, nothing changed) when the data directory already has a key.
fn refuse_existing(lock: &KeyLock, dir: &Path) -> Result<(), Failure> {
    if !lock.key_exists().map_err(|e| from_store(e, dir))? {
        return Ok(());
    }
    Err(Failure::new(
        Code::Usage,
        anyhow::anyhow!(
            "an ENR private key already exists at {}; it was left unchanged",
            lock.key_path().display()
        ),
        format!(
            "see its ENR with: dkgd enr show --data-dir {} (to use another key, choose another \
             --data-dir)",
            shell(dir)
        ),
    ))
}

fn print_new_key(verb: &str, path: &Path, id: &Identity, dir: &Path) {
    println!("{verb} ENR private key: {}", path.display());
    println!("{}", id.enr);
    println!();
    println!("peer ID:          {}", id.peer_id);
    println!("Ethereum address: {}", id.address);
    println!();
    println!(
        "IMPORTANT: back up {} now (e.g. to an offline USB stick). This key is your node's \
         identity in the cluster: if it is lost the node cannot take part, and anyone who \
         obtains it can impersonate the node. Share only the ENR, never the key file.",
        path.display()
    );
    println!(
        "Show the ENR again with: dkgd enr show --data-dir {}",
        shell(dir)
    );
}
