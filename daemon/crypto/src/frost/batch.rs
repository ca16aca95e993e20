//! Batched Feldman checks (beyond charon: charon checks each sender separately).
//!
//! A set of claims `Q_j = Σ_k A_jk·x_j^k` is checked at once with random non-zero weights ρ_j:
//! `Σ_j ρ_j·Q_j = Σ_j Σ_k (ρ_j·x_j^k)·A_jk`, one multi-scalar multiplication instead of one
//! evaluation per claim. A false claim survives with probability 1/r. When the batch fails,
//! every claim is checked on its own so that the first false one (lowest share index) is
//! blamed.

use blstrs::{G1Projective, Scalar};
use ff::Field;
use group::Group;
use rand_core::CryptoRngCore;

use super::poly::{eval_commitments, msm, powers};
use super::proof::nonzero_scalar;
use super::share::SecretScalar;
use super::ShareIdx;

/// A received share `s = f_from(me)` and the sender's commitments to `f_from`.
pub(crate) struct ShareClaim<'a> {
    pub(crate) from: ShareIdx,
    pub(crate) commitments: &'a [G1Projective],
    pub(crate) share: &'a SecretScalar,
}

/// Checks `s_j·G = Σ_k A_jk·me^k` for every claim; `Err(culprit)` otherwise.
///
/// The secret side `(Σ_j ρ_j·s_j)·G` uses blst's constant-time multiplication; the MSM runs
/// on public points only.
pub(crate) fn verify_shares<R: CryptoRngCore + ?Sized>(
    me: ShareIdx,
    claims: &[ShareClaim<'_>],
    rng: &mut R,
) -> Result<(), ShareIdx> {
    let Some(first) = claims.first() else {
        return Ok(());
    };
    let t = claims
        .iter()
        .map(|c| c.commitments.len())
        .max()
        .unwrap_or(0);
    let xs = powers(me.scalar(), t);
    let mut weighted = SecretScalar::new(Scalar::ZERO);
    let mut points = Vec::with_capacity(claims.len() * t);
    let mut scalars = Vec::with_capacity(claims.len() * t);
    for c in claims {
        let rho = nonzero_scalar(rng);
        weighted = SecretScalar::new(weighted.get() + rho * c.share.get());
        for (a, x) in c.commitments.iter().zip(&xs) {
            points.push(*a);
            scalars.push(rho * x);
        }
    }
    if G1Projective::generator() * weighted.get() == msm(&points, &scalars) {
        return Ok(());
    }
    for c in claims {
        if G1Projective::generator() * c.share.get() != eval_commitments(c.commitments, me) {
            return Err(c.from);
        }
    }
    // Unreachable: if every claim holds, so does any linear combination of them.
    Err(first.from)
}

/// Checks `vk_j = Σ_m C_m·j^m` for every reported verification key share, where `C` are the
/// group commitments `C_m = Σ_k A_km`; `Err(culprit)` otherwise.
pub(crate) fn verify_vk_shares<R: CryptoRngCore + ?Sized>(
    group_commitments: &[G1Projective],
    vks: &[(ShareIdx, G1Projective)],
    rng: &mut R,
) -> Result<(), ShareIdx> {
    let Some(first) = vks.first() else {
        return Ok(());
    };
    let t = group_commitments.len();
    let mut points = Vec::with_capacity(vks.len() + t);
    let mut scalars = Vec::with_capacity(vks.len() + t);
    let mut coeff = vec![Scalar::ZERO; t];
    for (j, vk) in vks {
        let rho = nonzero_scalar(rng);
        points.push(*vk);
        scalars.push(rho);
        for (c, x) in coeff.iter_mut().zip(powers(j.scalar(), t)) {
            *c -= rho * x;
        }
    }
    points.extend_from_slice(group_commitments);
    scalars.extend(coeff);
    if bool::from(msm(&points, &scalars).is_identity()) {
        return Ok(());
    }
    for (j, vk) in vks {
        if *vk != eval_commitments(group_commitments, *j) {
            return Err(*j);
        }
    }
    Err(first.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frost::poly::Polynomial;
    use rand_chacha::rand_core::SeedableRng;

    fn idx(i: u32) -> ShareIdx {
        ShareIdx::new(i).expect("nonzero")
    }

    #[test]
    fn batch_accepts_honest_and_blames_liar() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        let me = idx(2);
        let polys: Vec<Polynomial> = (0..5).map(|_| Polynomial::random(3, &mut rng)).collect();
        let comms: Vec<Vec<G1Projective>> = polys.iter().map(Polynomial::commitments).collect();
        let mut shares: Vec<SecretScalar> = polys.iter().map(|p| p.eval(me)).collect();
        let claims = |shares: &[SecretScalar]| -> Vec<(ShareIdx, usize)> {
            (0..shares.len())
                .map(|k| (idx(u32::try_from(k).expect("small") + 3), k))
                .collect()
        };
        let run = |shares: &[SecretScalar], rng: &mut rand_chacha::ChaCha20Rng| {
            let cl: Vec<ShareClaim<'_>> = claims(shares)
                .into_iter()
                .map(|(from, k)| ShareClaim {
                    from,
                    commitments: &comms[k],
                    share: &shares[k],
                })
                .collect();
            verify_shares(me, &cl, rng)
        };
        assert_eq!(run(&shares, &mut rng), Ok(()));
        shares[3] = SecretScalar::new(shares[3].get() + Scalar::ONE);
        assert_eq!(run(&shares, &mut rng), Err(idx(6)));
    }

    #[test]
    fn vk_batch_blames_liar() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(10);
        let f = Polynomial::random(3, &mut rng);
        let c = f.commitments();
        let mut vks: Vec<(ShareIdx, G1Projective)> = (1..=4)
            .map(|j| (idx(j), G1Projective::generator() * f.eval(idx(j)).get()))
            .collect();
        assert_eq!(verify_vk_shares(&c, &vks, &mut rng), Ok(()));
        vks[2].1 += G1Projective::generator();
        assert_eq!(verify_vk_shares(&c, &vks, &mut rng), Err(idx(3)));
    }
}
