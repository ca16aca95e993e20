//! Property tests (issue 4 acceptance): a corrupted share, commitment, proof (w or c),
//! round-2 verification key share or group key from any one participant is detected by every
//! honest recipient and attributed to exactly that participant and validator.

// Index arithmetic on small test sizes (n ≤ 255, V ≤ 10).
#![allow(clippy::cast_possible_truncation)]

mod frost_support;

use dkgd_crypto::frost::{FrostError, ShareBytes, ShareIdx};
use frost_support::{run, Tamper};
use proptest::prelude::*;

/// Flips one bit of `bytes` at a position chosen by `pos` and `bit`.
fn flip(bytes: &mut [u8], pos: usize, bit: u8) {
    let len = bytes.len();
    bytes[pos % len] ^= 1 << (bit % 8);
}

/// Shape of a small ceremony and a culprit/validator inside it.
fn scenario() -> impl Strategy<Value = (u32, u32, u32, u32, u32)> {
    (3u32..=5)
        .prop_flat_map(|n| (Just(n), 2..=n, 1u32..=3))
        .prop_flat_map(|(n, t, v)| (Just(n), Just(t), Just(v), 1..=n, 0..v))
}

/// Every participant other than `bad` (and, if given, only `only`) must fail with a fault
/// attributed to `bad` and `validator`, of one of the accepted kinds.
fn assert_blamed(
    outcome: &frost_support::Outcome,
    bad: u32,
    validator: u32,
    only: Option<u32>,
    kind_ok: impl Fn(&FrostError) -> bool,
) -> Result<(), TestCaseError> {
    for (k, r) in outcome.iter().enumerate() {
        let me = k as u32 + 1;
        if me == bad || only.is_some_and(|o| o != me) {
            continue;
        }
        let Err(e) = r else {
            return Err(TestCaseError::fail(format!(
                "participant {me} accepted the corruption"
            )));
        };
        prop_assert_eq!(
            e.culprit(),
            ShareIdx::new(bad),
            "participant {} got {}",
            me,
            e
        );
        prop_assert_eq!(
            e.validator(),
            Some(validator),
            "participant {} got {}",
            me,
            e
        );
        prop_assert!(kind_ok(e), "participant {} got unexpected kind {:?}", me, e);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn corrupted_commitment_is_blamed(
        (n, t, v, bad, val) in scenario(), which in 0usize..16, pos in 0usize..48, bit in 0u8..8,
    ) {
        let tamper = Tamper::Round1Cast(bad, Box::new(move |c| {
            let e = c.casts.iter_mut().find(|e| e.key.val_idx == val).expect("entry");
            let k = which % e.commitments.len();
            flip(&mut e.commitments[k], pos, bit);
        }));
        let out = run(n, t, v, u64::from(n * 1000 + bad), &tamper);
        // A_0 feeds the proof; other commitments the Feldman check; an undecodable one is
        // caught as such.
        assert_blamed(&out, bad, val, None, |e| matches!(e,
            FrostError::BadCommitment { .. } | FrostError::BadProof { .. } | FrostError::BadShare { .. }))?;
    }

    #[test]
    fn replaced_or_dropped_commitment_is_blamed(
        (n, t, v, bad, val) in scenario(), drop_last in any::<bool>(),
    ) {
        let tamper = Tamper::Round1Cast(bad, Box::new(move |c| {
            let e = c.casts.iter_mut().find(|e| e.key.val_idx == val).expect("entry");
            if drop_last {
                e.commitments.pop();
            } else {
                let last = e.commitments.len() - 1;
                // Another valid point: the first commitment.
                e.commitments[last] = e.commitments[0];
                if last == 0 { e.commitments[0][47] ^= 1; }
            }
        }));
        let out = run(n, t, v, u64::from(n * 77 + bad), &tamper);
        assert_blamed(&out, bad, val, None, |e| matches!(e,
            FrostError::BadCommitment { .. } | FrostError::BadProof { .. } | FrostError::BadShare { .. }))?;
    }

    #[test]
    fn corrupted_proof_is_blamed(
        (n, t, v, bad, val) in scenario(), corrupt_c in any::<bool>(), pos in 0usize..32, bit in 0u8..8,
    ) {
        let tamper = Tamper::Round1Cast(bad, Box::new(move |c| {
            let e = c.casts.iter_mut().find(|e| e.key.val_idx == val).expect("entry");
            if corrupt_c { flip(&mut e.ci, pos, bit) } else { flip(&mut e.wi, pos, bit) }
        }));
        let out = run(n, t, v, u64::from(n * 31 + bad), &tamper);
        assert_blamed(&out, bad, val, None, |e| matches!(e, FrostError::BadProof { .. }))?;
    }

    #[test]
    fn corrupted_share_is_blamed_by_its_recipient(
        (n, t, v, bad, val) in scenario(), to_pick in 0u32..8, pos in 0usize..32, bit in 0u8..8,
    ) {
        let others: Vec<u32> = (1..=n).filter(|j| *j != bad).collect();
        let to = others[to_pick as usize % others.len()];
        let tamper = Tamper::Round1Direct(bad, to, Box::new(move |m| {
            let s = m.shares.iter_mut().find(|s| s.key.val_idx == val).expect("entry");
            let mut b = s.value.expose_secret().to_vec();
            flip(&mut b, pos, bit);
            s.value = ShareBytes::new(b);
        }));
        let out = run(n, t, v, u64::from(n * 13 + bad), &tamper);
        assert_blamed(&out, bad, val, Some(to), |e| matches!(e, FrostError::BadShare { .. }))?;
    }

    #[test]
    fn corrupted_verification_key_is_blamed(
        (n, t, v, bad, val) in scenario(), swap in any::<bool>(), pos in 0usize..48, bit in 0u8..8,
    ) {
        let tamper = Tamper::Round2Cast(bad, Box::new(move |c| {
            let e = c.casts.iter_mut().find(|e| e.key.val_idx == val).expect("entry");
            if swap {
                // A valid point that is not this participant's share: the group key.
                e.vk_share = e.verification_key.clone();
            } else {
                flip(&mut e.vk_share, pos, bit);
            }
        }));
        let out = run(n, t, v, u64::from(n * 7 + bad), &tamper);
        assert_blamed(&out, bad, val, None, |e| matches!(e, FrostError::BadVerificationKey { .. }))?;
    }

    #[test]
    fn corrupted_group_key_is_blamed(
        (n, t, v, bad, val) in scenario(), pos in 0usize..48, bit in 0u8..8,
    ) {
        let tamper = Tamper::Round2Cast(bad, Box::new(move |c| {
            let e = c.casts.iter_mut().find(|e| e.key.val_idx == val).expect("entry");
            flip(&mut e.verification_key, pos, bit);
        }));
        let out = run(n, t, v, u64::from(n * 5 + bad), &tamper);
        assert_blamed(&out, bad, val, None, |e| matches!(e, FrostError::GroupKeyMismatch { .. }))?;
    }
}
