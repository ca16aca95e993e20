//! One signing duty (a leaf module: the error type names duties, and the duty schedule in
//! [`crate::duties`] returns errors).

use std::fmt;

use dkgd_formats::deposit::format_eth;

use crate::step::Step;

/// One signing duty: what every share signs for every validator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Duty {
    /// The deposit message for the `index`-th distinct amount (0-based, ascending).
    Deposit {
        /// Position among the distinct amounts.
        index: u32,
        /// The amount in Gwei.
        amount_gwei: u64,
    },
    /// The builder (validator) registration.
    BuilderRegistration,
    /// The raw lock hash (`signature_aggregate`).
    LockHash,
}

impl Duty {
    /// charon's parsigex slot number for this duty (`Duty{slot, type = DutySignature}`):
    /// 200 + k for the k-th deposit amount, 102 for registrations, 101 for the lock hash. Part
    /// of the wire format (charon-dkg-protocol.md §1.9).
    pub fn sig_type(self) -> u64 {
        match self {
            Duty::Deposit { index, .. } => 200 + u64::from(index),
            Duty::BuilderRegistration => 102,
            Duty::LockHash => 101,
        }
    }

    /// The ceremony step that signs this duty.
    pub fn step(self) -> Step {
        match self {
            Duty::Deposit { .. } => Step::Deposits,
            Duty::BuilderRegistration => Step::Registrations,
            Duty::LockHash => Step::LockHash,
        }
    }
}

impl fmt::Display for Duty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Duty::Deposit { amount_gwei, .. } => {
                write!(f, "deposit data of {} ETH", format_eth(*amount_gwei))
            }
            Duty::BuilderRegistration => f.write_str("builder registration"),
            Duty::LockHash => f.write_str("lock hash"),
        }
    }
}
