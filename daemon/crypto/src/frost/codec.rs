//! Byte encodings of FROST values (charon-dkg-protocol.md §1.7, "Byte-level facts"):
//! scalars are 32-byte **big-endian** and must be canonical (< r); points are 48-byte
//! compressed G1 (ZCash/Ethereum encoding), must lie in the prime-order subgroup and must not be
//! the identity.

use blstrs::{G1Affine, G1Projective, Scalar};
use group::Curve;

/// Length of an encoded scalar.
pub(crate) const SCALAR_LEN: usize = 32;
/// Length of an encoded compressed G1 point.
pub(crate) const G1_LEN: usize = 48;

/// Encodes a scalar as 32 big-endian bytes.
pub(crate) fn encode_scalar(s: &Scalar) -> [u8; SCALAR_LEN] {
    s.to_bytes_be()
}

/// Decodes a canonical big-endian scalar; `None` for a wrong length or a value ≥ r.
pub(crate) fn decode_scalar(bytes: &[u8]) -> Option<Scalar> {
    let arr: &[u8; SCALAR_LEN] = bytes.try_into().ok()?;
    Option::from(Scalar::from_bytes_be(arr))
}

/// Encodes a G1 point compressed.
pub(crate) fn encode_point(p: &G1Projective) -> [u8; G1_LEN] {
    p.to_affine().to_compressed()
}

/// Decodes a compressed G1 point; `None` for a wrong length, an invalid encoding, a point off
/// the curve or outside the subgroup, or the identity.
pub(crate) fn decode_point(bytes: &[u8]) -> Option<G1Projective> {
    let arr: &[u8; G1_LEN] = bytes.try_into().ok()?;
    let p: G1Affine = Option::from(G1Affine::from_compressed(arr))?;
    if bool::from(group::prime::PrimeCurveAffine::is_identity(&p)) {
        return None;
    }
    Some(G1Projective::from(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ff::Field;
    use group::Group;

    #[test]
    fn scalar_round_trip_and_canonicity() {
        let s = Scalar::from(0x0102_0304_u64);
        let b = encode_scalar(&s);
        assert_eq!(b[28..], [1, 2, 3, 4], "big-endian");
        assert_eq!(decode_scalar(&b), Some(s));
        // r itself is not canonical.
        let r = hex::decode("73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001")
            .expect("hex");
        assert_eq!(decode_scalar(&r), None);
        assert_eq!(decode_scalar(&b[1..]), None);
        assert_eq!(
            decode_scalar(&encode_scalar(&-Scalar::ONE)),
            Some(-Scalar::ONE)
        );
    }

    #[test]
    fn point_checks() {
        let g = G1Projective::generator();
        let b = encode_point(&g);
        assert_eq!(decode_point(&b), Some(g));
        assert_eq!(decode_point(&encode_point(&G1Projective::identity())), None);
        let mut bad = b;
        bad[47] ^= 1;
        // Flipping a bit of x almost surely leaves the curve; either way it is not g.
        assert_ne!(decode_point(&bad), Some(g));
        assert_eq!(decode_point(&b[..47]), None);
        // Uncompressed flag cleared: invalid compressed encoding.
        let mut unc = b;
        unc[0] &= 0x7f;
        assert_eq!(decode_point(&unc), None);
    }
}
