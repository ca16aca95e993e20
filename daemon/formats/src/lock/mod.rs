//! `cluster-lock.json`: the definition plus the DKG result (formats.md §3, legacy §10).
//!
//! [`Lock`] reads every version v1.0.0 – v1.11.0, writes charon's exact byte layout (verified for
//! v1.6 – v1.11), computes the `lock_hash` of every version (including the v1.6 flattened
//! deposit-data quirk) and lists structural problems ([`Lock::validate`]). Signature checks
//! (BLS aggregate, node signatures, registrations) are done elsewhere.

mod hash;
mod parse;
mod validate;
mod validator;
mod write;

pub use validator::{
    BlsPublicKey, BlsSignature, BuilderRegistration, DepositData, DistValidator,
    RegistrationMessage,
};

use crate::definition::{Definition, DefinitionHashCheck, Finding, HashCheck, Operator, Version};
use crate::error::Error;
use crate::ssz::Root;

/// A cluster lock of any version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    /// `cluster_definition`; its version is the lock's version.
    pub definition: Definition,
    /// `distributed_validators`, in validator order.
    pub validators: Vec<DistValidator>,
    /// `signature_aggregate`: BLS aggregate over `lock_hash` (96 bytes; not hashed, so any
    /// length is kept and reported by [`Lock::validate`]).
    pub signature_aggregate: Vec<u8>,
    /// `lock_hash` as stored (`None` when empty).
    pub lock_hash: Option<Root>,
    /// `node_signatures` (v1.7+): one 65-byte secp256k1 signature per operator, in operator
    /// order (any length is kept; [`Lock::validate`] reports bad ones).
    pub node_signatures: Vec<Vec<u8>>,
}

/// All hash checks of a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockHashCheck {
    /// The embedded definition's config and definition hashes.
    pub definition: DefinitionHashCheck,
    /// `lock_hash` (computed over the definition container with the stored config hash).
    pub lock_hash: HashCheck,
}

impl LockHashCheck {
    /// Whether all three hashes match.
    pub fn all_match(&self) -> bool {
        self.definition.all_match() && self.lock_hash.matches()
    }
}

impl Lock {
    /// A lock of `definition` with the given validators and no signatures or hash yet.
    pub fn new(definition: Definition, validators: Vec<DistValidator>) -> Lock {
        Lock {
            definition,
            validators,
            signature_aggregate: Vec::new(),
            lock_hash: None,
            node_signatures: Vec::new(),
        }
    }

    /// Parses `cluster-lock.json` (any version v1.0–v1.11). Rejects inputs over
    /// [`crate::error::MAX_INPUT_BYTES`], invalid JSON, unknown versions, badly typed/encoded/sized fields and
    /// values too large to hash. Hash mismatches are *not* rejected: see [`Self::check_hashes`].
    pub fn from_json(bytes: &[u8]) -> Result<Lock, Error> {
        let value = crate::error::parse_capped_json(bytes, "cluster lock")?;
        let lock = Lock::from_value(&value)?;
        // Surface values too large to hash now (the lock hash covers the definition hash).
        lock.definition
            .compute_config_hash()
            .map_err(|e| e.within("cluster_definition"))?;
        lock.compute_lock_hash()?;
        Ok(lock)
    }

    /// Writes the lock as charon does for its version (formats.md §1.3, §3.1). Hashes are
    /// written as stored: call [`Self::with_hashes_recomputed`] first for a new lock.
    pub fn to_json(&self) -> Result<Vec<u8>, Error> {
        let value = self.to_value()?;
        crate::json::to_go_json(&value).map_err(|_| Error::Internal("serialising a JSON value"))
    }

    /// The format version (the definition's).
    pub fn version(&self) -> Version {
        self.definition.version
    }

    /// The operators (of the definition).
    pub fn operators(&self) -> &[Operator] {
        self.definition.operators()
    }

    /// The lock hash of this content (formats.md §3.2, §10), over the definition container with
    /// its *stored* config hash.
    pub fn compute_lock_hash(&self) -> Result<Root, Error> {
        let def_root = self
            .definition
            .compute_definition_hash()
            .map_err(|e| e.within("cluster_definition"))?;
        hash::lock_hash(self, &def_root)
    }

    /// Recomputes the definition hashes and the lock hash and compares them with the stored ones.
    pub fn check_hashes(&self) -> Result<LockHashCheck, Error> {
        let definition = self
            .definition
            .check_hashes()
            .map_err(|e| e.within("cluster_definition"))?;
        let computed = hash::lock_hash(self, &definition.definition_hash.computed)?;
        Ok(LockHashCheck {
            definition,
            lock_hash: HashCheck {
                stored: self.lock_hash,
                computed,
            },
        })
    }

    /// Recomputes the definition's `config_hash` and `definition_hash`, then `lock_hash`.
    /// Signatures over the lock hash must be (re)made afterwards.
    pub fn with_hashes_recomputed(mut self) -> Result<Lock, Error> {
        self.definition = self
            .definition
            .with_hashes_recomputed()
            .map_err(|e| e.within("cluster_definition"))?;
        self.lock_hash = Some(self.compute_lock_hash()?);
        Ok(self)
    }

    /// Structural checks of formats.md §2.5 and §3.5 that need no cryptography, for the
    /// definition and the lock, one [`Finding`] per problem (empty when none).
    pub fn validate(&self) -> Vec<Finding> {
        validate::lock(self)
    }
}
