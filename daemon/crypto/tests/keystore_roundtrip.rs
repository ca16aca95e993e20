//! Keystores we write (formats.md §6): layout, full-cost round trip, the insecure mode's
//! mainnet refusal, batch encryption, and rejection of bad or hostile input.

// Index arithmetic on small test sizes (n ≤ 255, V ≤ 10).
#![allow(clippy::cast_possible_truncation)]

use dkgd_crypto::keystore::{decrypt, encrypt, encrypt_all, KdfStrength, KeystoreError, Password};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zeroize::Zeroizing;

/// Deposit golden key #1 of the shared vectors (vectors.md) and its golden pubkey.
const SECRET: &str = "01477d4bfbbcebe1fef8d4d6f624ecbb6e3178558bb1b0d6286c816c66842a6d";
const PUBKEY: &str = "813f5d2697f76841a752ef8c1ac11d1bb76e07003799c5745f8a569214653810def3b60920b54fb0ab3cb6deb08c3972";

fn secret() -> [u8; 32] {
    hex::decode(SECRET).expect("hex").try_into().expect("32")
}

fn insecure(secret: &[u8; 32], pw: &Password, seed: u64) -> Vec<u8> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    encrypt(secret, pw, KdfStrength::InsecureTestOnly, false, &mut rng).expect("encrypt")
}

#[test]
fn full_cost_round_trip_and_layout() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let pw = Password::random(&mut rng);
    let json = encrypt(&secret(), &pw, KdfStrength::Standard, true, &mut rng).expect("encrypt");
    let text = String::from_utf8(json.clone()).expect("utf-8");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let field = |p: &str| v.pointer(p).cloned().unwrap_or(serde_json::Value::Null);
    let hexlen = |p: &str| field(p).as_str().map(str::len);
    // Skeleton of charon's output: key order, one-space indent, no final newline.
    let skeleton = format!(
        "{{\n \"crypto\": {{\n  \"checksum\": {{\n   \"function\": \"sha256\",\n   \"message\": \"{}\",\n   \"params\": {{}}\n  }},\n  \"cipher\": {{\n   \"function\": \"aes-128-ctr\",\n   \"message\": \"{}\",\n   \"params\": {{\n    \"iv\": \"{}\"\n   }}\n  }},\n  \"kdf\": {{\n   \"function\": \"pbkdf2\",\n   \"message\": \"\",\n   \"params\": {{\n    \"c\": 262144,\n    \"dklen\": 32,\n    \"prf\": \"hmac-sha256\",\n    \"salt\": \"{}\"\n   }}\n  }}\n }},\n \"description\": \"\",\n \"pubkey\": \"{PUBKEY}\",\n \"path\": \"m/12381/3600/0/0/0\",\n \"uuid\": \"{}\",\n \"version\": 4\n}}",
        field("/crypto/checksum/message").as_str().expect("s"),
        field("/crypto/cipher/message").as_str().expect("s"),
        field("/crypto/cipher/params/iv").as_str().expect("s"),
        field("/crypto/kdf/params/salt").as_str().expect("s"),
        field("/uuid").as_str().expect("s"),
    );
    assert_eq!(text, skeleton);
    assert_eq!(hexlen("/crypto/kdf/params/salt"), Some(64));
    assert_eq!(hexlen("/crypto/cipher/params/iv"), Some(32));
    assert_eq!(hexlen("/crypto/cipher/message"), Some(64));
    let uuid = field("/uuid");
    let uuid = uuid.as_str().expect("uuid");
    assert_eq!(
        uuid.split('-').map(str::len).collect::<Vec<_>>(),
        vec![8, 4, 4, 4, 12]
    );
    assert!(uuid
        .chars()
        .all(|c| c == '-' || c.is_ascii_digit() || c.is_ascii_uppercase()));

    let key = decrypt(&json, pw.expose_secret()).expect("decrypt");
    assert_eq!(key.expose_secret(), &secret());
    assert_eq!(hex::encode(key.pubkey()), PUBKEY);
    assert!(!format!("{key:?}").contains(SECRET));
}

#[test]
fn insecure_mode_is_cheap_and_refused_on_mainnet() {
    let pw = Password::new("pw".into());
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let r = encrypt(
        &secret(),
        &pw,
        KdfStrength::InsecureTestOnly,
        true,
        &mut rng,
    );
    assert!(matches!(r, Err(KeystoreError::InsecureOnMainnet)), "{r:?}");
    let r = encrypt_all(&[&secret()], KdfStrength::InsecureTestOnly, true, &mut rng);
    assert!(matches!(r, Err(KeystoreError::InsecureOnMainnet)), "{r:?}");
    let json = insecure(&secret(), &pw, 2);
    let v: serde_json::Value = serde_json::from_slice(&json).expect("json");
    assert_eq!(
        v.pointer("/crypto/kdf/params/c"),
        Some(&serde_json::json!(16))
    );
    assert_eq!(
        decrypt(&json, "pw").expect("decrypt").expose_secret(),
        &secret()
    );
}

#[test]
fn deterministic_given_rng() {
    let pw = Password::new("x".into());
    assert_eq!(insecure(&secret(), &pw, 5), insecure(&secret(), &pw, 5));
    assert_ne!(insecure(&secret(), &pw, 5), insecure(&secret(), &pw, 6));
}

#[test]
fn batch_encryption_keeps_order() {
    let secrets: Vec<Zeroizing<[u8; 32]>> = (1u8..=7)
        .map(|i| {
            let mut s = [0u8; 32];
            s[31] = i;
            s[0] = 0x11;
            Zeroizing::new(s)
        })
        .collect();
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let files =
        encrypt_all(&secrets, KdfStrength::InsecureTestOnly, false, &mut rng).expect("batch");
    assert_eq!(files.len(), secrets.len());
    for (f, s) in files.iter().zip(&secrets) {
        assert_eq!(f.password.expose_secret().len(), 32);
        assert_eq!(
            decrypt(&f.json, f.password.expose_secret())
                .expect("decrypt")
                .expose_secret(),
            &**s
        );
    }
    // Same seed, same output, whatever the scheduling.
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let again =
        encrypt_all(&secrets, KdfStrength::InsecureTestOnly, false, &mut rng).expect("batch");
    for (a, b) in files.iter().zip(&again) {
        assert_eq!(a.json, b.json);
        assert_eq!(a.password.expose_secret(), b.password.expose_secret());
    }
    let mut bad = secrets;
    bad[4] = Zeroizing::new([0u8; 32]);
    let r = encrypt_all(&bad, KdfStrength::InsecureTestOnly, false, &mut rng);
    assert!(
        matches!(r, Err(KeystoreError::Batch { index: 4, .. })),
        "{r:?}"
    );
}

#[test]
fn invalid_secrets_are_refused() {
    let pw = Password::new("pw".into());
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for s in [[0u8; 32], [0xff; 32]] {
        let r = encrypt(&s, &pw, KdfStrength::InsecureTestOnly, false, &mut rng);
        assert!(matches!(r, Err(KeystoreError::InvalidSecret)), "{r:?}");
    }
}

/// Parses `json`, applies `edit`, re-serialises.
fn edited(json: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(json).expect("json");
    edit(&mut v);
    serde_json::to_vec(&v).expect("json")
}

#[test]
fn bad_input_is_rejected_with_typed_errors() {
    let pw = Password::new("pw".into());
    let good = insecure(&secret(), &pw, 9);
    let set = |p: &'static str, val: serde_json::Value| {
        edited(&good, move |v| *v.pointer_mut(p).expect("field") = val)
    };
    use serde_json::json;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"not json".to_vec(), "Json"),
        (set("/version", json!(3)), "UnsupportedVersion"),
        (set("/crypto/kdf/params/c", json!(1u64 << 23)), "HostileKdf"),
        (set("/crypto/kdf/params/dklen", json!(16)), "HostileKdf"),
        (
            set("/crypto/kdf/function", json!("argon2id")),
            "Unsupported",
        ),
        (
            set("/crypto/cipher/function", json!("aes-128-gcm")),
            "Unsupported",
        ),
        (
            set("/crypto/checksum/function", json!("keccak256")),
            "Unsupported",
        ),
        (set("/crypto/cipher/params/iv", json!("00")), "BadField"),
        (set("/crypto/cipher/message", json!("zz")), "BadField"),
        (
            set("/pubkey", json!(PUBKEY.replace('8', "9"))),
            "PubkeyMismatch",
        ),
        (
            edited(&good, |v| {
                v.as_object_mut().expect("object").remove("pubkey");
            }),
            "BadField",
        ),
        (
            set(
                "/crypto/kdf",
                json!({"function": "scrypt", "message": "", "params":
                    {"dklen": 32, "n": 1u64 << 22, "r": 8, "p": 1, "salt": "00".repeat(32)}}),
            ),
            "HostileKdf",
        ),
    ];
    for (json, want) in cases {
        let got = match decrypt(&json, "pw") {
            Ok(_) => "Ok".to_string(),
            Err(e) => format!("{e:?}"),
        };
        assert!(got.starts_with(want), "expected {want}, got {got}");
    }
    let r = decrypt(&good, "wrong");
    assert!(matches!(r, Err(KeystoreError::WrongPassword)), "{r:?}");
}

#[test]
fn password_normalisation_on_decrypt() {
    // Control characters are stripped: a stray newline in a password file is harmless.
    let pw = Password::new("abc".into());
    let json = insecure(&secret(), &pw, 11);
    assert!(decrypt(&json, "abc\n").is_ok());
    // NFKD: the compatibility form decrypts a keystore written with the plain form.
    let pw = Password::new("ﬁ".into()); // U+FB01 LATIN SMALL LIGATURE FI
    let json = insecure(&secret(), &pw, 12);
    assert!(decrypt(&json, "fi").is_ok());
}
