//! EIP-712 vectors (formats.md §4): the handy-constants table of the spec, charon's
//! CreatorConfigHash digest (vectors.md), and every operator/creator signature of the real
//! clusters in the vectors, checked against the stored config hash.

use dkgd_formats::eip712::{
    check_signature, creator_config_hash_digest, digest, domain_separator, enr_digest,
    operator_config_hash_digest, MessageType, SigCheck, SigInvalid,
};
use dkgd_formats::network;
use dkgd_testkit::{parse_json, read_vector_str, unhex, vectors_dir};

const VECTORS_MD: &str = "charon/vectors.md";

fn value_after(text: &str, label: &str) -> String {
    let at = text
        .find(label)
        .unwrap_or_else(|| panic!("label {label:?} not found"));
    let rest = &text[at + label.len()..];
    let a = rest.find('`').expect("opening back-quote") + 1;
    let b = a + rest[a..].find('`').expect("closing back-quote");
    rest[a..b].to_string()
}

/// The spec (beside the vectors) is the source of the constants table.
fn spec() -> String {
    let p = vectors_dir().join("../spec/formats.md");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn handy_constants_table() {
    let spec = spec();
    let table = &spec[spec.find("Handy constants").expect("constants table")..];
    let type_rows = [
        (
            "| typeHash OperatorConfigHash |",
            MessageType::OperatorConfigHash,
        ),
        (
            "| typeHash CreatorConfigHash |",
            MessageType::CreatorConfigHash,
        ),
        ("| typeHash ENR |", MessageType::Enr),
        ("| typeHash ConfigHash (v1.3) |", MessageType::ConfigHash),
    ];
    for (label, ty) in type_rows {
        assert_eq!(
            hex::encode(ty.type_hash()),
            value_after(table, label),
            "formats.md {label}"
        );
    }
    let domain_type = value_after(table, "| typeHash EIP712Domain(name,version,chainId) |");
    assert_eq!(
        hex::encode(dkgd_crypto::k1::keccak256(
            dkgd_formats::eip712::DOMAIN_TYPE.as_bytes()
        )),
        domain_type
    );
    let mut rows = 0;
    for net in network::NETWORKS {
        let label = format!("| domainSeparator {} ({}) |", net.name, net.chain_id);
        assert_eq!(
            hex::encode(domain_separator(net.chain_id)),
            value_after(table, &label),
            "formats.md {label}"
        );
        rows += 1;
    }
    assert_eq!(rows, 7);
}

#[test]
fn charon_creator_config_hash_digest() {
    let text = read_vector_str(VECTORS_MD);
    let s = &text[text.find("## EIP-712").expect("EIP-712 section")..];
    let chain: u64 = s[s.find("chainId ").unwrap() + 8..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap();
    let value = value_after(s, "value");
    let want = value_after(s, "→ digest");
    assert_eq!(
        hex::encode(digest(chain, MessageType::CreatorConfigHash, &value)),
        want,
        "{VECTORS_MD}"
    );
    let hash: [u8; 32] = unhex(&value).try_into().unwrap();
    assert_eq!(hex::encode(creator_config_hash_digest(chain, &hash)), want);
}

/// Real clusters whose EIP-712 signatures are genuine (charon's `cluster/testdata` files carry
/// random signature bytes and are excluded).
const SIGNED: &[&str] = &[
    "charon/cluster/examples/cluster-definition-000.json",
    "charon/cluster/examples/cluster-definition-001.json",
    "charon/cluster/examples/cluster-definition-002.json",
    "charon/cluster/examples/cluster-definition-003.json",
    "charon/cluster/examples/cluster-lock-003.json",
    "obol-sdk/fixtures-0a6c839a-clusterLockV1X6.json",
    "obol-sdk/fixtures-0a6c839a-clusterLockV1X7.json",
    "obol-sdk/fixtures-clusterLockSoloV1X10.json",
    "obol-sdk/fixtures-clusterLockWithCompoundingWithdrawalss.json",
];

fn addr(s: &str) -> [u8; 20] {
    unhex(s).try_into().expect("20-byte address")
}

#[test]
fn real_cluster_signatures() {
    let mut valid = 0;
    let mut contract_like = Vec::new();
    for rel in SIGNED {
        let json = parse_json(rel);
        let def = json.get("cluster_definition").unwrap_or(&json);
        let version = def["version"].as_str().unwrap();
        let fork: [u8; 4] = unhex(def["fork_version"].as_str().unwrap())
            .try_into()
            .unwrap();
        let chain = network::by_fork_version(&fork).unwrap().chain_id;
        let config_hash: [u8; 32] = unhex(def["config_hash"].as_str().unwrap())
            .try_into()
            .unwrap();
        let mut checks = Vec::new();
        for op in def["operators"].as_array().unwrap() {
            let sig = unhex(op["config_signature"].as_str().unwrap_or(""));
            if sig.is_empty() {
                continue;
            }
            let a = addr(op["address"].as_str().unwrap());
            let d = operator_config_hash_digest(version, chain, &config_hash);
            checks.push(("operator config", a, check_signature(&d, &a, &sig)));
            let enr = op["enr"].as_str().unwrap();
            let esig = unhex(op["enr_signature"].as_str().unwrap());
            checks.push((
                "operator enr",
                a,
                check_signature(&enr_digest(chain, enr), &a, &esig),
            ));
        }
        if let Some(creator) = def.get("creator") {
            let sig = unhex(creator["config_signature"].as_str().unwrap_or(""));
            if !sig.is_empty() {
                let a = addr(creator["address"].as_str().unwrap());
                let d = creator_config_hash_digest(chain, &config_hash);
                checks.push(("creator", a, check_signature(&d, &a, &sig)));
            }
        }
        assert!(!checks.is_empty(), "{rel}: no signatures");
        for (what, a, check) in checks {
            match check {
                SigCheck::Valid => valid += 1,
                SigCheck::Invalid(SigInvalid::WrongSigner { .. }) => {
                    contract_like.push(format!("{rel} {what} 0x{}: {check}", hex::encode(a)));
                }
                other => panic!("{rel} {what}: {other}"),
            }
        }
    }
    assert!(valid >= 40, "{valid} valid signatures");
    // formats.md §12 mentions a Safe (ERC-1271) operator in one obol-sdk lock, but that lock is
    // not among our vectors: every signature here is a plain EOA signature.
    assert!(contract_like.is_empty(), "{contract_like:#?}");
}

/// A Safe-style signer: the stated address is a contract, the 65-byte signature is by one of
/// its owners (over a Safe-wrapped digest), so it recovers to a different address.
#[test]
fn safe_style_signature_is_invalid_with_erc1271_hint() {
    use dkgd_crypto::k1::K1SecretKey;
    let json = parse_json("obol-sdk/fixtures-clusterLockWithCompoundingWithdrawalss.json");
    let def = &json["cluster_definition"];
    let config_hash: [u8; 32] = unhex(def["config_hash"].as_str().unwrap())
        .try_into()
        .unwrap();
    let d = operator_config_hash_digest("v1.10.0", 560_048, &config_hash);
    let owner = K1SecretKey::from_bytes(&[0x42; 32]).unwrap();
    let safe_wrapped = dkgd_crypto::k1::keccak256(&[&[0x19, 0x01][..], &d].concat());
    let sig = owner.sign_digest(&safe_wrapped);
    let safe = addr(def["operators"][1]["address"].as_str().unwrap());
    let check = check_signature(&d, &safe, &sig);
    assert!(matches!(
        check,
        SigCheck::Invalid(SigInvalid::WrongSigner { .. })
    ));
    let msg = check.to_string();
    assert!(
        msg.contains("0xa084D9095BcBdFe8014B68fa52D73DCeb16C5129"),
        "{msg}"
    );
    assert!(msg.contains("not a valid EOA signature"), "{msg}");
    assert!(
        msg.contains("smart-contract wallet") && msg.contains("execution client"),
        "{msg}"
    );
    // v1.11 concatenated owner signatures cannot be judged offline.
    let multi = [sig, owner.sign_digest(&d)].concat();
    assert!(matches!(
        check_signature(&d, &safe, &multi),
        SigCheck::NotVerifiableOffline(_)
    ));
}

#[test]
fn tampered_digest_is_invalid() {
    let json = parse_json("charon/cluster/examples/cluster-lock-003.json");
    let def = &json["cluster_definition"];
    let creator = &def["creator"];
    let a = addr(creator["address"].as_str().unwrap());
    let sig = unhex(creator["config_signature"].as_str().unwrap());
    let mut hash: [u8; 32] = unhex(def["config_hash"].as_str().unwrap())
        .try_into()
        .unwrap();
    assert!(check_signature(&creator_config_hash_digest(5, &hash), &a, &sig).is_valid());
    // Wrong chain id (pitfall: chain id comes from the fork version).
    assert!(!check_signature(&creator_config_hash_digest(1, &hash), &a, &sig).is_valid());
    hash[31] ^= 1;
    assert!(!check_signature(&creator_config_hash_digest(5, &hash), &a, &sig).is_valid());
}
