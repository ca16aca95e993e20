//! Sync step 3: builder registrations, one parsigex exchange (duty 102), threshold-aggregated
//! like the deposits (`ThresholdStep` in [`super::deposits`]).

use std::collections::VecDeque;

use super::deposits::ThresholdStep;
use crate::ceremony::Phase;
use crate::duties::Duty;

/// The registrations step after the deposits step.
pub(crate) fn after(deposits: ThresholdStep) -> ThresholdStep {
    ThresholdStep::new(
        Phase::Registrations,
        deposits.keys,
        deposits.signed,
        VecDeque::from([Duty::BuilderRegistration]),
    )
}
