//! Definition and lock models against the shared golden vectors (formats.md §2, §3, §10, §12).
//!
//! Sources: shared/vectors/charon (README.md, vectors.md) and shared/vectors/obol-sdk.

// Helpers outside `#[test]` functions unwrap too: in tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use dkgd_formats::definition::{
    Address, Creator, Definition, Operator, Problem, ValidatorAddresses, Version,
};
use dkgd_formats::lock::{
    BuilderRegistration, DepositData, DistValidator, Lock, RegistrationMessage,
};
use dkgd_testkit::{list_vectors, read_vector, unhex};

/// The HEAD copy whose fork_version was hand-edited (formats.md §11.18).
const EDITED_LOCK: &str = "charon/cmd/testdata/test_cluster_lock.json";

fn definition_files() -> Vec<String> {
    let mut v: Vec<String> = list_vectors("charon/cluster/testdata", ".json")
        .into_iter()
        .filter(|f| f.contains("cluster_definition_"))
        .collect();
    v.extend(
        list_vectors("charon/cluster/examples", ".json")
            .into_iter()
            .filter(|f| f.contains("definition")),
    );
    v
}

fn lock_files() -> Vec<String> {
    let mut v: Vec<String> = list_vectors("charon/cluster/testdata", ".json")
        .into_iter()
        .filter(|f| f.contains("cluster_lock_"))
        .collect();
    v.extend(
        list_vectors("charon/cluster/examples", ".json")
            .into_iter()
            .filter(|f| f.contains("lock")),
    );
    v.extend(list_vectors("charon/cmd/testdata", ".json"));
    v.extend(list_vectors("charon/app/testdata", ".json"));
    v.extend(list_vectors("obol-sdk", ".json"));
    v
}

fn def(rel: &str) -> Definition {
    Definition::from_json(&read_vector(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn lock(rel: &str) -> Lock {
    Lock::from_json(&read_vector(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn every_definition_parses_and_its_hashes_match() {
    let files = definition_files();
    assert_eq!(files.len(), 19);
    for f in files {
        let d = def(&f);
        let check = d.check_hashes().unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(check.all_match(), "{f}: {check:?}");
    }
}

#[test]
fn every_lock_parses_and_its_hashes_match_except_the_edited_one() {
    let files = lock_files();
    assert_eq!(files.len(), 24);
    for f in files {
        let l = lock(&f);
        let check = l.check_hashes().unwrap_or_else(|e| panic!("{f}: {e}"));
        if f == EDITED_LOCK {
            // fork_version edited by hand: every hash over it is stale.
            assert!(!check.definition.config_hash.matches(), "{f}");
            assert!(!check.definition.definition_hash.matches(), "{f}");
            assert!(!check.lock_hash.matches(), "{f}");
            assert!(!check.all_match(), "{f}");
        } else {
            assert!(check.all_match(), "{f}: {check:?}");
        }
    }
    // The pre-edit copy differs only in the fork version and verifies.
    let good = lock("charon/cmd/testdata/test_cluster_lock.at-8c9f69b93.json");
    let bad = lock(EDITED_LOCK);
    assert_eq!(good.definition.fork_version_hex(), "0x01017000");
    assert_eq!(bad.definition.fork_version_hex(), "0x10000910");
    let mut fixed = bad.clone();
    fixed.definition.fork_version = good.definition.fork_version;
    assert!(fixed.check_hashes().unwrap().all_match());
}

#[test]
fn stored_hashes_equal_the_documented_ones() {
    let d = def("charon/cluster/testdata/cluster_definition_v1_11_0.json");
    let c = d.check_hashes().unwrap();
    assert_eq!(
        hex::encode(c.config_hash.computed),
        "9f889a6e78ca1f4637fab903ccaef6919e70ff35bcc43022512dbb843232d575"
    );
    assert_eq!(
        hex::encode(c.definition_hash.computed),
        "1d3f0ecd993b4dc1083fe39b3a5970f3f3824b82a63791a16e9d3e4e289ed9e4"
    );
    for (v, prefix, suffix) in [
        ("1_6_0", "5931cc96", "de86"),
        ("1_7_0", "bb0ce2dc", "926d"),
        ("1_8_0", "efbdb478", "1b0d"),
        ("1_9_0", "6a2e6597", "adc0"),
        ("1_10_0", "b1613824", "64f0"),
        ("1_11_0", "ecb029e3", "e8e0"),
    ] {
        let f = format!("charon/cluster/testdata/cluster_lock_v{v}.json");
        let h = hex::encode(lock(&f).compute_lock_hash().unwrap());
        assert!(h.starts_with(prefix) && h.ends_with(suffix), "{f}: {h}");
    }
}

/// Files re-written byte for byte (all one-space-indented charon outputs).
#[test]
fn byte_exact_rewrites() {
    let mut exact = list_vectors("charon/cluster/testdata", ".json"); // v1.0 – v1.11, both kinds
    exact.extend(list_vectors("charon/cmd/testdata", ".json"));
    exact.extend(list_vectors("charon/app/testdata", ".json"));
    assert_eq!(exact.len(), 27);
    for f in exact {
        let bytes = read_vector(&f);
        let out = if f.contains("lock") {
            lock(&f).to_json().unwrap()
        } else {
            def(&f).to_json().unwrap()
        };
        assert!(out == bytes, "{f}: re-written bytes differ");
    }
}

/// Files written with another indent (or by the Obol API) whose content, key order and
/// `null`/`[]` choices we nevertheless reproduce exactly.
#[test]
fn same_structure_as_other_writers() {
    let files = [
        "charon/cluster/examples/cluster-definition-001.json",
        "charon/cluster/examples/cluster-definition-002.json",
        "charon/cluster/examples/cluster-definition-003.json",
        "charon/cluster/examples/cluster-definition-004.json",
        "charon/cluster/examples/cluster-definition-005.json",
        "charon/cluster/examples/cluster-definition-006.json",
        "charon/cluster/examples/cluster-lock-002.json",
        "charon/cluster/examples/cluster-lock-003.json",
        "obol-sdk/fixtures-0a6c839a-clusterLockV1X6.json",
        "obol-sdk/fixtures-nullDepositAmountsClusterLockV1X8.json",
        "obol-sdk/fixtures-clusterLockWithCompoundingWithdrawalss.json",
    ];
    for f in files {
        let bytes = read_vector(f);
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let normalised = dkgd_formats::json::to_go_json(&v).unwrap();
        let out = if f.contains("lock") || f.contains("Lock") {
            lock(f).to_json().unwrap()
        } else {
            def(f).to_json().unwrap()
        };
        assert!(out == normalised, "{f}");
    }
}

/// Every file survives write → read unchanged, with its hash verdict unchanged.
#[test]
fn write_read_round_trip_of_every_file() {
    for f in definition_files() {
        let d = def(&f);
        let back = Definition::from_json(&d.to_json().unwrap()).unwrap();
        assert_eq!(back, d, "{f}");
    }
    for f in lock_files() {
        let l = lock(&f);
        let back = Lock::from_json(&l.to_json().unwrap()).unwrap();
        assert_eq!(back, l, "{f}");
        assert_eq!(
            back.check_hashes().unwrap().all_match(),
            f != EDITED_LOCK,
            "{f}"
        );
    }
}

fn addr(c: &str) -> Address {
    Address::parse(&format!("0x{}", c.repeat(40))).unwrap()
}

/// charon's "baseDef" (vectors.md, SSZ hashing table), built through the public API.
fn base_def(version: Version) -> Definition {
    let mut d = Definition::blank(version);
    d.uuid = "f4c00e58-1a54-4e55-8d76-2b2a6d4c3f9a".into();
    d.name = "test-cluster-3of4".into();
    d.timestamp = "2024-06-15T12:00:00Z".into();
    d.num_validators = 2;
    d.threshold = 3;
    d.dkg_algorithm = "default".into();
    d.fork_version = [0x00, 0x00, 0x10, 0x20];
    let ops = [
        ("1", "enr:-Iu4QNHNMf"),
        ("2", "enr:-Iu4QABCDef"),
        ("3", "enr:-Iu4QXYZghi"),
    ];
    d.operators = Some(
        ops.iter()
            .map(|(c, enr)| Operator {
                address: addr(c),
                enr: (*enr).into(),
                ..Operator::default()
            })
            .collect(),
    );
    d.creator = Creator {
        address: addr("1"),
        config_signature: vec![],
    };
    let va = ValidatorAddresses {
        fee_recipient_address: addr("a"),
        withdrawal_address: addr("b"),
    };
    d.validators = Some(if version >= Version::V1_5 {
        vec![va.clone(), va]
    } else {
        vec![va]
    });
    d
}

#[test]
fn base_def_fixed_roots() {
    let hex32 = |s: &str| -> [u8; 32] { unhex(s).try_into().unwrap() };
    let mut v10 = base_def(Version::V1_0);
    v10.timestamp.clear();
    let mut v18 = base_def(Version::V1_8);
    v18.deposit_amounts = Some(vec![32_000_000_000]);
    let mut v19 = base_def(Version::V1_9);
    v19.deposit_amounts = Some(vec![32_000_000_000]);
    v19.consensus_protocol = "abft".into();
    let mut v110 = v19.clone();
    v110.version = Version::V1_10;
    v110.target_gas_limit = 30_000_000;
    v110.compounding = true;
    let config = [
        (
            v10,
            "90336d34257fd9b1c2b6b119d008e7f0cff112e91455e24b0666e23aae480216",
        ),
        (
            base_def(Version::V1_2),
            "36e332cad485463ba6deb041fd5b3949fd7a09e3c1eb456bb3d9f97b8ae31673",
        ),
        (
            base_def(Version::V1_3),
            "e314abc0c7bc2dbf22a4c6c044481880675e47eed15bf7b734ce2a275dfbf81a",
        ),
        (
            base_def(Version::V1_4),
            "068e5c2c4262e4fef6f99f858a3d7ceb2243bc411d9523d445a38752da68dec7",
        ),
        (
            base_def(Version::V1_5),
            "16612ab44e0e3605ab74f2d711afe6db71ab673967aa3be4ee565f3aa64415a9",
        ),
        (
            base_def(Version::V1_7),
            "c0ade8b834d7731f4076d364472be55974a9cb23ed97cc828bf5661b1df1c564",
        ),
        (
            v18,
            "cbdb72b363a735e1f469cbd7983734d524001a68dcf3ab71153d69892fa0e36c",
        ),
        (
            v19,
            "8c55a5a65d8f8dbecaf6fbd39a11c2e701ce3aba1dd7fdd212a35c2e196db34f",
        ),
        (
            v110,
            "5e16fdd44a25d37ebce15ea9d2069ec9d0930ce8d3a0e9091f82edae5969b306",
        ),
    ];
    for (d, want) in config {
        assert_eq!(
            d.compute_config_hash().unwrap(),
            hex32(want),
            "{} config",
            d.version
        );
    }
    // Definition roots with config_hash unset (v1.3: no leaf at all).
    assert_eq!(
        base_def(Version::V1_2).compute_definition_hash().unwrap(),
        hex32("c81916384a24056a596f2d87daf6f2693c12f9df9601122436dfbce0c0e51ed2")
    );
    assert_eq!(
        base_def(Version::V1_3).compute_definition_hash().unwrap(),
        hex32("6fb8988d9ecfc3abab94b79e1abd07564004a1da3b59a84d3158b2a001ee2fd5")
    );
}

#[test]
fn accessors_expose_what_the_verifier_needs() {
    let l = lock("charon/cluster/examples/cluster-lock-003.json");
    assert_eq!(l.version(), Version::V1_7);
    assert_eq!(l.operators().len(), 4);
    assert_eq!(l.node_signatures.len(), 4);
    assert_eq!(l.signature_aggregate.len(), 96);
    let dv = &l.validators[0];
    assert_eq!(dv.public_shares.len(), 4);
    assert!(dv.deposit_data.is_empty(), "empty deposit_data object");
    let reg = dv.builder_registration.as_ref().unwrap();
    assert_eq!(reg.message.pubkey, dv.public_key);
    assert_eq!(reg.message.timestamp, 1_616_508_000); // goerli genesis
    assert_eq!(
        Some(reg.message.fee_recipient),
        l.definition
            .validator_addresses(0)
            .unwrap()
            .fee_recipient_address
            .bytes()
    );
    let op = &l.operators()[0];
    assert_eq!(op.config_signature.len(), 65);
    assert!(op.enr.starts_with("enr:"));
    assert!(op.address.bytes().is_some());

    let l = lock("charon/cluster/testdata/cluster_lock_v1_8_0.json");
    assert_eq!(l.validators[0].deposit_data.len(), 2);
    assert_eq!(
        l.definition.deposit_amounts(),
        &[16_000_000_000, 16_000_000_000]
    );
    let dd = &l.validators[0].deposit_data[0];
    assert_ne!(dd.message_root(), dd.root());

    // Legacy: one shared address pair for every validator.
    let d = def("charon/cluster/testdata/cluster_definition_v1_2_0.json");
    assert_eq!(d.validator_addresses(1), d.validator_addresses(0));
    assert!(d.validator_addresses(2).is_none());
    let d = def("charon/cluster/examples/cluster-definition-006.json");
    assert!(d.deposit_amounts.is_none() && d.deposit_amounts().is_empty());
    assert!(!d.is_compounding());
    assert_eq!(d.fork_version_hex(), "0x10000910");
}

#[test]
fn findings_on_vectors() {
    // Real, fully valid locks: no structural findings.
    for f in [
        "charon/cluster/examples/cluster-lock-003.json",
        "charon/cmd/testdata/test_cluster_lock.at-8c9f69b93.json",
        "obol-sdk/fixtures-0a6c839a-clusterLockV1X6.json",
        "obol-sdk/fixtures-clusterLockSoloV1X10.json",
        "obol-sdk/fixtures-clusterLockWithCompoundingWithdrawalss.json",
    ] {
        assert_eq!(lock(f).validate(), vec![], "{f}");
    }
    for f in definition_files() {
        assert_eq!(def(&f).validate(), vec![], "{f}");
    }
    // Random test data: random 32-byte signatures are reported, one line each.
    let lines: Vec<String> = lock("charon/cluster/testdata/cluster_lock_v1_10_0.json")
        .validate()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        lines,
        [
            "signature_aggregate: must be 96 bytes, got 32",
            "node_signatures[0]: must be 65 bytes, got 32",
            "node_signatures[1]: must be 65 bytes, got 32",
        ]
    );
}

#[test]
fn synthetic_findings() {
    let mut l = lock("charon/cluster/testdata/cluster_lock_v1_11_0.json");
    let d = &mut l.definition;
    d.num_validators = 3;
    d.deposit_amounts = Some(vec![500_000_000, 33_000_000_000]);
    if let Some(ops) = d.operators.as_mut() {
        ops[0].enr_signature.clear();
        ops[1].config_signature.clear();
        ops[1].enr_signature.clear();
    }
    d.creator.config_signature.clear();
    let shares = l.validators[0].public_shares.clone();
    l.validators[1].public_key = l.validators[0].public_key;
    l.validators[1].public_shares = vec![shares[0], shares[0], shares[1]];
    l.validators[1].builder_registration = None;
    l.node_signatures = vec![vec![0; 65]];
    let problems: Vec<(String, Problem)> = l
        .validate()
        .into_iter()
        .map(|f| (f.field, f.problem))
        .collect();
    let has = |field: &str, p: fn(&Problem) -> bool| {
        assert!(
            problems.iter().any(|(f, q)| f == field && p(q)),
            "{field} in {problems:#?}"
        )
    };
    has("cluster_definition.validators", |p| {
        matches!(
            p,
            Problem::ValidatorCount {
                num_validators: 3,
                found: 2
            }
        )
    });
    has("cluster_definition.deposit_amounts[0]", |p| {
        matches!(p, Problem::DepositTooSmall { .. })
    });
    has("cluster_definition.deposit_amounts[1]", |p| {
        matches!(p, Problem::DepositTooLarge { .. })
    });
    has("cluster_definition.operators[0]", |p| {
        matches!(p, Problem::HalfSigned)
    });
    has("cluster_definition.operators", |p| {
        matches!(
            p,
            Problem::PartiallySigned {
                signed: 1,
                unsigned: 1
            }
        )
    });
    has("cluster_definition.creator.config_signature", |p| {
        matches!(p, Problem::CreatorUnsigned)
    });
    has("distributed_validators", |p| {
        matches!(p, Problem::ValidatorCount { .. })
    });
    has("distributed_validators[1].distributed_public_key", |p| {
        matches!(p, Problem::DuplicateValidatorKey { first: 0 })
    });
    has("distributed_validators[1].public_shares", |p| {
        matches!(
            p,
            Problem::ShareCount {
                operators: 2,
                found: 3
            }
        )
    });
    has("distributed_validators[1].public_shares[1]", |p| {
        matches!(p, Problem::DuplicateShare { first: 0 })
    });
    has("distributed_validators[1].builder_registration", |p| {
        matches!(p, Problem::MissingBuilderRegistration)
    });
    has("node_signatures", |p| {
        matches!(
            p,
            Problem::NodeSignatureCount {
                operators: 2,
                found: 1
            }
        )
    });

    // Compounding raises the per-deposit cap to 2048 ETH; the sum must reach 32 ETH.
    let mut d = def("charon/cluster/testdata/cluster_definition_v1_10_0.json");
    d.compounding = true;
    d.deposit_amounts = Some(vec![64_000_000_000]);
    assert_eq!(d.validate(), vec![]);
    d.deposit_amounts = Some(vec![2_000_000_000]);
    assert!(
        matches!(d.validate()[..], [ref f] if matches!(f.problem, Problem::DepositSumTooSmall { .. }))
    );
    // v1.0–v1.2 carry no signatures at all.
    let mut d = def("charon/cluster/testdata/cluster_definition_v1_2_0.json");
    if let Some(ops) = d.operators.as_mut() {
        ops[0].config_signature = vec![1; 65];
    }
    assert!(
        matches!(d.validate()[..], [ref f] if matches!(f.problem, Problem::UnexpectedSignature { .. }))
    );
}

/// A new lock built from typed values (the DKG's path) writes, reads back equal and verifies.
#[test]
fn construct_write_read_round_trip() {
    for version in [
        Version::V1_6,
        Version::V1_7,
        Version::V1_8,
        Version::V1_9,
        Version::V1_10,
        Version::V1_11,
    ] {
        let mut d = base_def(version);
        d.name = "new <cluster> & co".into(); // exercises Go's HTML escaping
        d.creator = Creator::default();
        if let Some(ops) = d.operators.as_mut() {
            for op in ops {
                op.address = Address::empty();
            }
        }
        // Only fields the version has (others are neither hashed nor written).
        if version >= Version::V1_8 {
            d.deposit_amounts = Some(vec![32_000_000_000]);
        }
        if version >= Version::V1_10 {
            d.target_gas_limit = 36_000_000;
        }
        let d = d.with_hashes_recomputed().unwrap();
        let validators = (0u8..2)
            .map(|i| {
                let mut dv =
                    DistValidator::new([i + 1; 48], vec![[i + 10; 48], [i + 20; 48], [i + 30; 48]]);
                let dd = DepositData {
                    pubkey: dv.public_key,
                    withdrawal_credentials: [1; 32],
                    amount: 32_000_000_000,
                    signature: [7; 96],
                };
                dv.deposit_data = vec![dd];
                if version >= Version::V1_7 {
                    dv.builder_registration = Some(BuilderRegistration {
                        message: RegistrationMessage {
                            fee_recipient: [0xaa; 20],
                            gas_limit: 36_000_000,
                            timestamp: 1_616_508_000,
                            pubkey: dv.public_key,
                        },
                        signature: [9; 96],
                    });
                }
                dv
            })
            .collect();
        let mut l = Lock::new(d, validators);
        l.signature_aggregate = vec![5; 96];
        if version >= Version::V1_7 {
            l.node_signatures = vec![vec![1; 65], vec![2; 65], vec![3; 65]];
        }
        let l = l.with_hashes_recomputed().unwrap();
        let bytes = l.to_json().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.contains("new \\u003ccluster\\u003e \\u0026 co"),
            "{version}"
        );
        assert!(!text.ends_with('\n'));
        let back = Lock::from_json(&bytes).unwrap();
        assert_eq!(back, l, "{version}");
        assert!(back.check_hashes().unwrap().all_match(), "{version}");
        assert_eq!(back.validate(), vec![], "{version}");
        assert_eq!(back.to_json().unwrap(), bytes, "{version}");
        // The embedded definition also stands alone.
        let d = Definition::from_json(&l.definition.to_json().unwrap()).unwrap();
        assert!(d.check_hashes().unwrap().all_match());
    }
}

#[test]
fn unrepresentable_values_are_refused_on_write() {
    let mut l = lock("charon/cluster/testdata/cluster_lock_v1_7_0.json");
    let extra = l.validators[0].deposit_data[0].clone();
    l.validators[0].deposit_data.push(extra);
    let e = l.to_json().unwrap_err();
    assert_eq!(
        e.field_path(),
        Some("distributed_validators[0].deposit_data")
    );
    assert!(l.compute_lock_hash().is_err());

    let mut d = def("charon/cluster/testdata/cluster_definition_v1_4_0.json");
    d.validators = Some(vec![
        ValidatorAddresses::default(),
        ValidatorAddresses {
            fee_recipient_address: addr("c"),
            ..Default::default()
        },
    ]);
    assert_eq!(d.to_json().unwrap_err().field_path(), Some("validators"));
}
