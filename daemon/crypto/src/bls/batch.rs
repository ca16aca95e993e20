//! Batch verification of many signatures over few messages (issue 16): the partial
//! signatures of one duty are `n` signatures per validator, all `n` over that validator's
//! signing root. With independent random 64-bit weights `r_i` (small-exponent batching), the
//! signatures of one message `m` verify together as
//!
//! ```text
//!   e(Σ r_i·pk_i, H(m)) = e(g1, Σ r_i·σ_i)
//! ```
//!
//! and all messages at once as one multi-pairing: one hash-to-curve and one Miller loop per
//! *message* instead of two Miller loops and a hash per *signature*. A forged signature passes
//! with probability about 2⁻⁶⁴. On failure nothing says which signature is bad: callers fall
//! back to one-by-one verification to name the culprit.

use blst::min_pk::{AggregatePublicKey, AggregateSignature, PublicKey, Signature};
use blst::{blst_p1_affine, blst_p2_affine, MultiPoint, Pairing, BLST_ERROR};
use rand_core::CryptoRngCore;

use super::{BlsError, BlsPublicKey, BlsSignature, DST};

/// Signatures over one message.
#[derive(Debug, Clone, Copy)]
pub struct SameMessage<'a> {
    /// The message (e.g. a 32-byte signing root).
    pub msg: &'a [u8],
    /// `(public key, signature)` pairs that must all verify over `msg`.
    pub pairs: &'a [(BlsPublicKey, BlsSignature)],
}

/// Verifies every pair of every group at once (see the module docs). `Ok` only if all verify
/// (up to the 2⁻⁶⁴ soundness error); an empty input is `Ok`. Every key and signature was
/// subgroup-checked when decoded (type invariant), which small-exponent batching needs.
pub fn verify_batch(
    groups: &[SameMessage<'_>],
    rng: &mut dyn CryptoRngCore,
) -> Result<(), BlsError> {
    let mut ctx = Pairing::new(true, DST);
    let mut any = false;
    for g in groups {
        if g.pairs.is_empty() {
            continue;
        }
        any = true;
        let mut scalars = Vec::with_capacity(g.pairs.len() * 8);
        for _ in g.pairs {
            // Non-zero 64-bit weights, little-endian as blst reads scalars.
            let r = rng.next_u64() | 1;
            scalars.extend_from_slice(&r.to_le_bytes());
        }
        let pks: Vec<blst_p1_affine> = g.pairs.iter().map(|(pk, _)| (*pk.point()).into()).collect();
        let sigs: Vec<blst_p2_affine> = g.pairs.iter().map(|(_, s)| s.point.into()).collect();
        let pk_sum = pks.as_slice().mult(&scalars, 64);
        let sig_sum = sigs.as_slice().mult(&scalars, 64);
        let pk: blst_p1_affine =
            PublicKey::from_aggregate(&AggregatePublicKey::from(pk_sum)).into();
        let sig: blst_p2_affine =
            Signature::from_aggregate(&AggregateSignature::from(sig_sum)).into();
        if ctx.aggregate(&pk, false, &sig, false, g.msg, &[]) != BLST_ERROR::BLST_SUCCESS {
            return Err(BlsError::VerificationFailed);
        }
    }
    if !any {
        return Ok(());
    }
    ctx.commit();
    if ctx.finalverify(None) {
        Ok(())
    } else {
        Err(BlsError::VerificationFailed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bls::BlsSecretKey;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    type Group = (Vec<u8>, Vec<(BlsPublicKey, BlsSignature)>);

    fn groups(rng: &mut ChaCha20Rng, msgs: usize, per: usize) -> Vec<Group> {
        (0..msgs)
            .map(|m| {
                let msg = vec![u8::try_from(m).unwrap_or(0); 32];
                let pairs = (0..per)
                    .map(|_| {
                        let sk = BlsSecretKey::generate(rng);
                        (sk.public_key(), sk.sign(&msg))
                    })
                    .collect();
                (msg, pairs)
            })
            .collect()
    }

    fn view(g: &[Group]) -> Vec<SameMessage<'_>> {
        g.iter()
            .map(|(msg, pairs)| SameMessage { msg, pairs })
            .collect()
    }

    #[test]
    fn valid_batches_pass_and_any_swap_fails() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let mut g = groups(&mut rng, 5, 4);
        assert_eq!(verify_batch(&view(&g), &mut rng), Ok(()));
        assert_eq!(verify_batch(&[], &mut rng), Ok(()));
        // A signature moved to another message's group fails the batch.
        let moved = g[1].1[2].1;
        g[3].1[0].1 = moved;
        assert_eq!(
            verify_batch(&view(&g), &mut rng),
            Err(BlsError::VerificationFailed)
        );
    }

    #[test]
    fn two_wrong_signatures_that_cancel_in_a_plain_sum_still_fail() {
        // σ1' = σ1 + X and σ2' = σ2 − X sum to the right aggregate; random weights catch it.
        let mut rng = ChaCha20Rng::seed_from_u64(8);
        let mut g = groups(&mut rng, 1, 2);
        let x = BlsSecretKey::generate(&mut rng).sign(&g[0].0);
        let (s1, s2) = (g[0].1[0].1, g[0].1[1].1);
        let plus = crate::bls::aggregate_signatures(&[s1, x]).unwrap_or(s1);
        // s2 − x = (s1 + s2) − (s1 + x) cannot be formed without negation; instead swap the
        // two signatures between the two keys: their plain sum is unchanged.
        g[0].1[0].1 = s2;
        g[0].1[1].1 = s1;
        assert_eq!(
            verify_batch(&view(&g), &mut rng),
            Err(BlsError::VerificationFailed)
        );
        g[0].1[0].1 = plus;
        assert_eq!(
            verify_batch(&view(&g), &mut rng),
            Err(BlsError::VerificationFailed)
        );
    }
}
