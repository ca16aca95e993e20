//! The Ethereum networks charon knows (formats.md §8).
//!
//! A definition names its network only through `fork_version` (the **genesis** fork version);
//! the EIP-712 chain id, the deposit/registration signing domains, the registration timestamp
//! (genesis time) and the deposit file's `network_name` all come from this table. Unknown fork
//! versions are an error: charon cannot sign or verify for custom networks.

use std::fmt;

/// One network of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    /// Canonical name as charon writes it (e.g. in deposit files): `mainnet`, `goerli`, ….
    pub name: &'static str,
    /// EIP-155 chain id (used as the EIP-712 `chainId`).
    pub chain_id: u64,
    /// Genesis fork version (= definition `fork_version`).
    pub genesis_fork_version: [u8; 4],
    /// Genesis time, unix seconds (= builder-registration timestamp).
    pub genesis_time: u64,
    /// Capella fork version.
    pub capella_fork_version: [u8; 4],
    /// Seconds per slot.
    pub slot_seconds: u64,
    /// Removed from charon HEAD (holesky, April 2026) but still found in v1.10.x locks: such
    /// files can be read and verified, but `charon dkg` at HEAD refuses the network.
    pub removed_from_charon: bool,
}

impl Network {
    /// The genesis fork version as lower-case `0x`-hex (charon's lookup key).
    pub fn fork_version_hex(&self) -> String {
        format!("0x{}", hex::encode(self.genesis_fork_version))
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.fork_version_hex())
    }
}

const fn net(
    name: &'static str,
    chain_id: u64,
    genesis_fork_version: [u8; 4],
    genesis_time: u64,
    capella_fork_version: [u8; 4],
    slot_seconds: u64,
    removed_from_charon: bool,
) -> Network {
    Network {
        name,
        chain_id,
        genesis_fork_version,
        genesis_time,
        capella_fork_version,
        slot_seconds,
        removed_from_charon,
    }
}

/// Mainnet.
pub const MAINNET: Network = net(
    "mainnet",
    1,
    [0, 0, 0, 0],
    1_606_824_023,
    [3, 0, 0, 0],
    12,
    false,
);
/// Goerli (alias `prater`).
pub const GOERLI: Network = net(
    "goerli",
    5,
    [0, 0, 0x10, 0x20],
    1_616_508_000,
    [3, 0, 0x10, 0x20],
    12,
    false,
);
/// Gnosis chain.
pub const GNOSIS: Network = net(
    "gnosis",
    100,
    [0, 0, 0, 0x64],
    1_638_993_340,
    [3, 0, 0, 0x64],
    5,
    false,
);
/// Chiado (Gnosis testnet).
pub const CHIADO: Network = net(
    "chiado",
    10_200,
    [0, 0, 0, 0x6f],
    1_665_396_300,
    [3, 0, 0, 0x6f],
    5,
    false,
);
/// Sepolia.
pub const SEPOLIA: Network = net(
    "sepolia",
    11_155_111,
    [0x90, 0, 0, 0x69],
    1_655_733_600,
    [0x90, 0, 0, 0x72],
    12,
    false,
);
/// Hoodi.
pub const HOODI: Network = net(
    "hoodi",
    560_048,
    [0x10, 0, 0x09, 0x10],
    1_742_213_400,
    [0x40, 0, 0x09, 0x10],
    12,
    false,
);
/// Holesky (removed from charon HEAD; see [`Network::removed_from_charon`]).
pub const HOLESKY: Network = net(
    "holesky",
    17_000,
    [0x01, 0x01, 0x70, 0x00],
    1_696_000_704,
    [0x04, 0x01, 0x70, 0x00],
    12,
    true,
);

/// Every known network, in charon's table order.
pub const NETWORKS: &[Network] = &[MAINNET, GOERLI, GNOSIS, CHIADO, SEPOLIA, HOODI, HOLESKY];

/// The comma-separated list of known networks, for error messages.
fn known_list() -> String {
    NETWORKS
        .iter()
        .map(Network::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a network lookup failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NetworkError {
    /// No known network has this genesis fork version.
    #[error(
        "unknown genesis fork version 0x{}: charon can only sign and verify for known networks: {}",
        hex::encode(.0),
        known_list()
    )]
    UnknownForkVersion([u8; 4]),
    /// The fork-version text is not `0x` followed by 8 lower-case hex digits.
    #[error("fork version {0:?} is not 0x followed by 8 lower-case hex digits (e.g. 0x00000000)")]
    BadForkVersionText(String),
    /// No known network has this name.
    #[error("unknown network name {name:?}; known networks: {}", known_list())]
    UnknownName {
        /// The name given.
        name: String,
    },
}

/// The network whose genesis fork version is `fork` (formats.md §8).
pub fn by_fork_version(fork: &[u8; 4]) -> Result<&'static Network, NetworkError> {
    NETWORKS
        .iter()
        .find(|n| &n.genesis_fork_version == fork)
        .ok_or(NetworkError::UnknownForkVersion(*fork))
}

/// The network for a fork version given as raw bytes of any length (e.g. decoded from JSON);
/// anything but exactly 4 bytes is an unknown fork version.
pub fn by_fork_version_bytes(fork: &[u8]) -> Result<&'static Network, NetworkError> {
    match <[u8; 4]>::try_from(fork) {
        Ok(f) => by_fork_version(&f),
        Err(_) => Err(NetworkError::BadForkVersionText(format!(
            "0x{}",
            hex::encode(fork)
        ))),
    }
}

/// The network for a fork version written as exact lower-case `0x`-hex (charon's lookup).
pub fn by_fork_version_hex(text: &str) -> Result<&'static Network, NetworkError> {
    let bad = || NetworkError::BadForkVersionText(text.to_string());
    let body = text.strip_prefix("0x").ok_or_else(bad)?;
    if body.len() != 8 || !body.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(bad());
    }
    let mut fork = [0u8; 4];
    hex::decode_to_slice(body, &mut fork).map_err(|_| bad())?;
    by_fork_version(&fork)
}

/// The network called `name` (exact, lower-case); `prater` is an alias of `goerli`.
pub fn by_name(name: &str) -> Result<&'static Network, NetworkError> {
    let canonical = if name == "prater" { "goerli" } else { name };
    NETWORKS
        .iter()
        .find(|n| n.name == canonical)
        .ok_or_else(|| NetworkError::UnknownName {
            name: name.to_string(),
        })
}

/// The network with EIP-155 chain id `chain_id`, if known.
pub fn by_chain_id(chain_id: u64) -> Option<&'static Network> {
    NETWORKS.iter().find(|n| n.chain_id == chain_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(by_fork_version_hex("0x00001020").unwrap().name, "goerli");
        assert_eq!(by_name("prater").unwrap(), by_name("goerli").unwrap());
        assert_eq!(
            by_fork_version(&[0x10, 0, 9, 0x10]).unwrap().chain_id,
            560_048
        );
        assert_eq!(by_chain_id(11_155_111).unwrap().name, "sepolia");
        assert!(
            by_fork_version_hex("0x01017000")
                .unwrap()
                .removed_from_charon
        );
        assert_eq!(
            by_fork_version_bytes(&[0, 0, 0, 0]).unwrap().genesis_time,
            1_606_824_023
        );
    }

    #[test]
    fn unknown_fork_names_it_and_lists_known() {
        let err = by_fork_version_hex("0x12345678").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("0x12345678"), "{text}");
        for n in NETWORKS {
            assert!(text.contains(n.name), "{text}");
            assert!(text.contains(&n.fork_version_hex()), "{text}");
        }
    }

    #[test]
    fn fork_text_must_be_exact_lower_case() {
        for bad in [
            "0X00001020",
            "0x0000102A",
            "00001020",
            "0x0000102",
            "0x000010200",
            "",
        ] {
            assert!(
                matches!(
                    by_fork_version_hex(bad),
                    Err(NetworkError::BadForkVersionText(_))
                ),
                "{bad}"
            );
        }
        assert!(by_fork_version_bytes(&[0, 0, 0x10]).is_err());
        assert!(matches!(
            by_name("Goerli"),
            Err(NetworkError::UnknownName { .. })
        ));
    }

    #[test]
    fn table_is_consistent() {
        for (i, a) in NETWORKS.iter().enumerate() {
            for b in &NETWORKS[i + 1..] {
                assert_ne!(a.genesis_fork_version, b.genesis_fork_version);
                assert_ne!(a.chain_id, b.chain_id);
                assert_ne!(a.name, b.name);
            }
        }
    }
}
