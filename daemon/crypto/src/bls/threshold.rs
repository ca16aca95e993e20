//! Threshold BLS: Lagrange interpolation at x = 0 over share indices (formats.md §3.5).
//!
//! Share `i` (1-based, = operator position + 1) holds `f(i)` for the validator's secret
//! polynomial `f`; the group key is `f(0)·G`. With any `t` distinct indices `S`,
//! `f(0) = Σ_{i∈S} λ_i f(i)` where `λ_i = Π_{j∈S, j≠i} j / (j − i)` (mod r). The same
//! coefficients combine public key shares in G1 and partial signatures in G2.

use blst::min_pk::{AggregatePublicKey, AggregateSignature, PublicKey, Signature};
use blstrs::Scalar;
use ff::Field;

use super::{why, BlsError, BlsPublicKey, BlsSignature};

/// Bits per scalar handed to blst's multi-scalar multiplication (r < 2²⁵⁵).
const SCALAR_BITS: usize = 255;

/// The Lagrange coefficients at x = 0 for `indices`, as 32-byte little-endian scalars mod r,
/// in the order given. Indices must be non-zero and distinct.
pub fn lagrange_coefficients_at_zero(indices: &[u32]) -> Result<Vec<[u8; 32]>, BlsError> {
    if indices.is_empty() {
        return Err(BlsError::Empty {
            what: "interpolate (no shares)",
        });
    }
    for (pos, &i) in indices.iter().enumerate() {
        if i == 0 {
            return Err(BlsError::ZeroIndex);
        }
        if indices.iter().take(pos).any(|&j| j == i) {
            return Err(BlsError::DuplicateIndex(i));
        }
    }
    let mut out = Vec::with_capacity(indices.len());
    for &i in indices {
        let xi = Scalar::from(u64::from(i));
        let mut num = Scalar::ONE;
        let mut den = Scalar::ONE;
        for &j in indices.iter().filter(|&&j| j != i) {
            let xj = Scalar::from(u64::from(j));
            num *= xj;
            den *= xj - xi;
        }
        // den is a product of non-zero differences of distinct u32 values (all < r), so it
        // is invertible.
        let inv = Option::<Scalar>::from(den.invert()).ok_or(BlsError::DuplicateIndex(i))?;
        out.push((num * inv).to_bytes_le());
    }
    Ok(out)
}

fn flatten(coeffs: &[[u8; 32]]) -> Vec<u8> {
    coeffs.iter().flat_map(|c| c.iter().copied()).collect()
}

/// Interpolates the group public key from public key shares `(share_index, key)` (index ≥ 1);
/// charon's share-consistency check (formats.md §3.5).
/// With exactly `t` shares of a degree-(t−1) polynomial this is the distributed public key.
pub fn interpolate_public_key(shares: &[(u32, BlsPublicKey)]) -> Result<BlsPublicKey, BlsError> {
    let indices: Vec<u32> = shares.iter().map(|(i, _)| *i).collect();
    let coeffs = lagrange_coefficients_at_zero(&indices)?;
    let points: Vec<PublicKey> = shares.iter().map(|(_, k)| *k.point()).collect();
    let sum = AggregatePublicKey::aggregate_with_randomness(
        &points,
        &flatten(&coeffs),
        SCALAR_BITS,
        false,
    )
    .map_err(|e| BlsError::InvalidPublicKey { why: why(e) })?;
    BlsPublicKey::from_validated_point(sum.to_public_key())
}

/// Combines partial signatures `(share_index, signature)` (index ≥ 1) into the signature of
/// the group key. With `t` valid partials over the same message this equals the signature the
/// group secret would produce.
pub fn threshold_combine_signatures(
    partials: &[(u32, BlsSignature)],
) -> Result<BlsSignature, BlsError> {
    let indices: Vec<u32> = partials.iter().map(|(i, _)| *i).collect();
    let coeffs = lagrange_coefficients_at_zero(&indices)?;
    let points: Vec<Signature> = partials.iter().map(|(_, s)| *s.point()).collect();
    let sum = AggregateSignature::aggregate_with_randomness(
        &points,
        &flatten(&coeffs),
        SCALAR_BITS,
        false,
    )
    .map_err(|e| BlsError::InvalidSignature { why: why(e) })?;
    BlsSignature::from_validated_point(sum.to_signature())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bls::BlsSecretKey;
    use ff::PrimeField;
    use rand_chacha::rand_core::SeedableRng;

    /// Shares f(1..=n) of a random degree-(t-1) polynomial, plus f(0).
    fn shares(t: usize, n: u32, seed: u64) -> (BlsSecretKey, Vec<(u32, BlsSecretKey)>) {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let coeffs: Vec<Scalar> = (0..t).map(|_| Scalar::random(&mut rng)).collect();
        let eval = |x: u64| {
            let x = Scalar::from(x);
            coeffs.iter().rev().fold(Scalar::ZERO, |acc, c| acc * x + c)
        };
        let to_sk = |s: Scalar| BlsSecretKey::from_bytes(&s.to_bytes_be()).unwrap();
        let group = to_sk(eval(0));
        let out = (1..=n).map(|i| (i, to_sk(eval(u64::from(i))))).collect();
        (group, out)
    }

    #[test]
    fn coefficients_sum_to_one_and_reject_bad_indices() {
        let c = lagrange_coefficients_at_zero(&[1, 2, 3]).unwrap();
        let sum = c
            .iter()
            .map(|b| Scalar::from_repr_vartime(*b).unwrap())
            .fold(Scalar::ZERO, |a, b| a + b);
        assert_eq!(sum, Scalar::ONE);
        assert_eq!(
            lagrange_coefficients_at_zero(&[1, 0]),
            Err(BlsError::ZeroIndex)
        );
        assert_eq!(
            lagrange_coefficients_at_zero(&[2, 5, 2]),
            Err(BlsError::DuplicateIndex(2))
        );
        assert!(lagrange_coefficients_at_zero(&[]).is_err());
    }

    #[test]
    fn interpolation_recovers_group_key_from_any_t_shares() {
        let (group, shares) = shares(3, 5, 11);
        let gpk = group.public_key();
        for subset in [[0usize, 1, 2], [2, 3, 4], [4, 0, 2]] {
            let pub_shares: Vec<_> = subset
                .iter()
                .map(|&k| (shares[k].0, shares[k].1.public_key()))
                .collect();
            assert_eq!(interpolate_public_key(&pub_shares).unwrap(), gpk);
        }
        // Too few shares give a different key.
        let two: Vec<_> = shares[..2]
            .iter()
            .map(|(i, s)| (*i, s.public_key()))
            .collect();
        assert_ne!(interpolate_public_key(&two).unwrap(), gpk);
    }

    #[test]
    fn combined_partials_equal_group_signature() {
        let (group, shares) = shares(3, 4, 12);
        let msg = [0x5a; 32];
        let full = group.sign(&msg);
        let partials: Vec<_> = shares[1..]
            .iter()
            .map(|(i, s)| (*i, s.sign(&msg)))
            .collect();
        let combined = threshold_combine_signatures(&partials).unwrap();
        assert_eq!(combined, full);
        group.public_key().verify(&msg, &combined).unwrap();
    }
}
