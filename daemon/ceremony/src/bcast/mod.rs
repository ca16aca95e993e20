//! charon's "reliable broadcast" (a signed echo broadcast needing all `n` signatures) as a
//! sans-IO state machine, in both wire versions (charon-dkg-protocol.md §1.6; charon
//! `dkg/bcast/{client,server,impl}.go`).
//!
//! ```text
//!  sender                                          every other peer (receiver)
//!  broadcast(topic, payload)
//!    Any{type_url, payload}, h = hash(…)          
//!    sign h ourselves
//!    ── BCastSigRequest{id, Any} ──(…/sig, request)──▶  check type, recompute h,
//!                                                        sign once per (sender, id)
//!    ◀── BCastSigResponse{id, sig} ─────────────────── (a second, different h: Equivocation)
//!    verify each; when all n:
//!    ── BCastMessage{id, Any, n sigs} ──(…/msg)──────▶  verify all n, deliver once
//! ```
//!
//! The hash is the profile's [`BcastHash`]: bcast 1.0.0 hashes type URL and value only;
//! 2.0.0 binds the session (definition) hash and the message ID. Signatures are 65-byte
//! secp256k1 `r ‖ s ‖ v` over the raw hash, in operator order, the sender's included.
//!
//! Unlike charon, every fault is attributed: an invalid signature names who sent it and whose
//! it claims to be, an equivocation names the sender, a missing answer names the peer. Faults
//! are events ([`BcastEvent::Fault`]); the machine stays usable and the ceremony decides.
//! After each input, drain [`Bcast::poll_transmit`] and [`Bcast::poll_event`] and re-arm the
//! timer from [`Bcast::poll_timeout`]. Frames are [`crate::wire::Framing::DELIMITED`].

mod error;
mod receiver;
mod sender;
mod topic;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use dkgd_crypto::k1::{self, K1PublicKey, K1SecretKey};

use crate::index::PeerIdx;
use crate::plan::Plan;
use crate::wire::proto::Any;
use crate::wire::{BcastHash, Framing, Instant, Profile, ProtocolId, Transmit, TransmitKind};

pub use error::BcastError;
pub use topic::Topic;

/// charon's signature-request round-trip deadline (`p2p/sender.go` default send timeout).
pub const SIG_REQUEST_TIMEOUT: Duration = Duration::from_secs(7);

/// What a [`Bcast`] needs to know.
#[derive(Debug, Clone)]
pub struct BcastConfig {
    /// The compatibility profile (protocol IDs, message IDs, hash rule).
    pub profile: &'static Profile,
    /// The session hash bound into bcast 2.0.0 hashes: the definition hash in a DKG.
    pub session_hash: Vec<u8>,
    /// Every operator's identity (ENR) key, in definition order, ours included.
    pub peers: Vec<K1PublicKey>,
    /// Our position among them.
    pub me: PeerIdx,
    /// Our identity key (shared, never copied).
    pub identity: Arc<K1SecretKey>,
    /// How long our signature requests may stay unanswered.
    pub sig_request_timeout: Duration,
}

impl BcastConfig {
    /// The configuration for `plan`'s DKG: the session hash is the definition hash.
    pub fn new(plan: &Plan, profile: &'static Profile, identity: Arc<K1SecretKey>) -> Self {
        BcastConfig {
            profile,
            session_hash: plan.definition_hash().to_vec(),
            peers: plan
                .peers()
                .filter_map(|p| plan.operator_enr(p).map(|e| e.public_key()))
                .collect(),
            me: plan.me(),
            identity,
            sig_request_timeout: SIG_REQUEST_TIMEOUT,
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BcastEvent {
    /// `from` reliably broadcast `payload` (the `Any.value`, checked to decode as the
    /// topic's message). Fires once per sender and topic.
    Delivered {
        /// The sender.
        from: PeerIdx,
        /// What it is.
        topic: Topic,
        /// The encoded message.
        payload: Vec<u8>,
    },
    /// `peer` signed our `topic` (`collected` of `of` signatures, ours included).
    Signed {
        /// The message.
        topic: Topic,
        /// The signer.
        peer: PeerIdx,
        /// Signatures so far.
        collected: usize,
        /// Signatures needed (`n`).
        of: usize,
    },
    /// Every peer signed our `topic`; the final messages are in the transmit queue.
    Completed {
        /// The message.
        topic: Topic,
    },
    /// A fault; the ceremony should abort naming [`BcastError::peer`].
    Fault(BcastError),
}

/// One of our broadcasts.
#[derive(Debug)]
struct Outgoing {
    topic: Topic,
    any: Any,
    hash: [u8; 32],
    /// Per operator, in order.
    sigs: Vec<Option<[u8; 65]>>,
    deadline: Instant,
    done: bool,
}

/// The broadcast component of one node (see the module docs).
#[derive(Debug)]
pub struct Bcast {
    cfg: BcastConfig,
    outgoing: Vec<Outgoing>,
    /// The hash we signed per (sender, topic): we never sign another.
    signed: BTreeMap<(PeerIdx, Topic), [u8; 32]>,
    /// The hash delivered per (sender, topic).
    delivered: BTreeMap<(PeerIdx, Topic), [u8; 32]>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<BcastEvent>,
}

impl Bcast {
    /// A broadcast component with nothing sent or received.
    pub fn new(cfg: BcastConfig) -> Self {
        Bcast {
            cfg,
            outgoing: Vec::new(),
            signed: BTreeMap::new(),
            delivered: BTreeMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The compatibility profile it speaks.
    pub fn profile(&self) -> &'static Profile {
        self.cfg.profile
    }

    /// Speaks `profile` from now on. Only before anything was broadcast (the version is
    /// negotiated before step 1); afterwards it is a no-op returning `false`.
    pub fn switch_profile(&mut self, profile: &'static Profile) -> bool {
        if self.is_pristine() {
            self.cfg.profile = profile;
            true
        } else {
            false
        }
    }

    /// Nothing sent, signed or delivered yet.
    fn is_pristine(&self) -> bool {
        self.outgoing.is_empty()
            && self.signed.is_empty()
            && self.delivered.is_empty()
            && self.transmits.is_empty()
    }

    /// The protocol of signature requests (`/charon/dkg/bcast/{1,2}.0.0/sig`).
    pub fn sig_protocol(&self) -> ProtocolId {
        ProtocolId::BcastSig
    }

    /// The protocol of final messages (`/charon/dkg/bcast/{1,2}.0.0/msg`).
    pub fn msg_protocol(&self) -> ProtocolId {
        ProtocolId::BcastMsg
    }

    /// The next bytes to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<BcastEvent> {
        self.events.pop_front()
    }

    /// When [`Bcast::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.outgoing
            .iter()
            .filter(|o| !o.done)
            .map(|o| o.deadline)
            .min()
    }

    /// The hash peers sign for `topic` carrying `any`.
    fn hash(&self, topic: Topic, any: &Any) -> [u8; 32] {
        let id = topic.message_id(self.cfg.profile);
        let rule: BcastHash = self.cfg.profile.bcast_hash;
        rule.digest(&self.cfg.session_hash, id, any)
    }

    /// Whether `sig` over `hash` recovers to operator `signer`'s key.
    fn verify(&self, signer: PeerIdx, hash: &[u8; 32], sig: &[u8]) -> bool {
        let Some(key) = self.cfg.peers.get(signer.as_usize()) else {
            return false;
        };
        sig.len() == k1::SIGNATURE_LEN && k1::recover_digest(hash, sig).is_ok_and(|k| k == *key)
    }

    /// `body` framed for this profile's delimited streams.
    fn frame(&self, body: &[u8]) -> std::sync::Arc<[u8]> {
        let framing = Framing::Delimited {
            max_frame_bytes: self.cfg.profile.max_delimited_frame_bytes,
        };
        framing.encode(body).into()
    }

    /// Queues `body` to `to` on `protocol`.
    fn send(&mut self, to: PeerIdx, protocol: ProtocolId, kind: TransmitKind, body: &[u8]) {
        let frame = self.frame(body);
        self.transmits.push_back(Transmit {
            to,
            protocol,
            kind,
            frame,
        });
    }

    /// Queues `body` to every other operator on `protocol`: one framed buffer, shared.
    fn send_to_others(&mut self, protocol: ProtocolId, kind: TransmitKind, body: &[u8]) {
        let frame = self.frame(body);
        for to in self.other_peers() {
            self.transmits.push_back(Transmit {
                to,
                protocol,
                kind,
                frame: std::sync::Arc::clone(&frame),
            });
        }
    }

    /// Another operator, or a fault for the driver's bug.
    fn check_peer(&mut self, peer: PeerIdx) -> bool {
        let ok = peer != self.cfg.me && peer.as_usize() < self.cfg.peers.len();
        if !ok {
            self.fault(BcastError::UnknownPeer { peer });
        }
        ok
    }

    fn fault(&mut self, e: BcastError) {
        self.events.push_back(BcastEvent::Fault(e));
    }

    fn other_peers(&self) -> impl Iterator<Item = PeerIdx> + 'static {
        let me = self.cfg.me;
        (0..self.cfg.peers.len())
            .filter_map(PeerIdx::from_usize)
            .filter(move |p| *p != me)
    }
}
