//! Smoke fuzzing that CI runs in a few seconds (style §3.14: every parser gets a fuzz target; the
//! long-running libFuzzer targets live in `daemon/fuzz`).
//!
//! Random bytes, truncations and byte mutations of the real *signed* vectors go through all four
//! parsers (definition, lock, ENR, deposit-data file); whatever parses is verified, and nothing
//! may panic. Three detection properties ride along:
//! * a different hex digit anywhere in a signed `0x…` value of a valid file makes
//!   `verify_definition`/`verify_lock` report a failure (the one unread key, the obol API's
//!   extra `deposit_data_root` key, which charon does not read, excepted);
//! * a different character in a valid ENR is rejected, except in the last position, whose low
//!   bits URL-safe base64 ignores (as Go's decoder does);
//! * a different hex digit in a verified deposit-data file makes its verification fail.
//!
//! `model_bad_input.rs` already fuzzes parse → hash → write → re-read on charon's (unsigned)
//! test data; this file covers verification, the ENR and deposit-file parsers, and signed data.

// Helpers outside `#[test]` functions unwrap too: in tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use dkgd_formats::definition::Definition;
use dkgd_formats::deposit::{deposit_files, parse_deposit_file, verify_deposit_file};
use dkgd_formats::enr::Enr;
use dkgd_formats::lock::Lock;
use dkgd_formats::network;
use dkgd_formats::verify::{verify_definition, verify_lock, Report, Status};
use dkgd_testkit::{read_vector, read_vector_str};
use proptest::prelude::*;
use proptest::sample::Index;
use std::ops::Range;
use std::sync::OnceLock;

/// Fully valid signed definitions and locks (every check passes; see verify_vectors.rs).
const SIGNED: [&str; 9] = [
    "charon/cluster/examples/cluster-definition-000.json",
    "charon/cluster/examples/cluster-lock-000.json",
    "charon/cluster/examples/cluster-lock-003.json",
    "charon/cmd/testdata/test_cluster_lock.at-8c9f69b93.json",
    "obol-sdk/fixtures-0a6c839a-clusterLockV1X6.json",
    "obol-sdk/fixtures-0a6c839a-clusterLockV1X7.json",
    "obol-sdk/fixtures-nullDepositAmountsClusterLockV1X8.json",
    "obol-sdk/fixtures-clusterLockSoloV1X10.json",
    "obol-sdk/fixtures-clusterLockWithCompoundingWithdrawalss.json",
];
const DEPOSIT_GOLDEN: &str = "charon/eth2util/deposit/testdata/TestMarshalDepositData.golden";
const CREATE_CLUSTER: &str = "charon/cmd/testdata/test_cluster_lock.at-8c9f69b93.json";

/// One input family with the byte ranges of its signed values.
struct Seed {
    bytes: Vec<u8>,
    /// Hex digits of values that some check covers.
    hex_values: Vec<Range<usize>>,
}

struct Seeds {
    /// `SIGNED`, in order.
    json: Vec<Seed>,
    /// The charon golden file plus the 1 ETH and 32 ETH files of the create-cluster lock.
    deposit_files: Vec<Seed>,
    /// Every distinct valid ENR in the signed files and vectors.md.
    enrs: Vec<String>,
}

fn seeds() -> &'static Seeds {
    static SEEDS: OnceLock<Seeds> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let json = SIGNED
            .iter()
            .map(|f| {
                let bytes = read_vector(f);
                Seed {
                    hex_values: string_values(&bytes)
                        .into_iter()
                        .filter(|(key, r)| {
                            key != "deposit_data_root" && bytes[r.start..].starts_with(b"0x")
                        })
                        .map(|(key, r)| {
                            // Node signatures are checked as r‖s like charon does; the
                            // recovery byte (last two digits) is deliberately not covered.
                            let end = if key == "node_signatures" {
                                r.end - 2
                            } else {
                                r.end
                            };
                            r.start + 2..end
                        })
                        .filter(|r| !r.is_empty())
                        .collect(),
                    bytes,
                }
            })
            .collect();
        let lock = Lock::from_json(&read_vector(CREATE_CLUSTER)).unwrap();
        let deposits: Vec<_> = lock
            .validators
            .iter()
            .flat_map(|v| v.deposit_data.clone())
            .collect();
        let net = network::by_fork_version(&lock.definition.fork_version).unwrap();
        let mut files: Vec<Vec<u8>> = deposit_files(&deposits, net)
            .unwrap()
            .into_iter()
            .map(|f| f.contents)
            .collect();
        files.push(read_vector(DEPOSIT_GOLDEN));
        let deposit_files = files
            .into_iter()
            .map(|bytes| Seed {
                hex_values: string_values(&bytes)
                    .into_iter()
                    .map(|(_, r)| r)
                    .filter(|r| !r.is_empty() && bytes[r.clone()].iter().all(u8::is_ascii_hexdigit))
                    .collect(),
                bytes,
            })
            .collect();
        let mut enrs: Vec<String> = SIGNED
            .iter()
            .chain(&["charon/vectors.md"])
            .flat_map(|f| enr_texts(&read_vector_str(f)))
            .filter(|e| Enr::parse(e).is_ok())
            .collect();
        enrs.sort();
        enrs.dedup();
        assert!(enrs.len() >= 20, "{enrs:?}");
        Seeds {
            json,
            deposit_files,
            enrs,
        }
    })
}

/// `(key, byte range of the contents)` of every JSON string value (object member or array
/// element; `key` is the nearest key before it). The vectors contain no escaped quotes.
fn string_values(bytes: &[u8]) -> Vec<(String, Range<usize>)> {
    let text = std::str::from_utf8(bytes).unwrap();
    let mut out = Vec::new();
    let mut key = String::new();
    let mut i = 0;
    while let Some(open) = text[i..].find('"').map(|o| o + i) {
        let close = open + 1 + text[open + 1..].find('"').unwrap();
        i = close + 1;
        if text[i..].trim_start().starts_with(':') {
            key = text[open + 1..close].to_string();
        } else {
            out.push((key.clone(), open + 1..close));
        }
    }
    out
}

/// Substrings that look like ENRs (`enr:-` then URL-safe base64).
fn enr_texts(text: &str) -> Vec<String> {
    let body = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices("enr:-")
        .map(|(i, _)| {
            let len = text[i + 4..]
                .find(|c| !body(c))
                .unwrap_or(text.len() - i - 4);
            text[i..i + 4 + len].to_string()
        })
        .collect()
}

/// Report invariants that hold for any input.
fn consistent(r: &Report) {
    let s = r.summary();
    assert_eq!(
        s.passed + s.failed + s.unverifiable + s.skipped,
        r.checks.len()
    );
    assert_eq!(r.all_passed(), s.failed == 0 && s.unverifiable == 0);
    assert!(r
        .checks
        .iter()
        .all(|c| !c.check.is_empty() && !c.detail.is_empty()));
}

fn passes(r: &Report, check: &str) -> bool {
    r.status_of(check) == Some(Status::Pass)
}

/// Feeds `bytes` to every parser and verifies whatever parses. Returns the definition/lock
/// report, if the bytes parsed as one.
fn exercise(bytes: &[u8]) -> Option<Report> {
    let mut report = None;
    if let Ok(d) = Definition::from_json(bytes) {
        let r = verify_definition(&d);
        consistent(&r);
        let h = d.check_hashes().unwrap();
        assert_eq!(passes(&r, "config_hash"), h.config_hash.matches());
        assert_eq!(passes(&r, "definition_hash"), h.definition_hash.matches());
        report = Some(r);
    }
    if let Ok(l) = Lock::from_json(bytes) {
        let r = verify_lock(&l);
        consistent(&r);
        let h = l.check_hashes().unwrap();
        assert_eq!(
            passes(&r, "config_hash"),
            h.definition.config_hash.matches()
        );
        assert_eq!(passes(&r, "lock_hash"), h.lock_hash.matches());
        report = Some(r);
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        exercise_enr(text);
    }
    if let Ok(entries) = parse_deposit_file(bytes) {
        let each_ok = entries
            .iter()
            .enumerate()
            .all(|(i, e)| e.verify(i, None).is_ok());
        assert_eq!(verify_deposit_file(bytes, None).is_ok(), each_ok);
    }
    report
}

fn exercise_enr(text: &str) {
    if let Ok(e) = Enr::parse(text) {
        assert_eq!(e.to_text(), text);
        assert!(!e.peer_id().to_string().is_empty());
        let _ = (e.seq(), e.ip(), e.tcp(), e.udp());
        assert_eq!(Enr::parse(e.to_text()).unwrap(), e);
    }
}

/// Applies `(position, byte)` replacements.
fn mutate(seed: &[u8], edits: &[(Index, u8)]) -> Vec<u8> {
    let mut s = seed.to_vec();
    for (at, b) in edits {
        let i = at.index(s.len());
        s[i] = *b;
    }
    s
}

/// A different hex digit of the same case class in place of `old`.
fn other_digit(old: u8, step: u8) -> u8 {
    let v = u8::try_from(char::from(old).to_digit(16).unwrap()).unwrap();
    let new = b"0123456789abcdef"[usize::from((v + 1 + step % 15) % 16)];
    if old.is_ascii_uppercase() {
        new.to_ascii_uppercase()
    } else {
        new
    }
}

/// Replaces the digit at `pos` within one of `seed`'s hex values.
fn change_hex_digit(seed: &Seed, value: Index, pos: Index, step: u8) -> (Vec<u8>, usize) {
    let r = &seed.hex_values[value.index(seed.hex_values.len())];
    let i = r.start + pos.index(r.len());
    let mut s = seed.bytes.clone();
    s[i] = other_digit(s[i], step);
    (s, i)
}

#[test]
fn seeds_are_valid() {
    let s = seeds();
    for (f, seed) in SIGNED.iter().zip(&s.json) {
        let r = exercise(&seed.bytes).unwrap();
        assert!(r.all_passed(), "{f}");
        assert!(seed.hex_values.len() > 5, "{f}");
    }
    // 1 ETH and 32 ETH files of 5 validators, then the golden file's 4 entries.
    let entries: Vec<usize> = s
        .deposit_files
        .iter()
        .map(|f| verify_deposit_file(&f.bytes, None).unwrap().len())
        .collect();
    assert_eq!(entries, [5, 5, 4]);
    assert!(s.deposit_files.iter().all(|f| f.hex_values.len() >= 4 * 6));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        exercise(&bytes);
    }

    #[test]
    fn truncated_signed_inputs(family in 0..3usize, seed in any::<Index>(), cut in any::<Index>()) {
        let s = seeds();
        let bytes: Vec<u8> = match family {
            0 => seed.get(&s.json).bytes.clone(),
            1 => seed.get(&s.deposit_files).bytes.clone(),
            _ => seed.get(&s.enrs).as_bytes().to_vec(),
        };
        exercise(&bytes[..cut.index(bytes.len() + 1)]);
    }

    #[test]
    fn mutated_deposit_files(
        seed in any::<Index>(),
        edits in proptest::collection::vec((any::<Index>(), any::<u8>()), 1..4),
    ) {
        exercise(&mutate(&seed.get(&seeds().deposit_files).bytes, &edits));
    }

    /// Edits of the decoded record (RLP) reach the ENR decoder past base64.
    #[test]
    fn mutated_enr_records(
        seed in any::<Index>(),
        edits in proptest::collection::vec((any::<Index>(), any::<u8>()), 1..4),
        cut in any::<Index>(),
    ) {
        let text = seed.get(&seeds().enrs);
        let raw = URL_SAFE_NO_PAD.decode(&text[4..]).unwrap();
        let raw = mutate(&raw, &edits);
        exercise_enr(&format!("enr:{}", URL_SAFE_NO_PAD.encode(&raw)));
        exercise_enr(&format!("enr:{}", URL_SAFE_NO_PAD.encode(&raw[..cut.index(raw.len())])));
    }

    #[test]
    fn changed_enr_character_is_rejected(seed in any::<Index>(), pos in any::<Index>(), c in any::<Index>()) {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let text = seed.get(&seeds().enrs);
        // Not the last character: its unused low bits may change without changing the record.
        let i = 4 + pos.index(text.len() - 5);
        let mut m = text.as_bytes().to_vec();
        m[i] = *c.get(ALPHABET);
        prop_assume!(m[i] != text.as_bytes()[i]);
        let m = String::from_utf8(m).unwrap();
        prop_assert!(Enr::parse(&m).is_err(), "accepted {m} (from {text})");
    }
}

proptest! {
    // Each case verifies a whole lock (tens of ms in debug): fewer cases.
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn mutated_signed_vectors(
        seed in any::<Index>(),
        edits in proptest::collection::vec((any::<Index>(), any::<u8>()), 1..4),
    ) {
        exercise(&mutate(&seed.get(&seeds().json).bytes, &edits));
    }

    #[test]
    fn changed_hex_digit_in_signed_vector_is_detected(
        seed in 0..SIGNED.len(),
        value in any::<Index>(),
        pos in any::<Index>(),
        step in any::<u8>(),
    ) {
        let (bytes, i) = change_hex_digit(&seeds().json[seed], value, pos, step);
        let report = exercise(&bytes);
        prop_assert!(report.is_some(), "{} no longer parses after byte {i}", SIGNED[seed]);
        prop_assert!(
            !report.unwrap().all_passed(),
            "{}: changing byte {i} went undetected", SIGNED[seed]
        );
    }

    #[test]
    fn changed_hex_digit_in_deposit_file_is_detected(
        seed in any::<Index>(),
        value in any::<Index>(),
        pos in any::<Index>(),
        step in any::<u8>(),
    ) {
        let (bytes, i) = change_hex_digit(seed.get(&seeds().deposit_files), value, pos, step);
        prop_assert!(parse_deposit_file(&bytes).is_ok());
        prop_assert!(verify_deposit_file(&bytes, None).is_err(), "byte {i} went undetected");
    }
}
