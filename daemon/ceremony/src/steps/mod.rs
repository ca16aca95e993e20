//! The ceremony's steps, one file per step in charon's order (charon-dkg-protocol.md §1.11).
//! Each step is an owned value that the [`crate::ceremony::Ceremony`] consumes on transition;
//! between two steps the sync step barrier runs (nobody starts step k+1 before every peer
//! reported step k+1).
//!
//! | sync step | file | sends |
//! |---|---|---|
//! | 0 → 1 | [`connect`] | sync only (`/charon/dkg/sync/1.0.0/`) |
//! | 1 | [`dkg`] | bcast `…/frost/2.0.0/round1/cast`, one-way `…/round1/p2p`, bcast `…/round2/cast` |
//! | 2 | [`deposits`] | parsigex (duty 200+k), one exchange per amount |
//! | 3 | [`registrations`] | parsigex (duty 102) |
//! | 4 | [`lock`] | parsigex (duty 101) |
//! | 5 | [`nodesigs`] | bcast `/charon/dkg/node_sig` |
//! | 6 – 8 | [`commit`] | verify, `NeedCommit`; then sync barriers and shutdown |

pub mod commit;
pub mod connect;
pub mod deposits;
pub mod dkg;
pub mod lock;
pub mod nodesigs;
pub mod parsig;
pub mod registrations;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use dkgd_crypto::k1::K1SecretKey;
use rand_core::CryptoRngCore;

use crate::bcast::{Bcast, Topic};
use crate::ceremony::types::{CeremonyConfig, CeremonyError, Event, Outgoing};
use crate::ceremony::work::{Done, Work};
use crate::index::PeerIdx;
use crate::plan::Plan;
use crate::step::Step;
use crate::wire::{Framing, Profile, ProtocolId, Transmit, TransmitKind, WireError};

/// Everything the steps share: the plan, our keys and randomness, the broadcast component,
/// what peers sent ahead of time, and the output queues.
pub(crate) struct Core {
    pub(crate) plan: Plan,
    pub(crate) identity: Arc<K1SecretKey>,
    pub(crate) profile: &'static Profile,
    pub(crate) cfg: CeremonyConfig,
    pub(crate) rng: Box<dyn CryptoRngCore + Send>,
    pub(crate) bcast: Bcast,
    pub(crate) inbox: Inbox,
    pub(crate) out: VecDeque<Outgoing>,
    pub(crate) events: VecDeque<Event>,
    /// CPU-heavy work for the driver to run off the event loop.
    pub(crate) work: VecDeque<Work>,
    /// The result of a step's work, until the step takes it.
    pub(crate) finished: Option<Done>,
}

/// Messages received before (or while) the step that consumes them runs.
#[derive(Default)]
pub(crate) struct Inbox {
    /// Reliably broadcast payloads per (topic, sender).
    pub(crate) casts: BTreeMap<(Topic, PeerIdx), Vec<u8>>,
    /// FROST round-1 direct messages per sender (raw protobuf; the first one counts).
    pub(crate) frost_p2p: BTreeMap<PeerIdx, Vec<u8>>,
    /// parsigex messages per (sender, duty slot), raw.
    pub(crate) parsig: BTreeMap<(PeerIdx, u64), Vec<u8>>,
}

impl Core {
    /// A fresh seed from the ceremony's RNG, for work that runs elsewhere.
    pub(crate) fn seed(&mut self) -> zeroize::Zeroizing<[u8; 32]> {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        self.rng.fill_bytes(&mut seed[..]);
        seed
    }

    /// Every operator but us.
    pub(crate) fn others(&self) -> Vec<PeerIdx> {
        let me = self.plan.me();
        self.plan.peers().filter(|p| *p != me).collect()
    }

    /// Queues `body` one-way to `to` on `protocol` (delimited framing).
    pub(crate) fn send_oneway(&mut self, to: PeerIdx, protocol: ProtocolId, body: &[u8]) {
        let framing = Framing::Delimited {
            max_frame_bytes: self.profile.max_delimited_frame_bytes,
        };
        self.out.push_back(Outgoing::Stream(Transmit {
            to,
            protocol,
            kind: TransmitKind::OneWay,
            frame: framing.encode(body).into(),
        }));
    }

    /// Starts a reliable broadcast of ours.
    pub(crate) fn broadcast(
        &mut self,
        now: crate::wire::Instant,
        topic: Topic,
        payload: Vec<u8>,
    ) -> Result<(), CeremonyError> {
        self.bcast
            .broadcast(now, topic, payload)
            .map_err(|source| CeremonyError::Bcast {
                step: topic.step(),
                source,
            })
    }
}

/// A peer's message that does not decode.
pub(crate) fn malformed(
    peer: PeerIdx,
    step: Step,
    protocol: &'static str,
    why: WireError,
) -> CeremonyError {
    CeremonyError::Malformed {
        peer,
        step,
        protocol,
        why,
    }
}

pub(crate) use crate::ceremony::work::Keys;
