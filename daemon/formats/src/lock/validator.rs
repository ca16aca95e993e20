//! A distributed validator of a lock and its deposit data and builder registration
//! (formats.md §3.1, §3.2, §7).

use crate::ssz::{self, Root};

/// A BLS12-381 G1 public key, compressed (48 bytes).
pub type BlsPublicKey = [u8; 48];
/// A BLS12-381 G2 signature, compressed (96 bytes).
pub type BlsSignature = [u8; 96];

/// One distributed validator (`distributed_validators[i]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistValidator {
    /// `distributed_public_key`: the validator's group public key.
    pub public_key: BlsPublicKey,
    /// `public_shares`: entry *i* is operator *i*'s share public key (share index *i+1*).
    pub public_shares: Vec<BlsPublicKey>,
    /// Deposit data. v1.6/v1.7: the single `deposit_data` (empty = the all-empty object
    /// charon writes when there is none); v1.8+: `partial_deposit_data`. Ignored before v1.6.
    pub deposit_data: Vec<DepositData>,
    /// `builder_registration` (v1.7+; `None` = the all-empty object). Ignored before v1.7.
    pub builder_registration: Option<BuilderRegistration>,
}

impl DistValidator {
    /// A validator with key and shares only.
    pub fn new(public_key: BlsPublicKey, public_shares: Vec<BlsPublicKey>) -> DistValidator {
        DistValidator {
            public_key,
            public_shares,
            deposit_data: Vec::new(),
            builder_registration: None,
        }
    }
}

/// A signed deposit (`DepositData`, formats.md §3.1, §7.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositData {
    /// Validator public key.
    pub pubkey: BlsPublicKey,
    /// Withdrawal credentials (0x01/0x02 ‖ 11 zero bytes ‖ address).
    pub withdrawal_credentials: [u8; 32],
    /// Amount in Gwei (a decimal string in JSON).
    pub amount: u64,
    /// BLS signature over the deposit message signing root.
    pub signature: BlsSignature,
}

impl DepositData {
    /// `HTR(DepositMessage{pubkey, withdrawal_credentials, amount})` (formats.md §7.2).
    pub fn message_root(&self) -> Root {
        crate::signing::deposit_message_root(
            &self.pubkey,
            &self.withdrawal_credentials,
            self.amount,
        )
    }

    /// `HTR(DepositData)`, the `deposit_data_root` of deposit files (formats.md §7.4).
    pub fn root(&self) -> Root {
        ssz::container(&self.leaves())
    }

    /// The four field roots (also spliced flat into v1.6 validators, formats.md §3.2).
    pub(crate) fn leaves(&self) -> [Root; 4] {
        [
            pubkey_root(&self.pubkey),
            self.withdrawal_credentials,
            ssz::uint64(self.amount),
            signature_root(&self.signature),
        ]
    }

    /// The leaves of charon's all-empty deposit data (every field zero).
    pub(crate) fn empty_leaves() -> [Root; 4] {
        [
            pubkey_root(&[0; 48]),
            [0; 32],
            ssz::uint64(0),
            signature_root(&[0; 96]),
        ]
    }
}

/// A signed builder registration (formats.md §3.1, §7.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuilderRegistration {
    /// The registration message.
    pub message: RegistrationMessage,
    /// BLS signature by the validator key.
    pub signature: BlsSignature,
}

/// `ValidatorRegistration` message (formats.md §7.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationMessage {
    /// Fee recipient (lower-case eth-hex in JSON).
    pub fee_recipient: [u8; 20],
    /// Gas limit.
    pub gas_limit: u64,
    /// Unix seconds (the network's genesis time).
    pub timestamp: u64,
    /// Validator public key.
    pub pubkey: BlsPublicKey,
}

impl RegistrationMessage {
    /// `HTR(ValidatorRegistration)`.
    pub fn root(&self) -> Root {
        let mut fee = [0u8; 32];
        if let Some(dst) = fee.get_mut(..20) {
            dst.copy_from_slice(&self.fee_recipient);
        }
        ssz::container(&[
            fee,
            ssz::uint64(self.gas_limit),
            ssz::uint64(self.timestamp),
            pubkey_root(&self.pubkey),
        ])
    }
}

impl BuilderRegistration {
    /// `HTR(SignedValidatorRegistration)` as hashed into the lock.
    pub fn root(&self) -> Root {
        ssz::container(&[self.message.root(), signature_root(&self.signature)])
    }

    /// Root of charon's all-empty registration: the empty fee recipient contributes no leaf, so
    /// the message container has three leaves (formats.md §3.2 "Edge").
    pub(crate) fn empty_root() -> Root {
        let message = ssz::container(&[ssz::uint64(0), ssz::uint64(0), pubkey_root(&[0; 48])]);
        ssz::container(&[message, signature_root(&[0; 96])])
    }
}

/// `HTR(Bytes48)`.
pub(crate) fn pubkey_root(pk: &BlsPublicKey) -> Root {
    ssz::container(&ssz::pack_bytes(pk))
}

/// `HTR(Bytes96)`.
pub(crate) fn signature_root(sig: &BlsSignature) -> Root {
    ssz::container(&ssz::pack_bytes(sig))
}
