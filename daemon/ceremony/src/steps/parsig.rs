//! One partial-signature exchange (charon `dkg/exchanger.go`): sign the duty with every share
//! (driver work, off the event loop), send the set one-way to every peer on
//! `/charon/parsigex/2.0.0`, collect all `n` sets, then aggregate them (driver work again).

use super::{malformed, Core, Keys};
use crate::ceremony::types::CeremonyError;
use crate::ceremony::work::Done;
use crate::ceremony::work::Work;
use crate::duties::Duty;
use crate::index::PeerIdx;
use crate::partials::PartialSignatures;
use crate::step::Step;
use crate::wire::parsig::{decode_partials, encode_partials};
use crate::wire::ProtocolId;

/// An exchange in flight.
pub(crate) struct Exchange {
    pub(crate) duty: Duty,
    /// Every set received, with its authenticated sender; ours first.
    pub(crate) received: Vec<(PeerIdx, PartialSignatures)>,
    stage: Stage,
}

/// Where an exchange is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The driver signs our set.
    Signing,
    /// Ours is out; collecting the peers'.
    Collecting,
    /// All `n` are in; the driver aggregates them.
    Aggregating,
}

impl Exchange {
    /// Asks the driver to sign `duty`; the set goes out when [`Exchange::poll`] sees it.
    pub(crate) fn start(core: &mut Core, keys: &Keys, duty: Duty) -> Exchange {
        core.work
            .push_back(Work::sign(&keys.duties, duty, &keys.dkg));
        Exchange {
            duty,
            received: Vec::new(),
            stage: Stage::Signing,
        }
    }

    /// Sends our set once signed, then takes this duty's sets out of the inbox; once all `n`
    /// are in, asks the driver to aggregate them. `Some` with the aggregate (one signature per
    /// validator, or the one lock-hash aggregate) when that is done.
    pub(crate) fn poll(
        &mut self,
        core: &mut Core,
        keys: &Keys,
        step: Step,
    ) -> Result<Option<Vec<[u8; 96]>>, CeremonyError> {
        let err = |source| CeremonyError::Ceremony { step, source };
        if self.stage == Stage::Signing {
            let set = match core.finished.take() {
                Some(Done::Signed(r)) => r.map_err(err)?,
                other => {
                    core.finished = other;
                    return Ok(None);
                }
            };
            let body = encode_partials(&set, &keys.group_keys)
                .map_err(|_| err(crate::Error::Internal("encoding our partial signatures")))?;
            let protocol = ProtocolId::Parsigex;
            for peer in core.others() {
                core.send_oneway(peer, protocol, &body);
            }
            self.received.push((core.plan.me(), set));
            self.stage = Stage::Collecting;
        }
        if self.stage == Stage::Aggregating {
            return match core.finished.take() {
                Some(Done::Aggregated(r)) => r.map(Some).map_err(err),
                other => {
                    core.finished = other;
                    Ok(None)
                }
            };
        }
        if self.collect(core, keys, step)? {
            let received = std::mem::take(&mut self.received);
            core.work.push_back(Work::aggregate(
                &core.plan,
                &keys.duties,
                &keys.dkg,
                self.duty,
                received,
            ));
            self.stage = Stage::Aggregating;
        }
        Ok(None)
    }

    /// Sets received so far (ours included), for progress.
    pub(crate) fn received(&self, core: &Core) -> usize {
        match self.stage {
            Stage::Aggregating => core.plan.num_operators(),
            _ => self.received.len(),
        }
    }

    /// Takes this duty's sets out of the inbox; `true` once all `n` are in.
    fn collect(&mut self, core: &mut Core, keys: &Keys, step: Step) -> Result<bool, CeremonyError> {
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
        if self.stage == Stage::Aggregating {
            return Vec::new();
        }
        core.others()
            .into_iter()
            .filter(|p| !self.received.iter().any(|(q, _)| q == p))
            .collect()
    }
}
