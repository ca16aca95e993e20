//! Step 6: what a node writes after a verified lock (formats.md §6, §7.4, §9), as bytes.
//! Writing them (atomically, with the right modes) is dkgd-store's job; charon's order is
//! keystores, then `cluster-lock.json`, then the deposit-data files
//! (charon-dkg-protocol.md §1.11).

use dkgd_crypto::keystore::{encrypt_all, read_pubkey, KdfStrength, KeystoreFile, Password};
use dkgd_formats::deposit::{deposit_files, DepositFile};
use dkgd_formats::lock::Lock;
use dkgd_formats::ssz::Root;
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::index::{validators, ValidatorIdx};
use crate::keygen::DkgOutput;
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

/// Encrypts this node's key shares into keystores (the expensive part: one KDF per key, on
/// every core). Shares are final right after the DKG, so this may run while the signing steps
/// do; the files are still written only at the commit. Keystores use `kdf`; the insecure test
/// KDF is refused on production networks.
pub fn encrypt_keystores<R: CryptoRngCore + ?Sized>(
    plan: &Plan,
    dkg: &DkgOutput,
    kdf: KdfStrength,
    rng: &mut R,
) -> Result<Vec<Keystore>, Error> {
    let secrets: Vec<Zeroizing<[u8; 32]>> = dkg
        .keys()
        .iter()
        .map(|k| k.secret_share.expose_secret())
        .collect();
    let files =
        encrypt_all(&secrets, kdf, plan.is_production_network(), rng).map_err(Error::Keystore)?;
    Ok(keystores_from(files))
}

/// Numbers encrypted files in validator order.
pub(crate) fn keystores_from(files: Vec<KeystoreFile>) -> Vec<Keystore> {
    validators(files.len())
        .zip(files)
        .map(|(index, f)| Keystore {
            index,
            json: f.json,
            password: f.password,
        })
        .collect()
}

/// Renders a node's artifacts from its verified lock, DKG output and keystores (from
/// [`encrypt_keystores`]). Each secret share's public key is re-derived and compared with the
/// lock's `public_shares` entry of this node (style.md §3.8), and each keystore's public key
/// with the share's.
pub fn build(
    plan: &Plan,
    lock: Lock,
    dkg: &DkgOutput,
    keystores: Vec<Keystore>,
) -> Result<Artifacts, Error> {
    let me = plan.me().as_usize();
    let keys = dkg.keys();
    if keys.len() != lock.validators.len() || keystores.len() != keys.len() {
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
    for (k, ks) in keys.iter().zip(&keystores) {
        let pubkey = read_pubkey(&ks.json).map_err(Error::Keystore)?;
        if pubkey != k.secret_share.public_share() {
            return Err(Error::Internal("a keystore does not hold its key share"));
        }
    }
    Ok(Artifacts {
        lock,
        lock_hash,
        lock_json,
        deposit_files,
        keystores,
    })
}
