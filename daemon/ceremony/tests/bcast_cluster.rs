//! charon's reliable broadcast between in-memory nodes (charon-dkg-protocol.md §1.6): honest
//! delivery under both wire versions, and every fault attributed to the peer that caused it.

#![allow(clippy::unwrap_used)] // test harness: a failed unwrap is a failed test

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use dkgd_ceremony::bcast::{
    Bcast, BcastConfig, BcastError, BcastEvent, Topic, SIG_REQUEST_TIMEOUT,
};
use dkgd_ceremony::wire::frost::{decode_round1_casts, encode_round1_casts};
use dkgd_ceremony::wire::profile::{V1_10, V1_11};
use dkgd_ceremony::wire::proto::{Any, BCastMessage, BCastSigRequest, MsgNodeSig, TypeUrl};
use dkgd_ceremony::wire::{
    BcastHash, FrameDecoder, Framing, InboundId, Instant, Profile, ProtocolId, Transmit,
    TransmitKind,
};
use dkgd_ceremony::PeerIdx;
use dkgd_ceremony::Step;
use dkgd_crypto::frost::{MsgKey, Round1Cast, Round1Casts};
use dkgd_crypto::k1::K1SecretKey;
use prost::Message;
use sha2::{Digest, Sha256};

fn key(i: usize) -> K1SecretKey {
    K1SecretKey::from_bytes(&[u8::try_from(i).unwrap() + 1; 32]).unwrap()
}

fn p(i: usize) -> PeerIdx {
    PeerIdx::from_usize(i).unwrap()
}

fn node_sig(i: usize) -> Vec<u8> {
    MsgNodeSig {
        signature: vec![u8::try_from(i).unwrap(); 65],
        peer_index: u32::try_from(i).unwrap(),
    }
    .encode_to_vec()
}

fn body(frame: &[u8]) -> Vec<u8> {
    let mut d = FrameDecoder::new(Framing::DELIMITED);
    d.push(frame);
    d.poll_frame().unwrap().unwrap()
}

struct Net {
    now: Instant,
    nodes: Vec<Bcast>,
    events: Vec<Vec<BcastEvent>>,
    queue: VecDeque<(usize, Transmit)>,
    /// Inbound request streams awaiting an answer: id → requester.
    pending: BTreeMap<u64, usize>,
    next_id: u64,
    /// Nodes that never answer requests.
    silent: Vec<usize>,
}

impl Net {
    fn new(n: usize, profile: &'static Profile, session: impl Fn(usize) -> Vec<u8>) -> Net {
        let peers: Vec<_> = (0..n).map(|i| key(i).public_key()).collect();
        let nodes = (0..n)
            .map(|i| {
                Bcast::new(BcastConfig {
                    profile,
                    session_hash: session(i),
                    peers: peers.clone(),
                    me: p(i),
                    identity: Arc::new(key(i)),
                    sig_request_timeout: SIG_REQUEST_TIMEOUT,
                })
            })
            .collect();
        Net {
            now: Instant::ZERO,
            nodes,
            events: vec![Vec::new(); n],
            queue: VecDeque::new(),
            pending: BTreeMap::new(),
            next_id: 0,
            silent: Vec::new(),
        }
    }

    fn with(&mut self, i: usize, f: impl FnOnce(&mut Bcast, Instant)) {
        f(&mut self.nodes[i], self.now);
        while let Some(t) = self.nodes[i].poll_transmit() {
            self.queue.push_back((i, t));
        }
        while let Some(e) = self.nodes[i].poll_event() {
            self.events[i].push(e);
        }
    }

    fn pump(&mut self) {
        while let Some((from, t)) = self.queue.pop_front() {
            self.deliver(from, t);
        }
    }

    /// Like [`Net::pump`], but final messages are returned instead of delivered.
    fn pump_collect_finals(&mut self) -> Vec<Transmit> {
        let mut finals = Vec::new();
        while let Some((from, t)) = self.queue.pop_front() {
            if t.kind == TransmitKind::OneWay {
                finals.push(t);
            } else {
                self.deliver(from, t);
            }
        }
        finals
    }

    fn deliver(&mut self, from: usize, t: Transmit) {
        let to = t.to.as_usize();
        let b = body(&t.frame);
        match t.kind {
            TransmitKind::Request => {
                assert_eq!(t.protocol, ProtocolId::BcastSig);
                if self.silent.contains(&to) {
                    return;
                }
                self.next_id += 1;
                let id = self.next_id;
                self.pending.insert(id, from);
                self.with(to, |n, now| {
                    n.handle_sig_request(now, p(from), InboundId(id), &b)
                });
            }
            TransmitKind::Response(InboundId(id)) => {
                let requester = self.pending.remove(&id).expect("answer to a request");
                assert_eq!(requester, to);
                self.with(to, |n, now| n.handle_sig_response(now, p(from), &b));
            }
            TransmitKind::OneWay => {
                assert_eq!(t.protocol, ProtocolId::BcastMsg);
                self.with(to, |n, now| n.handle_message(now, p(from), &b));
            }
        }
    }

    fn faults(&self, i: usize) -> Vec<BcastError> {
        self.events[i]
            .iter()
            .filter_map(|e| match e {
                BcastEvent::Fault(f) => Some(f.clone()),
                _ => None,
            })
            .collect()
    }

    fn delivered(&self, i: usize) -> Vec<(PeerIdx, Topic, Vec<u8>)> {
        self.events[i]
            .iter()
            .filter_map(|e| match e {
                BcastEvent::Delivered {
                    from,
                    topic,
                    payload,
                } => Some((*from, *topic, payload.clone())),
                _ => None,
            })
            .collect()
    }
}

fn same_session(_: usize) -> Vec<u8> {
    vec![0x42; 32]
}

fn everyone_broadcasts(profile: &'static Profile) {
    let n = 4;
    let mut net = Net::new(n, profile, same_session);
    for i in 0..n {
        net.with(i, |b, now| {
            b.broadcast(now, Topic::NodeSig, node_sig(i)).unwrap()
        });
    }
    net.pump();
    for i in 0..n {
        assert!(net.faults(i).is_empty(), "node {i}: {:?}", net.faults(i));
        assert!(net.events[i].contains(&BcastEvent::Completed {
            topic: Topic::NodeSig
        }));
        let mut got = net.delivered(i);
        got.sort();
        let want: Vec<_> = (0..n)
            .filter(|j| *j != i)
            .map(|j| (p(j), Topic::NodeSig, node_sig(j)))
            .collect();
        assert_eq!(got, want, "node {i}");
        assert!(net.nodes[i].poll_timeout().is_none());
    }
}

#[test]
fn every_node_delivers_every_broadcast_v1_10() {
    everyone_broadcasts(&V1_10);
}

#[test]
fn every_node_delivers_every_broadcast_v1_11() {
    everyone_broadcasts(&V1_11);
}

#[test]
fn frost_round1_cast_round_trips_through_bcast() {
    let casts = Round1Casts {
        casts: vec![Round1Cast {
            key: MsgKey {
                val_idx: 0,
                source_id: 1,
                target_id: 0,
            },
            wi: [1; 32],
            ci: [2; 32],
            commitments: vec![[3; 48], [4; 48]],
        }],
    };
    let mut net = Net::new(3, &V1_11, same_session);
    let payload = encode_round1_casts(&casts);
    net.with(0, |b, now| {
        b.broadcast(now, Topic::FrostRound1Cast, payload).unwrap()
    });
    net.pump();
    for i in 1..3 {
        let got = net.delivered(i);
        assert_eq!(got.len(), 1);
        assert_eq!(decode_round1_casts(&got[0].2).unwrap(), casts);
        assert_eq!(got[0].1.step(), Step::Dkg);
    }
}

/// A raw signature request from `from` carrying `payload` under the node-sig ID.
fn raw_request(profile: &Profile, payload: Vec<u8>) -> Vec<u8> {
    BCastSigRequest {
        id: profile.node_sig_id.to_string(),
        message: Some(Any {
            type_url: MsgNodeSig::TYPE_URL.to_string(),
            value: payload,
        }),
    }
    .encode_to_vec()
}

#[test]
fn an_equivocating_sender_is_refused_and_named() {
    let mut net = Net::new(4, &V1_10, same_session);
    net.with(1, |b, now| {
        b.handle_sig_request(now, p(0), InboundId(1), &raw_request(&V1_10, node_sig(0)))
    });
    assert!(
        matches!(net.queue.pop_front(), Some((1, t)) if t.kind == TransmitKind::Response(InboundId(1)))
    );
    // The same request again is answered again; a different one is refused.
    net.with(1, |b, now| {
        b.handle_sig_request(now, p(0), InboundId(2), &raw_request(&V1_10, node_sig(0)))
    });
    assert_eq!(net.queue.len(), 1);
    net.queue.clear();
    net.with(1, |b, now| {
        b.handle_sig_request(now, p(0), InboundId(3), &raw_request(&V1_10, node_sig(9)))
    });
    assert!(net.queue.is_empty(), "no signature for the second message");
    assert_eq!(
        net.faults(1),
        vec![BcastError::Equivocation {
            peer: p(0),
            step: Step::NodeSignatures,
            topic: Topic::NodeSig
        }]
    );
    // Another sender may use the same ID for its own message.
    net.with(1, |b, now| {
        b.handle_sig_request(now, p(2), InboundId(4), &raw_request(&V1_10, node_sig(9)))
    });
    assert_eq!(net.queue.len(), 1);
    assert_eq!(net.faults(1).len(), 1);
}

#[test]
fn a_final_message_other_than_the_signed_one_is_equivocation() {
    let mut net = Net::new(3, &V1_10, same_session);
    net.with(0, |b, now| {
        b.broadcast(now, Topic::NodeSig, node_sig(0)).unwrap()
    });
    net.pump();
    // Node 0 now sends node 1 a different message under the same ID.
    let forged = BCastMessage {
        id: V1_10.node_sig_id.to_string(),
        message: Some(Any {
            type_url: MsgNodeSig::TYPE_URL.to_string(),
            value: node_sig(7),
        }),
        signatures: vec![vec![0; 65]; 3],
    }
    .encode_to_vec();
    net.with(1, |b, now| b.handle_message(now, p(0), &forged));
    assert!(matches!(
        net.faults(1).as_slice(),
        [BcastError::Equivocation { peer, .. }] if *peer == p(0)
    ));
}

#[test]
fn bad_signatures_are_attributed() {
    let mut net = Net::new(4, &V1_10, same_session);
    net.with(0, |b, now| {
        b.broadcast(now, Topic::NodeSig, node_sig(0)).unwrap()
    });
    // Node 2 answers with a signature over something else.
    net.queue.retain(|(_, t)| t.to != p(2));
    net.pump();
    let mut sig = key(2).sign_digest(&[9; 32]).to_vec();
    let resp = dkgd_ceremony::wire::proto::BCastSigResponse {
        id: V1_10.node_sig_id.to_string(),
        signature: std::mem::take(&mut sig),
    }
    .encode_to_vec();
    net.with(0, |b, now| b.handle_sig_response(now, p(2), &resp));
    assert_eq!(
        net.faults(0),
        vec![BcastError::InvalidSignature {
            peer: p(2),
            signer: p(2),
            step: Step::NodeSignatures,
            topic: Topic::NodeSig
        }]
    );
    // A final message whose signature of node 3 is wrong is pinned on its sender.
    let mut honest = Net::new(4, &V1_10, same_session);
    honest.with(0, |b, now| {
        b.broadcast(now, Topic::NodeSig, node_sig(0)).unwrap()
    });
    let finals = honest.pump_collect_finals();
    let to_1 = finals.iter().find(|t| t.to == p(1)).unwrap();
    let mut msg = BCastMessage::decode(body(&to_1.frame).as_slice()).unwrap();
    msg.signatures[3][5] ^= 1;
    honest.with(1, |b, now| {
        b.handle_message(now, p(0), &msg.encode_to_vec())
    });
    assert!(matches!(
        honest.faults(1).as_slice(),
        [BcastError::InvalidSignature { peer, signer, .. }] if *peer == p(0) && *signer == p(3)
    ));
    msg.signatures.pop();
    honest.with(2, |b, now| {
        b.handle_message(now, p(0), &msg.encode_to_vec())
    });
    assert!(matches!(
        honest.faults(2).as_slice(),
        [BcastError::SignatureCount {
            found: 3,
            expected: 4,
            ..
        }]
    ));
}

#[test]
fn silent_peer_times_out_named_and_failed_request_names_peer() {
    let mut net = Net::new(4, &V1_10, same_session);
    net.silent.push(3);
    net.with(0, |b, now| {
        b.broadcast(now, Topic::NodeSig, node_sig(0)).unwrap()
    });
    net.pump();
    assert_eq!(
        net.nodes[0].poll_timeout(),
        Some(Instant::ZERO + SIG_REQUEST_TIMEOUT)
    );
    net.now = Instant::ZERO + SIG_REQUEST_TIMEOUT;
    net.with(0, |b, now| b.handle_timeout(now));
    assert_eq!(
        net.faults(0),
        vec![BcastError::SigRequestTimedOut {
            step: Step::NodeSignatures,
            topic: Topic::NodeSig,
            missing: vec![p(3)]
        }]
    );
    let mut net = Net::new(4, &V1_10, same_session);
    net.silent.push(1);
    net.with(0, |b, now| {
        b.broadcast(now, Topic::FrostRound2Cast, Vec::new())
            .unwrap()
    });
    net.pump();
    net.with(0, |b, now| b.handle_request_failed(now, p(1)));
    assert!(matches!(
        net.faults(0).as_slice(),
        [BcastError::SigRequestFailed { peer, step: Step::Dkg, .. }] if *peer == p(1)
    ));
    assert!(net.nodes[0].poll_timeout().is_none());
}

#[test]
fn wrong_type_and_unknown_ids_are_refused() {
    let mut net = Net::new(3, &V1_10, same_session);
    let mut req = BCastSigRequest::decode(raw_request(&V1_10, node_sig(0)).as_slice()).unwrap();
    req.message.as_mut().unwrap().type_url =
        "type.googleapis.com/dkg.dkgpb.v1.FrostRound1Casts".into();
    net.with(1, |b, now| {
        b.handle_sig_request(now, p(0), InboundId(1), &req.encode_to_vec())
    });
    req.id = "/charon/dkg/unknown".into();
    net.with(1, |b, now| {
        b.handle_sig_request(now, p(0), InboundId(2), &req.encode_to_vec())
    });
    net.with(1, |b, now| {
        b.handle_sig_request(now, p(0), InboundId(3), &[0xff, 0x01])
    });
    net.with(1, |b, now| {
        b.handle_sig_request(now, p(1), InboundId(4), &[])
    });
    let f = net.faults(1);
    assert!(
        matches!(
            f[0],
            BcastError::Malformed {
                topic: Some(Topic::NodeSig),
                ..
            }
        ),
        "{f:?}"
    );
    assert!(matches!(f[1], BcastError::UnknownMessageId { .. }), "{f:?}");
    assert!(
        matches!(f[2], BcastError::Malformed { topic: None, .. }),
        "{f:?}"
    );
    assert!(matches!(f[3], BcastError::UnknownPeer { .. }), "{f:?}");
    assert!(net.queue.is_empty());
    assert!(matches!(
        net.nodes[0]
            .broadcast(Instant::ZERO, Topic::NodeSig, vec![])
            .and_then(|()| net.nodes[0].broadcast(Instant::ZERO, Topic::NodeSig, vec![])),
        Err(BcastError::AlreadyBroadcast { .. })
    ));
}

/// Runs a broadcast from node 0 in a 3-node net with session `a` and replays the final
/// message to a node of another session; returns that node's faults.
fn replay_across_sessions(profile: &'static Profile) -> Vec<BcastError> {
    let mut a = Net::new(3, profile, same_session);
    a.with(0, |b, now| {
        b.broadcast(now, Topic::NodeSig, node_sig(0)).unwrap()
    });
    let finals: Vec<Vec<u8>> = a
        .pump_collect_finals()
        .iter()
        .map(|t| body(&t.frame))
        .collect();
    let mut other = Net::new(3, profile, |_| vec![0x43; 32]);
    other.with(1, |b, now| b.handle_message(now, p(0), &finals[0]));
    other.faults(1)
}

#[test]
fn bcast_2_0_0_binds_the_session_1_0_0_does_not() {
    assert!(
        replay_across_sessions(&V1_10).is_empty(),
        "1.0.0 is replayable (charon#4638)"
    );
    assert!(matches!(
        replay_across_sessions(&V1_11).as_slice(),
        [BcastError::InvalidSignature { .. }]
    ));
}

#[test]
fn hash_rules_match_a_hand_computation() {
    let any = Any {
        type_url: "type.googleapis.com/dkg.dkgpb.v1.MsgNodeSig".into(),
        value: vec![1, 2, 3],
    };
    let v1: [u8; 32] =
        Sha256::digest(b"type.googleapis.com/dkg.dkgpb.v1.MsgNodeSig\x01\x02\x03").into();
    assert_eq!(
        BcastHash::TypeUrlValue.digest(b"ignored", "/charon/dkg/node_sig", &any),
        v1
    );
    let mut pre = Vec::new();
    pre.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 2]);
    pre.extend_from_slice(b"SH");
    pre.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 20]);
    pre.extend_from_slice(b"/charon/dkg/node_sig");
    pre.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 43]);
    pre.extend_from_slice(b"type.googleapis.com/dkg.dkgpb.v1.MsgNodeSig");
    pre.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]);
    let v2: [u8; 32] = Sha256::digest(&pre).into();
    assert_eq!(
        BcastHash::SessionBound.digest(b"SH", "/charon/dkg/node_sig", &any),
        v2
    );
    assert_eq!(
        Topic::from_message_id(&V1_11, "/charon/dkg/frost/2.0.0/round2/cast"),
        Some(Topic::FrostRound2Cast)
    );
    let _ = Duration::ZERO;
}

proptest::proptest! {
    #[test]
    fn random_input_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
        let mut net = Net::new(3, &V1_11, same_session);
        net.with(0, |b, now| b.broadcast(now, Topic::NodeSig, node_sig(0)).unwrap());
        net.with(0, |b, now| b.handle_sig_response(now, p(1), &bytes));
        net.with(1, |b, now| b.handle_sig_request(now, p(0), InboundId(1), &bytes));
        net.with(1, |b, now| b.handle_message(now, p(0), &bytes));
        net.pump();
    }
}
