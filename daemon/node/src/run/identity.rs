//! This node's identity key: created in `first-boot` (never overwriting one), and its public
//! face (ENR, peer ID) read for the status. The key lock is taken only for the moment of each
//! call, so the ceremony child can take it while it runs.

use dkgd_crypto::k1::{K1PublicKey, K1SecretKey};
use dkgd_formats::enr::Enr;
use dkgd_store::DataDir;
use std::path::Path;

/// The public side of the identity key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicIdentity {
    /// `enr:-…`.
    pub enr: String,
    /// `16Uiu2HA…`.
    pub peer_id: String,
    /// The secp256k1 public key (to find ourselves among a definition's operators).
    pub public_key: K1PublicKey,
}

impl PublicIdentity {
    fn of(key: &K1SecretKey) -> Self {
        let enr = Enr::create(key);
        Self {
            enr: enr.to_text().to_owned(),
            peer_id: enr.peer_id().to_string(),
            public_key: key.public_key(),
        }
    }
}

/// Creates the key file in `data_dir` (created 0700 if missing) unless one exists, like
/// `dkgd enr create`, and returns its public identity. Blocking.
pub fn create_key(data_dir: &Path) -> Result<PublicIdentity, dkgd_store::Error> {
    let dir = DataDir::open_or_create(data_dir)?;
    let lock = dir.lock_key("dkgd run (first boot)")?;
    if lock.key_exists()? {
        // Someone (an operator's `dkgd enr import`?) was first: use it, never replace it.
        let key = Box::new(lock.read_key()?);
        let _mlock = crate::harden::lock_in_memory(&*key, "ENR private key");
        return Ok(PublicIdentity::of(&key));
    }
    let key = Box::new(K1SecretKey::generate(&mut rand_core::OsRng));
    let _mlock = crate::harden::lock_in_memory(&*key, "ENR private key");
    let path = lock.create_key(&key)?;
    let id = PublicIdentity::of(&key);
    tracing::info!(key_file = %path.display(), peer_id = %id.peer_id, "created the ENR private key");
    Ok(id)
}

/// Reads the existing key's public identity. Blocking.
pub fn read_identity(data_dir: &Path) -> Result<PublicIdentity, dkgd_store::Error> {
    let dir = DataDir::open(data_dir)?;
    let lock = dir.lock_key("dkgd run")?;
    let key = Box::new(lock.read_key()?);
    let _mlock = crate::harden::lock_in_memory(&*key, "ENR private key");
    Ok(PublicIdentity::of(&key))
}

/// Runs `f` with the identity key, held locked in memory only for the call (e.g. to sign an
/// invite acceptance). Blocking.
pub fn with_key<T>(
    data_dir: &Path,
    purpose: &str,
    f: impl FnOnce(&K1SecretKey) -> T,
) -> Result<T, dkgd_store::Error> {
    let dir = DataDir::open(data_dir)?;
    let lock = dir.lock_key(purpose)?;
    let key = Box::new(lock.read_key()?);
    let _mlock = crate::harden::lock_in_memory(&*key, "ENR private key");
    Ok(f(&key))
}
