//! A peer that sends a bad partial signature is named, with the duty and validator, whichever
//! duty (deposit per amount, registration, lock hash) and validator it corrupts.

mod support;

use dkgd_ceremony::duties::deposit_amounts;
use dkgd_ceremony::wire::Profile;
use dkgd_ceremony::{CeremonyError, Duty, Error, Misbehaviour, PeerIdx, Step, ValidatorIdx};
use dkgd_formats::definition::Version;
use dkgd_formats::network::HOODI;
use dkgd_sim::{run_cluster, BadPartial, Net};
use proptest::prelude::*;
use support::{definition, keys, Case};

/// Node `from` sends node `from + 1` a bad partial for the picked duty and `validator`;
/// returns the duty and the receiver's error.
fn run_with_fault(n: usize, v: u64, from: u8, duty_pick: usize, validator: u32) -> (Duty, Error) {
    let case = Case::new(n, v, Version::V1_10, &HOODI);
    let (ops, creator) = keys(n, 5);
    let def = definition(&case.config(), &ops, &creator);
    let mut duties: Vec<Duty> = deposit_amounts(&def)
        .into_iter()
        .enumerate()
        .map(|(k, amount_gwei)| Duty::Deposit {
            index: u32::try_from(k).expect("few amounts"),
            amount_gwei,
        })
        .collect();
    duties.extend([Duty::BuilderRegistration, Duty::LockHash]);
    let duty = duties[duty_pick % duties.len()];
    // The same seeds give the same DKG: an honest run tells the validator's group key.
    let cfg = dkgd_sim::config();
    let honest = run_cluster(&def, &ops, 3, &cfg).expect("an honest run");
    let v_idx = usize::try_from(validator).expect("small");
    let group_key = honest[0].lock.validators[v_idx].public_key;
    let from = usize::from(from);
    let to = (from + 1) % n;
    let profile = Profile::for_definition(&def);
    let mut net =
        Net::with_config(&ops, &vec![def; n], &vec![profile; n], 3, &cfg).expect("the cluster");
    net.tamper = Some((from, to, Box::new(BadPartial::new(duty, &group_key))));
    assert!(net.run());
    assert_eq!(net.tamper.as_ref().map(|t| t.2.mutated()), Some(1));
    // After the abort the machine still says which step failed (not a stand-in state).
    assert_eq!(net.nodes[to].step(), duty.step());
    let pos = net.events[to]
        .iter()
        .position(|e| matches!(e, dkgd_ceremony::Event::Aborted(_)))
        .expect("a bad partial must abort the ceremony");
    match net.events[to].remove(pos) {
        dkgd_ceremony::Event::Aborted(CeremonyError::Ceremony { source, .. }) => (duty, source),
        other => panic!("node {to}: expected a step's own failure, got {other:?}"),
    }
}

fn assert_attributed(err: &Error, from: u8, duty: Duty, validator: u32) {
    match err {
        Error::PeerMisbehaved { peer, step, what } => {
            assert_eq!(*peer, PeerIdx::new(from), "{err}");
            assert_eq!(*step, duty.step(), "{err}");
            assert_eq!(
                *what,
                Misbehaviour::InvalidPartialSignature {
                    duty,
                    validator: ValidatorIdx::new(validator)
                },
                "{err}"
            );
        }
        other => panic!("expected a peer fault, got {other}"),
    }
}

#[test]
fn bad_deposit_partial_names_peer_duty_and_validator() {
    let (duty, err) = run_with_fault(4, 3, 2, 1, 1);
    assert_eq!(
        duty,
        Duty::Deposit {
            index: 1,
            amount_gwei: 32_000_000_000
        }
    );
    assert_attributed(&err, 2, duty, 1);
    assert_eq!(err.step(), Some(Step::Deposits));
    assert_eq!(
        err.to_string(),
        "peer 2 misbehaved in step 2 (deposit data): invalid partial signature for deposit \
         data of 32 ETH, validator 1"
    );
}

#[test]
fn bad_lock_hash_partial_from_first_peer() {
    let (duty, err) = run_with_fault(3, 2, 0, 3, 0);
    assert_eq!(duty, Duty::LockHash);
    assert_attributed(&err, 0, duty, 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn any_bad_partial_is_attributed(from in 0u8..4, duty_pick in 0usize..4, validator in 0u32..2) {
        let (duty, err) = run_with_fault(4, 2, from, duty_pick, validator);
        assert_attributed(&err, from, duty, validator);
    }
}
