//! `cluster-definition.json`: the intended cluster (formats.md §2, legacy §10).
//!
//! [`Definition`] reads every version v1.0.0 – v1.11.0 leniently (like charon), writes them back
//! in charon's exact byte layout (verified byte-for-byte for v1.5 – v1.11), computes the
//! `config_hash` / `definition_hash` of every version, and lists structural problems
//! ([`Definition::validate`]) without any cryptography: EIP-712, ENR and BLS checks live
//! elsewhere.
//!
//! ```text
//!  bytes ─from_json─▶ Definition ─compute_*_hash / check_hashes─▶ HashCheck (results, not errors)
//!                        │   └─validate─▶ Vec<Finding>
//!                        └─to_json─▶ bytes (Go layout, per version)
//! ```

mod hash;
mod operator;
mod parse;
pub(crate) mod read;
mod validate;
pub(crate) mod version;
mod write;

pub use operator::{signatures, Address, Creator, Operator, ValidatorAddresses};
pub use validate::{Finding, Problem};
pub use version::{UnknownVersion, Version};

use crate::error::Error;
use crate::ssz::Root;

/// A cluster definition of any version. Fields a version lacks are ignored when hashing and
/// writing that version (see each field). Binary values are typed; strings are kept verbatim
/// because they are hashed verbatim (formats.md §11.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    /// Format version; selects JSON layout and hashing rules.
    pub version: Version,
    /// Cluster name (`name`, omitted from JSON when empty).
    pub name: String,
    /// `uuid`, verbatim (charon writes upper case, the launchpad lower case).
    pub uuid: String,
    /// `timestamp`, verbatim (omitted from JSON when empty).
    pub timestamp: String,
    /// `num_validators`.
    pub num_validators: u64,
    /// `threshold`.
    pub threshold: u64,
    /// `dkg_algorithm` (`"default"`, `"frost"`, `"pedersen"`).
    pub dkg_algorithm: String,
    /// `fork_version`: the network's genesis fork version.
    pub fork_version: [u8; 4],
    /// `operators`; `None` is JSON `null`.
    pub operators: Option<Vec<Operator>>,
    /// `creator` (v1.4+; empty otherwise).
    pub creator: Creator,
    /// v1.5+: `validators` (`None` is JSON `null`). v1.0–v1.4: exactly one entry holding the
    /// top-level `fee_recipient_address`/`withdrawal_address` shared by all validators.
    pub validators: Option<Vec<ValidatorAddresses>>,
    /// `deposit_amounts` in Gwei (v1.8+); `None` is JSON `null` (hashes like `[]`).
    pub deposit_amounts: Option<Vec<u64>>,
    /// `consensus_protocol` (v1.9+, may be empty).
    pub consensus_protocol: String,
    /// `target_gas_limit` (v1.10+).
    pub target_gas_limit: u64,
    /// `compounding` (v1.10+): 0x02 withdrawal credentials.
    pub compounding: bool,
    /// `config_hash` as stored (`None` when empty).
    pub config_hash: Option<Root>,
    /// `definition_hash` as stored (`None` when empty).
    pub definition_hash: Option<Root>,
}

/// A stored hash compared with the recomputed one. A mismatch is a result, not an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCheck {
    /// The hash in the file (`None` if the file has none).
    pub stored: Option<Root>,
    /// The hash recomputed from the file's content.
    pub computed: Root,
}

impl HashCheck {
    /// Whether the stored hash equals the recomputed one.
    pub fn matches(&self) -> bool {
        self.stored == Some(self.computed)
    }
}

/// Both hash checks of a definition (formats.md §2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefinitionHashCheck {
    /// `config_hash`.
    pub config_hash: HashCheck,
    /// `definition_hash` (computed over the *stored* config hash, like charon).
    pub definition_hash: HashCheck,
}

impl DefinitionHashCheck {
    /// Whether both hashes match.
    pub fn all_match(&self) -> bool {
        self.config_hash.matches() && self.definition_hash.matches()
    }
}

impl Definition {
    /// An empty definition of `version` (no operators, validators or hashes; fork version
    /// zero), as a starting point for building one field by field.
    pub fn blank(version: Version) -> Definition {
        Definition {
            version,
            name: String::new(),
            uuid: String::new(),
            timestamp: String::new(),
            num_validators: 0,
            threshold: 0,
            dkg_algorithm: String::new(),
            fork_version: [0; 4],
            operators: None,
            creator: Creator::default(),
            validators: None,
            deposit_amounts: None,
            consensus_protocol: String::new(),
            target_gas_limit: 0,
            compounding: false,
            config_hash: None,
            definition_hash: None,
        }
    }

    /// Parses `cluster-definition.json` (any version v1.0–v1.11). Rejects inputs over
    /// [`crate::error::MAX_INPUT_BYTES`], invalid JSON, unknown versions, badly typed/encoded/sized fields and
    /// values too large to hash. Hash mismatches are *not* rejected: see [`Self::check_hashes`].
    pub fn from_json(bytes: &[u8]) -> Result<Definition, Error> {
        let value = crate::error::parse_capped_json(bytes, "cluster definition")?;
        let def = Definition::from_value(&value)?;
        def.compute_config_hash()?;
        def.compute_definition_hash()?;
        Ok(def)
    }

    /// Writes the definition as charon does for its version (Go layout, key order, `null` vs
    /// `[]`, omitted-when-empty fields; formats.md §1.3, §2.2). Hashes are written as stored:
    /// call [`Self::with_hashes_recomputed`] first for a new definition.
    pub fn to_json(&self) -> Result<Vec<u8>, Error> {
        let value = self.to_value()?;
        crate::json::to_go_json(&value).map_err(|_| Error::Internal("serialising a JSON value"))
    }

    /// Recomputes `config_hash` and then `definition_hash` (formats.md §2.4).
    pub fn with_hashes_recomputed(mut self) -> Result<Definition, Error> {
        self.config_hash = Some(self.compute_config_hash()?);
        self.definition_hash = Some(self.compute_definition_hash()?);
        Ok(self)
    }

    /// The config hash of this content (formats.md §2.4, §10).
    pub fn compute_config_hash(&self) -> Result<Root, Error> {
        hash::root(self, hash::Kind::Config)
    }

    /// The definition hash of this content, over the *stored* `config_hash` (formats.md §2.4).
    pub fn compute_definition_hash(&self) -> Result<Root, Error> {
        hash::root(self, hash::Kind::Definition)
    }

    /// Recomputes both hashes and compares them with the stored ones.
    pub fn check_hashes(&self) -> Result<DefinitionHashCheck, Error> {
        Ok(DefinitionHashCheck {
            config_hash: HashCheck {
                stored: self.config_hash,
                computed: self.compute_config_hash()?,
            },
            definition_hash: HashCheck {
                stored: self.definition_hash,
                computed: self.compute_definition_hash()?,
            },
        })
    }

    /// Structural load-time checks of formats.md §2.5 that need no cryptography, one
    /// [`Finding`] per problem (empty when none).
    pub fn validate(&self) -> Vec<Finding> {
        validate::definition(self)
    }

    /// The operators (empty for `null`).
    pub fn operators(&self) -> &[Operator] {
        self.operators.as_deref().unwrap_or(&[])
    }

    /// The addresses of validator `index` (0-based): `validators[index]` from v1.5, the shared
    /// top-level pair before (for any `index < num_validators`).
    pub fn validator_addresses(&self, index: usize) -> Option<&ValidatorAddresses> {
        let list = self.validators.as_deref().unwrap_or(&[]);
        if self.version >= Version::V1_5 {
            list.get(index)
        } else if u64::try_from(index).is_ok_and(|i| i < self.num_validators) {
            list.first()
        } else {
            None
        }
    }

    /// The deposit amounts in Gwei (empty for `null` or before v1.8).
    pub fn deposit_amounts(&self) -> &[u64] {
        if self.version >= Version::V1_8 {
            self.deposit_amounts.as_deref().unwrap_or(&[])
        } else {
            &[]
        }
    }

    /// Whether compounding (0x02) withdrawals apply: `compounding` in v1.10+, else false.
    pub fn is_compounding(&self) -> bool {
        self.version >= Version::V1_10 && self.compounding
    }

    /// The target gas limit (v1.10+; 0 before, meaning charon's default).
    pub fn target_gas_limit(&self) -> u64 {
        if self.version >= Version::V1_10 {
            self.target_gas_limit
        } else {
            0
        }
    }

    /// The fork version as written in JSON, e.g. `"0x00000000"` (network lookup key, §8).
    pub fn fork_version_hex(&self) -> String {
        crate::json::to_eth_hex(&self.fork_version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_round_trips_for_every_version() {
        for v in Version::ALL {
            let mut d = Definition::blank(v);
            d.validators = Some(vec![ValidatorAddresses::default()]);
            let d = d.with_hashes_recomputed().unwrap();
            let back = Definition::from_json(&d.to_json().unwrap()).unwrap();
            assert!(back.check_hashes().unwrap().all_match(), "{v}");
        }
    }
}
