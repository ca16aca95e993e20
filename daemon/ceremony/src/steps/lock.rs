//! Sync step 4: the lock is drafted from the aggregated signatures, every share signs its
//! hash (parsigex duty 101) and all `n × V` partials are summed into `signature_aggregate`.

use super::deposits::ThresholdStep;
use super::parsig::Exchange;
use super::{Core, Keys};
use crate::assemble::{self, LockDraft};
use crate::ceremony::types::CeremonyError;
use crate::duties::Duty;
use crate::index::PeerIdx;
use crate::step::Step;

/// The lock-hash step.
pub(crate) struct LockStep {
    pub(crate) keys: Keys,
    pub(crate) draft: LockDraft,
    exchange: Option<Exchange>,
}

/// What the node-signature step needs.
pub(crate) struct Drafted {
    pub(crate) keys: Keys,
    pub(crate) draft: LockDraft,
    pub(crate) aggregate: [u8; 96],
}

fn err(source: crate::Error) -> CeremonyError {
    CeremonyError::Ceremony {
        step: Step::LockHash,
        source,
    }
}

impl LockStep {
    /// Drafts the lock from the signatures of steps 2 and 3 (local work, before the barrier).
    pub(crate) fn after(core: &Core, regs: ThresholdStep) -> Result<LockStep, CeremonyError> {
        let mut keys = regs.keys;
        let draft = assemble::draft(&core.plan, &keys.duties, keys.dkg.public(), &regs.signed)
            .map_err(err)?;
        keys.duties.set_lock_hash(draft.lock_hash());
        Ok(LockStep {
            keys,
            draft,
            exchange: None,
        })
    }

    /// After the barrier: sign and send the lock-hash partials.
    pub(crate) fn start(&mut self, core: &mut Core) -> Result<(), CeremonyError> {
        self.exchange = Some(Exchange::start(core, &self.keys, Duty::LockHash));
        Ok(())
    }

    /// `Some` once every set arrived and the aggregate verifies.
    pub(crate) fn poll(mut self, core: &mut Core) -> Result<Result<Drafted, Self>, CeremonyError> {
        let Some(ex) = self.exchange.as_mut() else {
            return Ok(Err(self));
        };
        let Some(sigs) = ex.poll(core, &self.keys, Step::LockHash)? else {
            return Ok(Err(self));
        };
        let aggregate = *sigs
            .first()
            .ok_or(err(crate::Error::Internal("one lock-hash aggregate")))?;
        Ok(Ok(Drafted {
            keys: self.keys,
            draft: self.draft,
            aggregate,
        }))
    }

    pub(crate) fn waiting(&self, core: &Core) -> (Vec<PeerIdx>, usize, usize) {
        let n = core.plan.num_operators();
        self.exchange.as_ref().map_or((Vec::new(), 0, n), |e| {
            (e.missing(core), e.received(core), n)
        })
    }
}
