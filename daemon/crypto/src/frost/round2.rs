//! FROST round 2 (charon-dkg-protocol.md §1.7 "Round 2"): verify every peer's round-1 data
//! and derive our key share, the group key and our verification key share.
//!
//! Checks per validator and sender, in this order (first failure aborts and is attributed):
//! 1. entry keys and counts ([`super::collect`]);
//! 2. `c` canonical and non-zero, `w` canonical (→ `BadProof`);
//! 3. exactly t commitments, each a valid non-identity G1 point (→ `BadCommitment`);
//! 4. the proof of knowledge (→ `BadProof`);
//! 5. the share canonical (→ `BadShare`);
//! 6. then, for all senders at once, the batched Feldman check (→ `BadShare`, blamed per
//!    sender only when the batch fails).

use blstrs::G1Projective;
use ff::Field;
use group::Group;
use rand_core::CryptoRngCore;

use super::batch::{self, ShareClaim};
use super::codec::{decode_point, decode_scalar, encode_point};
use super::collect;
use super::finish::AwaitRound2;
use super::msgs::{MsgKey, Round1Cast, Round1Casts, Round1P2P, Round1ShamirShare};
use super::msgs::{Round2Cast, Round2Casts};
use super::proof::{self, Proof};
use super::round1::AwaitRound1;
use super::share::SecretScalar;
use super::{FrostError, Round, ShareIdx};

/// One peer's round-1 entries, ordered by validator.
struct PeerRound1<'a> {
    idx: ShareIdx,
    casts: Vec<&'a Round1Cast>,
    shares: Vec<&'a Round1ShamirShare>,
}

impl AwaitRound1 {
    /// Consumes all `n` round-1 broadcasts (ours included, as echoed by the broadcast layer)
    /// and the `n − 1` direct messages addressed to us, each paired with the share index of
    /// its authenticated sender. `rng` draws the batch weights.
    ///
    /// Returns the state awaiting round-2 broadcasts and our round-2 broadcast.
    pub fn handle_round1<R: CryptoRngCore + ?Sized>(
        self,
        casts: &[(ShareIdx, Round1Casts)],
        direct: &[(ShareIdx, Round1P2P)],
        rng: &mut R,
    ) -> Result<(AwaitRound2, Round2Casts), FrostError> {
        let params = self.params;
        let me = self.me;
        let cast_slots = collect::by_sender(&params, me, Round::Round1Cast, casts, true)?;
        if collect::slot(&cast_slots, me) != Some(&self.own_cast) {
            return Err(FrostError::OwnMessage {
                round: Round::Round1Cast,
            });
        }
        let direct_slots = collect::by_sender(&params, me, Round::Round1P2P, direct, false)?;

        let mut peers = Vec::with_capacity(params.n_usize().saturating_sub(1));
        for idx in params.indices().filter(|j| *j != me) {
            let (Some(cast), Some(p2p)) = (
                collect::slot(&cast_slots, idx),
                collect::slot(&direct_slots, idx),
            ) else {
                // by_sender guarantees both; keep the error path instead of a panic.
                return Err(FrostError::Missing {
                    round: Round::Round1P2P,
                    from: idx,
                });
            };
            peers.push(shape_check(&self, idx, cast, p2p)?);
        }

        let mut secrets = Vec::with_capacity(params.v_usize());
        let mut group_commitments = Vec::with_capacity(params.v_usize());
        let mut out = Vec::with_capacity(params.v_usize());
        for (v, (own_share, own_comms)) in self
            .own_shares
            .iter()
            .zip(&self.own_commitments)
            .enumerate()
        {
            let val_idx = u32::try_from(v).unwrap_or(u32::MAX);
            let (sk, comms) = validator_round2(&self, val_idx, own_share, own_comms, &peers, rng)?;
            let y = comms
                .first()
                .copied()
                .unwrap_or_else(G1Projective::identity);
            let vk = G1Projective::generator() * sk.get();
            out.push(Round2Cast {
                key: MsgKey {
                    val_idx,
                    source_id: me.get(),
                    target_id: 0,
                },
                verification_key: encode_point(&y).to_vec(),
                vk_share: encode_point(&vk).to_vec(),
            });
            secrets.push(sk);
            group_commitments.push(comms);
        }
        let cast = Round2Casts { casts: out };
        let next = AwaitRound2 {
            params,
            me,
            secrets,
            group_commitments,
            own_cast: cast.clone(),
        };
        Ok((next, cast))
    }
}

/// Entry counts and keys of one peer's broadcast and direct message.
fn shape_check<'a>(
    st: &AwaitRound1,
    idx: ShareIdx,
    cast: &'a Round1Casts,
    p2p: &'a Round1P2P,
) -> Result<PeerRound1<'a>, FrostError> {
    let p = &st.params;
    let casts = collect::by_validator(p, Round::Round1Cast, idx, 0, &cast.casts, |c| c.key)?;
    let shares = collect::by_validator(p, Round::Round1P2P, idx, st.me.get(), &p2p.shares, |s| {
        s.key
    })?;
    if let Some(s) = shares.iter().find(|s| s.id != st.me.get()) {
        return Err(FrostError::BadKey {
            round: Round::Round1P2P,
            from: idx,
            validator: s.key.val_idx,
            what: "share id is not the recipient",
        });
    }
    Ok(PeerRound1 { idx, casts, shares })
}

/// Verifies all peers' data for one validator; returns `sk_me` and the group commitments
/// `C_m = Σ_j A_jm` (so `C_0` is the group key).
fn validator_round2<R: CryptoRngCore + ?Sized>(
    st: &AwaitRound1,
    val_idx: u32,
    own_share: &SecretScalar,
    own_comms: &[G1Projective],
    peers: &[PeerRound1<'_>],
    rng: &mut R,
) -> Result<(SecretScalar, Vec<G1Projective>), FrostError> {
    let v = val_idx as usize;
    let mut decoded: Vec<(ShareIdx, Vec<G1Projective>, SecretScalar)> =
        Vec::with_capacity(peers.len());
    for peer in peers {
        let (Some(cast), Some(share)) = (peer.casts.get(v), peer.shares.get(v)) else {
            return Err(FrostError::WrongCount {
                round: Round::Round1Cast,
                from: peer.idx,
                expected: st.params.v_usize(),
                got: peer.casts.len().min(peer.shares.len()),
            });
        };
        let (comms, share) = check_sender(st, peer.idx, val_idx, cast, share)?;
        decoded.push((peer.idx, comms, share));
    }
    let claims: Vec<ShareClaim<'_>> = decoded
        .iter()
        .map(|(from, comms, share)| ShareClaim {
            from: *from,
            commitments: comms,
            share,
        })
        .collect();
    batch::verify_shares(st.me, &claims, rng).map_err(|from| FrostError::BadShare {
        from,
        validator: val_idx,
        what: "share does not match the sender's commitments",
    })?;

    let mut sk = own_share.get();
    let mut group = own_comms.to_vec();
    for (_, comms, share) in &decoded {
        sk += share.get();
        for (c, a) in group.iter_mut().zip(comms) {
            *c += a;
        }
    }
    Ok((SecretScalar::new(sk), group))
}

/// Steps 2–5 for one sender and validator: decodes and checks everything but the Feldman
/// relation; returns the commitments and the share.
fn check_sender(
    st: &AwaitRound1,
    from: ShareIdx,
    validator: u32,
    cast: &Round1Cast,
    share: &Round1ShamirShare,
) -> Result<(Vec<G1Projective>, SecretScalar), FrostError> {
    let bad_proof = |what| FrostError::BadProof {
        from,
        validator,
        what,
    };
    let c = decode_scalar(&cast.ci).ok_or(bad_proof("challenge is not a canonical scalar"))?;
    if bool::from(c.is_zero()) {
        return Err(bad_proof("challenge is zero"));
    }
    let w = decode_scalar(&cast.wi).ok_or(bad_proof("response is not a canonical scalar"))?;

    let bad_comm = |what| FrostError::BadCommitment {
        from,
        validator,
        what,
    };
    if cast.commitments.len() != st.params.t_usize() {
        return Err(bad_comm("number of commitments is not the threshold"));
    }
    let comms = cast
        .commitments
        .iter()
        .map(|b| decode_point(b))
        .collect::<Option<Vec<_>>>()
        .ok_or(bad_comm("commitment is not a non-identity G1 point"))?;
    let a0 = comms
        .first()
        .copied()
        .unwrap_or_else(G1Projective::identity);
    if !proof::verify(from, &a0, &Proof { w, c }) {
        return Err(bad_proof("challenge does not match (R' = w·G − c·A0)"));
    }

    let value = decode_scalar(share.value.expose_secret())
        .map(SecretScalar::new)
        .ok_or(FrostError::BadShare {
            from,
            validator,
            what: "share is not a canonical scalar",
        })?;
    Ok((comms, value))
}
