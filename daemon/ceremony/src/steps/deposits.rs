//! Sync step 2: deposit data, one parsigex exchange (duty 200 + k) per distinct amount, each
//! aggregated with `t` verified partials (charon-dkg-protocol.md §1.9). The same machinery
//! runs step 3 ([`super::registrations`]).

use std::collections::VecDeque;

use super::parsig::Exchange;
use super::{Core, Keys};
use crate::ceremony::types::CeremonyError;
use crate::duties::Duty;
use crate::index::PeerIdx;
use crate::step::Step;

/// A step of threshold-aggregated duties, run one after another without barriers.
pub(crate) struct ThresholdStep {
    pub(crate) step: Step,
    pub(crate) keys: Keys,
    /// Aggregated so far (also those of earlier steps).
    pub(crate) signed: Vec<(Duty, Vec<[u8; 96]>)>,
    queue: VecDeque<Duty>,
    total: usize,
    current: Option<Exchange>,
}

impl ThresholdStep {
    /// The deposit-data step.
    pub(crate) fn deposits(keys: Keys) -> ThresholdStep {
        let duties = keys
            .duties
            .before_lock()
            .into_iter()
            .filter(|d| matches!(d, Duty::Deposit { .. }))
            .collect();
        ThresholdStep::new(Step::Deposits, keys, Vec::new(), duties)
    }

    pub(crate) fn new(
        step: Step,
        keys: Keys,
        signed: Vec<(Duty, Vec<[u8; 96]>)>,
        duties: VecDeque<Duty>,
    ) -> ThresholdStep {
        ThresholdStep {
            step,
            keys,
            signed,
            total: duties.len(),
            queue: duties,
            current: None,
        }
    }

    /// Runs exchanges until one waits for peers; `true` once every duty is aggregated.
    pub(crate) fn poll(&mut self, core: &mut Core) -> Result<bool, CeremonyError> {
        loop {
            let ex = match self.current.as_mut() {
                Some(ex) => ex,
                None => match self.queue.pop_front() {
                    Some(duty) => self.current.insert(Exchange::start(core, &self.keys, duty)),
                    None => return Ok(true),
                },
            };
            let Some(sigs) = ex.poll(core, &self.keys, self.step)? else {
                return Ok(false);
            };
            self.signed.push((ex.duty, sigs));
            self.current = None;
        }
    }

    /// Missing peers of the exchange in flight, and (sets received, sets needed).
    pub(crate) fn waiting(&self, core: &Core) -> (Vec<PeerIdx>, usize, usize) {
        let n = core.plan.num_operators();
        let done_duties = self.total - self.queue.len() - usize::from(self.current.is_some());
        let (missing, cur) = self
            .current
            .as_ref()
            .map_or((Vec::new(), 0), |e| (e.missing(core), e.received(core)));
        (missing, done_duties * n + cur, self.total * n)
    }
}
