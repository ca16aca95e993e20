//! Partial signatures: signing every duty with our shares, and aggregating what all peers
//! sent (charon-dkg-protocol.md §1.9, formats.md §3.3).
//!
//! ```text
//!  sign(duties, duty, dkg) ──▶ PartialSignatures{duty, share, one per validator} ──▶ every peer
//!  n × PartialSignatures ──aggregate_threshold──▶ one group signature per validator
//!                        ──aggregate_lock_hash──▶ signature_aggregate (plain sum of n·V)
//! ```
//!
//! Like charon, every peer's partial is required and each is verified against that peer's
//! public share before use; a bad one aborts the step naming the peer, the duty and the
//! validator. Checks run in validator order, then peer order, so every honest node reports the
//! same fault first.
//!
//! Verification is batched (issue 16): all `n × V` partials of a duty in one multi-pairing
//! with random weights ([`bls::verify_batch`]: one hash-to-curve and one Miller loop per
//! validator instead of two Miller loops per partial). The weights are derived from a hash of
//! everything verified (Fiat–Shamir), so the functions stay deterministic and a peer cannot
//! choose its partials after the weights. Only when a batch fails are partials checked one by
//! one, to name the culprit.

use dkgd_crypto::bls::{self, BlsPublicKey, BlsSignature};
use dkgd_crypto::frost::threshold::partial_sign;

use crate::duties::{Duties, Duty};
use crate::error::{Error, Misbehaviour};
use crate::index::{validators, PeerIdx, ShareIdx, ValidatorIdx};
use crate::keygen::{DkgOutput, PublicKeys};
use crate::plan::Plan;

/// One node's partial signatures for one duty: entry `v` is its share's signature of
/// validator `v`'s signing root. charon sends these as one `ParSigExMsg` per duty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialSignatures {
    /// The duty.
    pub duty: Duty,
    /// The signer's share index.
    pub share: ShareIdx,
    /// One 96-byte BLS signature per validator, in validator order.
    pub signatures: Vec<[u8; 96]>,
}

/// Signs `duty` for every validator with our secret shares.
pub fn sign(duties: &Duties, duty: Duty, dkg: &DkgOutput) -> Result<PartialSignatures, Error> {
    let keys = dkg.keys();
    let share = keys
        .first()
        .map(|k| k.secret_share.index())
        .ok_or(Error::Internal("no validators to sign for"))?;
    let signatures = validators(keys.len())
        .zip(keys)
        .map(|(v, k)| {
            let root = duties.signing_root(duty, v)?;
            partial_sign(&k.secret_share, &root)
                .map_err(|_| Error::Internal("a DKG secret share cannot sign"))
        })
        .collect::<Result<_, Error>>()?;
    Ok(PartialSignatures {
        duty,
        share,
        signatures,
    })
}

/// Aggregates a deposit or registration duty: checks that every peer sent one well-formed set
/// (`received` pairs each set with its authenticated sender, ours included), verifies every
/// partial against the sender's public share, Lagrange-combines the first `t` at x = 0 and
/// verifies the result against the group key. Returns one signature per validator.
pub fn aggregate_threshold(
    plan: &Plan,
    duties: &Duties,
    public: &PublicKeys,
    duty: Duty,
    received: &[(PeerIdx, PartialSignatures)],
) -> Result<Vec<[u8; 96]>, Error> {
    let sets = by_peer(plan, duty, received)?;
    let t = plan.threshold();
    let verified = verified_all(plan, duties, public, duty, &sets)?;
    let mut groups: Vec<BatchGroup> = Vec::with_capacity(verified.len());
    for (v, root, partials) in verified {
        let first_t: Vec<(u32, BlsSignature)> = partials
            .iter()
            .take(t)
            .map(|(p, _, sig)| (p.share_idx().get(), *sig))
            .collect();
        let combined = bls::threshold_combine_signatures(&first_t)
            .map_err(|_| Error::Internal("combining verified partial signatures"))?;
        let group_key = public
            .validator(v)
            .ok_or(Error::Internal("public keys per validator"))?
            .group_key;
        groups.push((v, root, vec![(group_key, combined)]));
    }
    batch_or(&groups, || {
        Error::Internal("verified partials combine to a signature the group key rejects")
    })?;
    Ok(groups
        .iter()
        .filter_map(|(_, _, pairs)| pairs.first().map(|(_, sig)| sig.to_bytes()))
        .collect())
}

/// One validator's signing root and the `(key, signature)` pairs that must verify over it.
type BatchGroup = (ValidatorIdx, [u8; 32], Vec<(BlsPublicKey, BlsSignature)>);
/// One validator's signing root and every peer's verified partial with its public share.
type Verified = (
    ValidatorIdx,
    [u8; 32],
    Vec<(PeerIdx, BlsPublicKey, BlsSignature)>,
);

/// Batch-verifies `groups` (weights from a hash of their contents); `fail()` if the batch fails.
fn batch_or(groups: &[BatchGroup], fail: impl FnOnce() -> Error) -> Result<(), Error> {
    use rand_chacha::rand_core::SeedableRng;
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"dkgd partial-signature batch v1");
    for (_, root, pairs) in groups {
        h.update(root);
        for (pk, sig) in pairs {
            h.update(pk.as_bytes());
            h.update(sig.as_bytes());
        }
    }
    let mut rng = rand_chacha::ChaCha20Rng::from_seed(h.finalize().into());
    let view: Vec<bls::SameMessage<'_>> = groups
        .iter()
        .map(|(_, root, pairs)| bls::SameMessage { msg: root, pairs })
        .collect();
    bls::verify_batch(&view, &mut rng).map_err(|_| fail())
}

/// Every peer's partial of every validator, decoded and verified (in one batch; one by one
/// only to name a culprit): per validator, its signing root and `(peer, share, signature)`
/// in peer order.
fn verified_all(
    plan: &Plan,
    duties: &Duties,
    public: &PublicKeys,
    duty: Duty,
    sets: &[(PeerIdx, &PartialSignatures)],
) -> Result<Vec<Verified>, Error> {
    let mut all = Vec::with_capacity(plan.num_validators());
    for v in validators(plan.num_validators()) {
        let root = duties.signing_root(duty, v)?;
        let mut partials = Vec::with_capacity(sets.len());
        for (peer, set) in sets {
            let bad = || Error::PeerMisbehaved {
                peer: *peer,
                step: duty.step(),
                what: Misbehaviour::InvalidPartialSignature { duty, validator: v },
            };
            let share = *public
                .public_share(v, *peer)
                .ok_or(Error::Internal("public share per peer"))?;
            let bytes = set.signatures.get(v.as_usize()).ok_or_else(bad)?;
            let sig = BlsSignature::from_bytes(bytes).map_err(|_| bad())?;
            partials.push((*peer, share, sig));
        }
        all.push((v, root, partials));
    }
    let groups: Vec<_> = all
        .iter()
        .map(|(v, root, ps)| (*v, *root, ps.iter().map(|(_, k, s)| (*k, *s)).collect()))
        .collect();
    if batch_or(&groups, || Error::Internal("partial-signature batch")).is_err() {
        // Name the first bad partial, in validator then peer order.
        for (v, root, _) in &all {
            verified_partials(public, duty, *v, root, sets)?;
        }
        return Err(Error::Internal(
            "a partial-signature batch failed but every partial verifies alone",
        ));
    }
    Ok(all)
}

/// Aggregates the lock-hash duty as charon builds `signature_aggregate` (formats.md §3.3):
/// verifies all `n × V` partials against their public shares, adds them all up (plain BLS
/// aggregation, no Lagrange) and checks the sum with `FastAggregateVerify` over every public
/// share of every validator.
pub fn aggregate_lock_hash(
    plan: &Plan,
    duties: &Duties,
    public: &PublicKeys,
    received: &[(PeerIdx, PartialSignatures)],
) -> Result<[u8; 96], Error> {
    let duty = Duty::LockHash;
    let sets = by_peer(plan, duty, received)?;
    let mut all_sigs = Vec::with_capacity(plan.num_validators() * sets.len());
    let mut all_keys = Vec::with_capacity(all_sigs.capacity());
    let mut lock_hash = None;
    for (_, root, partials) in verified_all(plan, duties, public, duty, &sets)? {
        lock_hash = Some(root);
        for (_, key, sig) in partials {
            all_sigs.push(sig);
            all_keys.push(key);
        }
    }
    let lock_hash = lock_hash.ok_or(Error::Internal("no validators"))?;
    let aggregate = bls::aggregate_signatures(&all_sigs)
        .map_err(|_| Error::Internal("aggregating verified partial signatures"))?;
    bls::fast_aggregate_verify(&all_keys, &lock_hash, &aggregate)
        .map_err(|_| Error::Internal("verified partials sum to an invalid aggregate"))?;
    Ok(aggregate.to_bytes())
}

/// Orders the received sets by peer and checks each: one per peer, the sender's own share
/// index, this duty, one signature per validator.
fn by_peer<'a>(
    plan: &Plan,
    duty: Duty,
    received: &'a [(PeerIdx, PartialSignatures)],
) -> Result<Vec<(PeerIdx, &'a PartialSignatures)>, Error> {
    let fault = |peer, what| Error::PeerMisbehaved {
        peer,
        step: duty.step(),
        what,
    };
    let mut slots: Vec<Option<&PartialSignatures>> = vec![None; plan.num_operators()];
    for (peer, set) in received {
        let slot = slots
            .get_mut(peer.as_usize())
            .ok_or(Error::Internal("partial signatures from a non-operator"))?;
        if slot.is_some() {
            return Err(fault(*peer, Misbehaviour::DuplicatePartials { duty }));
        }
        if set.duty != duty {
            let what = Misbehaviour::WrongDuty {
                expected: duty,
                found: set.duty,
            };
            return Err(fault(*peer, what));
        }
        if set.share != peer.share_idx() {
            let what = Misbehaviour::WrongShareIndex {
                duty,
                claimed: set.share,
            };
            return Err(fault(*peer, what));
        }
        if set.signatures.len() != plan.num_validators() {
            let what = Misbehaviour::PartialCount {
                duty,
                expected: plan.num_validators(),
                found: set.signatures.len(),
            };
            return Err(fault(*peer, what));
        }
        *slot = Some(set);
    }
    plan.peers()
        .zip(slots)
        .map(|(peer, slot)| {
            slot.map(|s| (peer, s))
                .ok_or_else(|| fault(peer, Misbehaviour::MissingPartials { duty }))
        })
        .collect()
}

/// Every peer's partial for validator `v`, decoded and verified against its public share.
fn verified_partials(
    public: &PublicKeys,
    duty: Duty,
    v: ValidatorIdx,
    root: &[u8; 32],
    sets: &[(PeerIdx, &PartialSignatures)],
) -> Result<Vec<(PeerIdx, BlsSignature)>, Error> {
    sets.iter()
        .map(|(peer, set)| {
            let bad = || Error::PeerMisbehaved {
                peer: *peer,
                step: duty.step(),
                what: Misbehaviour::InvalidPartialSignature { duty, validator: v },
            };
            let share: &BlsPublicKey = public
                .public_share(v, *peer)
                .ok_or(Error::Internal("public share per peer"))?;
            let bytes = set.signatures.get(v.as_usize()).ok_or_else(bad)?;
            let sig = BlsSignature::from_bytes(bytes).map_err(|_| bad())?;
            share.verify(root, &sig).map_err(|_| bad())?;
            Ok((*peer, sig))
        })
        .collect()
}
