//! secp256k1 known answers from `shared/vectors/charon/vectors.md` ("secp256k1 signing") and
//! node signatures of real charon locks (formats.md §3.4).

use dkgd_crypto::k1::{keccak256, recover_digest, K1Error, K1PublicKey, K1SecretKey};
use dkgd_testkit::{
    md_section as section, md_value_after as value_after, parse_json, unhex, VECTORS_MD,
};

fn k1_vector() -> (String, String, [u8; 32], Vec<u8>) {
    let s = section("secp256k1 signing");
    let digest: [u8; 32] = unhex(&value_after(&s, "* digest"))
        .try_into()
        .expect("32-byte digest");
    (
        value_after(&s, "* private key"),
        value_after(&s, "* public key (compressed)"),
        digest,
        unhex(&value_after(&s, "* signature")),
    )
}

#[test]
fn charon_k1util_signature_reproduced_byte_for_byte() {
    let (sk_hex, pk_hex, digest, want_sig) = k1_vector();
    let sk = K1SecretKey::from_hex(&sk_hex).unwrap();
    assert_eq!(
        hex::encode(sk.public_key().to_compressed()),
        pk_hex,
        "{VECTORS_MD}: public key"
    );
    let sig = sk.sign_digest(&digest);
    assert_eq!(sig.to_vec(), want_sig, "{VECTORS_MD}: k1 signature");
    assert_eq!(recover_digest(&digest, &sig).unwrap(), sk.public_key());
    // Key-file text form: trailing newline tolerated (formats.md §5.1).
    let with_nl = format!("{sk_hex}\n");
    assert_eq!(
        K1SecretKey::from_hex(&with_nl).unwrap().public_key(),
        sk.public_key()
    );
}

#[test]
fn tampering_is_detected() {
    let (sk_hex, _, digest, sig) = k1_vector();
    let pk = K1SecretKey::from_hex(&sk_hex).unwrap().public_key();
    for at in [0, 31, 32, 63] {
        let bad = dkgd_testkit::flip_byte(&sig, at);
        match recover_digest(&digest, &bad) {
            Ok(other) => assert_ne!(other, pk, "flip at {at}"),
            Err(e) => assert!(
                matches!(e, K1Error::RecoveryFailed | K1Error::MalformedSignature),
                "{e}"
            ),
        }
    }
    let mut other_digest = digest;
    other_digest[0] ^= 1;
    assert_ne!(recover_digest(&other_digest, &sig).ok(), Some(pk));
    assert!(pk.verify_digest(&other_digest, &sig).is_err());
}

#[test]
fn wallet_style_v_27_28_recovers_same_key() {
    let (sk_hex, _, digest, mut sig) = k1_vector();
    let pk = K1SecretKey::from_hex(&sk_hex).unwrap().public_key();
    sig[64] += 27;
    assert_eq!(recover_digest(&digest, &sig).unwrap(), pk);
}

/// Node signatures of real v1.7+ locks sign the raw lock hash; every one must recover to a
/// valid key (the ENR comparison itself is tested in dkgd-formats).
#[test]
fn real_lock_node_signatures_recover() {
    for rel in [
        "charon/cluster/examples/cluster-lock-003.json",
        "charon/cmd/testdata/test_cluster_lock.at-8c9f69b93.json",
        "obol-sdk/fixtures-0a6c839a-clusterLockV1X7.json",
    ] {
        let lock = parse_json(rel);
        let hash: [u8; 32] = unhex(lock["lock_hash"].as_str().unwrap())
            .try_into()
            .unwrap();
        let sigs = lock["node_signatures"].as_array().unwrap();
        assert!(!sigs.is_empty(), "{rel}");
        let mut keys = Vec::new();
        for s in sigs {
            let sig = unhex(s.as_str().unwrap());
            assert!(sig[64] <= 1, "{rel}: charon writes v as 0/1");
            keys.push(recover_digest(&hash, &sig).unwrap_or_else(|e| panic!("{rel}: {e}")));
        }
        keys.dedup();
        assert_eq!(keys.len(), sigs.len(), "{rel}: distinct signers");
    }
}

#[test]
fn keccak_known_answer() {
    assert_eq!(
        hex::encode(keccak256(b"")),
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    );
    assert!(K1PublicKey::from_sec1(&[0x02; 32]).is_err());
}
