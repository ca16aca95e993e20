//! Consensus-layer signing roots for deposits and builder registrations (formats.md §7.1–7.3).
//!
//! Both use the network's **genesis** fork version and a zero genesis-validators-root:
//!
//! ```text
//! domain        = domain_type(4) ‖ HTR(ForkData{fork_version, 0³²})[0..28]
//! signing_root  = HTR(SigningData{object_root, domain}) = SHA-256(object_root ‖ domain)
//! ```

use crate::ssz::{self, Root};

/// `DOMAIN_DEPOSIT` (consensus specs).
pub const DOMAIN_DEPOSIT: [u8; 4] = [0x03, 0x00, 0x00, 0x00];
/// `DOMAIN_APPLICATION_BUILDER` (builder-specs).
pub const DOMAIN_APPLICATION_BUILDER: [u8; 4] = [0x00, 0x00, 0x00, 0x01];

/// Withdrawal-credential prefix for an execution address (0x01).
pub const ETH1_ADDRESS_WITHDRAWAL_PREFIX: u8 = 0x01;
/// Withdrawal-credential prefix for a compounding execution address (0x02, EIP-7251).
pub const COMPOUNDING_WITHDRAWAL_PREFIX: u8 = 0x02;

/// Root of a fixed-size byte vector whose length is exactly the declared size.
fn fixed(bytes: &[u8]) -> Root {
    ssz::container(&ssz::pack_bytes(bytes))
}

/// `compute_domain(domain_type, fork_version, genesis_validators_root = 0)` (formats.md §7.1).
pub fn compute_domain(domain_type: [u8; 4], fork_version: [u8; 4]) -> [u8; 32] {
    let fork_data_root = ssz::container(&[fixed(&fork_version), [0u8; 32]]);
    let mut domain = [0u8; 32];
    domain[..4].copy_from_slice(&domain_type);
    domain[4..].copy_from_slice(&fork_data_root[..28]);
    domain
}

/// `compute_signing_root`: `HTR(SigningData{object_root, domain})`.
pub fn signing_root(object_root: &Root, domain: &[u8; 32]) -> Root {
    ssz::hash_pair(object_root, domain)
}

/// `HTR(DepositMessage{pubkey, withdrawal_credentials, amount})` (formats.md §7.2).
pub fn deposit_message_root(
    pubkey: &[u8; 48],
    withdrawal_credentials: &[u8; 32],
    amount_gwei: u64,
) -> Root {
    ssz::container(&[
        fixed(pubkey),
        fixed(withdrawal_credentials),
        ssz::uint64(amount_gwei),
    ])
}

/// `HTR(DepositData{pubkey, withdrawal_credentials, amount, signature})` (formats.md §3.2, §7.4).
pub fn deposit_data_root(
    pubkey: &[u8; 48],
    withdrawal_credentials: &[u8; 32],
    amount_gwei: u64,
    signature: &[u8; 96],
) -> Root {
    ssz::container(&[
        fixed(pubkey),
        fixed(withdrawal_credentials),
        ssz::uint64(amount_gwei),
        fixed(signature),
    ])
}

/// The root a validator key signs for a deposit on the network with `genesis_fork_version`.
pub fn deposit_signing_root(
    genesis_fork_version: [u8; 4],
    pubkey: &[u8; 48],
    withdrawal_credentials: &[u8; 32],
    amount_gwei: u64,
) -> Root {
    signing_root(
        &deposit_message_root(pubkey, withdrawal_credentials, amount_gwei),
        &compute_domain(DOMAIN_DEPOSIT, genesis_fork_version),
    )
}

/// `HTR(ValidatorRegistration{fee_recipient, gas_limit, timestamp, pubkey})` (formats.md §7.3).
pub fn registration_message_root(
    fee_recipient: &[u8; 20],
    gas_limit: u64,
    timestamp: u64,
    pubkey: &[u8; 48],
) -> Root {
    ssz::container(&[
        fixed(fee_recipient),
        ssz::uint64(gas_limit),
        ssz::uint64(timestamp),
        fixed(pubkey),
    ])
}

/// The root a validator key signs for a builder registration (formats.md §7.3).
pub fn registration_signing_root(
    genesis_fork_version: [u8; 4],
    fee_recipient: &[u8; 20],
    gas_limit: u64,
    timestamp: u64,
    pubkey: &[u8; 48],
) -> Root {
    signing_root(
        &registration_message_root(fee_recipient, gas_limit, timestamp, pubkey),
        &compute_domain(DOMAIN_APPLICATION_BUILDER, genesis_fork_version),
    )
}

/// Withdrawal credentials for an execution address: `0x01` (or `0x02` when `compounding`)
/// ‖ 11 zero bytes ‖ address (formats.md §7.2).
pub fn withdrawal_credentials(address: &[u8; 20], compounding: bool) -> [u8; 32] {
    let mut wc = [0u8; 32];
    wc[0] = if compounding {
        COMPOUNDING_WITHDRAWAL_PREFIX
    } else {
        ETH1_ADDRESS_WITHDRAWAL_PREFIX
    };
    wc[12..].copy_from_slice(address);
    wc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mainnet_deposit_domain() {
        assert_eq!(
            hex::encode(compute_domain(DOMAIN_DEPOSIT, [0; 4])),
            "03000000f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a9"
        );
    }

    #[test]
    fn withdrawal_credentials_layout() {
        let wc = withdrawal_credentials(&[0xab; 20], false);
        assert_eq!(wc[0], 1);
        assert_eq!(&wc[1..12], &[0u8; 11]);
        assert_eq!(&wc[12..], &[0xab; 20]);
        assert_eq!(withdrawal_credentials(&[0xab; 20], true)[0], 2);
    }

    #[test]
    fn fixed_matches_ssz_bytes_n() {
        for n in [4usize, 20, 32, 48, 96] {
            let v: Vec<u8> = (0..n).map(|i| u8::try_from(i).unwrap()).collect();
            assert_eq!(fixed(&v), ssz::bytes_n(&v, n).unwrap(), "Bytes{n}");
        }
    }
}
