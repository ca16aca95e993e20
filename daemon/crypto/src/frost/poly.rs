//! Secret polynomials, Feldman commitments and their evaluation (FROST round 1 step 1).

use blstrs::{G1Projective, Scalar};
use ff::Field;
use group::Group;
use rand_core::CryptoRngCore;

use super::proof::nonzero_scalar;
use super::share::SecretScalar;
use super::ShareIdx;

/// `f(x) = a_0 + a_1·x + … + a_{t−1}·x^{t−1}` with secret coefficients (wiped on drop).
pub(crate) struct Polynomial {
    coeffs: Vec<SecretScalar>,
}

impl Polynomial {
    /// A random polynomial with `t` coefficients and a non-zero constant term (kryptology
    /// refuses a zero secret).
    pub(crate) fn random<R: CryptoRngCore + ?Sized>(t: usize, rng: &mut R) -> Self {
        let mut coeffs = Vec::with_capacity(t);
        coeffs.push(SecretScalar::new(nonzero_scalar(rng)));
        for _ in 1..t {
            coeffs.push(SecretScalar::new(Scalar::random(rng.as_rngcore())));
        }
        Self { coeffs }
    }

    /// The constant term `a_0` (the dealt secret).
    pub(crate) fn constant(&self) -> &SecretScalar {
        // `random` always pushes a constant term.
        &self.coeffs[0]
    }

    /// `f(x)` by Horner's rule.
    pub(crate) fn eval(&self, x: ShareIdx) -> SecretScalar {
        let x = x.scalar();
        let mut acc = Scalar::ZERO;
        for c in self.coeffs.iter().rev() {
            acc = acc * x + c.get();
        }
        SecretScalar::new(acc)
    }

    /// Feldman commitments `A_k = a_k·G`.
    pub(crate) fn commitments(&self) -> Vec<G1Projective> {
        let g = G1Projective::generator();
        self.coeffs.iter().map(|c| g * c.get()).collect()
    }
}

/// `1, x, x², …, x^{len−1}`.
pub(crate) fn powers(x: Scalar, len: usize) -> Vec<Scalar> {
    let mut out = Vec::with_capacity(len);
    let mut acc = Scalar::ONE;
    for _ in 0..len {
        out.push(acc);
        acc *= x;
    }
    out
}

/// `Σ_k A_k·x^k`: the public image `f(x)·G` of a committed polynomial.
pub(crate) fn eval_commitments(commitments: &[G1Projective], x: ShareIdx) -> G1Projective {
    let x = x.scalar();
    let mut acc = G1Projective::identity();
    for a in commitments.iter().rev() {
        acc = acc * x + a;
    }
    acc
}

/// Multi-scalar multiplication `Σ s_i·P_i` (blst's Pippenger); identity for no terms.
/// Variable-time: only for public points with non-secret scalars.
pub(crate) fn msm(points: &[G1Projective], scalars: &[Scalar]) -> G1Projective {
    if points.is_empty() {
        return G1Projective::identity();
    }
    G1Projective::multi_exp(points, scalars)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn eval_matches_commitments() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let f = Polynomial::random(4, &mut rng);
        let cs = f.commitments();
        for i in 1..=6 {
            let x = ShareIdx::new(i).expect("nonzero");
            let lhs = G1Projective::generator() * f.eval(x).get();
            assert_eq!(lhs, eval_commitments(&cs, x));
            let ps = powers(x.scalar(), cs.len());
            assert_eq!(lhs, msm(&cs, &ps));
        }
        assert_eq!(msm(&[], &[]), G1Projective::identity());
    }
}
