//! EIP-2335 keystore vectors.
//!
//! * The two test vectors of EIP-2335 itself ("Test Cases", ethereum/ERCs `ERCS/erc-2335.md`,
//!   CC0): scrypt and PBKDF2, password "𝔱𝔢𝔰𝔱𝔭𝔞𝔰𝔰𝔴𝔬𝔯𝔡🔑". Embedded verbatim (public domain).
//! * charon's scrypt keystore `eth2util/keystore/testdata/keystore-scrypt.json` + `.txt` from
//!   the shared vectors (n = 2^18, r = 8, p = 1; not charon-written: charon writes PBKDF2).
//!
//! All run at full KDF cost (the KDF crates are optimised in dev builds).

use dkgd_crypto::keystore::{decrypt, KeystoreError};

const EIP_PASSWORD: &str = "𝔱𝔢𝔰𝔱𝔭𝔞𝔰𝔰𝔴𝔬𝔯𝔡🔑";
const EIP_SECRET: &str = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f";
const EIP_PUBKEY: &str = "9612d7a727c9d0a22e185a1c768478dfe919cada9266988cb32359c11f2b7b27f4ae4040902382ae2910c15e2b420d07";

const EIP_SCRYPT: &str = r#"{
    "crypto": {
        "kdf": {
            "function": "scrypt",
            "params": {
                "dklen": 32,
                "n": 262144,
                "p": 1,
                "r": 8,
                "salt": "d4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3"
            },
            "message": ""
        },
        "checksum": {
            "function": "sha256",
            "params": {},
            "message": "d2217fe5f3e9a1e34581ef8a78f7c9928e436d36dacc5e846690a5581e8ea484"
        },
        "cipher": {
            "function": "aes-128-ctr",
            "params": {
                "iv": "264daa3f303d7259501c93d997d84fe6"
            },
            "message": "06ae90d55fe0a6e9c5c3bc5b170827b2e5cce3929ed3f116c2811e6366dfe20f"
        }
    },
    "description": "This is a test keystore that uses scrypt to secure the secret.",
    "pubkey": "9612d7a727c9d0a22e185a1c768478dfe919cada9266988cb32359c11f2b7b27f4ae4040902382ae2910c15e2b420d07",
    "path": "m/12381/60/3141592653/589793238",
    "uuid": "1d85ae20-35c5-4611-98e8-aa14a633906f",
    "version": 4
}"#;

const EIP_PBKDF2: &str = r#"{
    "crypto": {
        "kdf": {
            "function": "pbkdf2",
            "params": {
                "dklen": 32,
                "c": 262144,
                "prf": "hmac-sha256",
                "salt": "d4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3"
            },
            "message": ""
        },
        "checksum": {
            "function": "sha256",
            "params": {},
            "message": "8a9f5d9912ed7e75ea794bc5a89bca5f193721d30868ade6f73043c6ea6febf1"
        },
        "cipher": {
            "function": "aes-128-ctr",
            "params": {
                "iv": "264daa3f303d7259501c93d997d84fe6"
            },
            "message": "cee03fde2af33149775b7223e7845e4fb2c8ae1792e5f99fe9ecf474cc8c16ad"
        }
    },
    "description": "This is a test keystore that uses PBKDF2 to secure the secret.",
    "pubkey": "9612d7a727c9d0a22e185a1c768478dfe919cada9266988cb32359c11f2b7b27f4ae4040902382ae2910c15e2b420d07",
    "path": "m/12381/60/0/0",
    "uuid": "64625def-3331-4eea-ab6f-782f3ed16a83",
    "version": 4
}"#;

fn assert_vector_passes(name: &str, json: &[u8], password: &str, secret: &str, pubkey: &str) {
    let key = decrypt(json, password).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(hex::encode(key.expose_secret()), secret, "{name}: secret");
    assert_eq!(hex::encode(key.pubkey()), pubkey, "{name}: pubkey");
}

#[test]
fn eip2335_scrypt_vector() {
    assert_vector_passes(
        "EIP-2335 scrypt",
        EIP_SCRYPT.as_bytes(),
        EIP_PASSWORD,
        EIP_SECRET,
        EIP_PUBKEY,
    );
}

#[test]
fn eip2335_pbkdf2_vector() {
    assert_vector_passes(
        "EIP-2335 pbkdf2",
        EIP_PBKDF2.as_bytes(),
        EIP_PASSWORD,
        EIP_SECRET,
        EIP_PUBKEY,
    );
}

#[test]
fn eip2335_vector_wrong_password() {
    // The un-normalised password differs after NFKD, so a "close" password must fail.
    let r = decrypt(EIP_PBKDF2.as_bytes(), "testpassword");
    assert!(matches!(r, Err(KeystoreError::WrongPassword)), "{r:?}");
}

#[test]
fn charon_scrypt_vector() {
    const DIR: &str = "charon/eth2util/keystore/testdata";
    let json = dkgd_testkit::read_vector(&format!("{DIR}/keystore-scrypt.json"));
    let password = dkgd_testkit::read_vector_str(&format!("{DIR}/keystore-scrypt.txt"));
    assert_vector_passes(
        "keystore-scrypt.json",
        &json,
        &password,
        "10b16fc552aa607fa1399027f7b86ab789077e470b5653b338693dc2dde02468",
        "affcbf73c0609899141340513dc85f0ab2b6099e7beb700b7dbc000bcefc25b621405a6b9e29578f708bfd443332202c",
    );
}
