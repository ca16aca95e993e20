//! The signing duties after key generation, as charon orders them (charon-dkg-protocol.md
//! §1.9, §1.11; formats.md §3.6, §7).
//!
//! ```text
//!  step 2  Deposit{0, a₀} … Deposit{k, aₖ}   one per distinct amount (sorted), every validator
//!  step 3  BuilderRegistration               every validator (v1.6: signed, then blanked)
//!  step 4  LockHash                          every validator's share signs the raw lock hash
//! ```
//!
//! [`Duties`] holds what each validator signs and gives the signing root of every
//! (duty, validator) pair; the root of [`Duty::LockHash`] is the lock hash itself (no domain),
//! known once the lock is drafted ([`Duties::set_lock_hash`]).

use dkgd_formats::definition::{Definition, Version};
use dkgd_formats::deposit::GWEI_PER_ETH;
use dkgd_formats::lock::{BuilderRegistration, DepositData, RegistrationMessage};
use dkgd_formats::signing;
use dkgd_formats::ssz::Root;

pub use crate::duty::Duty;
use crate::error::Error;
use crate::index::ValidatorIdx;
use crate::plan::Plan;

/// Gas limit of builder registrations when the definition sets none (formats.md §3.6).
pub const DEFAULT_GAS_LIMIT: u64 = 30_000_000;

/// The deposit amounts of a DKG, in Gwei (formats.md §3.6): the definition's
/// `deposit_amounts`, de-duplicated and sorted; when empty, `[1, 32]` ETH from v1.8
/// (`[1, 8, 32, 256]` ETH when compounding) and `[32]` ETH before.
pub fn deposit_amounts(def: &Definition) -> Vec<u64> {
    let mut amounts = def.deposit_amounts().to_vec();
    amounts.sort_unstable();
    amounts.dedup();
    if amounts.is_empty() {
        let eth: &[u64] = if def.version < Version::V1_8 {
            &[32]
        } else if def.is_compounding() {
            &[1, 8, 32, 256]
        } else {
            &[1, 32]
        };
        amounts = eth.iter().map(|e| e * GWEI_PER_ETH).collect();
    }
    amounts
}

/// The registration gas limit: `target_gas_limit` (v1.10+) or [`DEFAULT_GAS_LIMIT`].
pub fn registration_gas_limit(def: &Definition) -> u64 {
    match def.target_gas_limit() {
        0 => DEFAULT_GAS_LIMIT,
        g => g,
    }
}

/// What one validator signs.
#[derive(Debug, Clone)]
struct ValidatorDuties {
    pubkey: [u8; 48],
    withdrawal_credentials: [u8; 32],
    registration: RegistrationMessage,
}

/// Every duty's message for every validator of a ceremony.
#[derive(Debug, Clone)]
pub struct Duties {
    fork_version: [u8; 4],
    amounts: Vec<u64>,
    validators: Vec<ValidatorDuties>,
    lock_hash: Option<Root>,
}

impl Duties {
    /// The duties of the validators whose group keys the DKG produced (validator order).
    pub fn new(plan: &Plan, group_keys: &[[u8; 48]]) -> Result<Duties, Error> {
        let def = plan.definition();
        if group_keys.len() != plan.num_validators() {
            return Err(Error::Internal("one group key per validator"));
        }
        let gas_limit = registration_gas_limit(def);
        let timestamp = plan.network().genesis_time;
        let validators = group_keys
            .iter()
            .enumerate()
            .map(|(v, pubkey)| {
                let addrs = def.validator_addresses(v).ok_or(Error::Internal(
                    "the plan checked every validator's addresses",
                ))?;
                let (Some(withdrawal), Some(fee_recipient)) = (
                    addrs.withdrawal_address.bytes(),
                    addrs.fee_recipient_address.bytes(),
                ) else {
                    return Err(Error::Internal(
                        "the plan checked every validator's addresses",
                    ));
                };
                Ok(ValidatorDuties {
                    pubkey: *pubkey,
                    withdrawal_credentials: signing::withdrawal_credentials(
                        &withdrawal,
                        def.is_compounding(),
                    ),
                    registration: RegistrationMessage {
                        fee_recipient,
                        gas_limit,
                        timestamp,
                        pubkey: *pubkey,
                    },
                })
            })
            .collect::<Result<_, Error>>()?;
        Ok(Duties {
            fork_version: plan.network().genesis_fork_version,
            amounts: deposit_amounts(def),
            validators,
            lock_hash: None,
        })
    }

    /// The distinct deposit amounts, ascending (Gwei).
    pub fn amounts(&self) -> &[u64] {
        &self.amounts
    }

    /// Number of validators.
    pub fn num_validators(&self) -> usize {
        self.validators.len()
    }

    /// The duties signed before the lock exists, in charon's order: one deposit duty per
    /// amount (step 2), then the builder registration (step 3).
    pub fn before_lock(&self) -> Vec<Duty> {
        self.amounts
            .iter()
            .enumerate()
            .filter_map(|(k, &amount_gwei)| {
                u32::try_from(k)
                    .ok()
                    .map(|index| Duty::Deposit { index, amount_gwei })
            })
            .chain(std::iter::once(Duty::BuilderRegistration))
            .collect()
    }

    /// Records the drafted lock's hash: the message of [`Duty::LockHash`].
    pub fn set_lock_hash(&mut self, lock_hash: Root) {
        self.lock_hash = Some(lock_hash);
    }

    /// The 32 bytes every share of validator `v` signs for `duty`: a deposit or registration
    /// signing root (formats.md §7.1), or the raw lock hash (formats.md §3.3).
    pub fn signing_root(&self, duty: Duty, v: ValidatorIdx) -> Result<Root, Error> {
        let val = self.validator(v)?;
        match duty {
            Duty::Deposit { .. } => Ok(signing::deposit_signing_root(
                self.fork_version,
                &val.pubkey,
                &val.withdrawal_credentials,
                self.amount(duty)?,
            )),
            Duty::BuilderRegistration => {
                let m = &val.registration;
                Ok(signing::registration_signing_root(
                    self.fork_version,
                    &m.fee_recipient,
                    m.gas_limit,
                    m.timestamp,
                    &m.pubkey,
                ))
            }
            Duty::LockHash => self.lock_hash.ok_or(Error::Internal(
                "lock hash signed before the lock was drafted",
            )),
        }
    }

    /// Validator `v`'s deposit data for a deposit duty, with its aggregated signature.
    pub fn deposit_data(
        &self,
        duty: Duty,
        v: ValidatorIdx,
        signature: [u8; 96],
    ) -> Result<DepositData, Error> {
        let val = self.validator(v)?;
        Ok(DepositData {
            pubkey: val.pubkey,
            withdrawal_credentials: val.withdrawal_credentials,
            amount: self.amount(duty)?,
            signature,
        })
    }

    /// Validator `v`'s builder registration with its aggregated signature.
    pub fn builder_registration(
        &self,
        v: ValidatorIdx,
        signature: [u8; 96],
    ) -> Result<BuilderRegistration, Error> {
        Ok(BuilderRegistration {
            message: self.validator(v)?.registration.clone(),
            signature,
        })
    }

    fn validator(&self, v: ValidatorIdx) -> Result<&ValidatorDuties, Error> {
        self.validators
            .get(v.as_usize())
            .ok_or(Error::Internal("validator index out of range"))
    }

    fn amount(&self, duty: Duty) -> Result<u64, Error> {
        match duty {
            Duty::Deposit { index, amount_gwei }
                if usize::try_from(index)
                    .ok()
                    .and_then(|k| self.amounts.get(k))
                    == Some(&amount_gwei) =>
            {
                Ok(amount_gwei)
            }
            _ => Err(Error::Internal("not a deposit duty of this ceremony")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(version: Version, amounts: Option<Vec<u64>>, compounding: bool) -> Definition {
        let mut d = Definition::blank(version);
        d.deposit_amounts = amounts;
        d.compounding = compounding;
        d
    }

    const ETH: u64 = GWEI_PER_ETH;

    #[test]
    fn default_and_custom_amounts() {
        assert_eq!(
            deposit_amounts(&def(Version::V1_6, None, false)),
            [32 * ETH]
        );
        assert_eq!(deposit_amounts(&def(Version::V1_7, None, true)), [32 * ETH]);
        assert_eq!(
            deposit_amounts(&def(Version::V1_8, None, false)),
            [ETH, 32 * ETH]
        );
        assert_eq!(
            deposit_amounts(&def(Version::V1_9, Some(vec![]), true)),
            [ETH, 32 * ETH]
        );
        assert_eq!(
            deposit_amounts(&def(Version::V1_10, None, true)),
            [ETH, 8 * ETH, 32 * ETH, 256 * ETH]
        );
        // De-duplicated and sorted (formats.md §11.14).
        assert_eq!(
            deposit_amounts(&def(
                Version::V1_11,
                Some(vec![16 * ETH, ETH, 16 * ETH]),
                false
            )),
            [ETH, 16 * ETH]
        );
    }

    #[test]
    fn gas_limit_and_wire_numbers() {
        let mut d = def(Version::V1_10, None, false);
        assert_eq!(registration_gas_limit(&d), DEFAULT_GAS_LIMIT);
        d.target_gas_limit = 36_000_000;
        assert_eq!(registration_gas_limit(&d), 36_000_000);
        d.version = Version::V1_9;
        assert_eq!(registration_gas_limit(&d), DEFAULT_GAS_LIMIT);
        let dep = Duty::Deposit {
            index: 1,
            amount_gwei: 32 * ETH,
        };
        assert_eq!(dep.sig_type(), 201);
        assert_eq!(Duty::BuilderRegistration.sig_type(), 102);
        assert_eq!(Duty::LockHash.sig_type(), 101);
        assert_eq!(dep.to_string(), "deposit data of 32 ETH");
    }
}
