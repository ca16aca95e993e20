//! Secret hygiene (style.md §3.7): no secret type ever prints its bytes, in any format, and
//! errors about rejected secrets never echo them.

use dkgd_crypto::bls::BlsSecretKey;
use dkgd_crypto::k1::K1SecretKey;
use dkgd_crypto::secret::{SecretBytes, SecretVec, REDACTED};

const K1_HEX: &str = "41d3ff12045b73c870529fe44f70dca2745bafbe1698ffc3c8759eef3cfbaee1";
const BLS_HEX: &str = "345768c0245f1dc702df9e50e811002f61ebb2680b3d5931527ef59f96cbaf9b";

/// Every rendering of `value` hides `secret` (hex in both cases, and the decimal bytes list).
fn assert_hidden(rendered: &[String], secret: &[u8]) {
    let hex_lower = hex::encode(secret);
    let needles = [
        hex_lower[..16].to_string(),
        hex_lower[..16].to_uppercase(),
        format!("{:?}", &secret[..4])
            .trim_matches(['[', ']'])
            .to_string(),
    ];
    for text in rendered {
        assert!(text.contains(REDACTED), "{text}");
        for n in &needles {
            assert!(!text.contains(n.as_str()), "{text:?} leaks {n}");
        }
    }
}

#[test]
fn k1_secret_is_redacted() {
    let raw: [u8; 32] = hex::decode(K1_HEX).unwrap().try_into().unwrap();
    let sk = K1SecretKey::from_bytes(&raw).unwrap();
    assert_hidden(&[format!("{sk:?}"), format!("{sk:#?}")], &raw);
    let wrapped = Some(&sk);
    assert_hidden(&[format!("{wrapped:?}")], &raw);
}

#[test]
fn bls_secret_is_redacted() {
    let raw: [u8; 32] = hex::decode(BLS_HEX).unwrap().try_into().unwrap();
    let sk = BlsSecretKey::from_bytes(&raw).unwrap();
    assert_hidden(&[format!("{sk:?}"), format!("{sk:#?}")], &raw);
}

#[test]
fn containers_are_redacted() {
    let raw: [u8; 32] = hex::decode(K1_HEX).unwrap().try_into().unwrap();
    let s = SecretBytes::<32>::from_slice(&raw).unwrap();
    let v = SecretVec::from_slice(&raw);
    assert_hidden(
        &[
            format!("{s:?}"),
            format!("{s:#?}"),
            format!("{v:?}"),
            format!("{:?}", vec![&v]),
        ],
        &raw,
    );
}

#[test]
fn rejected_secret_text_is_not_echoed() {
    let bad = format!("{}zz", &K1_HEX[..62]);
    let err = K1SecretKey::from_hex(&bad).unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains(&K1_HEX[..16]), "{text}");
}
