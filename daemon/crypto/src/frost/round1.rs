//! FROST round 1 (charon-dkg-protocol.md §1.7 "Round 1"): per validator a random polynomial,
//! its Feldman commitments, a proof of knowledge of the constant term, and one Shamir share
//! per participant. All V validators travel in one broadcast and one direct message per peer.

use blstrs::G1Projective;
use group::Group;
use rand_core::CryptoRngCore;

use super::codec::{encode_point, encode_scalar};
use super::msgs::{
    MsgKey, Round1Cast, Round1Casts, Round1Output, Round1P2P, Round1ShamirShare, ShareBytes,
};
use super::poly::Polynomial;
use super::proof;
use super::share::SecretScalar;
use super::{FrostError, FrostParams, ShareIdx};

/// State after round 1: waiting for every participant's round-1 broadcast and every peer's
/// direct message. Consumed by [`AwaitRound1::handle_round1`].
pub struct AwaitRound1 {
    pub(crate) params: FrostParams,
    pub(crate) me: ShareIdx,
    /// `f_me(me)` per validator.
    pub(crate) own_shares: Vec<SecretScalar>,
    /// Our commitments per validator.
    pub(crate) own_commitments: Vec<Vec<G1Projective>>,
    /// Our broadcast as sent, to recognise its echo.
    pub(crate) own_cast: Round1Casts,
}

impl std::fmt::Debug for AwaitRound1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwaitRound1")
            .field("params", &self.params)
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

/// Starts a ceremony as participant `me`: runs round 1 for all validators.
///
/// Returns the state awaiting round-1 messages, and the messages to send: the broadcast goes
/// to everyone, `direct[k]` only to its share index. Secret polynomials are wiped before this
/// returns; only our own share `f_me(me)` is kept.
pub fn round1<R: CryptoRngCore + ?Sized>(
    params: FrostParams,
    me: ShareIdx,
    rng: &mut R,
) -> Result<(AwaitRound1, Round1Output), FrostError> {
    if !params.contains(me) {
        return Err(FrostError::NotAParticipant {
            idx: me.get(),
            participants: params.participants(),
        });
    }
    let v_count = params.v_usize();
    let peers: Vec<ShareIdx> = params.indices().filter(|j| *j != me).collect();
    let mut casts = Vec::with_capacity(v_count);
    let mut direct: Vec<(ShareIdx, Round1P2P)> = peers
        .iter()
        .map(|j| {
            let p2p = Round1P2P {
                shares: Vec::with_capacity(v_count),
            };
            (*j, p2p)
        })
        .collect();
    let mut own_shares = Vec::with_capacity(v_count);
    let mut own_commitments = Vec::with_capacity(v_count);

    for val_idx in 0..params.validators() {
        let poly = Polynomial::random(params.t_usize(), rng);
        let commitments = poly.commitments();
        let a0 = commitments
            .first()
            .copied()
            .unwrap_or_else(G1Projective::identity);
        let pok = proof::prove(me, poly.constant(), &a0, rng);
        casts.push(Round1Cast {
            key: MsgKey {
                val_idx,
                source_id: me.get(),
                target_id: 0,
            },
            wi: encode_scalar(&pok.w),
            ci: encode_scalar(&pok.c),
            commitments: commitments.iter().map(encode_point).collect(),
        });
        for (j, p2p) in direct.iter_mut() {
            let share = poly.eval(*j);
            p2p.shares.push(Round1ShamirShare {
                key: MsgKey {
                    val_idx,
                    source_id: me.get(),
                    target_id: j.get(),
                },
                id: j.get(),
                value: ShareBytes::new(encode_scalar(&share.get()).to_vec()),
            });
        }
        own_shares.push(poly.eval(me));
        own_commitments.push(commitments);
    }

    let cast = Round1Casts { casts };
    let state = AwaitRound1 {
        params,
        me,
        own_shares,
        own_commitments,
        own_cast: cast.clone(),
    };
    Ok((state, Round1Output { cast, direct }))
}
