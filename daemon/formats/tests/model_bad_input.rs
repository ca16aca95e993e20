//! Bad input: every rejection is an `Err` naming the field, never a panic (style §3.5).

// Helpers outside `#[test]` functions unwrap too: in tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use dkgd_formats::definition::{Definition, Version};
use dkgd_formats::error::{Error, FieldProblem, MAX_INPUT_BYTES};
use dkgd_formats::lock::Lock;
use dkgd_testkit::{parse_json, read_vector};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::sync::OnceLock;

const DEF_10: &str = "charon/cluster/testdata/cluster_definition_v1_10_0.json";
const LOCK_11: &str = "charon/cluster/testdata/cluster_lock_v1_11_0.json";

/// A change to a parsed vector.
type Edit = Box<dyn Fn(&mut Value)>;

fn edit(rel: &str, f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v = parse_json(rel);
    f(&mut v);
    serde_json::to_vec(&v).unwrap()
}

fn def_err(bytes: &[u8]) -> Error {
    Definition::from_json(bytes).expect_err("must be rejected")
}

fn lock_err(bytes: &[u8]) -> Error {
    Lock::from_json(bytes).expect_err("must be rejected")
}

/// Asserts the error names `field` and its message starts with it.
fn names(e: &Error, field: &str) {
    assert_eq!(e.field_path(), Some(field), "{e}");
    assert!(e.to_string().starts_with(field), "{e}");
}

fn problem(e: &Error) -> &FieldProblem {
    match e {
        Error::InvalidField { problem, .. } => problem,
        other => panic!("not a field error: {other}"),
    }
}

#[test]
fn truncated_and_non_json_input() {
    let bytes = read_vector(DEF_10);
    for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
        match def_err(&bytes[..cut]) {
            Error::Json { line, what, .. } => {
                assert_eq!(what, "cluster definition");
                assert!(cut == 0 || line > 0);
            }
            other => panic!("cut {cut}: {other}"),
        }
        assert!(matches!(
            lock_err(&read_vector(LOCK_11)[..cut]),
            Error::Json { .. }
        ));
    }
    assert!(matches!(def_err(b"\xff\xfe{}"), Error::Json { .. }));
    assert!(matches!(def_err(b"{} trailing"), Error::Json { .. }));
    // Deep nesting is refused by the parser's recursion limit, not by a stack overflow.
    let deep = "[".repeat(100_000);
    assert!(matches!(def_err(deep.as_bytes()), Error::Json { .. }));
    let e = def_err(b"[1, 2]");
    names(&e, "(top level)");
}

#[test]
fn huge_input_is_refused_before_parsing() {
    let huge = vec![b' '; MAX_INPUT_BYTES + 1];
    let e = def_err(&huge);
    assert!(
        matches!(e, Error::TooLarge { size, limit, .. } if size == limit + 1),
        "{e}"
    );
    assert!(e.to_string().contains("larger than"));
    assert!(matches!(lock_err(&huge), Error::TooLarge { .. }));
}

#[test]
fn versions() {
    let e = def_err(&edit(DEF_10, |v| v["version"] = json!("v1.12.0")));
    assert!(matches!(&e, Error::UnsupportedVersion { version, .. } if version == "v1.12.0"));
    names(&e, "version");
    let e = def_err(&edit(DEF_10, |v| {
        v.as_object_mut().unwrap().remove("version");
    }));
    names(&e, "version");
    let e = lock_err(&edit(LOCK_11, |v| {
        v["cluster_definition"]["version"] = json!("1.11.0")
    }));
    names(&e, "cluster_definition.version");
    let e = lock_err(&edit(LOCK_11, |v| {
        v["cluster_definition"]["version"] = json!(11)
    }));
    names(&e, "cluster_definition.version");
    let e = lock_err(&edit(LOCK_11, |v| {
        v.as_object_mut().unwrap().remove("cluster_definition");
    }));
    assert!(matches!(problem(&e), FieldProblem::Missing));
}

#[test]
fn wrong_types_name_the_field() {
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|v| v["num_validators"] = json!("2")),
            "num_validators",
        ),
        (Box::new(|v| v["threshold"] = json!(-1)), "threshold"),
        (Box::new(|v| v["threshold"] = json!(2.5)), "threshold"),
        (
            Box::new(|v| v["target_gas_limit"] = json!(1e30)),
            "target_gas_limit",
        ),
        (Box::new(|v| v["operators"] = json!({})), "operators"),
        (Box::new(|v| v["operators"][1] = json!("x")), "operators[1]"),
        (
            Box::new(|v| v["operators"][1]["enr"] = json!(5)),
            "operators[1].enr",
        ),
        (Box::new(|v| v["creator"] = json!([])), "creator"),
        (
            Box::new(|v| v["validators"][1]["withdrawal_address"] = json!(true)),
            "validators[1].withdrawal_address",
        ),
        (
            Box::new(|v| v["compounding"] = json!("false")),
            "compounding",
        ),
        (
            Box::new(|v| v["deposit_amounts"] = json!([32000000000u64])),
            "deposit_amounts[0]",
        ),
        (
            Box::new(|v| v["deposit_amounts"][1] = json!("16e9")),
            "deposit_amounts[1]",
        ),
        (
            Box::new(|v| v["fork_version"] = json!(["0x90000069"])),
            "fork_version",
        ),
    ];
    for (f, field) in cases {
        names(&def_err(&edit(DEF_10, f)), field);
    }
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|v| v["cluster_definition"]["name"] = json!(1)),
            "cluster_definition.name",
        ),
        (
            Box::new(|v| v["distributed_validators"] = json!("x")),
            "distributed_validators",
        ),
        (
            Box::new(|v| v["distributed_validators"][0]["public_shares"][1] = json!(7)),
            "distributed_validators[0].public_shares[1]",
        ),
        (
            Box::new(|v| {
                v["distributed_validators"][1]["partial_deposit_data"][0]["amount"] = json!(32)
            }),
            "distributed_validators[1].partial_deposit_data[0].amount",
        ),
        (
            Box::new(|v| {
                v["distributed_validators"][1]["partial_deposit_data"][0]["amount"] = json!("abc")
            }),
            "distributed_validators[1].partial_deposit_data[0].amount",
        ),
        (
            Box::new(|v| {
                v["distributed_validators"][0]["builder_registration"]["message"]["gas_limit"] =
                    json!("1")
            }),
            "distributed_validators[0].builder_registration.message.gas_limit",
        ),
        (
            Box::new(|v| v["node_signatures"] = json!({})),
            "node_signatures",
        ),
        (
            Box::new(|v| v["node_signatures"][1] = json!(null)),
            "node_signatures[1]",
        ),
    ];
    for (f, field) in cases {
        let bytes = edit(LOCK_11, f);
        match Lock::from_json(&bytes) {
            // A null node signature is simply empty (Go semantics), reported by validate().
            Ok(l) if field == "node_signatures[1]" => {
                assert!(l.validate().iter().any(|x| x.field == field));
            }
            Ok(_) => panic!("{field}: accepted"),
            Err(e) => names(&e, field),
        }
    }
}

#[test]
fn bad_encodings_and_lengths_name_the_field() {
    let sig = |n: usize| json!(format!("0x{}", "ab".repeat(n)));
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|v| v["fork_version"] = json!("0x900000")),
            "fork_version",
        ),
        (
            Box::new(|v| v["fork_version"] = json!("0x9000006")),
            "fork_version",
        ),
        (Box::new(|v| v["fork_version"] = json!("")), "fork_version"),
        (
            Box::new(move |v| v["operators"][0]["config_signature"] = sig(64)),
            "operators[0].config_signature",
        ),
        (
            Box::new(move |v| v["operators"][1]["enr_signature"] = sig(130)),
            "operators[1].enr_signature",
        ),
        (
            Box::new(|v| v["creator"]["config_signature"] = json!("0xzz")),
            "creator.config_signature",
        ),
        (
            Box::new(|v| v["creator"]["address"] = json!("0x1234")),
            "creator.address",
        ),
        (
            Box::new(|v| {
                v["validators"][0]["fee_recipient_address"] =
                    json!("0xgg00000000000000000000000000000000000000")
            }),
            "validators[0].fee_recipient_address",
        ),
        (Box::new(move |v| v["config_hash"] = sig(31)), "config_hash"),
        (
            Box::new(move |v| v["definition_hash"] = sig(33)),
            "definition_hash",
        ),
        (Box::new(|v| v["name"] = json!("n".repeat(257))), "name"),
        (Box::new(|v| v["uuid"] = json!("u".repeat(65))), "uuid"),
    ];
    for (f, field) in cases {
        names(&def_err(&edit(DEF_10, f)), field);
    }
    let e = def_err(&edit(DEF_10, |v| {
        v["operators"][0]["config_signature"] = sig(64)
    }));
    assert!(e.to_string().contains("empty or 65 bytes"), "{e}");

    // v1.11 allows k × 65 bytes but nothing else.
    let d11 = "charon/cluster/testdata/cluster_definition_v1_11_0.json";
    let ok = edit(d11, |v| v["operators"][0]["config_signature"] = sig(130));
    assert!(Definition::from_json(&ok).is_ok());
    let e = def_err(&edit(d11, |v| {
        v["operators"][0]["config_signature"] = sig(100)
    }));
    names(&e, "operators[0].config_signature");
    assert!(e.to_string().contains("multiple of 65"), "{e}");
    let e = def_err(&edit(d11, |v| {
        v["creator"]["config_signature"] = sig(65 * 33)
    }));
    names(&e, "creator.config_signature");

    // Legacy: base64 fields and text-hashed hex.
    let d10 = "charon/cluster/testdata/cluster_definition_v1_0_0.json";
    let e = def_err(&edit(d10, |v| v["config_hash"] = json!("!!notbase64")));
    assert!(matches!(problem(&e), FieldProblem::BadBase64(_)), "{e}");
    names(&e, "config_hash");
    let d12 = "charon/cluster/testdata/cluster_definition_v1_2_0.json";
    let e = def_err(&edit(d12, |v| v["fork_version"] = json!("0x9000006A")));
    assert!(matches!(problem(&e), FieldProblem::NotCanonicalHex), "{e}");

    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(move |v| v["distributed_validators"][0]["distributed_public_key"] = sig(47)),
            "distributed_validators[0].distributed_public_key",
        ),
        (
            Box::new(move |v| v["distributed_validators"][1]["public_shares"][0] = sig(49)),
            "distributed_validators[1].public_shares[0]",
        ),
        (
            Box::new(move |v| {
                v["distributed_validators"][0]["partial_deposit_data"][1]["signature"] = sig(95)
            }),
            "distributed_validators[0].partial_deposit_data[1].signature",
        ),
        (
            Box::new(move |v| {
                v["distributed_validators"][0]["partial_deposit_data"][0]
                    ["withdrawal_credentials"] = json!("")
            }),
            "distributed_validators[0].partial_deposit_data[0].withdrawal_credentials",
        ),
        (
            Box::new(move |v| {
                v["distributed_validators"][0]["builder_registration"]["message"]["pubkey"] = sig(4)
            }),
            "distributed_validators[0].builder_registration.message.pubkey",
        ),
        (
            Box::new(move |v| {
                v["distributed_validators"][0]["builder_registration"]["signature"] = json!("")
            }),
            "distributed_validators[0].builder_registration.signature",
        ),
        (
            Box::new(|v| v["node_signatures"][0] = json!("0xnothex")),
            "node_signatures[0]",
        ),
        (Box::new(move |v| v["lock_hash"] = sig(31)), "lock_hash"),
        (
            Box::new(|v| v["cluster_definition"]["operators"][0]["address"] = json!("0x00")),
            "cluster_definition.operators[0].address",
        ),
    ];
    for (f, field) in cases {
        names(&lock_err(&edit(LOCK_11, f)), field);
    }
    // v1.7: a deposit_data object is either complete or entirely empty.
    let l7 = "charon/cluster/testdata/cluster_lock_v1_7_0.json";
    let e = lock_err(&edit(l7, |v| {
        v["distributed_validators"][0]["deposit_data"]["signature"] = json!("")
    }));
    names(&e, "distributed_validators[0].deposit_data.signature");
    let l = Lock::from_json(&edit(l7, |v| {
        v["distributed_validators"][0]["deposit_data"] =
            json!({"pubkey": "", "withdrawal_credentials": "", "amount": "0", "signature": ""})
    }))
    .unwrap();
    assert!(l.validators[0].deposit_data.is_empty());
}

/// Keys match case-insensitively, in any order, and unknown keys are ignored (Go behaviour).
#[test]
fn lenient_key_matching() {
    fn shout(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut out = serde_json::Map::new();
                out.insert("unknown_extra".into(), json!({"x": [1, 2]}));
                for (k, x) in m.iter().rev() {
                    out.insert(k.to_uppercase(), shout(x));
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(shout).collect()),
            other => other.clone(),
        }
    }
    for rel in [
        DEF_10,
        "charon/cluster/testdata/cluster_definition_v1_1_0.json",
    ] {
        let orig = Definition::from_json(&read_vector(rel)).unwrap();
        let loud = serde_json::to_vec(&shout(&parse_json(rel))).unwrap();
        assert_eq!(Definition::from_json(&loud).unwrap(), orig, "{rel}");
    }
    for rel in [LOCK_11, "charon/cluster/testdata/cluster_lock_v1_6_0.json"] {
        let orig = Lock::from_json(&read_vector(rel)).unwrap();
        let loud = serde_json::to_vec(&shout(&parse_json(rel))).unwrap();
        assert_eq!(Lock::from_json(&loud).unwrap(), orig, "{rel}");
    }
    // Keys of a version's newer siblings are ignored by older versions.
    let d = Definition::from_json(&edit(
        "charon/cluster/testdata/cluster_definition_v1_7_0.json",
        |v| {
            v["deposit_amounts"] = json!(["1"]);
            v["compounding"] = json!(true);
        },
    ))
    .unwrap();
    assert_eq!(d.version, Version::V1_7);
    assert!(d.deposit_amounts.is_none() && !d.compounding);
    assert!(d.check_hashes().unwrap().all_match());
}

/// Vector files used as seeds for mutation.
fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        [
            "charon/cluster/testdata/cluster_definition_v1_0_0.json",
            "charon/cluster/testdata/cluster_definition_v1_4_0.json",
            DEF_10,
            "charon/cluster/testdata/cluster_definition_v1_11_0.json",
            "charon/cluster/testdata/cluster_lock_v1_1_0.json",
            "charon/cluster/testdata/cluster_lock_v1_3_0.json",
            "charon/cluster/testdata/cluster_lock_v1_6_0.json",
            "charon/cluster/testdata/cluster_lock_v1_7_0.json",
            LOCK_11,
            "charon/cluster/examples/cluster-lock-003.json",
        ]
        .iter()
        .map(|f| read_vector(f))
        .collect()
    })
}

/// Feeds bytes to both parsers; whatever parses must also hash, validate, write and re-read
/// to the same value.
fn exercise(bytes: &[u8]) {
    if let Ok(d) = Definition::from_json(bytes) {
        let _ = d.check_hashes().unwrap();
        let _ = d.validate();
        let again = Definition::from_json(&d.to_json().unwrap()).unwrap();
        assert_eq!(again, d);
    }
    if let Ok(l) = Lock::from_json(bytes) {
        let _ = l.check_hashes().unwrap();
        let _ = l.validate();
        let again = Lock::from_json(&l.to_json().unwrap()).unwrap();
        assert_eq!(again, l);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        exercise(&bytes);
    }

    #[test]
    fn truncated_vectors_never_panic(seed in 0..10usize, cut in any::<prop::sample::Index>()) {
        let s = &seeds()[seed];
        exercise(&s[..cut.index(s.len())]);
    }

    #[test]
    fn mutated_vectors_never_panic(
        seed in 0..10usize,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut s = seeds()[seed].clone();
        for (at, byte) in edits {
            let i = at.index(s.len());
            s[i] = byte;
        }
        exercise(&s);
    }

    #[test]
    fn mutated_hex_digits_still_parse(
        seed in 0..10usize,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0..16u8), 1..4),
    ) {
        // Hex-for-hex substitutions keep most files parseable, reaching deeper code.
        let mut s = seeds()[seed].clone();
        let hex_positions: Vec<usize> = (0..s.len()).filter(|&i| s[i].is_ascii_hexdigit()).collect();
        for (at, d) in edits {
            let i = hex_positions[at.index(hex_positions.len())];
            s[i] = b"0123456789abcdef"[usize::from(d)];
        }
        exercise(&s);
    }
}
