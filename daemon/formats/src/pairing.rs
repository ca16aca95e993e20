//! Pairing codes: one short, typo-proof text naming one cluster invite.
//!
//! A code is bech32m (BIP-350) with human-readable part `dkg` over 37 bytes:
//!
//! ```text
//!  [ format = 0x01 ][ genesis fork version (4) ][ config_hash (32) ]   → dkg1… (70 characters)
//! ```
//!
//! The checksum catches any one to four mistyped characters, so a typo is reported as a typo
//! instead of becoming a fetch of some other cluster. [`parse_invite`] also takes the other
//! forms an owner may hold: a launchpad invite link (`https://hoodi.launchpad.obol.org/…
//! ?configHash=0x…`, network from the host) or a bare `0x…` config hash plus a network name.

use crate::network::{self, Network, NetworkError};
use bech32::{FromBase32, ToBase32, Variant};
use std::fmt;

/// The human-readable part of every pairing code.
pub const HRP: &str = "dkg";
/// The one payload format defined so far.
pub const FORMAT_V1: u8 = 1;
/// Payload bytes of format 1: format, fork version, config hash.
const PAYLOAD_LEN: usize = 1 + 4 + 32;
/// Longest input looked at (a launchpad link with some tracking parameters fits).
pub const MAX_INVITE_CHARS: usize = 2048;

/// One cluster invite: the network (by genesis fork version) and the definition's config hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PairingCode {
    /// The definition's `fork_version` (genesis fork version of its network).
    pub fork_version: [u8; 4],
    /// The definition's `config_hash`.
    pub config_hash: [u8; 32],
}

/// Why an invite could not be read. Every message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PairingError {
    /// Nothing was given.
    #[error("the invite is empty: enter the pairing code (dkg1…), the launchpad invite link, or a 0x config hash with a network")]
    Empty,
    /// More text than any invite.
    #[error("the invite is {0} characters long; a pairing code is 70 and a link at most {MAX_INVITE_CHARS}")]
    TooLong(usize),
    /// The checksum does not match: a character is wrong, missing or extra.
    #[error("the pairing code has a typo: its checksum does not match (check each character; codes use no 1, b, i or o after the dkg1 prefix)")]
    Checksum,
    /// Not bech32 at all (bad character, mixed case, no separator).
    #[error("not a pairing code: {0} (a code starts with dkg1 and has 70 characters)")]
    Malformed(String),
    /// A bech32 string for something else.
    #[error("not a dkgd pairing code: it starts with {0:?}, a pairing code starts with \"dkg1\"")]
    WrongPrefix(String),
    /// bech32 (BIP-173) instead of bech32m.
    #[error(
        "not a dkgd pairing code: it uses the older bech32 checksum, pairing codes use bech32m"
    )]
    WrongVariant,
    /// The payload has the wrong size.
    #[error("the pairing code carries {0} bytes, format 1 carries {PAYLOAD_LEN}: it is cut short or padded")]
    BadLength(usize),
    /// A format this version does not know.
    #[error("the pairing code has format {0}, this dkgd reads format {FORMAT_V1}: update dkgd")]
    UnknownFormat(u8),
    /// The code names a network we do not know.
    #[error("the pairing code names an unknown network: {0}")]
    Network(#[from] NetworkError),
    /// The code's network and the one the caller expects differ.
    #[error("the invite is for {invite}, but this box is set up for {expected}: use an invite for {expected}, or change the box's network")]
    NetworkMismatch {
        /// The invite's network name.
        invite: &'static str,
        /// The network given alongside.
        expected: &'static str,
    },
    /// A bare config hash without a network.
    #[error("a bare config hash does not say which network it is for: add the network (e.g. --network hoodi)")]
    NeedsNetwork,
    /// A link without a config hash in it.
    #[error("the link holds no config hash (0x followed by 64 hex digits): copy the whole invite link from the launchpad")]
    LinkWithoutHash,
    /// A 0x text that is not 32 bytes of hex.
    #[error("{0:?} is not a config hash: it must be 0x followed by 64 hex digits")]
    BadHash(String),
}

impl PairingCode {
    /// The code for a definition with `config_hash` on `network`.
    pub fn new(network: &Network, config_hash: [u8; 32]) -> Self {
        Self {
            fork_version: network.genesis_fork_version,
            config_hash,
        }
    }

    /// The network the code names.
    pub fn network(&self) -> Result<&'static Network, NetworkError> {
        network::by_fork_version(&self.fork_version)
    }

    /// The config hash as lower-case `0x`-hex (the Obol API's path segment).
    pub fn config_hash_hex(&self) -> String {
        format!("0x{}", hex::encode(self.config_hash))
    }

    /// The code as text (lower case, 70 characters).
    pub fn encode(&self) -> String {
        let mut payload = Vec::with_capacity(PAYLOAD_LEN);
        payload.push(FORMAT_V1);
        payload.extend_from_slice(&self.fork_version);
        payload.extend_from_slice(&self.config_hash);
        // Only fails for an invalid HRP, and ours is a valid constant.
        bech32::encode(HRP, payload.to_base32(), Variant::Bech32m).unwrap_or_default()
    }

    /// Reads a code (either case; surrounding whitespace ignored). The network must be known.
    pub fn decode(text: &str) -> Result<Self, PairingError> {
        let text = text.trim();
        let (hrp, data, variant) = bech32::decode(text).map_err(|e| match e {
            bech32::Error::InvalidChecksum => PairingError::Checksum,
            other => PairingError::Malformed(other.to_string()),
        })?;
        if hrp != HRP {
            return Err(PairingError::WrongPrefix(format!("{hrp}1")));
        }
        if variant != Variant::Bech32m {
            return Err(PairingError::WrongVariant);
        }
        let bytes =
            Vec::<u8>::from_base32(&data).map_err(|e| PairingError::Malformed(e.to_string()))?;
        let format = bytes.first().copied().ok_or(PairingError::BadLength(0))?;
        if format != FORMAT_V1 {
            return Err(PairingError::UnknownFormat(format));
        }
        if bytes.len() != PAYLOAD_LEN {
            return Err(PairingError::BadLength(bytes.len()));
        }
        let mut code = Self {
            fork_version: [0; 4],
            config_hash: [0; 32],
        };
        code.fork_version.copy_from_slice(&bytes[1..5]);
        code.config_hash.copy_from_slice(&bytes[5..]);
        code.network()?;
        Ok(code)
    }
}

impl fmt::Display for PairingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

/// Reads any form of invite: a pairing code, a launchpad invite link, or a bare `0x` config
/// hash. `network`, when given, is the network the caller expects: a code or link for another
/// network is refused, and a bare hash needs it.
pub fn parse_invite(text: &str, network: Option<&Network>) -> Result<PairingCode, PairingError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(PairingError::Empty);
    }
    let chars = text.chars().count();
    if chars > MAX_INVITE_CHARS {
        return Err(PairingError::TooLong(chars));
    }
    let lower = text.to_ascii_lowercase();
    let code = if lower.starts_with("https://") || lower.starts_with("http://") {
        let hash = hash_in_link(text)?;
        let net = match (network_of_host(text), network) {
            (Some(n), _) => n,
            (None, Some(n)) => n,
            (None, None) => return Err(PairingError::NeedsNetwork),
        };
        PairingCode::new(net, hash)
    } else if lower.starts_with("0x") {
        let net = network.ok_or(PairingError::NeedsNetwork)?;
        PairingCode::new(net, parse_hash(text)?)
    } else {
        PairingCode::decode(text)?
    };
    if let Some(expected) = network {
        let invite = code.network()?;
        if invite.genesis_fork_version != expected.genesis_fork_version {
            return Err(PairingError::NetworkMismatch {
                invite: invite.name,
                expected: expected.name,
            });
        }
    }
    Ok(code)
}

/// `0x` + 64 hex digits (either case) as 32 bytes.
fn parse_hash(text: &str) -> Result<[u8; 32], PairingError> {
    let bad = || PairingError::BadHash(text.chars().take(80).collect());
    let body = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .ok_or_else(bad)?;
    let mut out = [0u8; 32];
    if body.len() != 64 {
        return Err(bad());
    }
    hex::decode_to_slice(body, &mut out).map_err(|_| bad())?;
    Ok(out)
}

/// The config hash in a link: the `configHash` parameter, else the one path, query or fragment
/// part that is `0x` + 64 hex digits.
fn hash_in_link(link: &str) -> Result<[u8; 32], PairingError> {
    let parts: Vec<&str> = link
        .split(['/', '?', '#', '&', ';'])
        .filter(|p| !p.is_empty())
        .collect();
    for part in &parts {
        if let Some((key, value)) = part.split_once('=') {
            if key.eq_ignore_ascii_case("configHash") || key.eq_ignore_ascii_case("config_hash") {
                return parse_hash(value);
            }
        }
    }
    let mut found = parts.iter().filter_map(|p| {
        let value = p.split_once('=').map_or(*p, |(_, v)| v);
        (value.len() == 66 && value.get(..2).is_some_and(|x| x.eq_ignore_ascii_case("0x")))
            .then_some(value)
    });
    match found.next() {
        Some(h) => parse_hash(h),
        None => Err(PairingError::LinkWithoutHash),
    }
}

/// The network a launchpad host names: `launchpad.obol.org` is mainnet, `<net>.launchpad.…`
/// is `<net>` (`gnosischain` is gnosis). Other hosts name none.
fn network_of_host(link: &str) -> Option<&'static Network> {
    let rest = link.split_once("://")?.1;
    let host = rest
        .split(['/', '?', '#', ':'])
        .next()?
        .to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    match labels.as_slice() {
        ["launchpad", ..] => Some(&network::MAINNET),
        [net, "launchpad", ..] => {
            let name = if *net == "gnosischain" { "gnosis" } else { net };
            network::by_name(name).ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
