//! EIP-2335 JSON shapes: what charon writes (field order and one-space indentation of Go's
//! `json.MarshalIndent`, formats.md §1.3 and §6) and what we accept when reading.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::KeystoreError;

/// The `path` charon writes into every keystore.
pub(crate) const CHARON_PATH: &str = "m/12381/3600/0/0/0";

// ---- writing ------------------------------------------------------------------------------

#[derive(Serialize)]
pub(crate) struct OutKeystore {
    pub(crate) crypto: OutCrypto,
    pub(crate) description: &'static str,
    pub(crate) pubkey: String,
    pub(crate) path: &'static str,
    pub(crate) uuid: String,
    pub(crate) version: u32,
}

#[derive(Serialize)]
pub(crate) struct OutCrypto {
    pub(crate) checksum: OutModule<EmptyParams>,
    pub(crate) cipher: OutModule<IvParams>,
    pub(crate) kdf: OutModule<Pbkdf2Params>,
}

#[derive(Serialize)]
pub(crate) struct OutModule<P> {
    pub(crate) function: &'static str,
    pub(crate) message: String,
    pub(crate) params: P,
}

#[derive(Serialize)]
pub(crate) struct EmptyParams {}

#[derive(Serialize)]
pub(crate) struct IvParams {
    pub(crate) iv: String,
}

#[derive(Serialize)]
pub(crate) struct Pbkdf2Params {
    pub(crate) c: u32,
    pub(crate) dklen: u32,
    pub(crate) prf: &'static str,
    pub(crate) salt: String,
}

/// Serialises like Go's `json.MarshalIndent(v, "", " ")`: one space per level, `": "`, no
/// trailing newline. (Go would also escape `<>&`; none can occur in a keystore we write.)
pub(crate) fn to_go_indented(v: &OutKeystore) -> Result<Vec<u8>, KeystoreError> {
    let mut out = Vec::with_capacity(1024);
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b" ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    v.serialize(&mut ser)
        .map_err(|_| KeystoreError::Internal("keystore JSON serialisation failed"))?;
    Ok(out)
}

/// charon's uuid: 16 random bytes as upper-case hex 8-4-4-4-12, no RFC 4122 bits.
pub(crate) fn uuid(bytes: &[u8; 16]) -> String {
    let h = hex::encode_upper(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

// ---- reading ------------------------------------------------------------------------------

/// A keystore as read. Unknown fields (`name`, …) are ignored; `path`, `uuid` and
/// `description` are optional because real keystores omit them (charon's scrypt vector has
/// no `path`).
#[derive(Deserialize)]
pub(crate) struct InKeystore {
    pub(crate) crypto: InCrypto,
    pub(crate) pubkey: Option<String>,
    pub(crate) version: u64,
}

#[derive(Deserialize)]
pub(crate) struct InCrypto {
    pub(crate) kdf: InModule,
    pub(crate) checksum: InModule,
    pub(crate) cipher: InModule,
}

#[derive(Deserialize)]
pub(crate) struct InModule {
    pub(crate) function: String,
    #[serde(default)]
    pub(crate) params: Map<String, Value>,
    pub(crate) message: String,
}

/// Decodes hex (optionally `0x`-prefixed, either case).
pub(crate) fn unhex(s: &str, field: &'static str) -> Result<Vec<u8>, KeystoreError> {
    hex::decode(s.strip_prefix("0x").unwrap_or(s)).map_err(|_| KeystoreError::BadField {
        field,
        why: "not hex",
    })
}

/// Decodes hex of an exact length.
pub(crate) fn unhex_n<const N: usize>(
    s: &str,
    field: &'static str,
) -> Result<[u8; N], KeystoreError> {
    let v = unhex(s, field)?;
    v.as_slice()
        .try_into()
        .map_err(|_| KeystoreError::BadField {
            field,
            why: "wrong length",
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        let b: [u8; 16] = core::array::from_fn(|i| u8::try_from(i).expect("< 16") * 17);
        assert_eq!(uuid(&b), "00112233-4455-6677-8899-AABBCCDDEEFF");
    }

    #[test]
    fn unhex_variants() {
        assert_eq!(unhex("0xAbCd", "f").expect("hex"), vec![0xab, 0xcd]);
        assert!(matches!(
            unhex("zz", "f"),
            Err(KeystoreError::BadField { field: "f", .. })
        ));
        assert!(matches!(
            unhex_n::<2>("abcdef", "g"),
            Err(KeystoreError::BadField { field: "g", .. })
        ));
    }
}
