//! EIP-712 digests of operator and creator signatures, and their offline verification
//! (formats.md §4).
//!
//! charon uses a deliberately tiny slice of EIP-712: the domain `{name "Obol", version "1",
//! chainId}` and one-field message types whose only field is a `string`. The config hash is
//! signed as its **0x-hex text** (66 characters), not as 32 raw bytes.
//!
//! ```text
//! digest     = keccak256(0x19 0x01 ‖ domainSeparator ‖ hashStruct(message))
//! hashStruct = keccak256(typeHash ‖ keccak256(utf8(value)))
//! ```
//!
//! [`check_signature`] classifies a signature offline as [`SigCheck::Valid`],
//! [`SigCheck::Invalid`] or [`SigCheck::NotVerifiableOffline`]: smart-contract (ERC-1271,
//! e.g. Safe) signers can only be checked by calling the contract through an execution client.

use std::fmt;

use dkgd_crypto::k1::{eip55_checksum, keccak256, recover_digest, K1Error};

use crate::network::{self, NetworkError};

/// EIP-712 domain name used by Obol.
pub const DOMAIN_NAME: &str = "Obol";
/// EIP-712 domain version used by Obol.
pub const DOMAIN_VERSION: &str = "1";
/// Type string of the domain with a chain id.
pub const DOMAIN_TYPE: &str = "EIP712Domain(string name,string version,uint256 chainId)";
/// Type string of the chain-less domain used only for the terms-and-conditions signature.
pub const DOMAIN_TYPE_NO_CHAIN: &str = "EIP712Domain(string name,string version)";
/// The terms-and-conditions hash the Obol API asks creators to sign (version 1).
pub const TERMS_AND_CONDITIONS_HASH: &str =
    "0xd33721644e8f3afab1495a74abe3523cec12d48b8da6cb760972492ca3f1a273";

/// The message types charon signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageType {
    /// Operator `config_signature` of v1.3 definitions: `ConfigHash(string config_hash)`.
    ConfigHash,
    /// Operator `config_signature` from v1.4: `OperatorConfigHash(string operator_config_hash)`.
    OperatorConfigHash,
    /// Creator `config_signature` from v1.4: `CreatorConfigHash(string creator_config_hash)`.
    CreatorConfigHash,
    /// Operator `enr_signature` from v1.3: `ENR(string enr)`.
    Enr,
}

impl MessageType {
    /// The EIP-712 type string.
    pub fn type_string(self) -> &'static str {
        match self {
            Self::ConfigHash => "ConfigHash(string config_hash)",
            Self::OperatorConfigHash => "OperatorConfigHash(string operator_config_hash)",
            Self::CreatorConfigHash => "CreatorConfigHash(string creator_config_hash)",
            Self::Enr => "ENR(string enr)",
        }
    }

    /// `keccak256(type string)`.
    pub fn type_hash(self) -> [u8; 32] {
        keccak256(self.type_string().as_bytes())
    }
}

/// `uint256` encoding of a chain id.
fn uint256(v: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[24..].copy_from_slice(&v.to_be_bytes());
    out
}

/// `hashStruct(EIP712Domain{name: "Obol", version: "1", chainId})`.
pub fn domain_separator(chain_id: u64) -> [u8; 32] {
    let mut buf = Vec::with_capacity(32 * 4);
    buf.extend_from_slice(&keccak256(DOMAIN_TYPE.as_bytes()));
    buf.extend_from_slice(&keccak256(DOMAIN_NAME.as_bytes()));
    buf.extend_from_slice(&keccak256(DOMAIN_VERSION.as_bytes()));
    buf.extend_from_slice(&uint256(chain_id));
    keccak256(&buf)
}

/// `hashStruct(message)` for a one-string-field message.
pub fn hash_struct(ty: MessageType, value: &str) -> [u8; 32] {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(&ty.type_hash());
    buf[32..].copy_from_slice(&keccak256(value.as_bytes()));
    keccak256(&buf)
}

fn final_digest(domain: &[u8; 32], message: &[u8; 32]) -> [u8; 32] {
    let mut buf = [0u8; 66];
    buf[..2].copy_from_slice(&[0x19, 0x01]);
    buf[2..34].copy_from_slice(domain);
    buf[34..].copy_from_slice(message);
    keccak256(&buf)
}

/// The EIP-712 digest of `value` as message type `ty` on chain `chain_id`.
pub fn digest(chain_id: u64, ty: MessageType, value: &str) -> [u8; 32] {
    final_digest(&domain_separator(chain_id), &hash_struct(ty, value))
}

/// The chain id EIP-712 uses for a definition's genesis `fork_version` (pitfall §11.2).
pub fn chain_id(fork_version: &[u8; 4]) -> Result<u64, NetworkError> {
    network::by_fork_version(fork_version).map(|n| n.chain_id)
}

fn config_hash_text(config_hash: &[u8; 32]) -> String {
    format!("0x{}", hex::encode(config_hash))
}

/// Digest of an operator's `config_signature`. `version` is the definition version string:
/// `"v1.3.0"` uses the `ConfigHash` type, later versions `OperatorConfigHash`.
pub fn operator_config_hash_digest(
    version: &str,
    chain_id: u64,
    config_hash: &[u8; 32],
) -> [u8; 32] {
    let ty = if version == "v1.3.0" {
        MessageType::ConfigHash
    } else {
        MessageType::OperatorConfigHash
    };
    digest(chain_id, ty, &config_hash_text(config_hash))
}

/// Digest of an operator's `enr_signature` (the ENR string exactly as in the JSON).
pub fn enr_digest(chain_id: u64, enr: &str) -> [u8; 32] {
    digest(chain_id, MessageType::Enr, enr)
}

/// Digest of the creator's `config_signature` (v1.4+).
pub fn creator_config_hash_digest(chain_id: u64, config_hash: &[u8; 32]) -> [u8; 32] {
    digest(
        chain_id,
        MessageType::CreatorConfigHash,
        &config_hash_text(config_hash),
    )
}

/// Digest of the Obol API's terms-and-conditions signature: type
/// `TermsAndConditions(string terms_and_conditions_hash,uint256 version)` under a domain
/// **without** `chainId`. (Unverified against golden data, formats.md §12.)
pub fn terms_and_conditions_digest(terms_hash: &str, version: u64) -> [u8; 32] {
    let mut dom = Vec::with_capacity(96);
    dom.extend_from_slice(&keccak256(DOMAIN_TYPE_NO_CHAIN.as_bytes()));
    dom.extend_from_slice(&keccak256(DOMAIN_NAME.as_bytes()));
    dom.extend_from_slice(&keccak256(DOMAIN_VERSION.as_bytes()));
    let domain = keccak256(&dom);
    let mut msg = Vec::with_capacity(96);
    msg.extend_from_slice(&keccak256(
        b"TermsAndConditions(string terms_and_conditions_hash,uint256 version)",
    ));
    msg.extend_from_slice(&keccak256(terms_hash.as_bytes()));
    msg.extend_from_slice(&uint256(version));
    final_digest(&domain, &keccak256(&msg))
}

/// An Ethereum address, displayed with its EIP-55 checksum.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Address(pub [u8; 20]);

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&eip55_checksum(&self.0))
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

/// Why a signature is definitely not a valid EOA signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SigInvalid {
    /// No signature bytes at all (callers normally handle "unsigned" before checking).
    #[error("signature for {address} is empty")]
    Empty {
        /// The stated signer.
        address: Address,
    },
    /// A well-formed 65-byte signature by some other key.
    #[error(
        "not a valid EOA signature for {address} (it recovers to {recovered}); if {address} is \
         a smart-contract wallet (e.g. a Safe), its signature can only be verified with an \
         execution client (ERC-1271)"
    )]
    WrongSigner {
        /// The stated signer.
        address: Address,
        /// The address the signature recovers to.
        recovered: Address,
    },
    /// 65 bytes from which no key can be recovered (bad `v`, `r` or `s`).
    #[error(
        "not a valid EOA signature for {address} ({cause}); if {address} is a smart-contract \
         wallet (e.g. a Safe), its signature can only be verified with an execution client \
         (ERC-1271)"
    )]
    Unrecoverable {
        /// The stated signer.
        address: Address,
        /// Why recovery failed.
        cause: K1Error,
    },
}

/// Why a signature cannot be judged without an execution client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotVerifiable {
    /// Not 65 bytes: a contract (ERC-1271) signature, e.g. a concatenation of Safe owner
    /// signatures (v1.11).
    #[error(
        "{len}-byte signature for {address} is not a 65-byte EOA signature: contract \
         (ERC-1271) signer needs an execution client to verify it"
    )]
    ContractSignature {
        /// The stated signer.
        address: Address,
        /// Signature length.
        len: usize,
    },
}

/// Outcome of an offline EIP-712 signature check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum SigCheck {
    /// A 65-byte signature that recovers to the stated address.
    Valid,
    /// Not a valid EOA signature (the message explains the ERC-1271 possibility).
    Invalid(SigInvalid),
    /// A contract signature; only an execution client (`isValidSignature`) can decide.
    NotVerifiableOffline(NotVerifiable),
}

impl SigCheck {
    /// Whether the check succeeded.
    pub fn is_valid(&self) -> bool {
        matches!(self, Self::Valid)
    }
}

impl fmt::Display for SigCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Valid => f.write_str("valid EOA signature"),
            Self::Invalid(e) => e.fmt(f),
            Self::NotVerifiableOffline(e) => e.fmt(f),
        }
    }
}

/// Checks `sig` over `digest` against the stated signer `address`, offline.
///
/// * 65 bytes recovering to `address` (v ∈ {0, 1, 27, 28}) → [`SigCheck::Valid`];
/// * 65 bytes recovering elsewhere, or not recoverable → [`SigCheck::Invalid`] (charon would
///   next ask the address's contract, so the message says so);
/// * any other non-empty length → [`SigCheck::NotVerifiableOffline`]. Only v1.11 allows such
///   signatures; callers reject them for earlier versions before calling this;
/// * empty → [`SigInvalid::Empty`].
pub fn check_signature(digest: &[u8; 32], address: &[u8; 20], sig: &[u8]) -> SigCheck {
    let address = Address(*address);
    match sig.len() {
        0 => SigCheck::Invalid(SigInvalid::Empty { address }),
        65 => match recover_digest(digest, sig) {
            Ok(key) if key.eth_address() == address.0 => SigCheck::Valid,
            Ok(key) => SigCheck::Invalid(SigInvalid::WrongSigner {
                address,
                recovered: Address(key.eth_address()),
            }),
            Err(cause) => SigCheck::Invalid(SigInvalid::Unrecoverable { address, cause }),
        },
        len => SigCheck::NotVerifiableOffline(NotVerifiable::ContractSignature { address, len }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dkgd_crypto::k1::K1SecretKey;

    #[test]
    fn classifies_signatures() {
        let sk = K1SecretKey::from_bytes(&[5; 32]).unwrap();
        let other = K1SecretKey::from_bytes(&[6; 32]).unwrap();
        let addr = sk.public_key().eth_address();
        let d = creator_config_hash_digest(1, &[7; 32]);
        assert_eq!(
            check_signature(&d, &addr, &sk.sign_digest(&d)),
            SigCheck::Valid
        );
        let mut wallet = sk.sign_digest(&d);
        wallet[64] += 27;
        assert!(check_signature(&d, &addr, &wallet).is_valid());

        let wrong = check_signature(&d, &addr, &other.sign_digest(&d));
        let text = wrong.to_string();
        assert!(matches!(
            wrong,
            SigCheck::Invalid(SigInvalid::WrongSigner { .. })
        ));
        assert!(text.contains(&eip55_checksum(&addr)), "{text}");
        assert!(text.contains("not a valid EOA signature"), "{text}");
        assert!(text.contains("execution client"), "{text}");

        let mut bad_v = sk.sign_digest(&d);
        bad_v[64] = 9;
        assert!(matches!(
            check_signature(&d, &addr, &bad_v),
            SigCheck::Invalid(SigInvalid::Unrecoverable { .. })
        ));

        let multi = [sk.sign_digest(&d), other.sign_digest(&d)].concat();
        let nv = check_signature(&d, &addr, &multi);
        assert!(matches!(
            nv,
            SigCheck::NotVerifiableOffline(NotVerifiable::ContractSignature { len: 130, .. })
        ));
        assert!(nv
            .to_string()
            .contains("contract (ERC-1271) signer needs an execution client"));
        assert!(matches!(
            check_signature(&d, &addr, &[]),
            SigCheck::Invalid(SigInvalid::Empty { .. })
        ));
    }

    #[test]
    fn version_selects_type() {
        let h = [1u8; 32];
        assert_eq!(
            operator_config_hash_digest("v1.3.0", 5, &h),
            digest(5, MessageType::ConfigHash, &config_hash_text(&h))
        );
        assert_eq!(
            operator_config_hash_digest("v1.10.0", 5, &h),
            digest(5, MessageType::OperatorConfigHash, &config_hash_text(&h))
        );
        assert_eq!(config_hash_text(&h).len(), 66);
        assert_eq!(chain_id(&[0x10, 0, 9, 0x10]).unwrap(), 560_048);
        assert!(chain_id(&[9, 9, 9, 9]).is_err());
    }
}
