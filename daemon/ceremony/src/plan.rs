//! The plan: a cluster definition checked for a DKG, and our place in it
//! (charon-dkg-protocol.md §1.2 items 3–5, 9, 10; formats.md §2.5).
//!
//! ```text
//!  Definition + our identity key ──Plan::new──▶ Plan { network, n, t, V, operators' ENRs, me }
//!                                      └──────▶ Error::InvalidDefinition(problem naming the field)
//! ```
//!
//! Checks, in order: version (v1.6–v1.11), `dkg_algorithm` (`default`/`frost`; `pedersen` is
//! refused), operator count (≤ 255), threshold (2 ≤ t ≤ n), `num_validators` (1 ..= 10 000) and
//! its addresses, network (by genesis fork version), every ENR (parses, distinct keys), our key
//! among them, then `verify_definition` (structure, hashes, EIP-712 signatures) unless
//! [`PlanOptions::no_verify`] — charon's `--no-verify` — keeps only the structural checks.

use dkgd_crypto::frost::{FrostParams, MAX_VALIDATORS};
use dkgd_crypto::k1::K1PublicKey;
use dkgd_formats::definition::{Definition, Version};
use dkgd_formats::enr::Enr;
use dkgd_formats::network::{self, Network};
use dkgd_formats::ssz::Root;
use dkgd_formats::verify::{verify_definition, Status};

use crate::error::{DefinitionProblem, Error};
use crate::index::{PeerIdx, ShareIdx};

/// Largest number of operators in a DKG (FROST participant ids are one byte).
pub const MAX_OPERATORS: usize = 255;

/// Options of [`Plan::with_options`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// Skip the hash and signature checks of the definition (charon `--no-verify`). Structural
    /// checks still apply. Missing hashes are computed either way.
    pub no_verify: bool,
}

/// A definition that passed every check, with this node's position in it.
#[derive(Debug, Clone)]
pub struct Plan {
    definition: Definition,
    network: &'static Network,
    operators: Vec<Enr>,
    me: PeerIdx,
    params: FrostParams,
    options: PlanOptions,
}

impl Plan {
    /// Checks `definition` for a DKG run by the operator whose ENR holds `identity`, with
    /// default options (everything verified).
    pub fn new(definition: Definition, identity: &K1PublicKey) -> Result<Plan, Error> {
        Plan::with_options(definition, identity, &PlanOptions::default())
    }

    /// [`Plan::new`] with options.
    pub fn with_options(
        definition: Definition,
        identity: &K1PublicKey,
        options: &PlanOptions,
    ) -> Result<Plan, Error> {
        let mut definition = definition;
        check_shape(&definition)?;
        let network = network::by_fork_version(&definition.fork_version).map_err(|_| {
            DefinitionProblem::UnknownNetwork {
                fork_version: definition.fork_version,
            }
        })?;
        let operators = parse_enrs(&definition)?;
        let me = operators
            .iter()
            .position(|e| e.public_key() == *identity)
            .and_then(PeerIdx::from_usize)
            .ok_or(DefinitionProblem::NotAnOperator(*identity))?;
        if options.no_verify {
            if let Some(f) = definition.validate().into_iter().next() {
                return Err(DefinitionProblem::Structure(f).into());
            }
            // charon computes hashes that are absent (charon-dkg-protocol.md §1.2 item 3).
            if definition.config_hash.is_none() || definition.definition_hash.is_none() {
                definition = definition
                    .with_hashes_recomputed()
                    .map_err(|_| Error::Internal("hashing a definition that passed checks"))?;
            }
        } else {
            let report = verify_definition(&definition);
            if let Some(c) = report
                .checks
                .into_iter()
                .find(|c| matches!(c.status, Status::Fail | Status::Unverifiable))
            {
                return Err(DefinitionProblem::Verification(c).into());
            }
        }
        let n = u32::try_from(operators.len()).map_err(|_| Error::Internal("operator count"))?;
        let t = u32::try_from(definition.threshold).map_err(|_| Error::Internal("threshold"))?;
        let v = u32::try_from(definition.num_validators)
            .map_err(|_| Error::Internal("validator count"))?;
        let params = FrostParams::new(n, t, v)
            .map_err(|_| Error::Internal("FROST rejected parameters the plan accepted"))?;
        Ok(Plan {
            definition,
            network,
            operators,
            me,
            params,
            options: *options,
        })
    }

    /// The options the plan was made with.
    pub fn options(&self) -> &PlanOptions {
        &self.options
    }

    /// The definition (with hashes, as it goes into the lock).
    pub fn definition(&self) -> &Definition {
        &self.definition
    }

    /// The definition's version: selects the lock shape and the default deposit amounts.
    pub fn version(&self) -> Version {
        self.definition.version
    }

    /// The network named by the definition's `fork_version`.
    pub fn network(&self) -> &'static Network {
        self.network
    }

    /// Whether keys on this network hold real value (mainnet, gnosis): the insecure test KDF
    /// is refused for them.
    pub fn is_production_network(&self) -> bool {
        matches!(self.network.name, "mainnet" | "gnosis")
    }

    /// Our position among the operators.
    pub fn me(&self) -> PeerIdx {
        self.me
    }

    /// Our share index (`me + 1`).
    pub fn share_idx(&self) -> ShareIdx {
        self.me.share_idx()
    }

    /// Number of operators `n`.
    pub fn num_operators(&self) -> usize {
        self.operators.len()
    }

    /// Threshold `t`.
    pub fn threshold(&self) -> usize {
        usize::try_from(self.params.threshold()).expect("invariant: t ≤ 255")
    }

    /// Number of validators `V`.
    pub fn num_validators(&self) -> usize {
        usize::try_from(self.params.validators()).expect("invariant: V ≤ 10 000")
    }

    /// The FROST parameters `(n, t, V)`.
    pub fn frost_params(&self) -> FrostParams {
        self.params
    }

    /// Every peer, in operator order (ours included).
    pub fn peers(&self) -> impl Iterator<Item = PeerIdx> + '_ {
        (0..self.operators.len()).filter_map(PeerIdx::from_usize)
    }

    /// The ENR of operator `peer`.
    pub fn operator_enr(&self, peer: PeerIdx) -> Option<&Enr> {
        self.operators.get(peer.as_usize())
    }

    /// The definition hash (the value peers compare in the sync handshake).
    pub fn definition_hash(&self) -> Root {
        self.definition.definition_hash.unwrap_or_default()
    }
}

/// Version, algorithm, counts and addresses: everything that needs no parsing or crypto.
fn check_shape(def: &Definition) -> Result<(), DefinitionProblem> {
    if !(Version::V1_6..=Version::V1_11).contains(&def.version) {
        return Err(DefinitionProblem::UnsupportedVersion {
            version: def.version,
        });
    }
    match def.dkg_algorithm.as_str() {
        "default" | "frost" => {}
        "pedersen" => return Err(DefinitionProblem::PedersenUnsupported),
        other => {
            return Err(DefinitionProblem::UnknownAlgorithm {
                algorithm: other.to_string(),
            })
        }
    }
    let n = def.operators().len();
    if n > MAX_OPERATORS {
        return Err(DefinitionProblem::TooManyOperators { operators: n });
    }
    if def.threshold < 2 || def.threshold > n as u64 {
        return Err(DefinitionProblem::ThresholdOutOfRange {
            threshold: def.threshold,
            operators: n,
        });
    }
    if def.num_validators == 0 || def.num_validators > u64::from(MAX_VALIDATORS) {
        return Err(DefinitionProblem::ValidatorCountOutOfRange {
            num_validators: def.num_validators,
            max: MAX_VALIDATORS,
        });
    }
    let addresses = def.validators.as_deref().unwrap_or(&[]);
    if addresses.len() as u64 != def.num_validators {
        return Err(DefinitionProblem::ValidatorAddressCount {
            num_validators: def.num_validators,
            found: addresses.len(),
        });
    }
    for (v, a) in crate::index::validators(addresses.len()).zip(addresses) {
        for (which, addr) in [
            ("fee_recipient_address", &a.fee_recipient_address),
            ("withdrawal_address", &a.withdrawal_address),
        ] {
            if addr.is_empty() {
                return Err(DefinitionProblem::MissingAddress {
                    validator: v,
                    which,
                });
            }
        }
    }
    Ok(())
}

/// Parses every operator ENR and rejects duplicate identity keys.
fn parse_enrs(def: &Definition) -> Result<Vec<Enr>, DefinitionProblem> {
    let mut out: Vec<Enr> = Vec::with_capacity(def.operators().len());
    for (p, op) in def.operators().iter().enumerate() {
        let peer = PeerIdx::from_usize(p).ok_or(DefinitionProblem::TooManyOperators {
            operators: def.operators().len(),
        })?;
        let enr = Enr::parse(&op.enr).map_err(|e| DefinitionProblem::BadEnr(peer, e))?;
        if let Some(first) = out
            .iter()
            .position(|e| e.public_key() == enr.public_key())
            .and_then(PeerIdx::from_usize)
        {
            return Err(DefinitionProblem::DuplicateOperator {
                operator: peer,
                first,
            });
        }
        out.push(enr);
    }
    Ok(out)
}
