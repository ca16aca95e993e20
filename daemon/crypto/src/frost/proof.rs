//! Schnorr proof of knowledge of the constant term, with kryptology's challenge
//! (charon-dkg-protocol.md §1.7, round 1 step "proof of knowledge").
//!
//! ```text
//! prove:   k ← random, R = k·G, c = H(byte(i) ‖ byte(ctx) ‖ A_i0 ‖ R), w = k + a_i0·c
//! verify:  c ≠ 0, R' = w·G − c·A_i0, accept iff H(byte(i) ‖ byte(ctx) ‖ A_i0 ‖ R') = c
//! H(m) = expand_message_xmd(SHA-256, m, "BLS12381_XMD:SHA-256_SSWU_RO_", 48) read big-endian mod r
//! ```
//!
//! `ctx` is always 0 (charon's context string never parses as a decimal number) and `i` is the
//! sender's share index truncated to one byte. Points are hashed in their 48-byte compressed
//! form; `R'` = identity would hash as `0xc0 ‖ 0…0`, exactly as kryptology compresses it.

use blstrs::{G1Projective, Scalar};
use ff::Field;
use group::Group;
use rand_core::CryptoRngCore;

use super::codec;
use super::share::SecretScalar;
use super::ShareIdx;

/// The domain-separation tag kryptology borrows from the hash-to-curve suite.
pub(crate) const CHALLENGE_DST: &[u8] = b"BLS12381_XMD:SHA-256_SSWU_RO_";

/// kryptology's context byte as charon drives it (see module docs).
pub(crate) const CONTEXT_BYTE: u8 = 0;

/// `H(m)`: RFC 9380 `expand_message_xmd` to 48 bytes, big-endian, reduced mod r.
pub(crate) fn hash_to_scalar(msg: &[u8]) -> Scalar {
    // blst's hash_to returns None only when the reduced value is zero.
    match blst::blst_scalar::hash_to(msg, CHALLENGE_DST) {
        Some(s) => Option::from(Scalar::from_bytes_le(&s.b)).unwrap_or(Scalar::ZERO),
        None => Scalar::ZERO,
    }
}

/// The challenge `c = H(byte(id) ‖ byte(0) ‖ A0 ‖ R)`.
pub(crate) fn challenge(id: ShareIdx, a0: &G1Projective, r: &G1Projective) -> Scalar {
    let mut msg = [0u8; 2 + 2 * codec::G1_LEN];
    msg[0] = id.id_byte();
    msg[1] = CONTEXT_BYTE;
    msg[2..2 + codec::G1_LEN].copy_from_slice(&codec::encode_point(a0));
    msg[2 + codec::G1_LEN..].copy_from_slice(&codec::encode_point(r));
    hash_to_scalar(&msg)
}

/// A proof `(w, c)`.
pub(crate) struct Proof {
    pub(crate) w: Scalar,
    pub(crate) c: Scalar,
}

/// Proves knowledge of `a0` with `a0_pub = a0·G`.
pub(crate) fn prove<R: CryptoRngCore + ?Sized>(
    id: ShareIdx,
    a0: &SecretScalar,
    a0_pub: &G1Projective,
    rng: &mut R,
) -> Proof {
    let k = SecretScalar::new(nonzero_scalar(rng));
    let r = G1Projective::generator() * k.get();
    let c = challenge(id, a0_pub, &r);
    let w = k.get() + a0.get() * c;
    Proof { w, c }
}

/// Verifies a proof; the caller has already rejected `c = 0` and an identity `a0_pub`.
pub(crate) fn verify(id: ShareIdx, a0_pub: &G1Projective, proof: &Proof) -> bool {
    let r = G1Projective::generator() * proof.w - a0_pub * proof.c;
    challenge(id, a0_pub, &r) == proof.c
}

/// A uniformly random non-zero scalar.
pub(crate) fn nonzero_scalar<R: CryptoRngCore + ?Sized>(rng: &mut R) -> Scalar {
    loop {
        let s = Scalar::random(rng.as_rngcore());
        if !bool::from(s.is_zero()) {
            return s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    fn unhex32(s: &str) -> [u8; 32] {
        hex::decode(s).expect("hex").try_into().expect("32 bytes")
    }

    /// Expected values computed with an independent Python implementation of RFC 9380
    /// expand_message_xmd (checked against RFC 9380 K.1) and big-integer reduction mod r.
    #[test]
    fn hash_to_scalar_kat() {
        let cases: [(&[u8], &str); 2] = [
            (
                b"",
                "60a24e72d369d7002196a0ec68ef59f0a2c4848dc4b7ad92e5ac6efec39d6435",
            ),
            (
                b"abc",
                "1e734af38c64349e9debd138b0ef7611ebca47b3ee415d20be66761b60c87b56",
            ),
        ];
        for (msg, want) in cases {
            assert_eq!(codec::encode_scalar(&hash_to_scalar(msg)), unhex32(want));
        }
    }

    /// `c = H(07 ‖ 00 ‖ G ‖ 2G)`, expected value from the same Python implementation.
    #[test]
    fn challenge_layout_kat() {
        let id = ShareIdx::new(7).expect("nonzero");
        let g = G1Projective::generator();
        let c = challenge(id, &g, &g.double());
        assert_eq!(
            hex::encode(codec::encode_point(&g.double())),
            "a572cbea904d67468808c8eb50a9450c9721db309128012543902d0ac358a62a\
             e28f75bb8f1c7c42c39a8c5529bf0f4e"
        );
        assert_eq!(
            codec::encode_scalar(&c),
            unhex32("3eb15d3bb5ffc9665580c148d3a407cf6889844b07026929c69968d07c131aec"),
        );
    }

    #[test]
    fn prove_verify_and_tamper() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let id = ShareIdx::new(3).expect("nonzero");
        let a0 = SecretScalar::new(nonzero_scalar(&mut rng));
        let a0_pub = G1Projective::generator() * a0.get();
        let p = prove(id, &a0, &a0_pub, &mut rng);
        assert!(verify(id, &a0_pub, &p));
        let other = ShareIdx::new(4).expect("nonzero");
        assert!(!verify(other, &a0_pub, &p), "bound to the sender id");
        let bad_w = Proof {
            w: p.w + Scalar::ONE,
            c: p.c,
        };
        assert!(!verify(id, &a0_pub, &bad_w));
        let bad_c = Proof {
            w: p.w,
            c: p.c + Scalar::ONE,
        };
        assert!(!verify(id, &a0_pub, &bad_c));
        assert!(!verify(id, &(a0_pub + G1Projective::generator()), &p));
    }
}
