//! Ethereum Node Records (EIP-778, identity scheme "v4") exactly as charon reads and writes
//! them (formats.md §5.2), and libp2p peer IDs (§5.3).
//!
//! ```text
//! text   = "enr:" ‖ base64url-nopad(RLP([sig64, seq, k1, v1, k2, v2, …]))
//! sig64  = r ‖ s of secp256k1_sign(keccak256(RLP([seq, k1, v1, …])))
//! ```
//!
//! Parsing is exactly as lenient as charon: trailing `=` padding is stripped, the sequence
//! number, key order and unknown keys are not validated, `id` (if present) must be `v4`, and
//! `secp256k1` is required. Records charon creates hold only `id` and `secp256k1`, with the
//! sequence number 0 encoded as the empty byte string; [`Enr::create`] reproduces them byte
//! for byte (RFC 6979 signatures are deterministic).

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use dkgd_crypto::k1::{keccak256, K1Error, K1PublicKey, K1SecretKey};

mod peer_id;
mod rlp;

pub use peer_id::{PeerId, PeerIdError};
pub use rlp::RlpError;

/// Text prefix of every ENR.
pub const PREFIX: &str = "enr:";

const KEY_ID: &[u8] = b"id";
const KEY_SECP256K1: &[u8] = b"secp256k1";
const KEY_IP: &[u8] = b"ip";
const KEY_TCP: &[u8] = b"tcp";
const KEY_UDP: &[u8] = b"udp";
const ID_V4: &[u8] = b"v4";

/// URL-safe base64 without padding; like Go's `RawURLEncoding` it tolerates non-zero
/// trailing bits.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// Why an ENR text was rejected. Each message says what charon expects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnrError {
    /// The text does not start with `enr:`.
    #[error("ENR must start with \"enr:\" (got {0:?})")]
    MissingPrefix(String),
    /// A URL-style placeholder such as `enr://…` (found in charon test data), not a record.
    #[error(
        "\"enr://…\" is a placeholder, not an EIP-778 record: expected \"enr:\" followed by \
         URL-safe base64 (e.g. enr:-HW4Q…)"
    )]
    Placeholder,
    /// The text after `enr:` is not URL-safe base64.
    #[error("ENR text after \"enr:\" is not URL-safe base64: {0}")]
    BadBase64(base64::DecodeError),
    /// The decoded bytes are not an RLP list of byte strings.
    #[error("ENR is not valid RLP: {0}")]
    BadRlp(RlpError),
    /// Fewer than 4 RLP items (signature, sequence number, one key/value pair).
    #[error("ENR has {0} RLP items; at least 4 are needed (signature, seq, key, value)")]
    TooFewItems(usize),
    /// Keys and values do not pair up.
    #[error("ENR has an odd number of RLP items ({0}); keys and values must pair up")]
    OddItemCount(usize),
    /// The same key appears twice.
    #[error("ENR key {0:?} appears more than once")]
    DuplicateKey(String),
    /// No `secp256k1` key.
    #[error("ENR has no \"secp256k1\" public key")]
    MissingSecp256k1,
    /// The `secp256k1` value is not a valid key.
    #[error("ENR \"secp256k1\" value is invalid: {0}")]
    BadPublicKey(K1Error),
    /// The identity scheme is not `v4`.
    #[error("ENR identity scheme {0:?} is not supported (only \"v4\")")]
    BadId(String),
    /// The record signature is malformed or does not verify under its own key.
    #[error("ENR signature is invalid: {0}")]
    BadSignature(K1Error),
}

/// A parsed (signature-verified) or freshly created ENR.
#[derive(Clone, PartialEq, Eq)]
pub struct Enr {
    text: String,
    signature: Vec<u8>,
    seq: Vec<u8>,
    pairs: Vec<(Vec<u8>, Vec<u8>)>,
    public_key: K1PublicKey,
}

impl Enr {
    /// Parses and verifies ENR text (charon's rules, formats.md §5.2; charon `eth2util/enr`).
    pub fn parse(text: &str) -> Result<Self, EnrError> {
        let body = text
            .strip_prefix(PREFIX)
            .ok_or_else(|| EnrError::MissingPrefix(text.chars().take(16).collect()))?;
        if body.starts_with("//") {
            return Err(EnrError::Placeholder);
        }
        // Go's base64 decoder skips CR/LF; older charon wrote padded base64.
        let body: String = body.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
        let raw = BASE64
            .decode(body.trim_end_matches('='))
            .map_err(EnrError::BadBase64)?;
        let items = rlp::decode_list(&raw).map_err(EnrError::BadRlp)?;
        if items.len() < 4 {
            return Err(EnrError::TooFewItems(items.len()));
        }
        if items.len() % 2 != 0 {
            return Err(EnrError::OddItemCount(items.len()));
        }
        let (signature, seq, kvs) = match items.as_slice() {
            [sig, seq, rest @ ..] => (*sig, *seq, rest),
            _ => return Err(EnrError::TooFewItems(items.len())),
        };
        let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(kvs.len() / 2);
        let mut public_key = None;
        for pair in kvs.chunks_exact(2) {
            let [key, value] = pair else { continue };
            if pairs.iter().any(|(k, _)| k == key) {
                return Err(EnrError::DuplicateKey(lossy(key)));
            }
            match *key {
                KEY_SECP256K1 => {
                    public_key =
                        Some(K1PublicKey::from_sec1(value).map_err(EnrError::BadPublicKey)?);
                }
                KEY_ID if *value != ID_V4 => return Err(EnrError::BadId(lossy(value))),
                _ => {}
            }
            pairs.push((key.to_vec(), value.to_vec()));
        }
        let public_key = public_key.ok_or(EnrError::MissingSecp256k1)?;
        let signature = signature.to_vec();
        let enr = Self {
            text: text.to_string(),
            signature,
            seq: seq.to_vec(),
            pairs,
            public_key,
        };
        enr.verify_signature()?;
        Ok(enr)
    }

    /// The record charon creates for an identity key: `id = v4`, `secp256k1 = key`, seq 0.
    pub fn create(key: &K1SecretKey) -> Self {
        Self::create_with(key, None, None, None)
    }

    /// A record with optional `ip`, `tcp` and `udp` entries (as relays publish), seq 0.
    pub fn create_with(
        key: &K1SecretKey,
        ip: Option<Ipv4Addr>,
        tcp: Option<u16>,
        udp: Option<u16>,
    ) -> Self {
        let public_key = key.public_key();
        let mut pairs = vec![
            (KEY_ID.to_vec(), ID_V4.to_vec()),
            (KEY_SECP256K1.to_vec(), public_key.to_compressed().to_vec()),
        ];
        if let Some(ip) = ip {
            pairs.push((KEY_IP.to_vec(), ip.octets().to_vec()));
        }
        for (k, port) in [(KEY_TCP, tcp), (KEY_UDP, udp)] {
            if let Some(p) = port {
                pairs.push((k.to_vec(), minimal_be(u64::from(p))));
            }
        }
        pairs.sort();
        let mut enr = Self {
            text: String::new(),
            signature: Vec::new(),
            seq: Vec::new(),
            pairs,
            public_key,
        };
        let digest = keccak256(&enr.content_rlp());
        let sig = key.sign_digest(&digest);
        enr.signature = sig.get(..64).map(<[u8]>::to_vec).unwrap_or_default();
        let record = rlp::encode_list(
            [enr.signature.as_slice(), enr.seq.as_slice()]
                .into_iter()
                .chain(
                    enr.pairs
                        .iter()
                        .flat_map(|(k, v)| [k.as_slice(), v.as_slice()]),
                ),
        );
        enr.text = format!("{PREFIX}{}", BASE64.encode(record));
        enr
    }

    /// RLP of `[seq, k1, v1, …]` — the signed content.
    fn content_rlp(&self) -> Vec<u8> {
        rlp::encode_list(
            std::iter::once(self.seq.as_slice()).chain(
                self.pairs
                    .iter()
                    .flat_map(|(k, v)| [k.as_slice(), v.as_slice()]),
            ),
        )
    }

    fn verify_signature(&self) -> Result<(), EnrError> {
        if self.signature.len() != 64 {
            return Err(EnrError::BadSignature(K1Error::SignatureLength {
                expected: 64,
                actual: self.signature.len(),
            }));
        }
        let digest = keccak256(&self.content_rlp());
        self.public_key
            .verify_digest(&digest, &self.signature)
            .map_err(EnrError::BadSignature)
    }

    /// The ENR text: exactly as parsed (it is hashed verbatim in definitions), or the
    /// canonical text of a created record.
    pub fn to_text(&self) -> &str {
        &self.text
    }

    /// The record's secp256k1 identity key.
    pub fn public_key(&self) -> K1PublicKey {
        self.public_key
    }

    /// The libp2p peer ID of the identity key.
    pub fn peer_id(&self) -> PeerId {
        PeerId::from_public_key(&self.public_key)
    }

    /// The raw value stored under `key`, if present.
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.pairs
            .iter()
            .find(|(k, _)| k.as_slice() == key.as_bytes())
            .map(|(_, v)| v.as_slice())
    }

    /// The sequence number, if it fits a `u64` (charon always writes 0).
    pub fn seq(&self) -> Option<u64> {
        be_u64(&self.seq)
    }

    /// The IPv4 address (`ip`), if present and 4 bytes long.
    pub fn ip(&self) -> Option<Ipv4Addr> {
        let b: [u8; 4] = self.get("ip")?.try_into().ok()?;
        Some(Ipv4Addr::from(b))
    }

    /// The TCP port (`tcp`), if present and a valid port.
    pub fn tcp(&self) -> Option<u16> {
        be_u64(self.get("tcp")?).and_then(|p| u16::try_from(p).ok())
    }

    /// The UDP port (`udp`), if present and a valid port.
    pub fn udp(&self) -> Option<u16> {
        be_u64(self.get("udp")?).and_then(|p| u16::try_from(p).ok())
    }
}

impl fmt::Display for Enr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Enr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Enr")
            .field("text", &self.text)
            .field("peer_id", &self.peer_id())
            .finish()
    }
}

impl FromStr for Enr {
    type Err = EnrError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Big-endian without leading zeros (0 → empty), as charon encodes integers in records.
fn minimal_be(v: u64) -> Vec<u8> {
    let be = v.to_be_bytes();
    let skip = be.iter().take_while(|&&b| b == 0).count();
    be.get(skip..).map(<[u8]>::to_vec).unwrap_or_default()
}

fn be_u64(bytes: &[u8]) -> Option<u64> {
    if bytes.len() > 8 {
        return None;
    }
    Some(bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> K1SecretKey {
        K1SecretKey::from_bytes(&[b; 32]).unwrap()
    }

    #[test]
    fn create_parse_round_trip() {
        let sk = key(9);
        let enr = Enr::create(&sk);
        assert!(enr.to_text().starts_with("enr:-HW4Q"), "{enr}");
        let parsed = Enr::parse(enr.to_text()).unwrap();
        assert_eq!(parsed, enr);
        assert_eq!(parsed.public_key(), sk.public_key());
        assert_eq!(parsed.seq(), Some(0));
        assert_eq!(parsed.get("id"), Some(&b"v4"[..]));
        assert_eq!(parsed.ip(), None);
    }

    #[test]
    fn create_with_ports() {
        let enr = Enr::create_with(
            &key(5),
            Some(Ipv4Addr::new(127, 0, 0, 1)),
            Some(3610),
            Some(0),
        );
        let p = Enr::parse(enr.to_text()).unwrap();
        assert_eq!(p.ip(), Some(Ipv4Addr::LOCALHOST));
        assert_eq!(p.tcp(), Some(3610));
        assert_eq!(p.udp(), Some(0));
        assert_eq!(p.get("udp"), Some(&[][..]));
    }

    #[test]
    fn padded_text_is_accepted() {
        let enr = Enr::create(&key(3));
        let padded = format!("{}=", enr.to_text());
        assert_eq!(Enr::parse(&padded).unwrap().public_key(), enr.public_key());
    }

    fn record(items: &[&[u8]]) -> String {
        format!(
            "{PREFIX}{}",
            BASE64.encode(rlp::encode_list(items.iter().copied()))
        )
    }

    #[test]
    fn typed_errors() {
        let sk = key(4);
        let pk = sk.public_key().to_compressed();
        let sig = [1u8; 64];
        assert!(matches!(
            Enr::parse("-HW4Q"),
            Err(EnrError::MissingPrefix(_))
        ));
        assert_eq!(Enr::parse("enr://b0223b"), Err(EnrError::Placeholder));
        assert!(matches!(Enr::parse("enr:***"), Err(EnrError::BadBase64(_))));
        assert!(matches!(Enr::parse("enr:gg"), Err(EnrError::BadRlp(_))));
        assert_eq!(
            Enr::parse(&record(&[&sig, b"", b"secp256k1"])),
            Err(EnrError::TooFewItems(3))
        );
        assert_eq!(
            Enr::parse(&record(&[&sig, b"", b"id", b"v4", b"x"])),
            Err(EnrError::OddItemCount(5))
        );
        assert_eq!(
            Enr::parse(&record(&[&sig, b"", b"id", b"v4", b"id", b"v4"])),
            Err(EnrError::DuplicateKey("id".into()))
        );
        assert_eq!(
            Enr::parse(&record(&[&sig, b"", b"id", b"v4"])),
            Err(EnrError::MissingSecp256k1)
        );
        assert_eq!(
            Enr::parse(&record(&[&sig, b"", b"id", b"v5", b"secp256k1", &pk])),
            Err(EnrError::BadId("v5".into()))
        );
        assert!(matches!(
            Enr::parse(&record(&[&sig, b"", b"secp256k1", &pk[..32]])),
            Err(EnrError::BadPublicKey(_))
        ));
        assert!(matches!(
            Enr::parse(&record(&[&sig, b"", b"secp256k1", &pk])),
            Err(EnrError::BadSignature(_))
        ));
        assert!(matches!(
            Enr::parse(&record(&[&sig[..63], b"", b"secp256k1", &pk])),
            Err(EnrError::BadSignature(K1Error::SignatureLength { .. }))
        ));
    }

    #[test]
    fn signature_covers_every_field() {
        let good = Enr::create_with(&key(6), None, Some(1), None);
        let raw = BASE64.decode(&good.to_text()[4..]).unwrap();
        // Flip a bit in the last byte (inside the tcp value) and re-encode.
        let mut bad = raw.clone();
        if let Some(last) = bad.last_mut() {
            *last ^= 0x02;
        }
        let text = format!("{PREFIX}{}", BASE64.encode(bad));
        assert!(matches!(Enr::parse(&text), Err(EnrError::BadSignature(_))));
    }
}
