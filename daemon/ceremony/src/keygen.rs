//! Step 1: the FROST DKG for all validators (charon-dkg-protocol.md §1.7), and its result as
//! the later steps use it.
//!
//! ```text
//!  start(plan, rng) ──▶ AwaitRound1 + Round1Output      (dkgd_crypto::frost does the math)
//!  … handle_round1 / handle_round2 …  ──▶ Vec<ValidatorKeys>
//!  DkgOutput::new(plan, keys)  checks shapes, re-derives our public shares, decodes keys once
//! ```

use dkgd_crypto::bls::BlsPublicKey;
use dkgd_crypto::frost::{self, AwaitRound1, FrostError, Round1Output, ValidatorKeys};
use rand_core::CryptoRngCore;

use crate::error::{Error, Misbehaviour};
use crate::index::{PeerIdx, ValidatorIdx};
use crate::plan::Plan;
use crate::step::Step;

/// Starts FROST round 1 for every validator of the plan, as our share index.
pub fn start<R: CryptoRngCore + ?Sized>(
    plan: &Plan,
    rng: &mut R,
) -> Result<(AwaitRound1, Round1Output), Error> {
    frost::round1(plan.frost_params(), plan.share_idx(), rng).map_err(frost_error)
}

/// Maps a FROST failure to the peer it names ([`Error::PeerMisbehaved`] in [`Step::Dkg`]), or
/// to [`Error::Dkg`] when it names none.
pub fn frost_error(e: FrostError) -> Error {
    match e.culprit().and_then(PeerIdx::from_share_idx) {
        Some(peer) => Error::PeerMisbehaved {
            peer,
            step: Step::Dkg,
            what: Misbehaviour::Frost(e),
        },
        None => Error::Dkg(e),
    }
}

/// One validator's public keys, validated (subgroup-checked) once.
#[derive(Debug, Clone)]
pub struct ValidatorPublicKeys {
    /// The validator's group public key (`distributed_public_key`).
    pub group_key: BlsPublicKey,
    /// Public key shares in operator order (entry `p` belongs to peer `p`).
    pub public_shares: Vec<BlsPublicKey>,
}

/// The public result of the DKG, identical on every honest node.
#[derive(Debug, Clone)]
pub struct PublicKeys {
    validators: Vec<ValidatorPublicKeys>,
}

impl PublicKeys {
    /// Validator `v`'s keys.
    pub fn validator(&self, v: ValidatorIdx) -> Option<&ValidatorPublicKeys> {
        self.validators.get(v.as_usize())
    }

    /// Every validator's keys, in validator order.
    pub fn validators(&self) -> &[ValidatorPublicKeys] {
        &self.validators
    }

    /// The group keys, in validator order.
    pub fn group_keys(&self) -> Vec<[u8; 48]> {
        self.validators
            .iter()
            .map(|v| v.group_key.to_bytes())
            .collect()
    }

    /// Peer `p`'s public share of validator `v`.
    pub fn public_share(&self, v: ValidatorIdx, p: PeerIdx) -> Option<&BlsPublicKey> {
        self.validator(v)?.public_shares.get(p.as_usize())
    }
}

/// This node's DKG result: its secret shares (one per validator) and the public keys.
#[derive(Debug)]
pub struct DkgOutput {
    keys: Vec<ValidatorKeys>,
    public: PublicKeys,
}

impl DkgOutput {
    /// Checks FROST's output against the plan (V validators, n public shares each, our share
    /// index) and re-derives each of our public shares from its secret (style.md §3.8).
    pub fn new(plan: &Plan, keys: Vec<ValidatorKeys>) -> Result<DkgOutput, Error> {
        if keys.len() != plan.num_validators() {
            return Err(Error::Internal("FROST returned a key per validator"));
        }
        let me = plan.me().as_usize();
        let mut validators = Vec::with_capacity(keys.len());
        for k in &keys {
            if k.public_shares.len() != plan.num_operators()
                || k.secret_share.index() != plan.share_idx()
                || k.public_shares.get(me) != Some(&k.secret_share.public_share())
            {
                return Err(Error::Internal("FROST output inconsistent with our share"));
            }
            let decode = |b: &[u8; 48]| {
                BlsPublicKey::from_bytes(b)
                    .map_err(|_| Error::Internal("FROST output holds an invalid public key"))
            };
            validators.push(ValidatorPublicKeys {
                group_key: decode(&k.group_key)?,
                public_shares: k
                    .public_shares
                    .iter()
                    .map(decode)
                    .collect::<Result<_, _>>()?,
            });
        }
        Ok(DkgOutput {
            keys,
            public: PublicKeys { validators },
        })
    }

    /// The public keys.
    pub fn public(&self) -> &PublicKeys {
        &self.public
    }

    /// Our keys per validator (secret share included), in validator order.
    pub fn keys(&self) -> &[ValidatorKeys] {
        &self.keys
    }
}

#[cfg(test)]
impl PublicKeys {
    /// No validators: enough for tests that stop at message-shape checks.
    pub(crate) fn empty_for_tests() -> Self {
        PublicKeys {
            validators: Vec::new(),
        }
    }
}
