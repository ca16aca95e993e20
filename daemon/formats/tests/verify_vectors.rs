//! `verify_definition` / `verify_lock` over every vector file (formats.md §2.5, §3.3–§3.5, §4,
//! §5, §7; vectors: shared/vectors/charon README.md, shared/vectors/obol-sdk README.md).
//!
//! * Real signed files pass every check; the only non-pass lines are the expected `SKIP`s.
//! * charon's random-signature test data passes its hash checks and fails (never panics on) every
//!   signature/key check; placeholder or missing ENRs fail with a message naming the problem.
//! * The hand-edited HEAD `test_cluster_lock.json` fails config, definition and lock hash.
//! * Each check class fails on a copy of a valid file with one flipped byte (one hex digit, or
//!   one base64 character, changed in the raw JSON text of the field that check covers), and
//!   exactly the checks that cover that byte change.
//! * A v1.11 contract (ERC-1271) signature is `Unverifiable`, never a pass.

// Helpers outside `#[test]` functions unwrap too: in tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use dkgd_crypto::k1::K1SecretKey;
use dkgd_formats::definition::{Address, Definition, Version};
use dkgd_formats::eip712;
use dkgd_formats::lock::{Lock, RegistrationMessage};
use dkgd_formats::verify::{verify_definition, verify_lock, Check, Report, Status};
use dkgd_testkit::{list_vectors, read_vector};
use serde_json::Value;
use std::collections::BTreeSet;

const VECTOR_DIRS: [&str; 5] = [
    "charon/cluster/examples",
    "charon/cluster/testdata",
    "charon/cmd/testdata",
    "charon/app/testdata",
    "obol-sdk",
];

// Fully valid files used for the flip tests.
const DEF_000: &str = "charon/cluster/examples/cluster-definition-000.json"; // v1.3, v=27/28
const DEF_001: &str = "charon/cluster/examples/cluster-definition-001.json"; // v1.4, v=0/1
const LOCK_000: &str = "charon/cluster/examples/cluster-lock-000.json"; // v1.1, base64
const LOCK_001: &str = "charon/cluster/examples/cluster-lock-001.json"; // v1.1, base64
const LOCK_003: &str = "charon/cluster/examples/cluster-lock-003.json"; // v1.7, v=0/1
const CREATE_CLUSTER: &str = "charon/cmd/testdata/test_cluster_lock.at-8c9f69b93.json"; // v1.10
const HEAD_EDITED: &str = "charon/cmd/testdata/test_cluster_lock.json";
const SDK_V6: &str = "obol-sdk/fixtures-0a6c839a-clusterLockV1X6.json";
const SDK_V7: &str = "obol-sdk/fixtures-0a6c839a-clusterLockV1X7.json";
const SDK_V8: &str = "obol-sdk/fixtures-nullDepositAmountsClusterLockV1X8.json";
const SDK_SOLO: &str = "obol-sdk/fixtures-clusterLockSoloV1X10.json";
const SDK_COMPOUNDING: &str = "obol-sdk/fixtures-clusterLockWithCompoundingWithdrawalss.json";

// Other checks covering a flipped byte (see `Flip::also`).
const DH: &[&str] = &["definition_hash"];
const LH: &[&str] = &["lock_hash"];
const DH_LH: &[&str] = &["definition_hash", "lock_hash"];
const HASHES: &[&str] = &["config_hash", "definition_hash", "lock_hash"];

const UNSIGNED_OPS: &str = "operator signatures";
const CREATOR: &str = "creator.config_signature";
const NODE_SIGS: &str = "node_signatures";

/// What a vector file must verify as.
enum Expect {
    /// Real data: `all_passed()`, exactly `passed` passes, and exactly these `SKIP` lines.
    Valid { passed: usize, skipped: Names },
    /// charon `TestEncode` data (random signature/key bytes): hashes pass, no signature or key
    /// check passes. `placeholder_enrs`: the ENRs are `enr://…` strings.
    RandomSignatures { placeholder_enrs: bool },
    /// Exactly `failed` ENR checks fail, each detail containing `reason`; all else passes/skips.
    BadEnrs { failed: Names, reason: &'static str },
    /// The HEAD lock whose fork_version was hand-edited.
    HandEdited,
}

/// Every vector file must be classified here, so a new file cannot go unchecked.
fn expectation(rel: &str) -> Expect {
    let name = rel.rsplit('/').next().unwrap();
    let valid = |passed, skipped| Expect::Valid { passed, skipped };
    match name {
        "cluster-definition-000.json" => valid(16, &[]),
        "cluster-definition-001.json" => Expect::BadEnrs {
            failed: &["operators[0].enr", "operators[1].enr"],
            reason: "placeholder",
        },
        "cluster-definition-002.json" => Expect::BadEnrs {
            failed: &[
                "operators[0].enr",
                "operators[1].enr",
                "operators[2].enr",
                "operators[3].enr",
            ],
            reason: "no ENR yet",
        },
        "cluster-definition-003.json" => Expect::BadEnrs {
            failed: &["operators[0].enr", "operators[1].enr"],
            reason: "no ENR yet",
        },
        "cluster-definition-004.json"
        | "cluster-definition-005.json"
        | "cluster-definition-006.json" => valid(8, &[UNSIGNED_OPS, CREATOR]),
        "cluster-lock-000.json" => valid(16, &[UNSIGNED_OPS, NODE_SIGS]),
        "cluster-lock-001.json" => valid(14, &[UNSIGNED_OPS, NODE_SIGS]),
        "cluster-lock-002.json" => valid(12, &[UNSIGNED_OPS, NODE_SIGS]),
        "cluster-lock-003.json" => valid(30, &[]),
        "test_cluster_lock.at-8c9f69b93.json" => valid(35, &[UNSIGNED_OPS, CREATOR]),
        "test_cluster_lock.json" => Expect::HandEdited,
        "test-cluster-lock.json" => Expect::RandomSignatures {
            placeholder_enrs: true,
        },
        "fixtures-0a6c839a-clusterLockV1X6.json" => valid(22, &[NODE_SIGS]),
        "fixtures-0a6c839a-clusterLockV1X7.json" => valid(27, &[]),
        "fixtures-clusterLockSoloV1X10.json" => valid(19, &[UNSIGNED_OPS]),
        "fixtures-clusterLockWithCompoundingWithdrawalss.json" => valid(27, &[]),
        "fixtures-nullDepositAmountsClusterLockV1X8.json" => valid(21, &[UNSIGNED_OPS, CREATOR]),
        n if n.starts_with("cluster_definition_v1_") || n.starts_with("cluster_lock_v1_") => {
            Expect::RandomSignatures {
                placeholder_enrs: false,
            }
        }
        other => panic!("vector {other} is not classified in expectation()"),
    }
}

/// Parses a file as a lock (it has `cluster_definition`) or a definition, and verifies it.
fn verify_bytes(bytes: &[u8]) -> (Report, Version, bool) {
    let v: Value = serde_json::from_slice(bytes).unwrap();
    if v.get("cluster_definition").is_some() {
        let lock = Lock::from_json(bytes).unwrap();
        (verify_lock(&lock), lock.version(), true)
    } else {
        let def = Definition::from_json(bytes).unwrap();
        (verify_definition(&def), def.version, false)
    }
}

fn verify_file(rel: &str) -> Report {
    verify_bytes(&read_vector(rel)).0
}

/// `(status, name)` of every check that did not pass, in report order.
fn non_pass(r: &Report) -> Vec<(Status, &str)> {
    r.checks
        .iter()
        .filter(|c| c.status != Status::Pass)
        .map(|c| (c.status, c.check.as_str()))
        .collect()
}

/// The first check named `name`.
fn check<'a>(r: &'a Report, name: &str) -> &'a Check {
    let found = r.checks.iter().find(|c| c.check == name);
    found.unwrap_or_else(|| panic!("no check {name}:{}", listing(r)))
}

/// The report, one check per line, for assertion messages.
fn listing(r: &Report) -> String {
    r.checks.iter().map(|c| format!("\n  {c}")).collect()
}

/// Checks on signatures or BLS keys (random bytes in charon's test data).
fn is_crypto_check(name: &str) -> bool {
    name.contains("signature")
        || name.ends_with(".public_shares")
        || name.ends_with(".builder_registration")
        || name.contains(".deposit_data")
}

fn hash_checks(is_lock: bool) -> Names {
    if is_lock {
        HASHES
    } else {
        &HASHES[..2]
    }
}

fn all_vector_files() -> Vec<String> {
    VECTOR_DIRS
        .iter()
        .flat_map(|d| list_vectors(d, ".json"))
        .collect()
}

#[test]
fn every_vector_file_verifies_as_classified() {
    let files = all_vector_files();
    assert_eq!(files.len(), 43, "{files:?}");
    for rel in &files {
        let (r, version, is_lock) = verify_bytes(&read_vector(rel));
        assert!(
            r.checks.iter().all(|c| !c.detail.is_empty()),
            "{rel}: empty detail"
        );
        let report = listing(&r);
        match expectation(rel) {
            Expect::Valid { passed, skipped } => {
                assert!(r.all_passed(), "{rel}:{report}");
                let want: Vec<(Status, &str)> =
                    skipped.iter().map(|s| (Status::Skip, *s)).collect();
                assert_eq!(non_pass(&r), want, "{rel}:{report}");
                assert_eq!(r.summary().passed, passed, "{rel}:{report}");
            }
            Expect::RandomSignatures { placeholder_enrs } => {
                for h in hash_checks(is_lock) {
                    assert_eq!(r.status_of(h), Some(Status::Pass), "{rel} {h}:{report}");
                }
                let crypto: Vec<_> = r
                    .checks
                    .iter()
                    .filter(|c| c.status != Status::Skip && is_crypto_check(&c.check))
                    .collect();
                assert!(
                    crypto.iter().all(|c| c.status == Status::Fail),
                    "{rel}: a random signature or key did not fail:{report}"
                );
                // v1.0–v1.2 definitions carry no signatures at all.
                let unsigned_def = !is_lock && version <= Version::V1_2;
                assert_eq!(crypto.is_empty(), unsigned_def, "{rel}:{report}");
                if unsigned_def {
                    assert_eq!(r.status_of(UNSIGNED_OPS), Some(Status::Skip), "{rel}");
                }
                assert_eq!(r.all_passed(), unsigned_def, "{rel}:{report}");
                for c in r.checks.iter().filter(|c| c.check.ends_with(".enr")) {
                    let want = if placeholder_enrs {
                        Status::Fail
                    } else {
                        Status::Pass
                    };
                    assert_eq!(c.status, want, "{rel}:{report}");
                    assert!(!placeholder_enrs || c.detail.contains("placeholder"), "{c}");
                }
            }
            Expect::BadEnrs { failed, reason } => {
                let fails: Vec<_> = r
                    .checks
                    .iter()
                    .filter(|c| c.status == Status::Fail)
                    .collect();
                let names: Vec<&str> = fails.iter().map(|c| c.check.as_str()).collect();
                assert_eq!(names, failed, "{rel}:{report}");
                assert!(
                    fails.iter().all(|c| c.detail.contains(reason)),
                    "{rel}:{report}"
                );
                assert_eq!(r.summary().unverifiable, 0, "{rel}:{report}");
                for h in hash_checks(is_lock) {
                    assert_eq!(r.status_of(h), Some(Status::Pass), "{rel} {h}");
                }
            }
            Expect::HandEdited => hand_edited(&r, &report),
        }
    }
}

/// The HEAD lock: fork_version holesky → hoodi without re-hashing or re-signing.
fn hand_edited(r: &Report, report: &str) {
    let mut want: Vec<String> = HASHES.iter().map(|h| h.to_string()).collect();
    for v in 0..5 {
        // Registrations and deposits are signed under the (changed) genesis fork version.
        want.push(format!("distributed_validators[{v}].builder_registration"));
        want.push(format!("distributed_validators[{v}].deposit_data[0]"));
        want.push(format!("distributed_validators[{v}].deposit_data[1]"));
    }
    let fails: BTreeSet<String> = r
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| c.check.clone())
        .collect();
    assert_eq!(fails, want.into_iter().collect(), "{report}");
    for h in HASHES {
        let c = check(r, h);
        assert!(c.detail.contains("but content hashes to"), "{c}");
    }
    // Node signatures and the aggregate sign the *stored* lock hash, which was not edited.
    assert_eq!(r.status_of("node_signatures[0]"), Some(Status::Pass));
    assert_eq!(r.status_of("signature_aggregate"), Some(Status::Pass));
    assert!(!r.all_passed());
}

#[test]
fn hand_edited_head_lock_fails_its_hashes() {
    let r = verify_file(HEAD_EDITED);
    hand_edited(&r, &listing(&r));
    assert!(verify_file(CREATE_CLUSTER).all_passed());
}

// ---------------------------------------------------------------------------------------------
// One flipped byte per check class.

/// A copy of `rel` with one character of the string value at JSON `pointer` changed, `at`
/// characters after its `0x` / `enr:` prefix: a hex digit flips its low bit (case kept), a
/// base64 character moves to its neighbour in the alphabet; the file stays parseable.
fn flipped(rel: &str, pointer: &str, at: usize) -> Vec<u8> {
    let mut raw = read_vector(rel);
    let doc: Value = serde_json::from_slice(&raw).unwrap();
    let value = doc
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{rel}: no string at {pointer}"));
    let start = value_offset(&raw, &doc, pointer);
    const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const BASE64_URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let (offset, alphabet) = if value.starts_with("0x") {
        (2, &b""[..])
    } else if value.starts_with("enr:") {
        (4, BASE64_URL)
    } else if value.bytes().all(|b| b.is_ascii_digit()) {
        (0, &b""[..])
    } else {
        (0, BASE64)
    };
    assert!(
        offset + at < value.len(),
        "{rel} {pointer}: {at} out of range"
    );
    let i = start + offset + at;
    let c = raw[i];
    raw[i] = if alphabet.is_empty() {
        let d = char::from(c).to_digit(16).unwrap() ^ 1;
        let new = u8::try_from(char::from_digit(d, 16).unwrap()).unwrap();
        if c.is_ascii_uppercase() {
            new.to_ascii_uppercase()
        } else {
            new
        }
    } else {
        let k = alphabet.iter().position(|&a| a == c).unwrap();
        alphabet[k ^ 1]
    };
    raw
}

/// Byte offset in `raw` of the first character of the string value at `pointer`: string
/// leaves are visited in document order (serde_json keeps key order) and each one is found
/// after the previous, skipping identical text that is an object key.
fn value_offset(raw: &[u8], doc: &Value, pointer: &str) -> usize {
    fn leaves(v: &Value, path: String, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => m
                .iter()
                .for_each(|(k, x)| leaves(x, format!("{path}/{k}"), out)),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, x)| leaves(x, format!("{path}/{i}"), out)),
            Value::String(s) => out.push((path, s.clone())),
            _ => {}
        }
    }
    let text = std::str::from_utf8(raw).unwrap();
    let mut all = Vec::new();
    leaves(doc, String::new(), &mut all);
    let mut cursor = 0;
    for (path, s) in all {
        let quoted = format!("\"{s}\"");
        loop {
            let i = cursor + text[cursor..].find(&quoted).unwrap();
            cursor = i + quoted.len();
            if !text[cursor..].trim_start().starts_with(':') {
                if path == pointer {
                    return i + 1;
                }
                break;
            }
        }
    }
    panic!("{pointer} not found")
}

/// One single-byte tamper case: `check` must go from Pass to Fail, and exactly `check` plus
/// `also` (the other checks covering that byte) may stop passing.
/// Fields: file, JSON pointer, character index (see [`flipped`]), check, also.
struct Flip(&'static str, String, usize, String, Names);

type Names = &'static [&'static str];

fn flip(file: &'static str, pointer: &str, at: usize, check: &str, also: Names) -> Flip {
    Flip(file, pointer.into(), at, check.into(), also)
}

/// `rest` inside the definition: under `/cluster_definition` in a lock.
fn def_ptr(file: &str, rest: &str) -> String {
    if file.contains("lock") || file.contains("Lock") {
        format!("/cluster_definition{rest}")
    } else {
        rest.to_string()
    }
}

/// Operator `i`'s `kind` (`config` or `enr`) signature.
fn op_sig(file: &'static str, i: usize, kind: &str, at: usize, also: Names) -> Flip {
    let pointer = def_ptr(file, &format!("/operators/{i}/{kind}_signature"));
    flip(
        file,
        &pointer,
        at,
        &format!("operators[{i}].{kind}_signature"),
        also,
    )
}

fn creator_sig(file: &'static str, at: usize) -> Flip {
    flip(
        file,
        &def_ptr(file, "/creator/config_signature"),
        at,
        CREATOR,
        DH_LH,
    )
}

/// Not hashed: only the node's own check covers it.
fn node_sig(file: &'static str, i: usize, at: usize) -> Flip {
    let check = format!("node_signatures[{i}]");
    flip(file, &format!("/node_signatures/{i}"), at, &check, &[])
}

/// Not hashed: only the aggregate check covers it.
fn aggregate(file: &'static str, at: usize) -> Flip {
    flip(file, "/signature_aggregate", at, "signature_aggregate", &[])
}

/// A share is hashed into the lock and is one of the aggregate's keys.
fn share(file: &'static str, v: usize, i: usize, at: usize) -> Flip {
    let pointer = format!("/distributed_validators/{v}/public_shares/{i}");
    let check = format!("distributed_validators[{v}].public_shares");
    flip(
        file,
        &pointer,
        at,
        &check,
        &["lock_hash", "signature_aggregate"],
    )
}

fn registration(file: &'static str, v: usize, at: usize) -> Flip {
    let pointer = format!("/distributed_validators/{v}/builder_registration/signature");
    let check = format!("distributed_validators[{v}].builder_registration");
    flip(file, &pointer, at, &check, LH)
}

/// `field` of deposit `k` of validator `v` (`deposit_data` object in v1.6/v1.7, else
/// `partial_deposit_data[k]`).
fn deposit(file: &'static str, v: usize, k: usize, field: &str, at: usize) -> Flip {
    let list = if file == SDK_V6 || file == SDK_V7 {
        "deposit_data".to_string()
    } else {
        format!("partial_deposit_data/{k}")
    };
    let pointer = format!("/distributed_validators/{v}/{list}/{field}");
    let check = format!("distributed_validators[{v}].deposit_data[{k}]");
    flip(file, &pointer, at, &check, LH)
}

/// Names of checks that passed in `before` and do not pass in `after`.
fn newly_failing(before: &Report, after: &Report) -> BTreeSet<String> {
    after
        .checks
        .iter()
        .filter(|c| c.status != Status::Pass)
        .filter(|c| before.status_of(&c.check) != Some(c.status))
        .map(|c| c.check.clone())
        .collect()
}

fn assert_flips(cases: &[Flip]) {
    let mut problems = Vec::new();
    for Flip(file, pointer, at, check, also) in cases {
        let before = verify_file(file);
        let (after, ..) = verify_bytes(&flipped(file, pointer, *at));
        let what = format!("{file} {pointer} @{at}");
        if before.status_of(check) != Some(Status::Pass) {
            problems.push(format!("{what}: {check} did not pass before"));
        }
        let now = after.status_of(check);
        if now != Some(Status::Fail) {
            problems.push(format!("{what}: {check} is {now:?}"));
        }
        let want: BTreeSet<String> = also
            .iter()
            .map(|s| s.to_string())
            .chain([check.clone()])
            .collect();
        let got = newly_failing(&before, &after);
        if got != want {
            problems.push(format!("{what}: newly failing {got:?}, expected {want:?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn flipped_byte_fails_stored_hashes() {
    // v1.3 operators sign the stored config hash (EIP-712 `ConfigHash`); the definition hash
    // covers it.
    const V1_3_CONFIG: &[&str] = &[
        "definition_hash",
        "operators[0].config_signature",
        "operators[1].config_signature",
        "operators[2].config_signature",
        "operators[3].config_signature",
    ];
    // Node signatures and the aggregate sign the stored lock hash.
    const LOCK_SIGS: &[&str] = &[
        "node_signatures[0]",
        "node_signatures[1]",
        "node_signatures[2]",
        "node_signatures[3]",
        "signature_aggregate",
    ];
    assert_flips(&[
        flip(DEF_000, "/config_hash", 10, "config_hash", V1_3_CONFIG),
        flip(DEF_000, "/definition_hash", 10, "definition_hash", &[]),
        flip(LOCK_003, "/lock_hash", 10, "lock_hash", LOCK_SIGS),
        // v1.1: base64.
        flip(
            LOCK_001,
            "/lock_hash",
            5,
            "lock_hash",
            &["signature_aggregate"],
        ),
        // The lock hash covers the definition container, stored config hash included ...
        flip(
            CREATE_CLUSTER,
            "/cluster_definition/config_hash",
            63,
            "config_hash",
            DH_LH,
        ),
        // ... but not the stored definition hash.
        flip(
            SDK_V6,
            "/cluster_definition/definition_hash",
            0,
            "definition_hash",
            &[],
        ),
    ]);
}

/// Wallet signatures (v = 27/28); hex digit 129 is the low nibble of v.
#[test]
fn flipped_byte_fails_operator_signatures_v27_28() {
    assert_flips(&[
        op_sig(DEF_000, 0, "config", 20, DH),
        op_sig(DEF_000, 1, "enr", 129, DH),
        op_sig(SDK_COMPOUNDING, 2, "config", 100, DH_LH),
        op_sig(SDK_COMPOUNDING, 3, "enr", 129, DH_LH),
    ]);
}

/// charon-made signatures (v = 0/1).
#[test]
fn flipped_byte_fails_operator_signatures_v0_1() {
    assert_flips(&[
        op_sig(LOCK_003, 0, "config", 129, DH_LH),
        op_sig(LOCK_003, 3, "enr", 30, DH_LH),
        op_sig(DEF_001, 1, "config", 129, DH),
    ]);
}

#[test]
fn flipped_byte_fails_creator_signature() {
    // v = 0/1, v = 27/28 (r), v = 27/28 (v).
    assert_flips(&[
        creator_sig(LOCK_003, 129),
        creator_sig(SDK_COMPOUNDING, 40),
        creator_sig(SDK_SOLO, 129),
    ]);
}

#[test]
fn flipped_byte_fails_node_signatures() {
    assert_flips(&[
        node_sig(LOCK_003, 1, 40),
        node_sig(LOCK_003, 2, 70), // s
        node_sig(SDK_V8, 0, 10),
    ]);
}

#[test]
fn flipped_byte_fails_signature_aggregate() {
    assert_flips(&[
        aggregate(LOCK_003, 50),
        aggregate(CREATE_CLUSTER, 100),
        aggregate(LOCK_001, 20), // base64
    ]);
}

#[test]
fn flipped_byte_fails_public_shares() {
    assert_flips(&[
        share(LOCK_003, 1, 2, 40),
        share(SDK_V6, 0, 3, 60),
        share(LOCK_000, 4, 0, 20), // base64
    ]);
}

#[test]
fn flipped_byte_fails_builder_registration() {
    assert_flips(&[
        registration(LOCK_003, 0, 50),
        registration(SDK_V7, 0, 150),
        registration(CREATE_CLUSTER, 4, 7),
        // Like charon, the message is rebuilt from the validator key, so the message's own
        // pubkey is covered by the lock hash only.
        flip(
            LOCK_003,
            "/distributed_validators/2/builder_registration/message/pubkey",
            30,
            "lock_hash",
            &[],
        ),
        // The message is rebuilt with the definition's fee recipient.
        flip(
            CREATE_CLUSTER,
            "/cluster_definition/validators/1/fee_recipient_address",
            5,
            "distributed_validators[1].builder_registration",
            HASHES,
        ),
    ]);
}

#[test]
fn flipped_byte_fails_deposit_data() {
    assert_flips(&[
        // v1.10 partial deposits (1 ETH + 32 ETH), 0x01 credentials.
        deposit(CREATE_CLUSTER, 2, 1, "signature", 50),
        deposit(CREATE_CLUSTER, 0, 0, "amount", 9),
        deposit(CREATE_CLUSTER, 3, 0, "withdrawal_credentials", 1),
        deposit(CREATE_CLUSTER, 4, 1, "pubkey", 20),
        // Compounding: 0x02 credentials.
        deposit(SDK_COMPOUNDING, 0, 0, "withdrawal_credentials", 1),
        deposit(SDK_COMPOUNDING, 0, 0, "signature", 70),
        deposit(SDK_V8, 1, 0, "signature", 33),
        deposit(SDK_SOLO, 0, 0, "signature", 90),
        // v1.6 (flattened into the lock hash) and v1.7 single deposit objects.
        deposit(SDK_V6, 0, 0, "signature", 12),
        deposit(SDK_V7, 0, 0, "signature", 12),
        // Credentials are compared with the definition's withdrawal address.
        flip(
            SDK_V7,
            "/cluster_definition/validators/0/withdrawal_address",
            39,
            "distributed_validators[0].deposit_data[0]",
            HASHES,
        ),
    ]);
}
#[test]
fn flipped_byte_fails_enr() {
    // The record's own signature breaks; the operator's EIP-712 ENR signature (over the text)
    // and its node signature (by the record's key) break with it.
    assert_flips(&[
        flip(
            LOCK_003,
            "/cluster_definition/operators/1/enr",
            10,
            "operators[1].enr",
            &[
                "operators[1].enr_signature",
                "node_signatures[1]",
                "definition_hash",
                "lock_hash",
            ],
        ),
        flip(
            DEF_000,
            "/operators/2/enr",
            60,
            "operators[2].enr",
            &["operators[2].enr_signature", "definition_hash"],
        ),
        // Unsigned operators (create-cluster flow).
        flip(
            CREATE_CLUSTER,
            "/cluster_definition/operators/0/enr",
            30,
            "operators[0].enr",
            &["node_signatures[0]", "definition_hash", "lock_hash"],
        ),
    ]);
}

#[test]
fn flipped_byte_fails_network() {
    // An unknown fork version has no EIP-712 chain id, so no operator signature can be checked.
    const DEF_000_ALSO: &[&str] = &[
        "config_hash",
        "definition_hash",
        "operators[0].config_signature",
        "operators[0].enr_signature",
        "operators[1].config_signature",
        "operators[1].enr_signature",
        "operators[2].config_signature",
        "operators[2].enr_signature",
        "operators[3].config_signature",
        "operators[3].enr_signature",
    ];
    assert_flips(&[
        flip(DEF_000, "/fork_version", 7, "network", DEF_000_ALSO),
        flip(
            SDK_V8,
            "/cluster_definition/fork_version",
            0,
            "network",
            SDK_V8_NETWORK_ALSO,
        ),
    ]);
}

/// With an unknown network there is no signing domain, so every registration and deposit of
/// the v1.8 lock is reported as failing (not silently left out).
const SDK_V8_NETWORK_ALSO: &[&str] = &[
    "config_hash",
    "definition_hash",
    "lock_hash",
    "distributed_validators[0].builder_registration",
    "distributed_validators[0].deposit_data[0]",
    "distributed_validators[1].builder_registration",
    "distributed_validators[1].deposit_data[0]",
];

/// charon checks only r‖s of a node signature against the ENR key; a different recovery byte
/// `v` is accepted (as by charon), while any change to r or s is not.
#[test]
fn node_signature_recovery_byte_is_not_trusted() {
    let mut lock = Lock::from_json(&read_vector(LOCK_003)).unwrap();
    assert_eq!(
        verify_lock(&lock).status_of("node_signatures[2]"),
        Some(Status::Pass)
    );
    lock.node_signatures[2][64] ^= 1;
    assert_eq!(
        verify_lock(&lock).status_of("node_signatures[2]"),
        Some(Status::Pass)
    );
    lock.node_signatures[2][10] ^= 1;
    assert_eq!(
        verify_lock(&lock).status_of("node_signatures[2]"),
        Some(Status::Fail)
    );
}

/// Edits a flip cannot express (valid points in the wrong place, duplicate records, numbers).
#[test]
fn struct_edits_fail_the_check_they_target() {
    let lock = Lock::from_json(&read_vector(LOCK_003)).unwrap();
    let before = verify_lock(&lock);

    // Swapped shares are still valid points with the same sum: interpolation fails, the
    // aggregate (over all shares as a set) still verifies.
    let mut swapped = lock.clone();
    swapped.validators[0].public_shares.swap(0, 1);
    let r = verify_lock(&swapped);
    let want: BTreeSet<String> = ["distributed_validators[0].public_shares", "lock_hash"]
        .map(String::from)
        .into();
    assert_eq!(newly_failing(&before, &r), want);
    let c = check(&r, "distributed_validators[0].public_shares");
    assert!(c.detail.contains("do not interpolate"), "{c}");

    // Another validator's share in place of this one's last.
    let mut foreign = lock.clone();
    foreign.validators[1].public_shares[3] = lock.validators[2].public_shares[3];
    let r = verify_lock(&foreign);
    let name = "distributed_validators[1].public_shares";
    assert_eq!(r.status_of(name), Some(Status::Fail));

    // Two operators with one identity key.
    let mut dup = lock.clone();
    let ops = dup.definition.operators.as_mut().unwrap();
    ops[1].enr = ops[0].enr.clone();
    let r = verify_lock(&dup);
    let c = check(&r, "operators[1].enr");
    assert_eq!(c.status, Status::Fail);
    assert!(
        c.detail.contains("same identity key as operators[0]"),
        "{c}"
    );

    // The registration's gas limit and timestamp are signed.
    let name = "distributed_validators[2].builder_registration";
    assert_eq!(before.status_of(name), Some(Status::Pass));
    for edit in [
        |m: &mut RegistrationMessage| m.gas_limit += 1,
        |m: &mut RegistrationMessage| m.timestamp ^= 1 << 40,
    ] {
        let mut l = lock.clone();
        edit(
            &mut l.validators[2]
                .builder_registration
                .as_mut()
                .unwrap()
                .message,
        );
        assert_eq!(verify_lock(&l).status_of(name), Some(Status::Fail));
    }
}

/// A v1.11 Safe-style signature (two 65-byte owner signatures) is reported as not verifiable
/// offline: neither a pass nor a failure, and never counted as passed.
#[test]
fn contract_signature_is_unverifiable_offline() {
    let lock = Lock::from_json(&read_vector(SDK_COMPOUNDING)).unwrap();
    let name = "operators[0].config_signature";

    // The real definition re-versioned: the config hash changes, so the other EOA signatures
    // fail, but the contract signature is neither pass nor fail.
    let mut def = lock.definition.clone();
    def.version = Version::V1_11;
    let op0 = &mut def.operators.as_mut().unwrap()[0];
    op0.config_signature = [op0.config_signature.clone(), op0.enr_signature.clone()].concat();
    let before_v1_11 = def.clone();
    let r = verify_definition(&def.with_hashes_recomputed().unwrap());
    let c = check(&r, name);
    assert_eq!(c.status, Status::Unverifiable, "{c}");
    assert!(
        c.detail.contains("ERC-1271") && c.detail.contains("execution client"),
        "{c}"
    );
    assert_eq!(r.summary().unverifiable, 1);
    assert_eq!(
        r.status_of("operators[1].config_signature"),
        Some(Status::Fail)
    );
    assert_eq!(
        r.status_of("operators[1].enr_signature"),
        Some(Status::Pass)
    );

    // The same 130 bytes before v1.11 cannot even be hashed, and verify says why.
    let mut v1_10 = before_v1_11;
    v1_10.version = Version::V1_10;
    let err = v1_10.clone().with_hashes_recomputed().unwrap_err();
    assert_eq!(err.field_path(), Some(name), "{err}");
    let r = verify_definition(&v1_10);
    let c = check(&r, name);
    assert_eq!(c.status, Status::Fail, "{c}");
    assert!(c.detail.contains("before v1.11"), "{c}");

    // Fully re-signed with our own wallet keys: every check passes except the one contract
    // signature, and that alone keeps `all_passed()` false.
    let signed = |contract: bool| {
        let mut d = lock.definition.clone();
        d.version = Version::V1_11;
        let keys: Vec<K1SecretKey> = (1..=5u8)
            .map(|b| K1SecretKey::from_bytes(&[b; 32]).unwrap())
            .collect();
        let addr = |k: &K1SecretKey| Address::from_bytes(k.public_key().eth_address());
        for (op, k) in d.operators.as_mut().unwrap().iter_mut().zip(&keys) {
            op.address = addr(k);
        }
        d.creator.address = addr(&keys[4]);
        let mut d = d.with_hashes_recomputed().unwrap();
        let chain = eip712::chain_id(&d.fork_version).unwrap();
        let hash = d.config_hash.unwrap();
        let version = d.version.as_str();
        for (op, k) in d.operators.as_mut().unwrap().iter_mut().zip(&keys) {
            let cfg = eip712::operator_config_hash_digest(version, chain, &hash);
            op.config_signature = k.sign_digest(&cfg).to_vec();
            op.enr_signature = k.sign_digest(&eip712::enr_digest(chain, &op.enr)).to_vec();
        }
        let creator = eip712::creator_config_hash_digest(chain, &hash);
        d.creator.config_signature = keys[4].sign_digest(&creator).to_vec();
        if contract {
            let op0 = &mut d.operators.as_mut().unwrap()[0];
            op0.config_signature
                .extend_from_slice(&keys[4].sign_digest(&hash));
        }
        verify_definition(&d.with_hashes_recomputed().unwrap())
    };
    assert!(signed(false).all_passed(), "{:?}", non_pass(&signed(false)));
    let r = signed(true);
    assert_eq!(non_pass(&r), [(Status::Unverifiable, name)]);
    assert!(!r.all_passed());
}

/// `--json` output: `{"checks": [{"check", "status", "detail"}]}` with snake_case statuses.
#[test]
fn report_serialises_check_status_detail() {
    let r = verify_bytes(&flipped(LOCK_003, "/node_signatures/3", 3)).0;
    let json = serde_json::to_value(&r).unwrap();
    let checks = json["checks"].as_array().unwrap();
    assert_eq!(checks.len(), r.checks.len());
    for (j, c) in checks.iter().zip(&r.checks) {
        let keys: Vec<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["check", "status", "detail"]);
        assert_eq!(j["check"], c.check.as_str());
        assert_eq!(j["detail"], c.detail.as_str());
    }
    let status_of = |name: &str| {
        let c = checks.iter().find(|c| c["check"] == name).unwrap();
        c["status"].as_str().unwrap().to_string()
    };
    assert_eq!(status_of("node_signatures[3]"), "fail");
    assert_eq!(status_of("lock_hash"), "pass");
    let skip = serde_json::to_value(verify_file(SDK_V6)).unwrap();
    let node_sigs = skip["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == NODE_SIGS);
    assert_eq!(node_sigs.unwrap()["status"], "skip");
    let unverifiable = serde_json::to_value(Status::Unverifiable).unwrap();
    assert_eq!(unverifiable, "unverifiable");
    let summary = serde_json::to_value(r.summary()).unwrap();
    let want = serde_json::json!({"passed": 29, "failed": 1, "unverifiable": 0, "skipped": 0});
    assert_eq!(summary, want);
}
