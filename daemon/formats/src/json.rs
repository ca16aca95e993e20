//! JSON exactly as charon writes it (formats.md §1.1, §1.3).
//!
//! charon uses Go's `encoding/json` indent mode with a one-space indent, `": "` after keys,
//! no trailing newline, and Go's HTML-safe escaping of `<`, `>`, `&`, U+2028 and U+2029.
//! [`to_go_json`] reproduces that for any `Serialize` value whose field order matches charon's
//! struct order. The `eth-hex` helpers encode binary fields (`0x` + lower-case hex, `""` for
//! empty) and decode them leniently (optional `0x`, either case).

use serde::Serialize;
use std::io;

/// A serde_json formatter that wraps the pretty printer with Go's escaping rules.
struct GoFormatter<'a> {
    pretty: serde_json::ser::PrettyFormatter<'a>,
}

impl serde_json::ser::Formatter for GoFormatter<'_> {
    fn write_null<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.write_null(w)
    }
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.pretty.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.pretty.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object_value(w)
    }
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, ch) in fragment.char_indices() {
            let esc = match ch {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            w.write_all(&fragment.as_bytes()[start..i])?;
            w.write_all(esc.as_bytes())?;
            start = i + ch.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[start..])
    }
}

/// Serialises `value` as charon does: one-space indent, Go escaping, no trailing newline.
pub fn to_go_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::new();
    let fmt = GoFormatter {
        pretty: serde_json::ser::PrettyFormatter::with_indent(b" "),
    };
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    value.serialize(&mut ser)?;
    Ok(out)
}

/// Encodes bytes as eth-hex: `0x` + lower-case hex, or `""` when empty.
pub fn to_eth_hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        String::new()
    } else {
        format!("0x{}", hex::encode(bytes))
    }
}

/// Why an eth-hex string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not hex: {0}")]
pub struct HexError(String);

/// Decodes eth-hex: optional `0x`/`0X` prefix, either case, `""` → empty.
pub fn from_eth_hex(s: &str) -> Result<Vec<u8>, HexError> {
    let body = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    hex::decode(body).map_err(|e| HexError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn go_indent_and_escaping() {
        let v = json!({"b": [1, 2], "a": "<x>&\u{2028}é", "e": [], "o": {}, "n": null});
        let s = String::from_utf8(to_go_json(&v).unwrap()).unwrap();
        assert_eq!(
            s,
            "{\n \"b\": [\n  1,\n  2\n ],\n \"a\": \"\\u003cx\\u003e\\u0026\\u2028é\",\n \"e\": [],\n \"o\": {},\n \"n\": null\n}"
        );
    }

    #[test]
    fn eth_hex_round_trip() {
        assert_eq!(to_eth_hex(&[]), "");
        assert_eq!(to_eth_hex(&[0xab, 1]), "0xab01");
        assert_eq!(from_eth_hex("0xAB01").unwrap(), vec![0xab, 1]);
        assert_eq!(from_eth_hex("ab01").unwrap(), vec![0xab, 1]);
        assert_eq!(from_eth_hex("").unwrap(), Vec::<u8>::new());
        assert!(from_eth_hex("0xabc").is_err());
        assert!(from_eth_hex("0xzz").is_err());
    }
}
