//! The crate error type (style §3.3: one `#[non_exhaustive]` error, grouped by cause).
//!
//! Every problem with input data names the JSON field path it concerns, e.g.
//! `cluster_definition.operators[2].config_signature`, so a message tells the operator exactly
//! which value to fix. Hash mismatches and semantic findings are *not* errors: they are results
//! (see [`crate::definition::HashCheck`] and [`crate::definition::Finding`]).

use crate::definition::version::Version;
use crate::json::HexError;
use crate::ssz::SszError;

/// Largest definition or lock accepted, in bytes (charon's 16 MiB limit, formats.md §9).
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;

/// Errors of dkgd-formats.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is larger than [`MAX_INPUT_BYTES`]; it was not parsed.
    #[error("{what} is {size} bytes, larger than the {limit}-byte limit")]
    TooLarge {
        /// What was being read ("cluster definition", "cluster lock").
        what: &'static str,
        /// Size of the input.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The input is not JSON (syntax error, truncation, invalid UTF-8, excessive nesting).
    #[error("{what} is not valid JSON: {source}")]
    Json {
        /// What was being read.
        what: &'static str,
        /// 1-based line of the problem (0 if unknown).
        line: usize,
        /// 1-based column of the problem (0 if unknown).
        column: usize,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// The `version` field names a version this crate does not know.
    #[error("{field}: unsupported version {version:?} (known: v1.0.0 … v1.11.0)")]
    UnsupportedVersion {
        /// Path of the version field.
        field: String,
        /// The version text found.
        version: String,
    },
    /// A field has the wrong JSON type, encoding, length or size.
    #[error("{field}: {problem}")]
    InvalidField {
        /// JSON path of the field, e.g. `cluster_definition.operators[2].config_signature`.
        field: String,
        /// What is wrong with it.
        problem: FieldProblem,
    },
    /// A value in the model cannot be expressed in the JSON of its version (writing only).
    #[error("{field}: cannot be written in a {version} file: {why}")]
    NotRepresentable {
        /// JSON path of the field.
        field: String,
        /// The version being written.
        version: Version,
        /// Why not.
        why: &'static str,
    },
    /// A bug in this crate; please report it.
    #[error("internal error (a bug, please report): {0}")]
    Internal(&'static str),
}

impl Error {
    /// Shorthand for [`Error::InvalidField`].
    pub(crate) fn field(field: impl Into<String>, problem: FieldProblem) -> Self {
        Error::InvalidField {
            field: field.into(),
            problem,
        }
    }

    /// Prefixes the field path with `outer` (e.g. `cluster_definition`), for errors of a
    /// definition embedded in a lock.
    pub(crate) fn within(self, outer: &str) -> Self {
        let join = |f: String| {
            if f.is_empty() {
                outer.to_string()
            } else {
                format!("{outer}.{f}")
            }
        };
        match self {
            Error::InvalidField { field, problem } => Error::InvalidField {
                field: join(field),
                problem,
            },
            Error::UnsupportedVersion { field, version } => Error::UnsupportedVersion {
                field: join(field),
                version,
            },
            Error::NotRepresentable {
                field,
                version,
                why,
            } => Error::NotRepresentable {
                field: join(field),
                version,
                why,
            },
            other => other,
        }
    }

    /// The JSON path this error concerns, if it concerns one field.
    pub fn field_path(&self) -> Option<&str> {
        match self {
            Error::InvalidField { field, .. }
            | Error::UnsupportedVersion { field, .. }
            | Error::NotRepresentable { field, .. } => Some(field),
            _ => None,
        }
    }

    pub(crate) fn json(what: &'static str, source: serde_json::Error) -> Self {
        Error::Json {
            what,
            line: source.line(),
            column: source.column(),
            source,
        }
    }
}

/// What is wrong with one field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldProblem {
    /// A required field is absent (or `null`).
    #[error("missing")]
    Missing,
    /// The JSON value has the wrong type.
    #[error("expected {expected}, found {found}")]
    WrongType {
        /// The JSON type expected, e.g. "string".
        expected: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
    /// A number that is negative, fractional or larger than 2⁶⁴−1.
    #[error("expected an unsigned 64-bit integer")]
    NotU64,
    /// A decimal-string amount that is not a plain unsigned decimal.
    #[error("expected a decimal string of Gwei such as \"32000000000\"")]
    NotDecimal,
    /// Invalid eth-hex (`0x` + hex).
    #[error("{0}")]
    BadHex(HexError),
    /// Invalid standard base64 (v1.0/v1.1 binary fields).
    #[error("invalid base64: {0}")]
    BadBase64(base64::DecodeError),
    /// A binary value of the wrong size.
    #[error("must be {expected} bytes, got {found}")]
    WrongLength {
        /// Required size in bytes.
        expected: usize,
        /// Size found.
        found: usize,
    },
    /// An address that is neither empty nor 20 bytes of hex.
    #[error("must be \"\" or a 20-byte 0x-hex address, got {found} bytes")]
    BadAddress {
        /// Decoded length found.
        found: usize,
    },
    /// A secp256k1 signature of a size the version does not allow.
    #[error("signature must be {allowed}, got {found} bytes")]
    BadSignatureLength {
        /// The allowed sizes, in words.
        allowed: &'static str,
        /// Size found.
        found: usize,
    },
    /// v1.0–v1.2 hash some binary fields as their text, so only canonical text is accepted.
    #[error("must be lower-case 0x-hex in this version (the text itself is hashed)")]
    NotCanonicalHex,
    /// A group of fields that must be either all set or all empty is partially set.
    #[error("partially empty: set every field or leave all of them empty")]
    PartiallyEmpty,
    /// v1.0–v1.4 have one fee recipient and withdrawal address for all validators.
    #[error("versions before v1.5 need identical addresses for all validators")]
    DifferingLegacyAddresses,
    /// v1.6/v1.7 locks hold a single deposit per validator.
    #[error("{found} deposits, but this version holds at most one per validator")]
    TooManyDeposits {
        /// Number of deposits found.
        found: usize,
    },
    /// A value too large for its SSZ type (list or byte-string limit).
    #[error("too large to hash: {0}")]
    Ssz(SszError),
}

/// JSON type name of a value, for [`FieldProblem::WrongType`].
pub(crate) fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// Parses untrusted JSON of at most [`MAX_INPUT_BYTES`]; `what` names the file kind in errors.
pub(crate) fn parse_capped_json(
    bytes: &[u8],
    what: &'static str,
) -> Result<serde_json::Value, Error> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(Error::TooLarge {
            what,
            size: bytes.len(),
            limit: MAX_INPUT_BYTES,
        });
    }
    serde_json::from_slice(bytes).map_err(|e| Error::json(what, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_field() {
        let e = Error::field(
            "operators[2].config_signature",
            FieldProblem::WrongLength {
                expected: 65,
                found: 64,
            },
        )
        .within("cluster_definition");
        assert_eq!(
            e.to_string(),
            "cluster_definition.operators[2].config_signature: must be 65 bytes, got 64"
        );
        assert_eq!(
            e.field_path(),
            Some("cluster_definition.operators[2].config_signature")
        );
        let e = Error::UnsupportedVersion {
            field: "version".into(),
            version: "v9".into(),
        };
        assert!(e.to_string().contains("\"v9\""));
    }
}
