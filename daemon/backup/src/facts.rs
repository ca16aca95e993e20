//! What a set of bundle files says about itself: whose key it is (peer ID, ENR), which
//! cluster it belongs to (name, lock hash), and whether the files fit together (the key is an
//! operator of the lock; every keystore has its password; no artifacts without a lock).
//! Computed the same way when a backup is made and when one is opened, so the manifest can
//! be checked against the files rather than trusted.

use crate::bundle::Entry;
use crate::error::{Error, Problem};
use crate::manifest::{Kind, Manifest};
use crate::names::{EntryKind, KEY, LOCK};
use dkgd_crypto::k1::K1SecretKey;
use dkgd_formats::enr::Enr;
use dkgd_formats::lock::Lock;
use std::collections::BTreeSet;
use std::path::Path;

/// The public facts of a bundle's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Facts {
    pub(crate) kind: Kind,
    pub(crate) peer_id: String,
    pub(crate) enr: String,
    pub(crate) cluster_name: Option<String>,
    pub(crate) lock_hash: Option<String>,
}

impl Facts {
    /// Derives and cross-checks the facts of `entries`; `origin` names the backup or data dir.
    pub(crate) fn derive(origin: &Path, entries: &[Entry]) -> Result<Self, Error> {
        let bad = |entry: &str, why| Error::invalid(origin, Some(entry), why);
        let key_entry = entries
            .iter()
            .find(|e| e.kind() == EntryKind::Key)
            .ok_or_else(|| bad(KEY, Problem::NoKey))?;
        let key = parse_key(key_entry.expose_secret()).ok_or_else(|| bad(KEY, Problem::BadKey))?;
        let enr = Enr::create(&key);
        let public = key.public_key();
        check_pairs(origin, entries)?;
        let lock = entries.iter().find(|e| e.kind() == EntryKind::Lock);
        let has_artifacts = entries.iter().any(|e| {
            matches!(
                e.kind(),
                EntryKind::Deposit | EntryKind::KeystoreJson(_) | EntryKind::KeystorePassword(_)
            )
        });
        let (kind, cluster_name, lock_hash) = match lock {
            None if has_artifacts => return Err(bad(LOCK, Problem::ArtifactsWithoutLock)),
            None => (Kind::Key, None, None),
            Some(l) => {
                let lock = Lock::from_json(l.expose_secret())
                    .map_err(|e| bad(LOCK, Problem::BadLock(e.to_string())))?;
                let ours = lock
                    .operators()
                    .iter()
                    .any(|op| Enr::parse(&op.enr).is_ok_and(|e| e.public_key() == public));
                if !ours {
                    return Err(bad(LOCK, Problem::NotAnOperator));
                }
                let hash = lock.lock_hash.map(|h| format!("0x{}", hex::encode(h)));
                (Kind::Full, Some(lock.definition.name.clone()), hash)
            }
        };
        Ok(Self {
            kind,
            peer_id: enr.peer_id().to_string(),
            enr: enr.to_text().to_owned(),
            cluster_name,
            lock_hash,
        })
    }

    /// Checks an opened manifest against the facts of the files it came with.
    pub(crate) fn check_manifest(&self, m: &Manifest, file: &Path) -> Result<(), Error> {
        let bad = |why| Error::invalid(file, Some(crate::names::MANIFEST), why);
        // The ENR text may carry another sequence number or address; its key must be ours.
        let enr_key_matches = Enr::parse(&m.enr).is_ok_and(|e| {
            Enr::parse(&self.enr).is_ok_and(|ours| ours.public_key() == e.public_key())
        });
        if m.peer_id != self.peer_id || !enr_key_matches {
            return Err(bad(Problem::IdentityMismatch));
        }
        if m.kind != self.kind {
            return Err(bad(Problem::LockMismatch("kind")));
        }
        if m.lock_hash != self.lock_hash {
            return Err(bad(Problem::LockMismatch("lock hash")));
        }
        if m.cluster_name != self.cluster_name {
            return Err(bad(Problem::LockMismatch("cluster name")));
        }
        Ok(())
    }
}

/// Parses key-file content strictly (charon's format), without quoting it anywhere.
pub(crate) fn parse_key(content: &[u8]) -> Option<K1SecretKey> {
    let scalar = dkgd_store::keyfile::parse_key_hex(content).ok()?;
    K1SecretKey::from_bytes(scalar.expose_secret()).ok()
}

/// Every keystore has both its `.json` and its `.txt`.
fn check_pairs(origin: &Path, entries: &[Entry]) -> Result<(), Error> {
    let mut json = BTreeSet::new();
    let mut txt = BTreeSet::new();
    for e in entries {
        match e.kind() {
            EntryKind::KeystoreJson(n) => {
                json.insert(n);
            }
            EntryKind::KeystorePassword(n) => {
                txt.insert(n);
            }
            _ => {}
        }
    }
    if let Some(n) = json.symmetric_difference(&txt).next() {
        let entry = format!("validator_keys/keystore-{n}.json");
        return Err(Error::invalid(origin, Some(&entry), Problem::Unpaired));
    }
    Ok(())
}
