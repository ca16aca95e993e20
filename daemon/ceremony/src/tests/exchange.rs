//! Shape checks of exchanged messages: partial-signature sets and node signatures are bound to
//! their authenticated sender, one per peer, for the duty being exchanged.

use dkgd_crypto::frost::ShareIdx;

use super::cluster;
use crate::duties::Duty;
use crate::error::{Error, Misbehaviour};
use crate::index::PeerIdx;
use crate::nodesigs;
use crate::partials::{aggregate_lock_hash, PartialSignatures};
use crate::step::Step;

fn set(duty: Duty, share: u32, count: usize) -> PartialSignatures {
    PartialSignatures {
        duty,
        share: ShareIdx::new(share).unwrap(),
        signatures: vec![[0u8; 96]; count],
    }
}

fn peer(i: u8) -> PeerIdx {
    PeerIdx::new(i)
}

/// The fault `aggregate_lock_hash` reports for `received` (shape checks run before any
/// signature is looked at, so neither keys nor valid signatures are needed to reach them).
fn fault(received: &[(PeerIdx, PartialSignatures)]) -> (PeerIdx, Misbehaviour) {
    let (_, plan) = cluster(3, 2, 0);
    let duties = crate::duties::Duties::new(&plan, &[[0; 48]; 2]).unwrap();
    let public = empty_public();
    match aggregate_lock_hash(&plan, &duties, &public, received) {
        Err(Error::PeerMisbehaved { peer, step, what }) => {
            assert_eq!(step, Step::LockHash);
            (peer, what)
        }
        other => panic!("expected a peer fault, got {other:?}"),
    }
}

fn empty_public() -> crate::keygen::PublicKeys {
    crate::keygen::PublicKeys::empty_for_tests()
}

#[test]
fn partial_sets_are_bound_to_their_sender() {
    let l = Duty::LockHash;
    let good = |p: u8| (peer(p), set(l, u32::from(p) + 1, 2));
    // Claims another peer's share index.
    let (p, what) = fault(&[good(0), (peer(1), set(l, 3, 2)), good(2)]);
    assert_eq!(p, peer(1));
    assert!(matches!(what, Misbehaviour::WrongShareIndex { claimed, .. } if claimed.get() == 3));
    // Another duty.
    let (p, what) = fault(&[
        good(0),
        good(1),
        (peer(2), set(Duty::BuilderRegistration, 3, 2)),
    ]);
    assert_eq!(p, peer(2));
    assert!(matches!(what, Misbehaviour::WrongDuty { .. }));
    // Wrong count.
    let (p, what) = fault(&[(peer(0), set(l, 1, 1)), good(1), good(2)]);
    assert_eq!(p, peer(0));
    assert!(matches!(
        what,
        Misbehaviour::PartialCount {
            expected: 2,
            found: 1,
            ..
        }
    ));
    // Twice.
    let (p, what) = fault(&[good(0), good(1), good(1), good(2)]);
    assert_eq!(p, peer(1));
    assert!(matches!(what, Misbehaviour::DuplicatePartials { .. }));
    // Missing.
    let (p, what) = fault(&[good(0), good(2)]);
    assert_eq!(p, peer(1));
    assert!(matches!(what, Misbehaviour::MissingPartials { .. }));
}

#[test]
fn node_signatures_are_checked_against_the_senders_enr() {
    let (keys, plan) = cluster(3, 1, 0);
    let hash = [7u8; 32];
    let sigs: Vec<(PeerIdx, [u8; 65])> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (PeerIdx::from_usize(i).unwrap(), nodesigs::sign(k, &hash)))
        .collect();
    let ok = nodesigs::collect(&plan, &hash, &sigs).unwrap();
    assert_eq!(ok.len(), 3);
    assert_eq!(ok[2], sigs[2].1);

    // Peer 1 sends peer 2's signature.
    let mut bad = sigs.clone();
    bad[1].1 = sigs[2].1;
    let err = nodesigs::collect(&plan, &hash, &bad).unwrap_err();
    assert_eq!(err.culprit(), Some(peer(1)));
    assert_eq!(err.step(), Some(Step::NodeSignatures));
    // A signature over another hash.
    bad[1].1 = nodesigs::sign(&keys[1], &[8u8; 32]);
    assert_eq!(
        nodesigs::collect(&plan, &hash, &bad).unwrap_err().culprit(),
        Some(peer(1))
    );
    // Missing.
    let err = nodesigs::collect(&plan, &hash, &sigs[..2]).unwrap_err();
    assert!(matches!(
        err,
        Error::PeerMisbehaved {
            what: Misbehaviour::MissingNodeSignature,
            ..
        }
    ));
    assert_eq!(err.culprit(), Some(peer(2)));
}
