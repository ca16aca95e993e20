//! SSZ hash-tree-root primitives exactly as charon applies them (formats.md §1.4).
//!
//! Standard SSZ merkleisation (SHA-256), plus the charon quirk that a `Bytes<N>` value shorter
//! than `N` is **left**-padded with zeros. Legacy (≤ v1.4) "raw append" leaves are provided by
//! [`raw_leaf`]. No maintained SSZ crate reproduces these quirks, so this small module is ours;
//! it is tested against charon's fixed roots (shared/vectors/charon/vectors.md).

use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// A 32-byte SSZ chunk or root.
pub type Root = [u8; 32];

/// Errors of the SSZ layer: a value that does not fit its declared type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SszError {
    /// More elements (or chunks) than the list limit allows.
    #[error("{count} elements exceed the SSZ list limit {limit}")]
    ListTooLong {
        /// Number of elements given.
        count: usize,
        /// Declared limit.
        limit: usize,
    },
    /// A byte value longer than its fixed or maximum size.
    #[error("{len} bytes exceed the SSZ size {max}")]
    BytesTooLong {
        /// Length given.
        len: usize,
        /// Declared size.
        max: usize,
    },
}

/// SHA-256 of two concatenated roots.
pub fn hash_pair(a: &Root, b: &Root) -> Root {
    let mut h = Sha256::new();
    h.update(a);
    h.update(b);
    h.finalize().into()
}

/// Root of an all-zero subtree of the given depth (depth 0 = a zero chunk).
pub fn zero_hash(depth: usize) -> Root {
    static TABLE: OnceLock<Vec<Root>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = vec![[0u8; 32]];
        for d in 1..64 {
            let prev = t[d - 1];
            t.push(hash_pair(&prev, &prev));
        }
        t
    });
    table[depth.min(63)]
}

/// Merkleises `chunks` into a tree of `limit.next_power_of_two()` leaves (missing leaves are
/// zero). `limit` must be ≥ `chunks.len()`.
pub fn merkleize(chunks: &[Root], limit: usize) -> Result<Root, SszError> {
    if chunks.len() > limit {
        return Err(SszError::ListTooLong {
            count: chunks.len(),
            limit,
        });
    }
    let width = limit.max(1).next_power_of_two();
    let depth = width.trailing_zeros() as usize;
    if chunks.is_empty() {
        return Ok(zero_hash(depth));
    }
    let mut layer: Vec<Root> = chunks.to_vec();
    for d in 0..depth {
        if layer.len() % 2 == 1 {
            layer.push(zero_hash(d));
        }
        layer = layer.chunks(2).map(|p| hash_pair(&p[0], &p[1])).collect();
    }
    Ok(layer[0])
}

/// `mix_in_length(root, n) = SHA-256(root ‖ n as 32-byte little-endian)`.
pub fn mix_in_length(root: &Root, len: usize) -> Root {
    let mut n = [0u8; 32];
    n[..8].copy_from_slice(&(len as u64).to_le_bytes());
    hash_pair(root, &n)
}

/// Splits bytes into 32-byte chunks, zero-padding the last one on the right.
pub fn pack_bytes(bytes: &[u8]) -> Vec<Root> {
    bytes
        .chunks(32)
        .map(|c| {
            let mut r = [0u8; 32];
            r[..c.len()].copy_from_slice(c);
            r
        })
        .collect()
}

/// Root of a `uint64`.
pub fn uint64(v: u64) -> Root {
    let mut r = [0u8; 32];
    r[..8].copy_from_slice(&v.to_le_bytes());
    r
}

/// Root of a `bool`.
pub fn boolean(v: bool) -> Root {
    let mut r = [0u8; 32];
    r[0] = u8::from(v);
    r
}

/// Root of a `Bytes<N>` value. Shorter values are left-padded with zeros (charon's quirk;
/// callers validate lengths of non-empty values before hashing); longer ones are an error.
pub fn bytes_n(value: &[u8], n: usize) -> Result<Root, SszError> {
    if value.len() > n {
        return Err(SszError::BytesTooLong {
            len: value.len(),
            max: n,
        });
    }
    let mut buf = vec![0u8; n];
    buf[n - value.len()..].copy_from_slice(value);
    let chunks = pack_bytes(&buf);
    merkleize(&chunks, chunks.len())
}

/// Root of a `ByteList[max]` value (also used for strings, hashed as their UTF-8 bytes).
pub fn byte_list(value: &[u8], max: usize) -> Result<Root, SszError> {
    if value.len() > max {
        return Err(SszError::BytesTooLong {
            len: value.len(),
            max,
        });
    }
    let root = merkleize(&pack_bytes(value), max.div_ceil(32))?;
    Ok(mix_in_length(&root, value.len()))
}

/// Root of a `List[Composite, limit]` given the element roots.
pub fn list_of_roots(roots: &[Root], limit: usize) -> Result<Root, SszError> {
    Ok(mix_in_length(&merkleize(roots, limit)?, roots.len()))
}

/// Root of a `List[uint64, limit]`.
pub fn list_of_u64(values: &[u64], limit: usize) -> Result<Root, SszError> {
    if values.len() > limit {
        return Err(SszError::ListTooLong {
            count: values.len(),
            limit,
        });
    }
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let root = merkleize(&pack_bytes(&bytes), (limit * 8).div_ceil(32))?;
    Ok(mix_in_length(&root, values.len()))
}

/// Root of a container given its field roots in order (padded to the next power of two).
pub fn container(fields: &[Root]) -> Root {
    // Cannot fail: the limit equals the number of chunks.
    merkleize(fields, fields.len()).unwrap_or_else(|_| zero_hash(0))
}

/// Legacy (≤ v1.4) "raw append" leaf: empty → no leaf; ≤ 32 bytes → one right-padded chunk;
/// longer → the Merkle root of its padded chunks (no length mix-in). formats.md §10.
pub fn raw_leaf(value: &[u8]) -> Option<Root> {
    if value.is_empty() {
        return None;
    }
    let chunks = pack_bytes(value);
    Some(container(&chunks))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Root {
        let v = hex::decode(s).unwrap();
        v.try_into().unwrap()
    }

    // Fixed roots from charon's SSZ unit tests (shared/vectors/charon/vectors.md).
    #[test]
    fn byte_list_vectors() {
        assert_eq!(
            byte_list(b"", 64).unwrap(),
            h("7a0501f5957bdf9cb3a8ff4966f02265f968658b7a9c62642cba1165e86642f5")
        );
        assert_eq!(
            byte_list(b"hello", 256).unwrap(),
            h("d714c994fb91ed0c822936ddab0934529ab7816e60dc94027e77a4188e2e4459")
        );
        assert_eq!(
            byte_list(&[0u8; 32], 64).unwrap(),
            h("e36306f41e65a19bc26226df4c969ef1ae6ac2e29edf4038761d553854385723")
        );
        assert_eq!(
            byte_list(&[0xff; 4], 32).unwrap(),
            h("a729ed14d00c6e5f58c31993077a42444a53cc9bed4cbf64e43afd4c29a38880")
        );
    }

    #[test]
    fn container_vectors() {
        let c = container(&[uint64(42), byte_list(b"hello", 256).unwrap()]);
        assert_eq!(
            c,
            h("bbc79cd2fdb2cc4810be1c265d80e601221f69df244a956b222db5454dd7d439")
        );
        let c = container(&[
            bytes_n(&[1, 2, 3, 4], 4).unwrap(),
            byte_list(&[0xff], 32).unwrap(),
        ]);
        assert_eq!(
            c,
            h("e27cef6249214493f3e7ade1aa0af8130029eedfc7c17d928ed8af341a5511e9")
        );
        let left = bytes_n(&[0xab, 0xcd], 32).unwrap();
        let mut want = [0u8; 32];
        want[30] = 0xab;
        want[31] = 0xcd;
        assert_eq!(left, want);
        assert_eq!(
            container(&[uint64(1), left]),
            h("392b769bc14dd0593bbb9d28f2fa7c4ec6eb113ef750db4046b7136c5844c95d")
        );
        assert_eq!(
            container(&[
                bytes_n(&[], 20).unwrap(),
                bytes_n(&[1, 2, 3, 4], 4).unwrap()
            ]),
            h("c092c674a087720f7136046e41d587e355a5f359b3940336f8e4e9dde2ffe236")
        );
        assert_eq!(
            container(&[uint64(99), bytes_n(&[0x11; 20], 20).unwrap()]),
            h("2051384e282f804390dac5c19fcfd1e4cacca29abacb0f07cd6c17995388f5b0")
        );
        let addr = hex::decode("abcdef0123456789abcdef0123456789abcdef01").unwrap();
        assert_eq!(
            container(&[
                byte_list(b"prefix", 256).unwrap(),
                bytes_n(&addr, 20).unwrap()
            ]),
            h("c3105b794bd2b28cc863326f5ffa8baad9e1c1d7d424556e188961ca59f69100")
        );
    }

    #[test]
    fn merkleize_edges() {
        assert_eq!(merkleize(&[], 0).unwrap(), [0u8; 32]);
        let c = [7u8; 32];
        assert_eq!(merkleize(&[c], 1).unwrap(), c);
        assert_eq!(merkleize(&[c], 2).unwrap(), hash_pair(&c, &[0u8; 32]));
        assert_eq!(
            merkleize(&[c, c], 1),
            Err(SszError::ListTooLong { count: 2, limit: 1 })
        );
        // A large limit uses zero-subtree roots rather than materialising leaves.
        let big = merkleize(&[c], 65536).unwrap();
        let mut manual = c;
        for d in 0..16 {
            manual = hash_pair(&manual, &zero_hash(d));
        }
        assert_eq!(big, manual);
    }

    #[test]
    fn sizes_are_enforced() {
        assert!(bytes_n(&[0u8; 5], 4).is_err());
        assert!(byte_list(&[0u8; 17], 16).is_err());
        assert!(list_of_u64(&[1, 2, 3], 2).is_err());
        assert_eq!(raw_leaf(&[]), None);
        assert_eq!(raw_leaf(&[1]).unwrap()[0], 1);
    }
}
