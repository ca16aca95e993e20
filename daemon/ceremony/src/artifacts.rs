//! Step 6: what a node writes after a verified lock (formats.md §6, §7.4, §9), as bytes.
//! Writing them (atomically, with the right modes) is dkgd-store's job; charon's order is
//! keystores, then `cluster-lock.json`, then the deposit-data files
//! (charon-dkg-protocol.md §1.11).

use dkgd_crypto::keystore::{encrypt_all, KdfStrength, Password};
use dkgd_formats::deposit::{deposit_files, DepositFile};
use dkgd_formats::lock::Lock;
use dkgd_formats::ssz::Root;
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::dkg::DkgOutput;
use crate::error::Error;
use crate::index::{validators, ValidatorIdx};
use crate::plan::Plan;

/// One EIP-2335 keystore of this node's share of a validator, and its password.
#[derive(Debug)]
pub struct Keystore {
    /// The validator (`N` of `keystore-N.json`).
    pub index: ValidatorIdx,
    /// Keystore JSON (pbkdf2, charon's layout).
    pub json: Vec<u8>,
    /// Its random password (32 hex characters, no newline).
    pub password: Password,
}

impl Keystore {
    /// `keystore-N.json`, relative to `validator_keys/`.
    pub fn json_file_name(&self) -> String {
        format!("keystore-{}.json", self.index)
    }

    /// `keystore-N.txt`, relative to `validator_keys/`.
    pub fn password_file_name(&self) -> String {
        format!("keystore-{}.txt", self.index)
    }
}

/// Everything one node writes to its data dir after a successful ceremony.
#[derive(Debug)]
pub struct Artifacts {
    /// The verified lock.
    pub lock: Lock,
    /// Its hash.
    pub lock_hash: Root,
    /// `cluster-lock.json` bytes (charon's layout, byte-identical on every node).
    pub lock_json: Vec<u8>,
    /// `deposit-data*.json` files, one per distinct amount, ascending.
    pub deposit_files: Vec<DepositFile>,
    /// `validator_keys/keystore-N.{json,txt}`, in validator order.
    pub keystores: Vec<Keystore>,
}

/// Renders a node's artifacts from its verified lock and DKG output. Before encrypting, each
/// secret share's public key is re-derived and compared with the lock's `public_shares` entry
/// of this node (style.md §3.8). Keystores use `kdf`; the insecure test KDF is refused on
/// production networks.
pub fn build<R: CryptoRngCore + ?Sized>(
    plan: &Plan,
    lock: Lock,
    dkg: &DkgOutput,
    kdf: KdfStrength,
    rng: &mut R,
) -> Result<Artifacts, Error> {
    let me = plan.me().as_usize();
    let keys = dkg.keys();
    if keys.len() != lock.validators.len() {
        return Err(Error::Internal("one key share per lock validator"));
    }
    for (k, dv) in keys.iter().zip(&lock.validators) {
        if dv.public_shares.get(me) != Some(&k.secret_share.public_share()) {
            return Err(Error::Internal("a secret share does not match the lock"));
        }
    }
    let lock_hash = lock
        .lock_hash
        .ok_or(Error::Internal("a finished lock has a hash"))?;
    let lock_json = lock
        .to_json()
        .map_err(|_| Error::Internal("serialising a verified lock"))?;
    let deposits: Vec<_> = lock
        .validators
        .iter()
        .flat_map(|dv| dv.deposit_data.iter().cloned())
        .collect();
    let deposit_files = deposit_files(&deposits, plan.network()).map_err(Error::Deposit)?;
    let secrets: Vec<Zeroizing<[u8; 32]>> = keys
        .iter()
        .map(|k| k.secret_share.expose_secret())
        .collect();
    let files =
        encrypt_all(&secrets, kdf, plan.is_production_network(), rng).map_err(Error::Keystore)?;
    let keystores = validators(files.len())
        .zip(files)
        .map(|(index, f)| Keystore {
            index,
            json: f.json,
            password: f.password,
        })
        .collect();
    Ok(Artifacts {
        lock,
        lock_hash,
        lock_json,
        deposit_files,
        keystores,
    })
}
