//! Deposit data and `deposit-data*.json` files (formats.md §7.2, §7.4).
//!
//! ```text
//! DepositData ──verify──▶ group by amount ──sort by pubkey──▶ to_go_json ──▶ (file name, bytes)
//! file bytes  ──parse──▶ DepositFileEntry ──verify──▶ (roots, network, signature)
//! ```
//!
//! Files hold one JSON array per amount (`deposit-data.json` for exactly 32 ETH, otherwise
//! `deposit-data-<eth>eth.json`), entries sorted by pubkey, hex without `0x`, the amount as a
//! JSON integer, written with charon's one-space indent and no trailing newline.

use serde::{Deserialize, Serialize};

use dkgd_crypto::bls::{BlsError, BlsPublicKey, BlsSecretKey, BlsSignature};

use crate::json::{from_eth_hex, to_go_json};
use crate::network::{self, Network, NetworkError};
use crate::signing::{
    deposit_signing_root, COMPOUNDING_WITHDRAWAL_PREFIX, ETH1_ADDRESS_WITHDRAWAL_PREFIX,
};
use crate::ssz::Root;

/// `deposit_cli_version` charon writes.
pub const DEPOSIT_CLI_VERSION: &str = "2.7.0";
/// Gwei per ETH.
pub const GWEI_PER_ETH: u64 = 1_000_000_000;
/// Smallest deposit charon allows (1 ETH).
pub const MIN_DEPOSIT_GWEI: u64 = GWEI_PER_ETH;
/// Largest deposit with 0x01 credentials (32 ETH).
pub const MAX_DEPOSIT_GWEI: u64 = 32 * GWEI_PER_ETH;
/// Largest deposit with compounding 0x02 credentials (2048 ETH).
pub const MAX_COMPOUNDING_DEPOSIT_GWEI: u64 = 2048 * GWEI_PER_ETH;

/// Errors reading, verifying or writing deposit data. `index` is the entry's position (in the
/// file, or in the writer's input).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DepositError {
    /// The file is not a JSON array of deposit objects.
    #[error("deposit-data file is not a JSON array of deposit objects: {0}")]
    Json(#[source] serde_json::Error),
    /// Nothing to write.
    #[error("no deposit data to write")]
    Empty,
    /// A field is not hex of the expected length.
    #[error("deposit {index}: field {field} must be {expected_len} bytes of hex")]
    BadField {
        /// Entry position.
        index: usize,
        /// JSON key.
        field: &'static str,
        /// Required byte length.
        expected_len: usize,
    },
    /// A stored root does not match the recomputed one.
    #[error("deposit {index}: {field} does not match the recomputed root 0x{}", hex::encode(.computed))]
    RootMismatch {
        /// Entry position.
        index: usize,
        /// `deposit_message_root` or `deposit_data_root`.
        field: &'static str,
        /// The recomputed value.
        computed: Root,
    },
    /// The fork version is not a known network's genesis fork version.
    #[error("deposit {index}: {source}")]
    UnknownNetwork {
        /// Entry position.
        index: usize,
        /// Lookup failure.
        source: NetworkError,
    },
    /// `network_name` disagrees with `fork_version` or with the expected network.
    #[error(
        "deposit {index}: network_name {found:?} does not match fork version network {expected:?}"
    )]
    NetworkMismatch {
        /// Entry position.
        index: usize,
        /// Name in the file.
        found: String,
        /// Name implied by the fork version (or the expected network).
        expected: &'static str,
    },
    /// Withdrawal credentials are not `0x01`/`0x02` ‖ 11 zero bytes ‖ address.
    #[error(
        "deposit {index}: withdrawal credentials must be 0x01 or 0x02, 11 zero bytes, then a \
         20-byte address"
    )]
    BadWithdrawalCredentials {
        /// Entry position.
        index: usize,
    },
    /// The amount is outside the allowed range.
    #[error(
        "deposit {index}: amount {amount_gwei} gwei is outside [{MIN_DEPOSIT_GWEI}, {max_gwei}] \
         gwei"
    )]
    AmountOutOfRange {
        /// Entry position.
        index: usize,
        /// The amount.
        amount_gwei: u64,
        /// The maximum for these credentials.
        max_gwei: u64,
    },
    /// The pubkey is not a valid BLS key.
    #[error("deposit {index}: invalid validator pubkey: {source}")]
    BadPubkey {
        /// Entry position.
        index: usize,
        /// Why.
        source: BlsError,
    },
    /// The signature is malformed or does not verify for the network's deposit domain.
    #[error("deposit {index}: deposit signature is not valid for pubkey 0x{}: {source}", hex::encode(.pubkey))]
    BadSignature {
        /// Entry position.
        index: usize,
        /// The validator pubkey.
        pubkey: [u8; 48],
        /// Why.
        source: BlsError,
    },
    /// A file must hold a single amount.
    #[error(
        "deposit {index}: amount {found} gwei differs from {expected} gwei of the first entry"
    )]
    MixedAmounts {
        /// Entry position.
        index: usize,
        /// First entry's amount.
        expected: u64,
        /// This entry's amount.
        found: u64,
    },
    /// JSON serialisation failed (a bug).
    #[error("internal error serialising deposit data: {0}")]
    Serialise(#[source] serde_json::Error),
}

pub use crate::lock::DepositData;

impl DepositData {
    /// Checks credentials layout, amount limits, and the signature under the network's genesis
    /// deposit domain. `index` only labels errors.
    pub fn verify(&self, network: &Network, index: usize) -> Result<(), DepositError> {
        let wc = &self.withdrawal_credentials;
        let max_gwei = match wc[0] {
            ETH1_ADDRESS_WITHDRAWAL_PREFIX => MAX_DEPOSIT_GWEI,
            COMPOUNDING_WITHDRAWAL_PREFIX => MAX_COMPOUNDING_DEPOSIT_GWEI,
            _ => return Err(DepositError::BadWithdrawalCredentials { index }),
        };
        if wc[1..12].iter().any(|&b| b != 0) {
            return Err(DepositError::BadWithdrawalCredentials { index });
        }
        if !(MIN_DEPOSIT_GWEI..=max_gwei).contains(&self.amount) {
            return Err(DepositError::AmountOutOfRange {
                index,
                amount_gwei: self.amount,
                max_gwei,
            });
        }
        let pk = BlsPublicKey::from_bytes(&self.pubkey)
            .map_err(|source| DepositError::BadPubkey { index, source })?;
        let bad_sig = |source| DepositError::BadSignature {
            index,
            pubkey: self.pubkey,
            source,
        };
        let sig = BlsSignature::from_bytes(&self.signature).map_err(bad_sig)?;
        let root =
            deposit_signing_root(network.genesis_fork_version, &self.pubkey, wc, self.amount);
        pk.verify(&root, &sig).map_err(bad_sig)
    }
}

/// Signs a deposit with a single (non-threshold) key; the DKG instead combines partial
/// signatures over [`deposit_signing_root`].
pub fn sign_deposit(
    secret: &BlsSecretKey,
    withdrawal_credentials: [u8; 32],
    amount_gwei: u64,
    network: &Network,
) -> DepositData {
    let pubkey = secret.public_key().to_bytes();
    let root = deposit_signing_root(
        network.genesis_fork_version,
        &pubkey,
        &withdrawal_credentials,
        amount_gwei,
    );
    DepositData {
        pubkey,
        withdrawal_credentials,
        amount: amount_gwei,
        signature: secret.sign(&root).to_bytes(),
    }
}

/// `amount_gwei` in ETH, shortest decimal form (`32`, `16.5`, `0.000000001`).
pub fn format_eth(amount_gwei: u64) -> String {
    let whole = amount_gwei / GWEI_PER_ETH;
    let frac = amount_gwei % GWEI_PER_ETH;
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:09}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// File name for deposits of `amount_gwei`: `deposit-data.json` for exactly 32 ETH, else
/// `deposit-data-<eth>eth.json` (formats.md §7.4).
pub fn deposit_file_name(amount_gwei: u64) -> String {
    if amount_gwei == MAX_DEPOSIT_GWEI {
        "deposit-data.json".to_string()
    } else {
        format!("deposit-data-{}eth.json", format_eth(amount_gwei))
    }
}

/// One entry as it appears in the file (key order = charon's).
#[derive(Serialize, Deserialize)]
struct JsonEntry {
    pubkey: String,
    withdrawal_credentials: String,
    amount: u64,
    signature: String,
    deposit_message_root: String,
    deposit_data_root: String,
    fork_version: String,
    network_name: String,
    deposit_cli_version: String,
}

/// Verifies every deposit and renders one file (all entries must share one amount;
/// formats.md §7.4).
pub fn deposit_file_json(
    deposits: &[DepositData],
    network: &Network,
) -> Result<Vec<u8>, DepositError> {
    let first = deposits.first().ok_or(DepositError::Empty)?;
    for (index, d) in deposits.iter().enumerate() {
        if d.amount != first.amount {
            return Err(DepositError::MixedAmounts {
                index,
                expected: first.amount,
                found: d.amount,
            });
        }
        d.verify(network, index)?;
    }
    let mut sorted: Vec<&DepositData> = deposits.iter().collect();
    sorted.sort_by_key(|d| d.pubkey);
    let entries: Vec<JsonEntry> = sorted
        .into_iter()
        .map(|d| JsonEntry {
            pubkey: hex::encode(d.pubkey),
            withdrawal_credentials: hex::encode(d.withdrawal_credentials),
            amount: d.amount,
            signature: hex::encode(d.signature),
            deposit_message_root: hex::encode(d.message_root()),
            deposit_data_root: hex::encode(d.root()),
            fork_version: hex::encode(network.genesis_fork_version),
            network_name: network.name.to_string(),
            deposit_cli_version: DEPOSIT_CLI_VERSION.to_string(),
        })
        .collect();
    to_go_json(&entries).map_err(DepositError::Serialise)
}

/// A rendered deposit-data file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositFile {
    /// File name (no directory).
    pub name: String,
    /// The amount every entry deposits.
    pub amount_gwei: u64,
    /// File contents.
    pub contents: Vec<u8>,
}

/// Groups deposits by amount (ascending) and renders one verified file per amount.
pub fn deposit_files(
    deposits: &[DepositData],
    network: &Network,
) -> Result<Vec<DepositFile>, DepositError> {
    if deposits.is_empty() {
        return Err(DepositError::Empty);
    }
    let mut amounts: Vec<u64> = deposits.iter().map(|d| d.amount).collect();
    amounts.sort_unstable();
    amounts.dedup();
    amounts
        .into_iter()
        .map(|amount_gwei| {
            let group: Vec<DepositData> = deposits
                .iter()
                .filter(|d| d.amount == amount_gwei)
                .cloned()
                .collect();
            Ok(DepositFile {
                name: deposit_file_name(amount_gwei),
                amount_gwei,
                contents: deposit_file_json(&group, network)?,
            })
        })
        .collect()
}

/// One parsed entry of a deposit-data file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositFileEntry {
    /// The deposit itself.
    pub deposit: DepositData,
    /// Stored `deposit_message_root`.
    pub deposit_message_root: Root,
    /// Stored `deposit_data_root`.
    pub deposit_data_root: Root,
    /// Stored `fork_version`.
    pub fork_version: [u8; 4],
    /// Stored `network_name`.
    pub network_name: String,
    /// Stored `deposit_cli_version`.
    pub deposit_cli_version: String,
}

fn field<const N: usize>(
    index: usize,
    name: &'static str,
    text: &str,
) -> Result<[u8; N], DepositError> {
    let bad = DepositError::BadField {
        index,
        field: name,
        expected_len: N,
    };
    from_eth_hex(text)
        .ok()
        .and_then(|v| <[u8; N]>::try_from(v).ok())
        .ok_or(bad)
}

/// Parses a deposit-data file (unknown keys ignored; hex with or without `0x`). Does not verify.
pub fn parse_deposit_file(bytes: &[u8]) -> Result<Vec<DepositFileEntry>, DepositError> {
    let raw: Vec<JsonEntry> = serde_json::from_slice(bytes).map_err(DepositError::Json)?;
    raw.into_iter()
        .enumerate()
        .map(|(i, e)| {
            Ok(DepositFileEntry {
                deposit: DepositData {
                    pubkey: field(i, "pubkey", &e.pubkey)?,
                    withdrawal_credentials: field(
                        i,
                        "withdrawal_credentials",
                        &e.withdrawal_credentials,
                    )?,
                    amount: e.amount,
                    signature: field(i, "signature", &e.signature)?,
                },
                deposit_message_root: field(i, "deposit_message_root", &e.deposit_message_root)?,
                deposit_data_root: field(i, "deposit_data_root", &e.deposit_data_root)?,
                fork_version: field(i, "fork_version", &e.fork_version)?,
                network_name: e.network_name,
                deposit_cli_version: e.deposit_cli_version,
            })
        })
        .collect()
}

impl DepositFileEntry {
    /// Recomputes both roots, checks `fork_version`/`network_name` agree (and match
    /// `expected`, if given), then verifies the deposit itself. Returns the network.
    pub fn verify(
        &self,
        index: usize,
        expected: Option<&Network>,
    ) -> Result<&'static Network, DepositError> {
        let computed = self.deposit.message_root();
        if computed != self.deposit_message_root {
            return Err(DepositError::RootMismatch {
                index,
                field: "deposit_message_root",
                computed,
            });
        }
        let computed = self.deposit.root();
        if computed != self.deposit_data_root {
            return Err(DepositError::RootMismatch {
                index,
                field: "deposit_data_root",
                computed,
            });
        }
        let net = network::by_fork_version(&self.fork_version)
            .map_err(|source| DepositError::UnknownNetwork { index, source })?;
        let named = network::by_name(&self.network_name).ok();
        if named != Some(net) {
            return Err(DepositError::NetworkMismatch {
                index,
                found: self.network_name.clone(),
                expected: net.name,
            });
        }
        if let Some(exp) = expected.filter(|e| *e != net) {
            return Err(DepositError::NetworkMismatch {
                index,
                found: self.network_name.clone(),
                expected: exp.name,
            });
        }
        self.deposit.verify(net, index)?;
        Ok(net)
    }
}

/// Parses a file and verifies every entry (see [`DepositFileEntry::verify`]).
pub fn verify_deposit_file(
    bytes: &[u8],
    expected: Option<&Network>,
) -> Result<Vec<DepositFileEntry>, DepositError> {
    let entries = parse_deposit_file(bytes)?;
    for (i, e) in entries.iter().enumerate() {
        e.verify(i, expected)?;
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{GOERLI, HOODI};
    use crate::signing::withdrawal_credentials;

    #[test]
    fn names_and_eth_text() {
        assert_eq!(deposit_file_name(32 * GWEI_PER_ETH), "deposit-data.json");
        assert_eq!(deposit_file_name(GWEI_PER_ETH), "deposit-data-1eth.json");
        assert_eq!(
            deposit_file_name(16_500_000_000),
            "deposit-data-16.5eth.json"
        );
        assert_eq!(
            deposit_file_name(256 * GWEI_PER_ETH),
            "deposit-data-256eth.json"
        );
        assert_eq!(format_eth(1_000_000_001), "1.000000001");
        assert_eq!(format_eth(31_250_000_000), "31.25");
    }

    fn key(b: u8) -> BlsSecretKey {
        BlsSecretKey::from_bytes(&[b; 32]).unwrap()
    }

    #[test]
    fn write_parse_verify_round_trip() {
        let wc = withdrawal_credentials(&[0x11; 20], false);
        let deps = vec![
            sign_deposit(&key(1), wc, GWEI_PER_ETH, &HOODI),
            sign_deposit(&key(2), wc, GWEI_PER_ETH, &HOODI),
            sign_deposit(&key(2), wc, 32 * GWEI_PER_ETH, &HOODI),
        ];
        let files = deposit_files(&deps, &HOODI).unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].name, "deposit-data-1eth.json");
        assert_eq!(files[1].name, "deposit-data.json");
        let entries = verify_deposit_file(&files[0].contents, Some(&HOODI)).unwrap();
        assert_eq!(entries.len(), 2);
        assert!(entries[0].deposit.pubkey < entries[1].deposit.pubkey);
        assert!(matches!(
            verify_deposit_file(&files[0].contents, Some(&GOERLI)),
            Err(DepositError::NetworkMismatch { .. })
        ));
    }

    #[test]
    fn writer_rejects_bad_input() {
        let wc = withdrawal_credentials(&[0x11; 20], false);
        let good = sign_deposit(&key(1), wc, GWEI_PER_ETH, &HOODI);
        // Signed for another network.
        assert!(matches!(
            deposit_file_json(std::slice::from_ref(&good), &GOERLI),
            Err(DepositError::BadSignature { index: 0, .. })
        ));
        let mut big = sign_deposit(&key(1), wc, 33 * GWEI_PER_ETH, &HOODI);
        assert!(matches!(
            deposit_file_json(std::slice::from_ref(&big), &HOODI),
            Err(DepositError::AmountOutOfRange { .. })
        ));
        big.withdrawal_credentials[5] = 1;
        assert!(matches!(
            big.verify(&HOODI, 3),
            Err(DepositError::BadWithdrawalCredentials { index: 3 })
        ));
        let other = sign_deposit(&key(2), wc, 2 * GWEI_PER_ETH, &HOODI);
        assert!(matches!(
            deposit_file_json(&[good, other], &HOODI),
            Err(DepositError::MixedAmounts { index: 1, .. })
        ));
        assert!(matches!(
            deposit_file_json(&[], &HOODI),
            Err(DepositError::Empty)
        ));
    }

    #[test]
    fn parser_rejects_malformed() {
        assert!(matches!(
            parse_deposit_file(b"{}"),
            Err(DepositError::Json(_))
        ));
        assert!(matches!(
            parse_deposit_file(b"[1]"),
            Err(DepositError::Json(_))
        ));
        let wc = withdrawal_credentials(&[0x11; 20], true);
        let d = sign_deposit(&key(1), wc, GWEI_PER_ETH, &HOODI);
        let text = String::from_utf8(deposit_file_json(&[d], &HOODI).unwrap()).unwrap();
        let short = text.replacen(
            "\"fork_version\": \"10000910\"",
            "\"fork_version\": \"100009\"",
            1,
        );
        assert!(matches!(
            parse_deposit_file(short.as_bytes()),
            Err(DepositError::BadField {
                field: "fork_version",
                ..
            })
        ));
        let renamed = text.replacen("\"hoodi\"", "\"mainnet\"", 1);
        assert!(matches!(
            verify_deposit_file(renamed.as_bytes(), None),
            Err(DepositError::NetworkMismatch { .. })
        ));
    }
}
