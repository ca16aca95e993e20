//! Sync step 1: the FROST DKG for all validators (charon-dkg-protocol.md §1.7). Round 1 is a
//! reliable broadcast of our casts plus one direct message per peer on
//! `/charon/dkg/frost/2.0.0/round1/p2p`; round 2 is a reliable broadcast of `(Y, vk_i)`.

use dkgd_crypto::frost::{
    AwaitRound1, AwaitRound2, FrostError, Round1Casts, Round1Output, Round1P2P, Round2Casts,
};

use super::{malformed, Core, Keys};
use crate::bcast::Topic;
use crate::ceremony::types::CeremonyError;
use crate::ceremony::work::Done;
use crate::ceremony::work::Work;
use crate::index::{PeerIdx, ShareIdx};
use crate::keygen::frost_error;
use crate::step::Step;
use crate::wire::frost::{
    decode_round1_casts, decode_round1_p2p, decode_round2_casts, encode_round1_casts,
    encode_round1_p2p, encode_round2_casts,
};
use crate::wire::{Instant, ProtocolId};

/// Where the DKG is.
pub(crate) enum DkgStep {
    /// Before the step-1 barrier.
    NotStarted,
    /// The driver makes our round-1 messages ([`Work`]; V polynomials and n·V shares).
    Starting,
    /// Our round 1 is out; waiting for every peer's cast and direct message.
    Round1 {
        state: AwaitRound1,
        own: Round1Casts,
    },
    /// Every round-1 message is in; the driver runs round 1 ([`Work`]).
    Round1Running,
    /// Our round 2 is out; waiting for every peer's cast.
    Round2 {
        state: AwaitRound2,
        own: Round2Casts,
    },
    /// Every round-2 cast is in; the driver runs round 2 ([`Work`]).
    Round2Running,
}

impl DkgStep {
    /// Round 1 begins: the driver makes our messages off its event loop (at V = 1000 that is
    /// seconds of CPU, during which the node must keep answering its peers).
    pub(crate) fn start(core: &mut Core) -> DkgStep {
        let seed = core.seed();
        core.work.push_back(Work::frost_start(
            core.plan.frost_params(),
            core.plan.share_idx(),
            seed,
        ));
        DkgStep::Starting
    }

    /// Our round-1 messages are made: the broadcast and one direct message per peer.
    fn send_round1(
        core: &mut Core,
        now: Instant,
        made: Result<(AwaitRound1, Round1Output), FrostError>,
    ) -> Result<DkgStep, CeremonyError> {
        let err = |source| CeremonyError::Ceremony {
            step: Step::Dkg,
            source,
        };
        let (state, out) = made.map_err(frost)?;
        core.broadcast(now, Topic::FrostRound1Cast, encode_round1_casts(&out.cast))?;
        let protocol = ProtocolId::FrostRound1P2p;
        for (to, msg) in &out.direct {
            let peer = PeerIdx::from_share_idx(*to).ok_or(err(crate::Error::Internal(
                "direct message to a non-participant",
            )))?;
            core.send_oneway(peer, protocol, &encode_round1_p2p(msg));
        }
        Ok(DkgStep::Round1 {
            state,
            own: out.cast,
        })
    }

    /// Advances when a round is complete; returns the keys once round 2 is.
    pub(crate) fn poll(
        self,
        core: &mut Core,
        now: Instant,
    ) -> Result<(DkgStep, Option<Keys>), CeremonyError> {
        let others = core.others();
        match self {
            DkgStep::Starting => match core.finished.take() {
                Some(Done::FrostStarted(made)) => Ok((Self::send_round1(core, now, made)?, None)),
                other => {
                    core.finished = other;
                    Ok((DkgStep::Starting, None))
                }
            },
            DkgStep::Round1 { state, own } => {
                if !missing_round1(core, &others).is_empty() {
                    return Ok((DkgStep::Round1 { state, own }, None));
                }
                let mut casts: Vec<(ShareIdx, Round1Casts)> = vec![(core.plan.share_idx(), own)];
                let mut direct: Vec<(ShareIdx, Round1P2P)> = Vec::new();
                let cast_proto = core.profile.bcast_msg_protocol;
                let p2p_proto = core.profile.frost_round1_p2p_protocol;
                for p in &others {
                    let body = core
                        .inbox
                        .casts
                        .remove(&(Topic::FrostRound1Cast, *p))
                        .unwrap_or_default();
                    let c = decode_round1_casts(&body)
                        .map_err(|e| malformed(*p, Step::Dkg, cast_proto, e))?;
                    casts.push((p.share_idx(), c));
                    let body = core.inbox.frost_p2p.remove(p).unwrap_or_default();
                    let d = decode_round1_p2p(&body)
                        .map_err(|e| malformed(*p, Step::Dkg, p2p_proto, e))?;
                    direct.push((p.share_idx(), d));
                }
                casts.sort_by_key(|(s, _)| *s);
                let seed = core.seed();
                core.work
                    .push_back(Work::frost_round1(state, casts, direct, seed));
                Ok((DkgStep::Round1Running, None))
            }
            DkgStep::Round1Running => match core.finished.take() {
                Some(Done::FrostRound1(r)) => {
                    let (state, cast) = r.map_err(frost)?;
                    core.broadcast(now, Topic::FrostRound2Cast, encode_round2_casts(&cast))?;
                    Ok((DkgStep::Round2 { state, own: cast }, None))
                }
                other => {
                    core.finished = other;
                    Ok((DkgStep::Round1Running, None))
                }
            },
            DkgStep::Round2 { state, own } => {
                if !missing_round2(core, &others).is_empty() {
                    return Ok((DkgStep::Round2 { state, own }, None));
                }
                let mut casts: Vec<(ShareIdx, Round2Casts)> = vec![(core.plan.share_idx(), own)];
                let proto = core.profile.bcast_msg_protocol;
                for p in &others {
                    let body = core
                        .inbox
                        .casts
                        .remove(&(Topic::FrostRound2Cast, *p))
                        .unwrap_or_default();
                    let c = decode_round2_casts(&body)
                        .map_err(|e| malformed(*p, Step::Dkg, proto, e))?;
                    casts.push((p.share_idx(), c));
                }
                casts.sort_by_key(|(s, _)| *s);
                let seed = core.seed();
                core.work
                    .push_back(Work::frost_round2(&core.plan, state, casts, seed));
                Ok((DkgStep::Round2Running, None))
            }
            DkgStep::Round2Running => match core.finished.take() {
                Some(Done::FrostRound2(r)) => {
                    let keys = r.map_err(|source| CeremonyError::Ceremony {
                        step: Step::Dkg,
                        source,
                    })?;
                    Ok((DkgStep::NotStarted, Some(*keys)))
                }
                other => {
                    core.finished = other;
                    Ok((DkgStep::Round2Running, None))
                }
            },
            DkgStep::NotStarted => Ok((DkgStep::NotStarted, None)),
        }
    }

    /// Peers whose messages of the current round are missing, and (done, of) for progress.
    pub(crate) fn waiting(&self, core: &Core) -> (Vec<PeerIdx>, usize, usize) {
        let others = core.others();
        let n = others.len();
        match self {
            DkgStep::Round1 { .. } => {
                let got = others
                    .iter()
                    .map(|p| {
                        usize::from(core.inbox.casts.contains_key(&(Topic::FrostRound1Cast, *p)))
                            + usize::from(core.inbox.frost_p2p.contains_key(p))
                    })
                    .sum();
                (missing_round1(core, &others), got, 3 * n)
            }
            DkgStep::Round2 { .. } => {
                let missing = missing_round2(core, &others);
                (missing.clone(), 3 * n - missing.len(), 3 * n)
            }
            DkgStep::NotStarted | DkgStep::Starting => (Vec::new(), 0, 3 * n),
            // Our own work: nobody is missing.
            DkgStep::Round1Running => (Vec::new(), 2 * n, 3 * n),
            DkgStep::Round2Running => (Vec::new(), 3 * n, 3 * n),
        }
    }
}

fn frost(e: dkgd_crypto::frost::FrostError) -> CeremonyError {
    CeremonyError::Ceremony {
        step: Step::Dkg,
        source: frost_error(e),
    }
}

fn missing_round1(core: &Core, others: &[PeerIdx]) -> Vec<PeerIdx> {
    others
        .iter()
        .copied()
        .filter(|p| {
            !core.inbox.casts.contains_key(&(Topic::FrostRound1Cast, *p))
                || !core.inbox.frost_p2p.contains_key(p)
        })
        .collect()
}

fn missing_round2(core: &Core, others: &[PeerIdx]) -> Vec<PeerIdx> {
    others
        .iter()
        .copied()
        .filter(|p| !core.inbox.casts.contains_key(&(Topic::FrostRound2Cast, *p)))
        .collect()
}
