//! The subset of RLP that ENRs need: a flat list of byte strings (formats.md §5.2).
//!
//! Encoding is canonical. Decoding is bounds-checked and never panics; like charon it accepts
//! non-canonical length prefixes (the record signature is always checked over the canonical
//! re-encoding, so this cannot smuggle in unsigned content), and it ignores bytes after the
//! outer list. Nested lists are rejected: charon would misread them as byte strings and then
//! fail the signature check anyway.

/// Why RLP bytes were rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RlpError {
    /// No bytes at all.
    #[error("empty input")]
    Empty,
    /// The outer item is a byte string, not a list.
    #[error("the record is not an RLP list")]
    NotAList,
    /// A length prefix or payload runs past the end of the input.
    #[error("truncated: an item at offset {offset} runs past the end of the input")]
    Truncated {
        /// Offset of the offending item.
        offset: usize,
    },
    /// A list appears inside the record list.
    #[error("nested list at offset {offset}: ENR items must be byte strings")]
    NestedList {
        /// Offset of the offending item.
        offset: usize,
    },
}

/// Appends the canonical RLP header for a payload of `len` bytes, `base` = 0x80 or 0xc0.
fn put_header(out: &mut Vec<u8>, len: usize, base: u8) {
    match u8::try_from(len) {
        Ok(short) if short < 56 => out.push(base + short),
        _ => {
            let be = (len as u64).to_be_bytes();
            let skip = be.iter().take_while(|&&b| b == 0).count();
            let len_bytes = be.get(skip..).unwrap_or(&[]);
            // 1..=8 length bytes, so base + 55 + n ≤ 0xff.
            let n = u8::try_from(len_bytes.len()).unwrap_or(8);
            out.push(base + 55 + n);
            out.extend_from_slice(len_bytes);
        }
    }
}

/// Appends the canonical encoding of a byte string.
pub(crate) fn put_bytes(out: &mut Vec<u8>, item: &[u8]) {
    match item {
        [b] if *b < 0x80 => out.push(*b),
        _ => {
            put_header(out, item.len(), 0x80);
            out.extend_from_slice(item);
        }
    }
}

/// Canonical encoding of a list of byte strings.
pub(crate) fn encode_list<'a>(items: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut payload = Vec::new();
    for item in items {
        put_bytes(&mut payload, item);
    }
    let mut out = Vec::with_capacity(payload.len() + 9);
    put_header(&mut out, payload.len(), 0xc0);
    out.extend_from_slice(&payload);
    out
}

/// An item header: whether it is a list, where its payload starts and how long it is.
struct Header {
    list: bool,
    start: usize,
    len: usize,
}

/// Reads the header of the item at `offset`, checking that its payload fits in `input`.
fn header(input: &[u8], offset: usize) -> Result<Header, RlpError> {
    let truncated = RlpError::Truncated { offset };
    let prefix = *input.get(offset).ok_or(truncated)?;
    let (list, start, len) = match prefix {
        0x00..=0x7f => (false, offset, 1),
        0x80..=0xb7 => (false, offset + 1, usize::from(prefix - 0x80)),
        0xc0..=0xf7 => (true, offset + 1, usize::from(prefix - 0xc0)),
        0xb8..=0xbf | 0xf8..=0xff => {
            let (list, n) = if prefix >= 0xf8 {
                (true, usize::from(prefix - 0xf7))
            } else {
                (false, usize::from(prefix - 0xb7))
            };
            let len_bytes = input.get(offset + 1..offset + 1 + n).ok_or(truncated)?;
            let mut len: usize = 0;
            for &b in len_bytes {
                len = len
                    .checked_mul(256)
                    .and_then(|l| l.checked_add(usize::from(b)))
                    .ok_or(truncated)?;
            }
            (list, offset + 1 + n, len)
        }
    };
    match start.checked_add(len) {
        Some(end) if end <= input.len() => Ok(Header { list, start, len }),
        _ => Err(truncated),
    }
}

/// Decodes an RLP list of byte strings, returning borrowed items.
pub(crate) fn decode_list(input: &[u8]) -> Result<Vec<&[u8]>, RlpError> {
    if input.is_empty() {
        return Err(RlpError::Empty);
    }
    let outer = header(input, 0)?;
    if !outer.list {
        return Err(RlpError::NotAList);
    }
    let end = outer.start + outer.len; // checked by `header`
    let body = input.get(..end).ok_or(RlpError::Truncated { offset: 0 })?;
    let mut items = Vec::new();
    let mut at = outer.start;
    while at < end {
        let h = header(body, at)?;
        if h.list {
            return Err(RlpError::NestedList { offset: at });
        }
        items.push(
            body.get(h.start..h.start + h.len)
                .ok_or(RlpError::Truncated { offset: at })?,
        );
        at = h.start + h.len;
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_encodings() {
        assert_eq!(encode_list([&b""[..]]), vec![0xc1, 0x80]);
        assert_eq!(encode_list([&[0x7f][..]]), vec![0xc1, 0x7f]);
        assert_eq!(encode_list([&[0x80][..]]), vec![0xc2, 0x81, 0x80]);
        let long = [0xaa; 56];
        let enc = encode_list([&long[..]]);
        assert_eq!(&enc[..4], &[0xf8, 58, 0xb8, 56]);
        assert_eq!(decode_list(&enc).unwrap(), vec![&long[..]]);
        let big = vec![1u8; 300];
        let enc = encode_list([&big[..], &b"x"[..]]);
        assert_eq!(&enc[..3], &[0xf9, 0x01, 0x30]);
        assert_eq!(decode_list(&enc).unwrap(), vec![&big[..], &b"x"[..]]);
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(decode_list(&[]), Err(RlpError::Empty));
        assert_eq!(decode_list(&[0x82, 1, 2]), Err(RlpError::NotAList));
        assert_eq!(
            decode_list(&[0xc3, 0x82, 1]),
            Err(RlpError::Truncated { offset: 0 })
        );
        assert_eq!(
            decode_list(&[0xc2, 0x82, 1]),
            Err(RlpError::Truncated { offset: 1 })
        );
        assert_eq!(
            decode_list(&[0xc1, 0xc0]),
            Err(RlpError::NestedList { offset: 1 })
        );
        assert!(decode_list(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(decode_list(&[0xc2, 0xbf, 0xff]).is_err());
    }

    #[test]
    fn lenient_like_charon() {
        // Non-canonical single byte and trailing garbage are accepted.
        assert_eq!(
            decode_list(&[0xc2, 0x81, 0x01, 0xee]).unwrap(),
            vec![&[1u8][..]]
        );
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode_list(&bytes);
        }

        #[test]
        fn round_trip(items in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 0..12)) {
            let enc = encode_list(items.iter().map(Vec::as_slice));
            let dec = decode_list(&enc).unwrap();
            prop_assert_eq!(dec, items.iter().map(Vec::as_slice).collect::<Vec<_>>());
        }
    }
}
