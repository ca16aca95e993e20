//! Lenient, charon-like reading of JSON objects (formats.md §1.1–§1.3): unknown keys are ignored,
//! keys match case-insensitively (Go's rule; the last matching key wins), `null` counts as
//! absent, and every error names the JSON path of the offending field.

use super::Address;
use crate::error::{json_type, Error, FieldProblem};
use crate::json::{from_eth_hex, to_eth_hex};
use base64::Engine as _;
use serde_json::{Map, Value};

/// How a binary field is encoded in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Enc {
    /// eth-hex: `0x` + hex (formats.md §1.1).
    Hex,
    /// Go `[]byte`: standard base64 (v1.0/v1.1 files, §10).
    Base64,
}

/// Go's case-insensitive key match (`encoding/json` folds ASCII case, plus the Kelvin sign and
/// long s, which fold to `k` and `s`). Field names here are lower-case ASCII.
pub(crate) fn key_matches(key: &str, field: &str) -> bool {
    let fold = |c: char| match c {
        '\u{212A}' => 'k',
        '\u{17F}' => 's',
        c => c.to_ascii_lowercase(),
    };
    key.chars().map(fold).eq(field.chars().map(fold))
}

/// Joins a parent path and a key (`a.b`, or `b` at the top level).
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// A JSON object being read, with its path for error messages.
pub(crate) struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Obj<'a> {
    /// Wraps `v`, which must be an object.
    pub(crate) fn new(v: &'a Value, path: String) -> Result<Self, Error> {
        match v {
            Value::Object(map) => Ok(Obj { map, path }),
            other => Err(Error::field(
                if path.is_empty() {
                    "(top level)".to_string()
                } else {
                    path
                },
                FieldProblem::WrongType {
                    expected: "object",
                    found: json_type(other),
                },
            )),
        }
    }

    /// Path of a key of this object.
    pub(crate) fn path_of(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// The value of `key` (last case-insensitive match); `null` counts as absent.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map
            .iter()
            .rev()
            .find(|(k, _)| key_matches(k, key))
            .map(|(_, v)| v)
            .filter(|v| !v.is_null())
    }

    fn wrong(&self, key: &str, expected: &'static str, found: &Value) -> Error {
        Error::field(
            self.path_of(key),
            FieldProblem::WrongType {
                expected,
                found: json_type(found),
            },
        )
    }

    /// A string field; absent → `""`.
    pub(crate) fn string(&self, key: &str) -> Result<String, Error> {
        match self.get(key) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(self.wrong(key, "string", other)),
        }
    }

    /// An unsigned integer field; absent → 0.
    pub(crate) fn u64(&self, key: &str) -> Result<u64, Error> {
        match self.get(key) {
            None => Ok(0),
            Some(v) => number(v, &self.path_of(key)),
        }
    }

    /// A boolean field; absent → false.
    pub(crate) fn bool(&self, key: &str) -> Result<bool, Error> {
        match self.get(key) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(self.wrong(key, "boolean", other)),
        }
    }

    /// A binary field of any length; absent → empty.
    pub(crate) fn bytes(&self, key: &str, enc: Enc) -> Result<Vec<u8>, Error> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(v) => decode(v, &self.path_of(key), enc),
        }
    }

    /// A binary field of exactly `N` bytes.
    pub(crate) fn fixed<const N: usize>(&self, key: &str, enc: Enc) -> Result<[u8; N], Error> {
        match self.get(key) {
            None => Err(Error::field(self.path_of(key), FieldProblem::Missing)),
            Some(v) => fixed(v, &self.path_of(key), enc),
        }
    }

    /// A binary field of exactly `N` bytes, or empty/absent (→ `None`).
    pub(crate) fn opt_fixed<const N: usize>(
        &self,
        key: &str,
        enc: Enc,
    ) -> Result<Option<[u8; N]>, Error> {
        let raw = self.bytes(key, enc)?;
        if raw.is_empty() {
            return Ok(None);
        }
        sized(raw, &self.path_of(key)).map(Some)
    }

    /// An `N`-byte eth-hex field whose text must be canonical (`0x` + lower-case hex), for
    /// v1.0–v1.2 fields that are hashed as text.
    pub(crate) fn canonical_hex<const N: usize>(&self, key: &str) -> Result<[u8; N], Error> {
        let bytes = self.fixed::<N>(key, Enc::Hex)?;
        match self.get(key) {
            Some(Value::String(s)) if *s == to_eth_hex(&bytes) => Ok(bytes),
            _ => Err(Error::field(
                self.path_of(key),
                FieldProblem::NotCanonicalHex,
            )),
        }
    }

    /// An address field (text kept verbatim); absent → empty address.
    pub(crate) fn address(&self, key: &str) -> Result<Address, Error> {
        let text = self.string(key)?;
        Address::parse(&text).map_err(|p| Error::field(self.path_of(key), p))
    }

    /// An array field; absent/`null` → `None`.
    pub(crate) fn array(&self, key: &str) -> Result<Option<&'a Vec<Value>>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(other) => Err(self.wrong(key, "array", other)),
        }
    }

    /// An object field; absent/`null` → `None`.
    pub(crate) fn object(&self, key: &str) -> Result<Option<Obj<'a>>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => Obj::new(v, self.path_of(key)).map(Some),
        }
    }
}

/// An unsigned 64-bit JSON integer.
pub(crate) fn number(v: &Value, path: &str) -> Result<u64, Error> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| Error::field(path, FieldProblem::NotU64)),
        other => Err(Error::field(
            path,
            FieldProblem::WrongType {
                expected: "number",
                found: json_type(other),
            },
        )),
    }
}

/// A decimal string of Gwei (`"32000000000"`), as Go's `strconv.ParseUint` accepts it.
pub(crate) fn decimal(v: &Value, path: &str) -> Result<u64, Error> {
    match v {
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s
            .parse::<u64>()
            .map_err(|_| Error::field(path, FieldProblem::NotU64)),
        Value::String(_) => Err(Error::field(path, FieldProblem::NotDecimal)),
        other => Err(Error::field(
            path,
            FieldProblem::WrongType {
                expected: "decimal string",
                found: json_type(other),
            },
        )),
    }
}

/// Decodes a binary JSON value (`null` → empty).
pub(crate) fn decode(v: &Value, path: &str, enc: Enc) -> Result<Vec<u8>, Error> {
    let s = match v {
        Value::Null => return Ok(Vec::new()),
        Value::String(s) => s,
        other => {
            return Err(Error::field(
                path,
                FieldProblem::WrongType {
                    expected: "string",
                    found: json_type(other),
                },
            ))
        }
    };
    match enc {
        Enc::Hex => from_eth_hex(s).map_err(|e| Error::field(path, FieldProblem::BadHex(e))),
        Enc::Base64 => base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| Error::field(path, FieldProblem::BadBase64(e))),
    }
}

/// Decodes a binary JSON value that must be exactly `N` bytes.
pub(crate) fn fixed<const N: usize>(v: &Value, path: &str, enc: Enc) -> Result<[u8; N], Error> {
    sized(decode(v, path, enc)?, path)
}

/// Converts decoded bytes to `[u8; N]` or reports the length.
pub(crate) fn sized<const N: usize>(raw: Vec<u8>, path: &str) -> Result<[u8; N], Error> {
    let found = raw.len();
    raw.try_into()
        .map_err(|_| Error::field(path, FieldProblem::WrongLength { expected: N, found }))
}

/// Encodes bytes for writing: eth-hex or standard base64 (`""` when empty in both).
pub(crate) fn encode(bytes: &[u8], enc: Enc) -> String {
    match enc {
        Enc::Hex => to_eth_hex(bytes),
        Enc::Base64 => base64::engine::general_purpose::STANDARD.encode(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_fold_like_go() {
        assert!(key_matches("Name", "name"));
        assert!(key_matches("NAME", "name"));
        assert!(key_matches("\u{212A}ey", "key"));
        assert!(!key_matches("names", "name"));
        let v = json!({"name": "a", "Name": "b", "nonce": null});
        let o = Obj::new(&v, String::new()).unwrap();
        assert_eq!(o.string("name").unwrap(), "b");
        assert_eq!(o.u64("nonce").unwrap(), 0);
        assert!(o.get("missing").is_none());
    }

    #[test]
    fn errors_name_paths() {
        let v = json!({"a": {"n": -1, "s": 5, "h": "0x12", "d": "12a"}});
        let top = Obj::new(&v, String::new()).unwrap();
        let a = top.object("a").unwrap().unwrap();
        let e = a.u64("n").unwrap_err().to_string();
        assert!(e.starts_with("a.n:"), "{e}");
        assert!(a
            .string("s")
            .unwrap_err()
            .to_string()
            .contains("expected string, found number"));
        let e = a.fixed::<4>("h", Enc::Hex).unwrap_err().to_string();
        assert_eq!(e, "a.h: must be 4 bytes, got 1");
        assert!(decimal(&json!("12a"), "x").is_err());
        assert!(decimal(&json!("+1"), "x").is_err());
        assert!(decimal(&json!(12), "x").is_err());
        assert_eq!(decimal(&json!("0012"), "x").unwrap(), 12);
        assert!(decimal(&json!("18446744073709551616"), "x").is_err());
        assert!(Obj::new(&json!([1]), String::new()).is_err());
    }

    #[test]
    fn base64_and_hex() {
        assert_eq!(
            decode(&json!("AQI="), "x", Enc::Base64).unwrap(),
            vec![1, 2]
        );
        assert!(decode(&json!("AQI"), "x", Enc::Base64).is_err());
        assert_eq!(encode(&[1, 2], Enc::Base64), "AQI=");
        assert_eq!(encode(&[], Enc::Base64), "");
        assert_eq!(
            decode(&Value::Null, "x", Enc::Hex).unwrap(),
            Vec::<u8>::new()
        );
    }
}
