//! One partial-signature exchange (charon `dkg/exchanger.go`): sign the duty with every share,
//! send the set one-way to every peer on `/charon/parsigex/2.0.0`, collect all `n` sets.

use super::{malformed, Core, Keys};
use crate::ceremony::{CeremonyError, Phase};
use crate::duties::Duty;
use crate::index::PeerIdx;
use crate::partials::{self, PartialSignatures};
use crate::wire::parsig::{decode_partials, encode_partials};

/// An exchange in flight.
pub(crate) struct Exchange {
    pub(crate) duty: Duty,
    /// Every set received, with its authenticated sender; ours first.
    pub(crate) received: Vec<(PeerIdx, PartialSignatures)>,
}

impl Exchange {
    /// Signs `duty` and sends our set to every peer.
    pub(crate) fn start(
        core: &mut Core,
        keys: &Keys,
        duty: Duty,
        step: Phase,
    ) -> Result<Exchange, CeremonyError> {
        let err = |source| CeremonyError::Ceremony { step, source };
        let set = partials::sign(&keys.duties, duty, &keys.dkg).map_err(err)?;
        let body = encode_partials(&set, &keys.group_keys)
            .map_err(|_| err(crate::Error::Internal("encoding our partial signatures")))?;
        let protocol = core.profile.parsigex_protocol;
        for peer in core.others() {
            core.send_oneway(peer, protocol, &body);
        }
        Ok(Exchange {
            duty,
            received: vec![(core.plan.me(), set)],
        })
    }

    /// Takes this duty's sets out of the inbox; `true` once all `n` are in.
    pub(crate) fn poll(
        &mut self,
        core: &mut Core,
        keys: &Keys,
        step: Phase,
    ) -> Result<bool, CeremonyError> {
        let slot = self.duty.sig_type();
        let protocol = core.profile.parsigex_protocol;
        for peer in self.missing(core) {
            if let Some(body) = core.inbox.parsig.remove(&(peer, slot)) {
                let set = decode_partials(&body, self.duty, &keys.group_keys)
                    .map_err(|e| malformed(peer, step, protocol, e))?;
                self.received.push((peer, set));
            }
        }
        Ok(self.received.len() == core.plan.num_operators())
    }

    /// Peers whose set has not arrived.
    pub(crate) fn missing(&self, core: &Core) -> Vec<PeerIdx> {
        core.others()
            .into_iter()
            .filter(|p| !self.received.iter().any(|(q, _)| q == p))
            .collect()
    }
}
