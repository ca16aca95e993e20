//! Tamper tests: changing any hashed value of a definition or lock must make a hash check
//! fail (formats.md §2.4, §3.2, §10). Every leaf of every file is changed in turn.

// Helpers outside `#[test]` functions unwrap too: in tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use dkgd_formats::definition::Definition;
use dkgd_formats::lock::Lock;
use dkgd_testkit::{flip_byte, list_vectors, read_vector};
use serde_json::Value;

/// Leaves no hash covers: signatures over the lock hash, and keys charon does not read.
const UNHASHED: [&str; 3] = [
    "signature_aggregate",
    "node_signatures",
    "deposit_data_root",
];

/// Changes one character of a string while keeping it decodable: the first hex digit after
/// `0x` stays a hex digit of the same case; otherwise the first alphanumeric character moves
/// within its class (digit, lower, upper), which keeps base64 and decimal strings valid.
fn bump_str(s: &str) -> Option<String> {
    let mut chars: Vec<char> = s.chars().collect();
    let start = if s.starts_with("0x") { 2 } else { 0 };
    let hex = start == 2;
    let i = (start..chars.len()).find(|&i| chars[i].is_ascii_alphanumeric())?;
    let c = chars[i];
    chars[i] = match c {
        '9' => '0',
        '0'..='8' => char::from(c as u8 + 1),
        'f' if hex => 'a',
        'F' if hex => 'A',
        'z' => 'a',
        'Z' => 'A',
        _ => char::from(c as u8 + 1),
    };
    Some(chars.into_iter().collect())
}

/// One step of a path into a JSON value.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// All paths to leaves (strings, numbers, booleans) of a JSON value.
fn leaves(v: &Value, path: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                path.push(Step::Key(k.clone()));
                leaves(x, path, out);
                path.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                path.push(Step::Index(i));
                leaves(x, path, out);
                path.pop();
            }
        }
        Value::Null => {}
        _ => out.push(path.clone()),
    }
}

fn leaf_mut<'a>(v: &'a mut Value, path: &[Step]) -> &'a mut Value {
    path.iter().fold(v, |v, p| match p {
        Step::Key(k) => &mut v[k.as_str()],
        Step::Index(i) => &mut v[*i],
    })
}

/// Whether the tampered bytes parse with all hashes matching (`None` if they do not parse).
fn still_verifies(bytes: &[u8], is_lock: bool) -> Option<bool> {
    if is_lock {
        Lock::from_json(bytes)
            .ok()
            .map(|l| l.check_hashes().unwrap().all_match())
    } else {
        Definition::from_json(bytes)
            .ok()
            .map(|d| d.check_hashes().unwrap().all_match())
    }
}

fn tamper_every_leaf(rel: &str) -> (usize, usize) {
    let is_lock = rel.contains("lock") || rel.contains("Lock");
    let orig: Value = serde_json::from_slice(&read_vector(rel)).unwrap();
    assert_eq!(
        still_verifies(&serde_json::to_vec(&orig).unwrap(), is_lock),
        Some(true),
        "{rel}"
    );
    let mut paths = Vec::new();
    leaves(&orig, &mut Vec::new(), &mut paths);
    let (mut detected, mut rejected) = (0, 0);
    for path in paths {
        let name = format!("{path:?}");
        if UNHASHED
            .iter()
            .any(|u| name.contains(&format!("Key(\"{u}\")")))
        {
            continue;
        }
        let mut v = orig.clone();
        let leaf = leaf_mut(&mut v, &path);
        *leaf = match &*leaf {
            Value::String(s) => match bump_str(s) {
                Some(t) => Value::String(t),
                None => continue, // empty string: nothing to change
            },
            Value::Number(n) => Value::from(n.as_u64().unwrap() ^ 1),
            Value::Bool(b) => Value::Bool(!b),
            _ => unreachable!(),
        };
        match still_verifies(&serde_json::to_vec(&v).unwrap(), is_lock) {
            Some(true) => panic!("{rel}: changing {name} went unnoticed"),
            Some(false) => detected += 1,
            None => rejected += 1, // e.g. the version string itself
        }
    }
    (detected, rejected)
}

fn check_files(files: Vec<String>) {
    assert!(!files.is_empty());
    for f in files {
        let (detected, rejected) = tamper_every_leaf(&f);
        assert!(
            detected >= 10,
            "{f}: only {detected} tampered copies checked"
        );
        // Only the version string (and v1.7's all-empty deposit "0" amounts) may fail to parse.
        assert!(
            rejected <= 1 + 3,
            "{f}: {rejected} tampered copies rejected"
        );
    }
}

#[test]
fn every_hashed_leaf_of_every_definition_is_covered() {
    let mut files = list_vectors("charon/cluster/testdata", "json");
    files.extend(list_vectors("charon/cluster/examples", ".json"));
    check_files(
        files
            .into_iter()
            .filter(|f| f.contains("definition"))
            .collect(),
    );
}

#[test]
fn every_hashed_leaf_of_testdata_locks_is_covered() {
    let files = list_vectors("charon/cluster/testdata", ".json");
    check_files(files.into_iter().filter(|f| f.contains("lock")).collect());
}

#[test]
fn every_hashed_leaf_of_real_locks_is_covered() {
    let mut files: Vec<String> = list_vectors("charon/cluster/examples", ".json")
        .into_iter()
        .filter(|f| f.contains("lock"))
        .collect();
    files.extend(list_vectors("obol-sdk", ".json"));
    files.push("charon/cmd/testdata/test_cluster_lock.at-8c9f69b93.json".into());
    files.push("charon/app/testdata/test-cluster-lock.json".into());
    check_files(files);
}

/// Raw single-bit flips in the file bytes: either the copy no longer parses, or it parses and
/// a hash check fails, or the flip hit something unhashed (whitespace, key case, signatures).
#[test]
fn raw_bit_flips_in_hex_values() {
    for rel in [
        "charon/cluster/testdata/cluster_definition_v1_5_0.json",
        "charon/cluster/testdata/cluster_definition_v1_11_0.json",
        "charon/cluster/testdata/cluster_lock_v1_3_0.json",
        "charon/cluster/testdata/cluster_lock_v1_6_0.json",
        "charon/cluster/testdata/cluster_lock_v1_9_0.json",
        "charon/cluster/examples/cluster-lock-003.json",
    ] {
        let bytes = read_vector(rel);
        let is_lock = rel.contains("lock");
        let text = String::from_utf8(bytes.clone()).unwrap();
        let unhashed_from = ["\"signature_aggregate\"", "\"node_signatures\""]
            .iter()
            .filter_map(|k| text.find(k))
            .min()
            .unwrap_or(text.len());
        let mut checked = 0;
        // About 200 evenly spaced bytes that are hex digits inside values (before the
        // unhashed tail).
        let step = (unhashed_from / 200).max(1);
        for (i, b) in bytes.iter().enumerate().take(unhashed_from).step_by(step) {
            let flipped = flip_byte(&bytes, i);
            let nb = flipped[i];
            if !(b.is_ascii_hexdigit() && nb.is_ascii_hexdigit() && inside_value(&bytes, i)) {
                continue;
            }
            assert_ne!(
                still_verifies(&flipped, is_lock),
                Some(true),
                "{rel}: byte {i} flip unnoticed"
            );
            checked += 1;
        }
        assert!(checked > 60, "{rel}: {checked}");
    }
}

/// Whether byte `i` lies inside a JSON string that is a value, not a key: an odd number of
/// quotes precede it on its line and its closing quote is not followed by `:`.
fn inside_value(bytes: &[u8], i: usize) -> bool {
    let line_start = bytes[..i]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let quotes_before = bytes[line_start..i].iter().filter(|&&b| b == b'"').count();
    let close = bytes[i..].iter().position(|&b| b == b'"').map(|p| i + p);
    let is_key = close.is_some_and(|c| bytes.get(c + 1) == Some(&b':'));
    quotes_before % 2 == 1 && !is_key
}
