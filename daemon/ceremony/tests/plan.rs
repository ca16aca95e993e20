//! The plan accepts what `charon dkg` accepts for FROST and rejects the rest, naming the field.

mod support;

use dkgd_ceremony::definition::default_threshold;
use dkgd_ceremony::{DefinitionProblem, Error, PeerIdx, Plan, PlanOptions};
use dkgd_crypto::k1::K1SecretKey;
use dkgd_formats::definition::{Definition, Version};
use dkgd_formats::network::HOODI;
use rand_chacha::rand_core::SeedableRng;
use support::{definition, keys, Case};

fn setup(n: usize) -> (Definition, Vec<K1SecretKey>) {
    let (ops, creator) = keys(n, 11);
    let def = definition(
        &Case::new(n, 2, Version::V1_10, &HOODI).config(),
        &ops,
        &creator,
    );
    (def, ops)
}

/// Plans `def` (hashes recomputed after an edit) as operator 0 and returns the problem.
fn problem(def: Definition, key: &K1SecretKey) -> DefinitionProblem {
    let def = def.with_hashes_recomputed().expect("hashes");
    match Plan::new(def, &key.public_key()) {
        Err(Error::InvalidDefinition(p)) => p,
        Err(other) => panic!("expected a definition problem, got {other}"),
        Ok(_) => panic!("expected the plan to be rejected"),
    }
}

#[test]
fn accepts_every_operator_at_its_index() {
    let (def, ops) = setup(4);
    for (p, k) in ops.iter().enumerate() {
        let plan = Plan::new(def.clone(), &k.public_key()).unwrap();
        assert_eq!(plan.me(), PeerIdx::from_usize(p).unwrap());
        assert_eq!(plan.share_idx().get() as usize, p + 1);
        assert_eq!(plan.threshold() as u64, default_threshold(4));
        assert_eq!((plan.num_operators(), plan.num_validators()), (4, 2));
        assert_eq!(plan.network(), &HOODI);
        assert_eq!(Some(plan.definition_hash()), def.definition_hash);
    }
    assert_eq!([3, 4, 7, 10, 16].map(default_threshold), [2, 3, 5, 7, 11]);
}

#[test]
fn rejects_unsupported_versions() {
    let (def, ops) = setup(3);
    for v in [Version::V1_5, Version::V1_0] {
        let mut d = def.clone();
        d.version = v;
        let p = problem(d, &ops[0]);
        assert!(matches!(p, DefinitionProblem::UnsupportedVersion { version } if version == v));
        assert_eq!(p.field(), "version");
    }
}

#[test]
fn rejects_pedersen_and_unknown_algorithms() {
    let (def, ops) = setup(3);
    let mut d = def.clone();
    d.dkg_algorithm = "pedersen".into();
    let p = problem(d, &ops[0]);
    assert!(matches!(p, DefinitionProblem::PedersenUnsupported));
    assert_eq!(p.field(), "dkg_algorithm");
    assert!(p.to_string().contains("not supported"), "{p}");
    let mut d = def;
    d.dkg_algorithm = "keygen".into();
    assert!(matches!(
        problem(d, &ops[0]),
        DefinitionProblem::UnknownAlgorithm { .. }
    ));
    // A definition signed with "frost" is FROST too.
    let (ops, creator) = keys(3, 11);
    let mut config = Case::new(3, 1, Version::V1_9, &HOODI).config();
    config.dkg_algorithm = "frost".into();
    Plan::new(definition(&config, &ops, &creator), &ops[2].public_key()).expect("frost");
}

#[test]
fn rejects_threshold_out_of_range() {
    let (def, ops) = setup(3);
    for t in [0, 1, 4, 300] {
        let mut d = def.clone();
        d.threshold = t;
        let p = problem(d, &ops[0]);
        assert!(
            matches!(p, DefinitionProblem::ThresholdOutOfRange { threshold, operators: 3 } if threshold == t),
            "{p}"
        );
        assert_eq!(p.field(), "threshold");
    }
}

#[test]
fn rejects_unknown_network() {
    let (mut def, ops) = setup(3);
    def.fork_version = [0xde, 0xad, 0xbe, 0xef];
    let p = problem(def, &ops[0]);
    assert!(matches!(p, DefinitionProblem::UnknownNetwork { .. }), "{p}");
    assert_eq!(p.field(), "fork_version");
}

#[test]
fn rejects_an_identity_not_among_the_operators() {
    let (def, _) = setup(3);
    let stranger = K1SecretKey::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(77));
    let p = problem(def, &stranger);
    assert!(matches!(p, DefinitionProblem::NotAnOperator(k) if k == stranger.public_key()));
    assert_eq!(p.field(), "operators");
}

#[test]
fn rejects_bad_validator_counts_and_addresses() {
    let (def, ops) = setup(3);
    let mut d = def.clone();
    d.num_validators = 0;
    d.validators = Some(vec![]);
    assert_eq!(problem(d, &ops[0]).field(), "num_validators");
    let mut d = def.clone();
    d.num_validators = 3;
    assert_eq!(problem(d, &ops[0]).field(), "validators");
    let mut d = def;
    if let Some(v) = d.validators.as_mut().and_then(|v| v.get_mut(1)) {
        v.withdrawal_address = Default::default();
    }
    assert_eq!(
        problem(d, &ops[0]).field(),
        "validators[1].withdrawal_address"
    );
}

#[test]
fn rejects_bad_enrs() {
    let (def, ops) = setup(3);
    let mut d = def.clone();
    d.operators.as_mut().unwrap()[1].enr = "enr:garbage".into();
    assert_eq!(problem(d, &ops[0]).field(), "operators[1].enr");
    let mut d = def;
    let first = d.operators.as_ref().unwrap()[0].enr.clone();
    d.operators.as_mut().unwrap()[2].enr = first;
    let p = problem(d, &ops[0]);
    assert!(
        matches!(p, DefinitionProblem::DuplicateOperator { .. }),
        "{p}"
    );
}

#[test]
fn signatures_and_hashes_are_verified_unless_no_verify() {
    let (mut def, ops) = setup(3);
    def.name = "edited after signing".into();
    // Hashes stale: rejected, naming the hash.
    let err = Plan::new(def.clone(), &ops[0].public_key()).unwrap_err();
    let Error::InvalidDefinition(p) = &err else {
        panic!("{err}")
    };
    assert_eq!(p.field(), "config_hash", "{err}");
    // Hashes recomputed but operator signatures now cover another config hash.
    let def = def.with_hashes_recomputed().expect("hashes");
    let err = Plan::new(def.clone(), &ops[0].public_key()).unwrap_err();
    let Error::InvalidDefinition(p) = &err else {
        panic!("{err}")
    };
    assert_eq!(p.field(), "operators[0].config_signature", "{err}");
    // charon's --no-verify accepts it.
    let opts = PlanOptions { no_verify: true };
    Plan::with_options(def, &ops[0].public_key(), &opts).expect("no_verify skips signatures");
}
