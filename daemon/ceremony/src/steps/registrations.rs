//! Sync step 3: builder registrations, one parsigex exchange (duty 102), threshold-aggregated
//! like the deposits (`ThresholdStep` in [`super::deposits`]).

use std::collections::VecDeque;

use super::deposits::ThresholdStep;
use crate::duties::Duty;
use crate::step::Step;

/// The registrations step after the deposits step.
pub(crate) fn after(deposits: ThresholdStep) -> ThresholdStep {
    ThresholdStep::new(
        Step::Registrations,
        deposits.keys,
        deposits.signed,
        VecDeque::from([Duty::BuilderRegistration]),
    )
}
