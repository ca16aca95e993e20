//! After round 2: check every participant's group key and verification key share, then hand
//! out the result (charon-dkg-protocol.md §1.7 "Output").
//!
//! Beyond charon, which takes each peer's reported `vk_j` on trust: every `Y_j` must equal our
//! `Y` (→ `GroupKeyMismatch`) and every `vk_j` must equal `Σ_m C_m·j^m`, the value the round-1
//! commitments imply (→ `BadVerificationKey`), checked in one batch per validator.

use blstrs::G1Projective;
use rand_core::CryptoRngCore;

use super::batch;
use super::codec::{decode_point, encode_point};
use super::collect;
use super::msgs::Round2Casts;
use super::share::{SecretScalar, SecretShare};
use super::{FrostError, FrostParams, Round, ShareIdx};

/// State after round 2: waiting for every participant's round-2 broadcast. Consumed by
/// [`AwaitRound2::handle_round2`].
pub struct AwaitRound2 {
    pub(crate) params: FrostParams,
    pub(crate) me: ShareIdx,
    pub(crate) secrets: Vec<SecretScalar>,
    pub(crate) group_commitments: Vec<Vec<G1Projective>>,
    pub(crate) own_cast: Round2Casts,
}

impl std::fmt::Debug for AwaitRound2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwaitRound2")
            .field("params", &self.params)
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

/// The outcome of the DKG for one validator, as seen by one participant.
#[derive(Debug)]
pub struct ValidatorKeys {
    /// The validator's public key `Y` (48-byte compressed G1).
    pub group_key: [u8; 48],
    /// Public key shares in share-index order: entry `k` belongs to share index `k + 1`.
    /// These interpolate to `group_key` (any `t` of them).
    pub public_shares: Vec<[u8; 48]>,
    /// Our secret key share.
    pub secret_share: SecretShare,
}

impl ValidatorKeys {
    /// The public key share of `idx`, if `idx` is a participant.
    pub fn public_share(&self, idx: ShareIdx) -> Option<&[u8; 48]> {
        self.public_shares.get(idx.get() as usize - 1)
    }
}

impl AwaitRound2 {
    /// Consumes all `n` round-2 broadcasts (ours included), each paired with the share index of
    /// its authenticated sender. `rng` draws the batch weights.
    ///
    /// Returns one [`ValidatorKeys`] per validator, in validator order.
    pub fn handle_round2<R: CryptoRngCore + ?Sized>(
        self,
        casts: &[(ShareIdx, Round2Casts)],
        rng: &mut R,
    ) -> Result<Vec<ValidatorKeys>, FrostError> {
        let params = self.params;
        let slots = collect::by_sender(&params, self.me, Round::Round2Cast, casts, true)?;
        if collect::slot(&slots, self.me) != Some(&self.own_cast) {
            return Err(FrostError::OwnMessage {
                round: Round::Round2Cast,
            });
        }
        let mut per_sender = Vec::with_capacity(params.n_usize());
        for idx in params.indices() {
            let msg = collect::slot(&slots, idx).ok_or(FrostError::Missing {
                round: Round::Round2Cast,
                from: idx,
            })?;
            let entries =
                collect::by_validator(&params, Round::Round2Cast, idx, 0, &msg.casts, |c| c.key)?;
            per_sender.push((idx, entries));
        }

        let mut out = Vec::with_capacity(params.v_usize());
        for (v, (secret, comms)) in self
            .secrets
            .into_iter()
            .zip(self.group_commitments)
            .enumerate()
        {
            let validator = u32::try_from(v).unwrap_or(u32::MAX);
            let y = encode_point(
                &comms
                    .first()
                    .copied()
                    .unwrap_or_else(group::Group::identity),
            );
            let mut vks = Vec::with_capacity(per_sender.len());
            for (from, entries) in &per_sender {
                let Some(entry) = entries.get(v) else {
                    return Err(FrostError::WrongCount {
                        round: Round::Round2Cast,
                        from: *from,
                        expected: params.v_usize(),
                        got: entries.len(),
                    });
                };
                if entry.verification_key.as_slice() != y.as_slice() {
                    return Err(FrostError::GroupKeyMismatch {
                        from: *from,
                        validator,
                    });
                }
                let vk = decode_point(&entry.vk_share).ok_or(FrostError::BadVerificationKey {
                    from: *from,
                    validator,
                    what: "not a non-identity G1 point",
                })?;
                vks.push((*from, vk));
            }
            batch::verify_vk_shares(&comms, &vks, rng).map_err(|from| {
                FrostError::BadVerificationKey {
                    from,
                    validator,
                    what: "does not match the round-1 commitments",
                }
            })?;
            out.push(ValidatorKeys {
                group_key: y,
                public_shares: vks.iter().map(|(_, vk)| encode_point(vk)).collect(),
                secret_share: SecretShare::from_scalar(self.me, secret),
            });
        }
        Ok(out)
    }
}
