//! Message-level checks of the FROST rounds (charon-dkg-protocol.md §1.7 "Charon-side
//! checks", §1.13 shapes): counts, duplicates, keys, own echoes, and the wire layout.

// Index arithmetic on small test sizes (n ≤ 255, V ≤ 10).
#![allow(clippy::cast_possible_truncation)]

mod frost_support;

use dkgd_crypto::frost::{
    round1, AwaitRound1, FrostError, FrostParams, Round, Round1Casts, Round1Output, Round1P2P,
    ShareIdx,
};
use frost_support::{copy_p2p, idx};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const N: u32 = 3;
const T: u32 = 2;
const V: u32 = 2;

/// An edit of the received round-1 broadcasts and direct messages.
type Edit = fn(&mut Vec<(ShareIdx, Round1Casts)>, &mut Vec<(ShareIdx, Round1P2P)>);

struct Setup {
    me: AwaitRound1,
    outs: Vec<Round1Output>,
}

/// Round 1 for all three participants; `me` is participant 1.
fn setup() -> Setup {
    let params = FrostParams::new(N, T, V).expect("valid");
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    let mut states = Vec::new();
    let mut outs = Vec::new();
    for i in 1..=N {
        let (s, o) = round1(params, idx(i), &mut rng).expect("round 1");
        states.push(s);
        outs.push(o);
    }
    Setup {
        me: states.into_iter().next().expect("participant 1"),
        outs,
    }
}

fn casts(outs: &[Round1Output]) -> Vec<(ShareIdx, Round1Casts)> {
    outs.iter()
        .enumerate()
        .map(|(k, o)| (idx(k as u32 + 1), o.cast.clone()))
        .collect()
}

fn direct_to_1(outs: &[Round1Output]) -> Vec<(ShareIdx, Round1P2P)> {
    outs.iter()
        .enumerate()
        .skip(1)
        .map(|(k, o)| {
            let m = o.direct.iter().find(|(to, _)| to.get() == 1).expect("to 1");
            (idx(k as u32 + 1), copy_p2p(&m.1))
        })
        .collect()
}

fn handle(
    s: Setup,
    edit: impl FnOnce(&mut Vec<(ShareIdx, Round1Casts)>, &mut Vec<(ShareIdx, Round1P2P)>),
) -> Result<(), FrostError> {
    let mut c = casts(&s.outs);
    let mut d = direct_to_1(&s.outs);
    edit(&mut c, &mut d);
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    s.me.handle_round1(&c, &d, &mut rng).map(|_| ())
}

#[test]
fn wire_layout_matches_charon() {
    let s = setup();
    let o = &s.outs[1];
    assert_eq!(o.cast.casts.len(), V as usize);
    for (v, e) in o.cast.casts.iter().enumerate() {
        assert_eq!(
            (e.key.val_idx, e.key.source_id, e.key.target_id),
            (v as u32, 2, 0)
        );
        assert_eq!((e.wi.len(), e.ci.len()), (32, 32));
        assert_eq!(e.commitments.len(), T as usize);
        assert!(e
            .commitments
            .iter()
            .all(|c| c.len() == 48 && c[0] & 0x80 != 0));
    }
    assert_eq!(o.direct.len(), N as usize - 1);
    assert_eq!(
        o.direct.iter().map(|(j, _)| j.get()).collect::<Vec<_>>(),
        vec![1, 3]
    );
    for (j, m) in &o.direct {
        for (v, sh) in m.shares.iter().enumerate() {
            assert_eq!(
                (sh.key.val_idx, sh.key.source_id, sh.key.target_id),
                (v as u32, 2, j.get())
            );
            assert_eq!(sh.id, j.get());
            assert_eq!(sh.value.expose_secret().len(), 32);
        }
    }
    assert!(format!("{:?}", o.direct).contains("redacted"));
}

#[test]
fn honest_round1_is_accepted() {
    assert_eq!(handle(setup(), |_, _| {}), Ok(()));
}

#[test]
fn missing_duplicate_and_stranger_are_rejected() {
    let r = handle(setup(), |c, _| {
        c.remove(2);
    });
    assert_eq!(
        r,
        Err(FrostError::Missing {
            round: Round::Round1Cast,
            from: idx(3)
        })
    );

    let r = handle(setup(), |_, d| {
        d.remove(0);
    });
    assert_eq!(
        r,
        Err(FrostError::Missing {
            round: Round::Round1P2P,
            from: idx(2)
        })
    );

    let r = handle(setup(), |c, _| {
        let dup = c[1].clone();
        c.push(dup);
    });
    assert_eq!(
        r,
        Err(FrostError::Duplicate {
            round: Round::Round1Cast,
            from: idx(2)
        })
    );

    let r = handle(setup(), |c, _| c[2].0 = idx(4));
    assert_eq!(
        r,
        Err(FrostError::NotAParticipant {
            idx: 4,
            participants: 3
        })
    );
}

#[test]
fn own_messages_are_checked() {
    let r = handle(setup(), |c, _| c[0].1.casts[0].wi[31] ^= 1);
    assert_eq!(
        r,
        Err(FrostError::OwnMessage {
            round: Round::Round1Cast
        })
    );

    let r = handle(setup(), |_, d| {
        let m = copy_p2p(&d[0].1);
        d.push((idx(1), m));
    });
    assert_eq!(
        r,
        Err(FrostError::OwnMessage {
            round: Round::Round1P2P
        })
    );
}

#[test]
fn entry_counts_and_keys_are_checked() {
    let r = handle(setup(), |c, _| {
        c[1].1.casts.pop();
    });
    assert!(
        matches!(r, Err(FrostError::WrongCount { round: Round::Round1Cast, from, expected: 2, got: 1 }) if from == idx(2)),
        "{r:?}"
    );

    let cases: [(&str, Edit); 6] = [
        ("source_id is not the sender", |c, _| {
            c[1].1.casts[1].key.source_id = 3
        }),
        ("wrong target_id", |c, _| c[1].1.casts[1].key.target_id = 1),
        ("val_idx out of range", |c, _| {
            c[1].1.casts[1].key.val_idx = 2
        }),
        ("val_idx repeated", |c, _| c[1].1.casts[1].key.val_idx = 0),
        ("wrong target_id", |_, d| d[0].1.shares[1].key.target_id = 3),
        ("share id is not the recipient", |_, d| {
            d[0].1.shares[1].id = 3
        }),
    ];
    for (want, edit) in cases {
        let r = handle(setup(), edit);
        match r {
            Err(FrostError::BadKey { from, what, .. }) => {
                assert_eq!((from, what), (idx(2), want));
            }
            other => panic!("expected BadKey({want}), got {other:?}"),
        }
    }
}

#[test]
fn entries_may_arrive_in_any_validator_order() {
    let r = handle(setup(), |c, d| {
        c[1].1.casts.reverse();
        d[1].1.shares.reverse();
    });
    assert_eq!(r, Ok(()));
}

#[test]
fn errors_display_culprit_and_validator() {
    let e = FrostError::BadProof {
        from: idx(3),
        validator: 7,
        what: "challenge is zero",
    };
    assert_eq!(
        e.to_string(),
        "round 1: share 3 sent a bad proof of knowledge for validator 7: challenge is zero"
    );
    assert_eq!((e.culprit(), e.validator()), (Some(idx(3)), Some(7)));
    let e = FrostError::OwnMessage {
        round: Round::Round2Cast,
    };
    assert_eq!(e.culprit(), None);
}

#[test]
fn zero_challenge_and_non_canonical_scalars_are_rejected() {
    let cases: [(&str, Edit); 4] = [
        ("challenge is zero", |c, _| c[2].1.casts[1].ci = [0; 32]),
        ("response is not a canonical scalar", |c, _| {
            c[2].1.casts[1].wi = [0xff; 32]
        }),
        ("challenge is not a canonical scalar", |c, _| {
            c[2].1.casts[1].ci = [0x80; 32]
        }),
        ("commitment is not a non-identity G1 point", |c, _| {
            let mut inf = [0u8; 48];
            inf[0] = 0xc0;
            c[2].1.casts[1].commitments[1] = inf;
        }),
    ];
    for (want, edit) in cases {
        match handle(setup(), edit) {
            Err(FrostError::BadProof {
                from,
                validator,
                what,
            })
            | Err(FrostError::BadCommitment {
                from,
                validator,
                what,
            }) => {
                assert_eq!((from, validator, what), (idx(3), 1, want));
            }
            other => panic!("expected {want}, got {other:?}"),
        }
    }
}
