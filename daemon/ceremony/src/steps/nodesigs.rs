//! Sync step 5: every node signs the lock hash with its ENR key and reliably broadcasts
//! `MsgNodeSig{signature, peer_index}` on `/charon/dkg/node_sig` (charon-dkg-protocol.md §1.10).

use prost::Message;

use super::lock::Drafted;
use super::{malformed, Core};
use crate::bcast::Topic;
use crate::ceremony::types::CeremonyError;
use crate::index::PeerIdx;
use crate::nodesigs;
use crate::step::Step;
use crate::wire::proto::MsgNodeSig;
use crate::wire::{decode, Instant, WireError};

/// Everything verified: what step 6 turns into artifacts.
pub(crate) struct Signed {
    pub(crate) drafted: Drafted,
    pub(crate) node_sigs: Vec<[u8; 65]>,
}

/// The node-signature step.
pub(crate) struct NodeSigStep {
    pub(crate) drafted: Drafted,
    own: Option<[u8; 65]>,
}

impl NodeSigStep {
    pub(crate) fn new(drafted: Drafted) -> NodeSigStep {
        NodeSigStep { drafted, own: None }
    }

    /// After the barrier: sign and broadcast.
    pub(crate) fn start(&mut self, core: &mut Core, now: Instant) -> Result<(), CeremonyError> {
        let sig = nodesigs::sign(&core.identity, &self.drafted.draft.lock_hash());
        let msg = MsgNodeSig {
            signature: sig.to_vec(),
            peer_index: u32::try_from(core.plan.me().as_usize()).unwrap_or(u32::MAX),
        };
        core.broadcast(now, Topic::NodeSig, msg.encode_to_vec())?;
        self.own = Some(sig);
        Ok(())
    }

    /// `Ok(Ok(..))` once every peer's signature arrived and verified.
    pub(crate) fn poll(self, core: &mut Core) -> Result<Result<Signed, Self>, CeremonyError> {
        let Some(own) = self.own else {
            return Ok(Err(self));
        };
        let others = core.others();
        if !self.missing(core).is_empty() {
            return Ok(Err(self));
        }
        let proto = core.profile.bcast_msg_protocol;
        let mut all = vec![(core.plan.me(), own)];
        for p in others {
            let body = core
                .inbox
                .casts
                .remove(&(Topic::NodeSig, p))
                .unwrap_or_default();
            let bad = |why| malformed(p, Step::NodeSignatures, proto, why);
            let msg: MsgNodeSig = decode("MsgNodeSig", &body).map_err(bad)?;
            if usize::try_from(msg.peer_index).ok() != Some(p.as_usize()) {
                return Err(bad(WireError::InvalidField {
                    message: "MsgNodeSig",
                    field: "peer_index",
                    why: "not the sender's index",
                }));
            }
            let sig = <[u8; 65]>::try_from(msg.signature.as_slice()).map_err(|_| {
                bad(WireError::InvalidField {
                    message: "MsgNodeSig",
                    field: "signature",
                    why: "not 65 bytes",
                })
            })?;
            all.push((p, sig));
        }
        let node_sigs = nodesigs::collect(&core.plan, &self.drafted.draft.lock_hash(), &all)
            .map_err(|source| CeremonyError::Ceremony {
                step: Step::NodeSignatures,
                source,
            })?;
        Ok(Ok(Signed {
            drafted: self.drafted,
            node_sigs,
        }))
    }

    pub(crate) fn missing(&self, core: &Core) -> Vec<PeerIdx> {
        core.others()
            .into_iter()
            .filter(|p| !core.inbox.casts.contains_key(&(Topic::NodeSig, *p)))
            .collect()
    }
}
