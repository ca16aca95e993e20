//! Parts of a definition: addresses, operators, the creator and per-validator addresses
//! (formats.md §2.2, §2.3).

use crate::error::FieldProblem;
use crate::json::from_eth_hex;
use std::fmt;

/// An Ethereum address as it appears in a definition: the exact JSON text (checksum case kept
/// byte-for-byte, formats.md §1.1) plus its decoded 20 bytes. The empty string means "no address"
/// and hashes as 20 zero bytes.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Address {
    text: String,
    bytes: Option<[u8; 20]>,
}

impl Address {
    /// Parses an address string: `""`, or 20 bytes of hex with an optional `0x` (either case).
    pub fn parse(text: &str) -> Result<Address, FieldProblem> {
        if text.is_empty() {
            return Ok(Address::default());
        }
        let raw = from_eth_hex(text).map_err(FieldProblem::BadHex)?;
        let bytes: [u8; 20] = raw
            .as_slice()
            .try_into()
            .map_err(|_| FieldProblem::BadAddress { found: raw.len() })?;
        Ok(Address {
            text: text.to_string(),
            bytes: Some(bytes),
        })
    }

    /// An address from bytes, written as lower-case `0x`-hex.
    pub fn from_bytes(bytes: [u8; 20]) -> Address {
        Address {
            text: format!("0x{}", hex::encode(bytes)),
            bytes: Some(bytes),
        }
    }

    /// The empty address (`""`).
    pub fn empty() -> Address {
        Address::default()
    }

    /// The exact text, as read or as it will be written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The 20 address bytes, or `None` for the empty address.
    pub fn bytes(&self) -> Option<[u8; 20]> {
        self.bytes
    }

    /// The bytes as hashed: the address, or 20 zero bytes when empty.
    pub fn hash_bytes(&self) -> [u8; 20] {
        self.bytes.unwrap_or([0; 20])
    }

    /// Whether this is the empty address.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_none()
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({:?})", self.text)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// One operator of the cluster (formats.md §2.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Operator {
    /// The operator's wallet address (may be empty for unsigned operators).
    pub address: Address,
    /// The operator's charon ENR, verbatim (`enr:…`), possibly empty.
    pub enr: String,
    /// EIP-712 signature over the config hash: empty, 65 bytes `r‖s‖v`, or (v1.11 only)
    /// k × 65 bytes for a multi-signature wallet. See [`signatures`].
    pub config_signature: Vec<u8>,
    /// EIP-712 signature over the ENR; same encoding as `config_signature`.
    pub enr_signature: Vec<u8>,
    /// The `nonce` of v1.0/v1.1 files (hashed there; ignored by later versions).
    pub nonce: u64,
}

impl Operator {
    /// Whether neither signature is present (formats.md §2.5 "unsigned operator").
    pub fn is_unsigned(&self) -> bool {
        self.config_signature.is_empty() && self.enr_signature.is_empty()
    }
}

/// The cluster creator (v1.4+, formats.md §2.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Creator {
    /// The creator's wallet address (may be empty).
    pub address: Address,
    /// EIP-712 `CreatorConfigHash` signature; same encoding as [`Operator::config_signature`].
    pub config_signature: Vec<u8>,
}

/// Per-validator addresses (v1.5+ `validators[]`; the single top-level pair before v1.5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValidatorAddresses {
    /// Execution-layer fee recipient.
    pub fee_recipient_address: Address,
    /// Withdrawal address (becomes the withdrawal credentials).
    pub withdrawal_address: Address,
}

/// Splits a signature field into its 65-byte `r‖s‖v` pieces (one for an EOA signature, k for a
/// v1.11 multi-signature). Returns `None` if the length is not a multiple of 65.
pub fn signatures(sig: &[u8]) -> Option<impl Iterator<Item = &[u8; 65]>> {
    let pieces = sig.chunks_exact(65);
    if !pieces.remainder().is_empty() {
        return None;
    }
    Some(pieces.filter_map(|c| <&[u8; 65]>::try_from(c).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_keeps_text_and_decodes() {
        let a = Address::parse("0x52fDFc072182654f163f5f0f9a621d729566c74D").unwrap();
        assert_eq!(a.as_str(), "0x52fDFc072182654f163f5f0f9a621d729566c74D");
        assert_eq!(a.bytes().unwrap()[0], 0x52);
        assert!(Address::parse("").unwrap().is_empty());
        assert_eq!(Address::empty().hash_bytes(), [0; 20]);
        assert!(matches!(
            Address::parse("0x1234"),
            Err(FieldProblem::BadAddress { found: 2 })
        ));
        assert!(matches!(
            Address::parse("0xzz"),
            Err(FieldProblem::BadHex(_))
        ));
        assert_eq!(
            Address::from_bytes([0xab; 20]).as_str(),
            format!("0x{}", "ab".repeat(20))
        );
    }

    #[test]
    fn signature_pieces() {
        assert_eq!(signatures(&[0; 130]).map(|i| i.count()), Some(2));
        assert_eq!(signatures(&[]).map(|i| i.count()), Some(0));
        assert!(signatures(&[0; 64]).is_none());
    }
}
