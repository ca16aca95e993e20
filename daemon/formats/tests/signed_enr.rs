//! ENR and peer-ID vectors (formats.md §5): the fixed values of
//! `shared/vectors/charon/vectors.md`, every ENR in the cluster vectors, and node signatures
//! of real locks checked against the operators' ENR keys (§3.4).

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use dkgd_crypto::k1::{recover_digest, K1SecretKey};
use dkgd_formats::enr::{Enr, EnrError, PeerId};
use dkgd_testkit::{
    list_vectors, md_section as section, md_value_after as value_after, parse_json, unhex,
    VECTORS_MD,
};
use proptest::prelude::*;

#[test]
fn parse_with_ip_tcp_udp() {
    let s = section("ENR");
    let text = value_after(&s, "| parse, with ip/tcp/udp |");
    let enr = Enr::parse(&text).unwrap();
    let want_pk = value_after(&s, "→ pubkey");
    assert_eq!(
        hex::encode(enr.public_key().to_compressed()),
        want_pk,
        "{VECTORS_MD}"
    );
    assert_eq!(enr.ip(), Some(Ipv4Addr::new(127, 0, 0, 1)));
    assert_eq!(enr.tcp(), Some(3610));
    assert_eq!(enr.udp(), Some(3630));
    assert_eq!(enr.seq(), Some(0));
    assert_eq!(enr.to_text(), text);
}

#[test]
fn charon_created_and_named_records_parse() {
    let s = section("ENR");
    let created = Enr::parse(&value_after(&s, "| charon `enr.New` output")).unwrap();
    assert_eq!(created.get("id"), Some(&b"v4"[..]));
    assert!(created.to_text().starts_with("enr:-HW4Q"));
    assert_eq!(created.ip(), None);
    Enr::parse(&value_after(&s, "| peer name |")).unwrap();
}

#[test]
fn peer_id_vectors() {
    let s = section("ENR");
    let row = &s[s.find("| peer ID |").expect("peer ID row")..];
    let first = value_after(row, "→");
    let pid = PeerId::parse(&first).unwrap();
    assert_eq!(pid.to_string(), first);
    assert_eq!(&pid.as_bytes()[..6], &[0x00, 0x25, 0x08, 0x02, 0x12, 0x21]);
    assert_eq!(&pid.as_bytes()[6..], &pid.public_key().to_compressed());
    let second = value_after(row, "; ");
    assert_eq!(PeerId::parse(&second).unwrap().to_string(), second);
}

/// vectors.md "Derived by us": the ENR and peer ID of the k1 signing-vector key.
#[test]
fn create_reproduces_derived_enr_byte_for_byte() {
    let s = section("secp256k1 signing");
    let sk = K1SecretKey::from_hex(&value_after(&s, "* private key")).unwrap();
    let want_enr = value_after(&s, "the ENR for this key is");
    let want_pid = value_after(&s, "peer ID");
    let enr = Enr::create(&sk);
    assert_eq!(enr.to_text(), want_enr, "{VECTORS_MD}: derived ENR");
    assert!(enr.to_text().starts_with("enr:-HW4Q"));
    assert_eq!(
        enr.peer_id().to_string(),
        want_pid,
        "{VECTORS_MD}: derived peer ID"
    );
    let parsed = Enr::parse(&want_enr).unwrap();
    assert_eq!(parsed, enr);
    assert_eq!(
        PeerId::parse(&want_pid).unwrap().public_key(),
        sk.public_key()
    );
}

/// Every lock/definition in the vectors, with its ENR list (and lock hash + node signatures
/// where present).
fn cluster_files() -> Vec<String> {
    let mut files = Vec::new();
    for dir in [
        "charon/cluster/testdata",
        "charon/cluster/examples",
        "charon/cmd/testdata",
        "charon/app/testdata",
        "obol-sdk",
    ] {
        files.extend(list_vectors(dir, ".json"));
    }
    files
}

fn enrs_of(json: &serde_json::Value) -> Vec<String> {
    let def = json.get("cluster_definition").unwrap_or(json);
    def["operators"]
        .as_array()
        .map(|ops| {
            ops.iter()
                .filter_map(|o| o["enr"].as_str())
                .filter(|e| !e.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_enr_in_cluster_vectors() {
    let mut real = BTreeSet::new();
    let mut placeholders = 0;
    for rel in cluster_files() {
        for text in enrs_of(&parse_json(&rel)) {
            if text.starts_with("enr://") {
                let err = Enr::parse(&text).unwrap_err();
                assert_eq!(err, EnrError::Placeholder, "{rel}: {text}");
                assert!(err.to_string().contains("placeholder"));
                placeholders += 1;
            } else {
                let enr = Enr::parse(&text).unwrap_or_else(|e| panic!("{rel}: {text}: {e}"));
                assert_eq!(enr.to_text(), text);
                assert!(enr.peer_id().to_string().starts_with("16Uiu2HA"));
                real.insert(text);
            }
        }
    }
    assert!(
        placeholders >= 2,
        "app/testdata and example 001 use enr:// placeholders"
    );
    assert!(real.len() >= 20, "parsed {} distinct ENRs", real.len());
}

#[test]
fn app_testdata_placeholders_fail_clearly() {
    let rel = "charon/app/testdata/test-cluster-lock.json";
    let enrs = enrs_of(&parse_json(rel));
    assert!(!enrs.is_empty());
    for text in enrs {
        let msg = Enr::parse(&text).unwrap_err().to_string();
        assert!(msg.contains("enr://") && msg.contains("EIP-778"), "{msg}");
    }
}

/// Node signatures (v1.7+ locks with real ENRs) recover to operator i's ENR key.
#[test]
fn node_signatures_match_enr_keys() {
    let mut checked = 0;
    for rel in cluster_files() {
        let json = parse_json(&rel);
        let (Some(sigs), Some(hash)) = (
            json["node_signatures"].as_array(),
            json["lock_hash"].as_str(),
        ) else {
            continue;
        };
        let enrs = enrs_of(&json);
        if sigs.is_empty() || enrs.iter().any(|e| e.starts_with("enr://")) {
            continue;
        }
        let hash: [u8; 32] = unhex(hash).try_into().unwrap();
        if rel.ends_with("cmd/testdata/test_cluster_lock.json") || rel.contains("cluster/testdata")
        {
            // HEAD copy with a hand-edited fork version, and charon's TestEncode locks with
            // random signatures: neither is signed over its stored hash.
            continue;
        }
        assert_eq!(sigs.len(), enrs.len(), "{rel}");
        for (sig, enr) in sigs.iter().zip(&enrs) {
            let key = recover_digest(&hash, &unhex(sig.as_str().unwrap()))
                .unwrap_or_else(|e| panic!("{rel}: {e}"));
            assert_eq!(key, Enr::parse(enr).unwrap().public_key(), "{rel}");
        }
        checked += 1;
    }
    assert!(checked >= 3, "checked {checked} locks");
}

proptest! {
    /// Arbitrary text never panics the parser.
    #[test]
    fn parse_never_panics(body in "[A-Za-z0-9_=-]{0,200}") {
        let _ = Enr::parse(&format!("enr:{body}"));
    }

    /// Arbitrary bytes behind the prefix never panic the parser.
    #[test]
    fn parse_random_records(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        use base64::Engine as _;
        let text = format!("enr:{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes));
        let _ = Enr::parse(&text);
    }

    /// Created records always parse back to the same key.
    #[test]
    fn create_parse(seed in 1u8..=254) {
        let sk = K1SecretKey::from_bytes(&[seed; 32]).unwrap();
        let enr = Enr::create(&sk);
        prop_assert_eq!(Enr::parse(enr.to_text()).unwrap().public_key(), sk.public_key());
    }
}
