//! Protobuf encodings against hand-computed bytes (field numbers and wire types of
//! charon's `.proto` files, charon-dkg-protocol.md §1.5, §1.6, §1.13), the parsigex
//! JSON-in-protobuf quirk, FROST conversions, and decoders fed random bytes.

#![allow(clippy::unwrap_used)] // test harness: a failed unwrap is a failed test

use dkgd_ceremony::duties::Duty;
use dkgd_ceremony::partials::PartialSignatures;
use dkgd_ceremony::wire::frost::{
    decode_round1_casts, decode_round1_p2p, decode_round2_casts, encode_round1_casts,
    encode_round1_p2p, encode_round2_casts,
};
use dkgd_ceremony::wire::parsig::{
    decode_partials, encode_partials, parse_signature_json, pubkey_string, signature_json,
};
use dkgd_ceremony::wire::proto::*;
use dkgd_ceremony::wire::WireError;
use dkgd_ceremony::ShareIdx;
use dkgd_crypto::frost::{
    MsgKey, Round1Cast, Round1Casts, Round1P2P, Round1ShamirShare, Round2Cast, Round2Casts,
    ShareBytes,
};
use proptest::prelude::*;
use prost::Message;

fn hex(b: &[u8]) -> String {
    hex::encode(b)
}

#[test]
fn msg_sync_bytes() {
    let m = MsgSync {
        timestamp: Some(Timestamp {
            seconds: 1,
            nanos: 2,
        }),
        hash_signature: vec![0xaa, 0xbb],
        shutdown: true,
        version: "v1.10".into(),
        step: 3,
        nickname: "ab".into(),
    };
    // 1: message(len 4){1: 1, 2: 2}; 2: bytes; 3: bool; 4: string; 5: int64; 6: string.
    assert_eq!(
        hex(&m.encode_to_vec()),
        "0a0408011002".to_owned()
            + "1202aabb"
            + "1801"
            + "2205"
            + &hex(b"v1.10")
            + "2803"
            + "3202"
            + &hex(b"ab")
    );
    // Negative int64 steps take ten varint bytes, as in Go.
    let neg = MsgSync {
        step: -1,
        ..MsgSync::default()
    };
    assert_eq!(hex(&neg.encode_to_vec()), "28ffffffffffffffffff01");
    // An echoed empty timestamp still makes a non-empty response (charon refuses size 0).
    let resp = MsgSyncResponse {
        sync_timestamp: Some(Timestamp::default()),
        error: String::new(),
    };
    assert_eq!(hex(&resp.encode_to_vec()), "0a00");
    let resp = MsgSyncResponse {
        sync_timestamp: None,
        error: "x".into(),
    };
    assert_eq!(hex(&resp.encode_to_vec()), "120178");
}

#[test]
fn bcast_bytes() {
    let any = Any {
        type_url: "t".into(),
        value: vec![1],
    };
    let req = BCastSigRequest {
        id: "x".into(),
        message: Some(any.clone()),
    };
    // Field 2 is reserved: the Any is field 3.
    assert_eq!(
        hex(&req.encode_to_vec()),
        "0a0178".to_owned() + "1a06" + "0a0174" + "120101"
    );
    let resp = BCastSigResponse {
        id: "x".into(),
        signature: vec![9],
    };
    assert_eq!(hex(&resp.encode_to_vec()), "0a0178120109");
    let msg = BCastMessage {
        id: "x".into(),
        message: Some(any),
        signatures: vec![vec![1], vec![2]],
    };
    assert_eq!(
        hex(&msg.encode_to_vec()),
        "0a0178".to_owned() + "12060a0174120101" + "1a0101" + "1a0102"
    );
    assert_eq!(
        MsgNodeSig::TYPE_URL,
        "type.googleapis.com/dkg.dkgpb.v1.MsgNodeSig"
    );
    assert_eq!(
        FrostRound1Casts::TYPE_URL,
        "type.googleapis.com/dkg.dkgpb.v1.FrostRound1Casts"
    );
    assert_eq!(
        FrostRound2Casts::TYPE_URL,
        "type.googleapis.com/dkg.dkgpb.v1.FrostRound2Casts"
    );
}

#[test]
fn frost_and_nodesig_bytes() {
    let key = |v, s, t| {
        Some(FrostMsgKey {
            val_idx: v,
            source_id: s,
            target_id: t,
        })
    };
    let r1 = FrostRound1Casts {
        casts: vec![FrostRound1Cast {
            key: key(0, 1, 0),
            wi: vec![1],
            ci: vec![2],
            commitments: vec![vec![3], vec![4]],
        }],
    };
    // A zero val_idx/target_id is omitted (proto3 defaults), as Go does.
    assert_eq!(
        hex(&r1.encode_to_vec()),
        "0a10".to_owned() + "0a021001" + "120101" + "1a0102" + "220103" + "220104"
    );
    let p2p = FrostRound1P2P {
        shares: vec![FrostRound1ShamirShare {
            key: key(0, 1, 2),
            id: 2,
            value: vec![5],
        }],
    };
    assert_eq!(
        hex(&p2p.encode_to_vec()),
        "0a0b0a04100118021002".to_owned() + "1a0105"
    );
    assert!(
        !format!("{p2p:?}").contains("[5]"),
        "share values are redacted"
    );
    let r2 = FrostRound2Casts {
        casts: vec![FrostRound2Cast {
            key: key(1, 2, 0),
            verification_key: vec![6],
            vk_share: vec![7],
        }],
    };
    assert_eq!(
        hex(&r2.encode_to_vec()),
        "0a0c0a0408011002".to_owned() + "120106" + "1a0107"
    );
    let ns = MsgNodeSig {
        signature: vec![1, 2],
        peer_index: 3,
    };
    assert_eq!(hex(&ns.encode_to_vec()), "0a0201021003");
}

#[test]
fn parsigex_bytes_and_json_quirk() {
    let mut set = std::collections::BTreeMap::new();
    set.insert(
        "k".to_string(),
        ParSignedData {
            data: b"\"AQ==\"".to_vec(),
            signature: vec![1],
            share_idx: 2,
        },
    );
    let m = ParSigExMsg {
        duty: Some(CoreDuty {
            slot: 101,
            r#type: 3,
        }),
        data_set: Some(ParSignedDataSet { set }),
    };
    let want = "0a0408651003".to_owned() // duty {1: 101, 2: 3}
        + "1214" + "0a12" // data_set {1: map entry}
        + "0a016b" // entry key "k"
        + "120d" + "0a06" + &hex(b"\"AQ==\"") + "120101" + "1802"; // entry value
    assert_eq!(hex(&m.encode_to_vec()), want);
    // Deposit duties use slot 200 + k: two varint bytes.
    assert_eq!(
        hex(&CoreDuty {
            slot: 200,
            r#type: 3
        }
        .encode_to_vec()),
        "08c8011003"
    );

    let zero = [0u8; 96];
    assert_eq!(
        signature_json(&zero),
        format!("\"{}\"", "A".repeat(128)).into_bytes()
    );
    let sig: [u8; 96] = std::array::from_fn(|i| u8::try_from(i).unwrap());
    assert_eq!(parse_signature_json(&signature_json(&sig)).unwrap(), sig);
    assert_eq!(
        parse_signature_json(b" \"AAAA\"\n")
            .unwrap_err()
            .to_string(),
        "ParSignedData.data is invalid: not a 96-byte signature"
    );
    assert!(parse_signature_json(b"AAAA").is_err());
    assert!(parse_signature_json(b"\"A*==\"").is_err());
    assert_eq!(pubkey_string(&[0xab; 48]), format!("0x{}", "ab".repeat(48)));
}

#[test]
fn parsigex_round_trip_and_checks() {
    let keys = [[1u8; 48], [2u8; 48]];
    let duty = Duty::Deposit {
        index: 1,
        amount_gwei: 32_000_000_000,
    };
    let set = PartialSignatures {
        duty,
        share: ShareIdx::new(3).unwrap(),
        signatures: vec![[7u8; 96], [8u8; 96]],
    };
    let bytes = encode_partials(&set, &keys).unwrap();
    assert_eq!(decode_partials(&bytes, duty, &keys).unwrap(), set);
    // Another duty, a missing validator, a mismatching raw signature: refused.
    assert!(decode_partials(&bytes, Duty::LockHash, &keys).is_err());
    assert!(decode_partials(&bytes, duty, &[[1u8; 48], [3u8; 48]]).is_err());
    let mut msg = ParSigExMsg::decode(bytes.as_slice()).unwrap();
    msg.data_set
        .as_mut()
        .unwrap()
        .set
        .values_mut()
        .next()
        .unwrap()
        .signature[0] ^= 1;
    assert!(matches!(
        decode_partials(&msg.encode_to_vec(), duty, &keys),
        Err(WireError::InvalidField {
            field: "signature",
            ..
        })
    ));
    let mut msg = ParSigExMsg::decode(bytes.as_slice()).unwrap();
    msg.duty = None;
    assert!(matches!(
        decode_partials(&msg.encode_to_vec(), duty, &keys),
        Err(WireError::MissingField { field: "duty", .. })
    ));
    assert!(encode_partials(&set, &keys[..1]).is_err());
}

#[test]
fn frost_conversions_round_trip() {
    let mk = |v, s, t| MsgKey {
        val_idx: v,
        source_id: s,
        target_id: t,
    };
    let p2p = Round1P2P {
        shares: vec![Round1ShamirShare {
            key: mk(0, 1, 2),
            id: 2,
            value: ShareBytes::new(vec![9; 32]),
        }],
    };
    let back = decode_round1_p2p(&encode_round1_p2p(&p2p)).unwrap();
    assert_eq!(back.shares[0].key, mk(0, 1, 2));
    assert_eq!(back.shares[0].value.expose_secret(), &[9; 32]);
    let r2 = Round2Casts {
        casts: vec![Round2Cast {
            key: mk(4, 3, 0),
            verification_key: vec![1; 48],
            vk_share: vec![2; 48],
        }],
    };
    assert_eq!(decode_round2_casts(&encode_round2_casts(&r2)).unwrap(), r2);
    let r1 = Round1Casts {
        casts: vec![Round1Cast {
            key: mk(2, 3, 0),
            wi: [1; 32],
            ci: [2; 32],
            commitments: vec![[3; 48], [4; 48]],
        }],
    };
    assert_eq!(decode_round1_casts(&encode_round1_casts(&r1)).unwrap(), r1);
    // Round-1 fields have one length each (charon sends no other); any other is refused by
    // name when the frame is decoded, before FROST sees it.
    let good = FrostRound1Cast {
        key: Some(FrostMsgKey::default()),
        wi: vec![1; 32],
        ci: vec![2; 32],
        commitments: vec![vec![3; 48], vec![4; 48]],
    };
    type Edit = fn(&mut FrostRound1Cast);
    let edits: [(&str, Edit); 4] = [
        ("wi", |c| c.wi.push(0)),
        ("ci", |c| c.ci.truncate(31)),
        ("commitments", |c| c.commitments[1].truncate(47)),
        ("commitments", |c| c.commitments[0].clear()),
    ];
    for (field, edit) in edits {
        let mut c = good.clone();
        edit(&mut c);
        let body = FrostRound1Casts { casts: vec![c] }.encode_to_vec();
        match decode_round1_casts(&body) {
            Err(WireError::InvalidField {
                message, field: f, ..
            }) => {
                assert_eq!((message, f), ("FrostRound1Cast", field));
            }
            other => panic!("{field}: expected InvalidField, got {other:?}"),
        }
    }
    let body = FrostRound1Casts { casts: vec![good] }.encode_to_vec();
    assert!(decode_round1_casts(&body).is_ok());
    // An entry without its key is refused (charon's protonil rule).
    let no_key = FrostRound2Casts {
        casts: vec![FrostRound2Cast::default()],
    };
    assert!(matches!(
        decode_round2_casts(&no_key.encode_to_vec()),
        Err(WireError::MissingField { field: "key", .. })
    ));
}

proptest! {
    #[test]
    fn decoders_never_panic_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = MsgSync::decode(bytes.as_slice());
        let _ = MsgSyncResponse::decode(bytes.as_slice());
        let _ = BCastSigRequest::decode(bytes.as_slice());
        let _ = BCastSigResponse::decode(bytes.as_slice());
        let _ = BCastMessage::decode(bytes.as_slice());
        let _ = FrostRound1Casts::decode(bytes.as_slice());
        let _ = FrostRound1P2P::decode(bytes.as_slice());
        let _ = FrostRound2Casts::decode(bytes.as_slice());
        let _ = MsgNodeSig::decode(bytes.as_slice());
        let _ = ParSigExMsg::decode(bytes.as_slice());
        let _ = PeerInfo::decode(bytes.as_slice());
        let _ = dkgd_ceremony::wire::frost::decode_round1_casts(&bytes);
        let _ = decode_round1_p2p(&bytes);
        let _ = decode_round2_casts(&bytes);
        let _ = decode_partials(&bytes, Duty::LockHash, &[[1u8; 48]]);
        let _ = parse_signature_json(&bytes);
    }

    #[test]
    fn msg_sync_round_trips(seconds in any::<i64>(), nanos in any::<i32>(), sig in proptest::collection::vec(any::<u8>(), 0..80),
                            shutdown in any::<bool>(), version in ".{0,12}", step in any::<i64>(), nickname in ".{0,32}") {
        let m = MsgSync { timestamp: Some(Timestamp { seconds, nanos }), hash_signature: sig, shutdown, version, step, nickname };
        prop_assert_eq!(MsgSync::decode(m.encode_to_vec().as_slice()).unwrap(), m);
    }
}
