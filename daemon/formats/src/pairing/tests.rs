use super::*;
use crate::network::{HOODI, MAINNET, NETWORKS, SEPOLIA};

/// Computed with an independent BIP-350 implementation (Python, written for this test) over
/// format 1, hoodi's fork version 0x10000910 and the config hash 0x00 01 … 1f.
const HOODI_CODE: &str = "dkg1qygqqzgsqqqsyqcyq5rqwzqfpg9scrgwpugpzysnzs23v9ccrydpk8qarc0sl367ah";

fn counting_hash() -> [u8; 32] {
    let mut h = [0u8; 32];
    for (i, b) in h.iter_mut().enumerate() {
        *b = u8::try_from(i).unwrap_or(0);
    }
    h
}

#[test]
fn encodes_the_known_answer() {
    let code = PairingCode::new(&HOODI, counting_hash());
    assert_eq!(code.encode(), HOODI_CODE);
    assert_eq!(code.encode().len(), 70);
    assert_eq!(PairingCode::decode(HOODI_CODE), Ok(code));
    assert_eq!(code.network().map(|n| n.name), Ok("hoodi"));
    assert_eq!(
        code.config_hash_hex(),
        "0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    );
}

#[test]
fn every_network_round_trips_in_either_case() {
    for net in NETWORKS {
        let code = PairingCode::new(net, [0xab; 32]);
        let text = code.encode();
        assert_eq!(PairingCode::decode(&text), Ok(code), "{}", net.name);
        assert_eq!(PairingCode::decode(&text.to_ascii_uppercase()), Ok(code));
        assert_eq!(PairingCode::decode(&format!("  {text}\n")), Ok(code));
    }
}

#[test]
fn every_single_character_typo_is_caught() {
    let chars: Vec<char> = HOODI_CODE.chars().collect();
    for pos in 4..chars.len() {
        for sub in "qpzry9x8gf2tvdw0s3jn54khce6mua7l".chars() {
            if sub == chars[pos] {
                continue;
            }
            let mut typo = chars.clone();
            typo[pos] = sub;
            let typo: String = typo.into_iter().collect();
            assert_eq!(
                PairingCode::decode(&typo),
                Err(PairingError::Checksum),
                "{typo}"
            );
        }
    }
}

#[test]
fn swapped_dropped_and_doubled_characters_are_caught() {
    let chars: Vec<char> = HOODI_CODE.chars().collect();
    for pos in 4..chars.len() - 1 {
        if chars[pos] == chars[pos + 1] {
            continue;
        }
        let mut swapped = chars.clone();
        swapped.swap(pos, pos + 1);
        let s: String = swapped.into_iter().collect();
        assert!(PairingCode::decode(&s).is_err(), "swap at {pos}");
        let mut dropped = chars.clone();
        dropped.remove(pos);
        let d: String = dropped.into_iter().collect();
        assert!(PairingCode::decode(&d).is_err(), "drop at {pos}");
        let mut doubled = chars.clone();
        doubled.insert(pos, chars[pos]);
        let d: String = doubled.into_iter().collect();
        assert!(PairingCode::decode(&d).is_err(), "double at {pos}");
    }
}

#[test]
fn other_strings_get_their_own_errors() {
    let payload = |format: u8, len: usize| {
        let mut p = vec![format];
        p.extend_from_slice(&HOODI.genesis_fork_version);
        p.resize(len, 7);
        p.to_base32()
    };
    let enc = |hrp: &str, data, v| bech32::encode(hrp, data, v).unwrap_or_default();
    assert_eq!(
        PairingCode::decode(&enc("age", payload(1, 37), Variant::Bech32m)),
        Err(PairingError::WrongPrefix("age1".into()))
    );
    assert_eq!(
        PairingCode::decode(&enc("dkg", payload(1, 37), Variant::Bech32)),
        Err(PairingError::WrongVariant)
    );
    assert_eq!(
        PairingCode::decode(&enc("dkg", payload(1, 36), Variant::Bech32m)),
        Err(PairingError::BadLength(36))
    );
    assert_eq!(
        PairingCode::decode(&enc("dkg", payload(2, 37), Variant::Bech32m)),
        Err(PairingError::UnknownFormat(2))
    );
    let mut unknown_net = vec![1, 9, 9, 9, 9];
    unknown_net.resize(37, 0);
    assert!(matches!(
        PairingCode::decode(&enc("dkg", unknown_net.to_base32(), Variant::Bech32m)),
        Err(PairingError::Network(NetworkError::UnknownForkVersion([
            9, 9, 9, 9
        ])))
    ));
    assert!(matches!(
        PairingCode::decode("dkg1Qygqq"),
        Err(PairingError::Malformed(_))
    ));
    assert!(matches!(
        PairingCode::decode("hello"),
        Err(PairingError::Malformed(_))
    ));
}

#[test]
fn links_and_bare_hashes() {
    let hash = counting_hash();
    let hex = "0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    let hoodi = PairingCode::new(&HOODI, hash);
    let link = format!("https://hoodi.launchpad.obol.org/dv?configHash={hex}");
    assert_eq!(parse_invite(&link, None), Ok(hoodi));
    assert_eq!(parse_invite(&link, Some(&HOODI)), Ok(hoodi));
    assert_eq!(
        parse_invite(&link, Some(&MAINNET)),
        Err(PairingError::NetworkMismatch {
            invite: "hoodi",
            expected: "mainnet"
        })
    );
    let mainnet_link = format!(
        "https://launchpad.obol.org/dv#{}",
        hex.to_uppercase().replace("0X", "0x")
    );
    assert_eq!(
        parse_invite(&mainnet_link, None),
        Ok(PairingCode::new(&MAINNET, hash))
    );
    let other_host = format!("https://example.org/join/{hex}?utm=x");
    assert_eq!(
        parse_invite(&other_host, None),
        Err(PairingError::NeedsNetwork)
    );
    assert_eq!(
        parse_invite(&other_host, Some(&SEPOLIA)),
        Ok(PairingCode::new(&SEPOLIA, hash))
    );
    assert_eq!(
        parse_invite("https://hoodi.launchpad.obol.org/dv", None),
        Err(PairingError::LinkWithoutHash)
    );
    assert!(matches!(
        parse_invite(
            "https://hoodi.launchpad.obol.org/dv?configHash=0x1234",
            None
        ),
        Err(PairingError::BadHash(_))
    ));
    assert_eq!(parse_invite(hex, None), Err(PairingError::NeedsNetwork));
    assert_eq!(parse_invite(hex, Some(&HOODI)), Ok(hoodi));
    assert!(matches!(
        parse_invite(&hex[..60], Some(&HOODI)),
        Err(PairingError::BadHash(_))
    ));
    assert_eq!(parse_invite(HOODI_CODE, None), Ok(hoodi));
    assert!(matches!(
        parse_invite(HOODI_CODE, Some(&MAINNET)),
        Err(PairingError::NetworkMismatch { .. })
    ));
    assert_eq!(parse_invite(" \n", None), Err(PairingError::Empty));
    assert_eq!(
        parse_invite(&"x".repeat(3000), None),
        Err(PairingError::TooLong(3000))
    );
}

#[test]
fn errors_say_what_to_do() {
    let typo = PairingError::Checksum.to_string();
    assert!(typo.contains("typo"), "{typo}");
    let needs = PairingError::NeedsNetwork.to_string();
    assert!(needs.contains("--network"), "{needs}");
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;
    use proptest::sample::Index;

    const BECH32_CHARS: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Whatever an owner types or pastes (any text, with or without a network): an answer,
        /// never a panic.
        #[test]
        fn any_text_is_an_answer(text in ".{0,200}", bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = parse_invite(&text, None);
            let _ = parse_invite(&text, Some(&HOODI));
            let lossy = String::from_utf8_lossy(&bytes);
            let _ = parse_invite(&lossy, None);
            let _ = parse_invite(&format!("dkg1{lossy}"), None);
        }

        /// Any network and hash round-trip; any one changed character of the code is caught
        /// (bech32m detects every single substitution), never read as another invite.
        #[test]
        fn one_changed_character_is_always_caught(
            net in any::<Index>(),
            hash in any::<[u8; 32]>(),
            pos in any::<Index>(),
            c in any::<Index>(),
        ) {
            let code = PairingCode::new(net.get(NETWORKS), hash);
            let text = code.encode();
            prop_assert_eq!(parse_invite(&text, None), Ok(code));
            // Past the "dkg1" prefix.
            let i = 4 + pos.index(text.len() - 4);
            let mut m = text.clone().into_bytes();
            m[i] = *c.get(BECH32_CHARS);
            prop_assume!(m[i] != text.as_bytes()[i]);
            let m = String::from_utf8(m).unwrap_or_default();
            prop_assert!(parse_invite(&m, None).is_err(), "accepted {} (from {})", m, text);
        }
    }
}
