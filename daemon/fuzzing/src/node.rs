//! The ceremony state machine itself: one node fed raw frames, and whole four-node
//! ceremonies on `dkgd-sim`'s network with one sender's frames changed by the input.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use dkgd_ceremony::definition::LocalClusterConfig;
use dkgd_ceremony::wire::profile::V1_10;
use dkgd_ceremony::wire::{InboundId, Instant, ProtocolId};
use dkgd_ceremony::{Ceremony, Event, PeerIdx, Plan, Step, Stream};
use dkgd_crypto::k1::K1SecretKey;
use dkgd_formats::definition::{Definition, Version};
use dkgd_formats::network::HOODI;
use dkgd_sim::{Net, TapeMutator};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::split;

/// Operators in the fuzzed clusters.
const N: usize = 4;

struct Cluster {
    ops: Vec<K1SecretKey>,
    def: Definition,
    /// Operator 0's plan (checking the definition is the costly part of a start).
    plan0: Plan,
}

/// A signed v1.10 hoodi definition of four operators and one validator, made once.
fn cluster_setup() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let (ops, creator) = dkgd_sim::keys(N, 7);
        let mut config = LocalClusterConfig::new(Version::V1_10, &HOODI, 1);
        config.timestamp = "2026-01-02T03:04:05Z".to_string();
        let def = dkgd_sim::definition(&config, &ops, &creator).expect("a local definition");
        let op0 = ops.first().expect("four operators");
        let plan0 = Plan::new(def.clone(), &op0.public_key()).expect("operator 0's plan");
        Cluster { ops, def, plan0 }
    })
}

fn peer(i: usize) -> PeerIdx {
    PeerIdx::from_usize(i).unwrap_or_else(|| unreachable!("peer {i} of {N}"))
}

/// Raw frames into operator 0's ceremony, as records: `op`, then for a frame a `u16` LE
/// length and the body. `op % 8` < 6 picks the protocol (sync, bcast signature, bcast
/// message, FROST round-1 share, parsigex, peerinfo), bit 3 the stream (one we opened or one
/// the peer opened), bits 4–5 the sender. `op % 8` = 6: the sender's sync stream opens
/// (bit 3 clear) or closes; 7: the clock moves by the `u16` in milliseconds and due timers
/// fire. Every output is drained and the off-loop work run; nothing may panic, and an abort
/// must name a step the node had reached.
pub fn ceremony_frames(data: &[u8]) {
    let c = cluster_setup();
    let Some(op0) = c.ops.first() else {
        return;
    };
    let plan = c.plan0.clone();
    let Ok(id) = K1SecretKey::from_bytes(&op0.expose_secret()) else {
        unreachable!("a key round-trips");
    };
    let rng = ChaCha20Rng::from_seed([1; 32]);
    let cfg = dkgd_sim::config();
    let Ok(mut node) = Ceremony::new(
        plan,
        Arc::new(id),
        &V1_10,
        cfg,
        Box::new(rng),
        Instant::ZERO,
    ) else {
        unreachable!("a valid plan starts");
    };
    let protocols = ProtocolId::ALL;
    let mut now = Instant::ZERO;
    let mut rest = data;
    let mut next_id = 1;
    drain(&mut node, now);
    while let Some((&op, tail)) = rest.split_first() {
        let (len, tail) = match tail {
            [lo, hi, tail @ ..] => (usize::from(u16::from_le_bytes([*lo, *hi])), tail),
            _ => (0, &[][..]),
        };
        let from = peer(1 + usize::from(op >> 4 & 3) % (N - 1));
        let outbound = op & 8 != 0;
        match usize::from(op % 8) {
            6 if !outbound => node.handle_opened(now, from),
            6 => node.handle_closed(now, from, ProtocolId::Sync, Stream::Outbound),
            7 => {
                now = now + Duration::from_millis(u64::try_from(len).unwrap_or(0));
                if node.poll_timeout().is_some_and(|t| t <= now) {
                    node.handle_timeout(now);
                }
            }
            p => {
                let body = tail.get(..len).unwrap_or(tail);
                let stream = if outbound {
                    Stream::Outbound
                } else {
                    next_id += 1;
                    Stream::Inbound(InboundId(next_id))
                };
                let protocol = protocols.get(p).copied().unwrap_or(ProtocolId::Sync);
                node.handle_frame(now, from, protocol, stream, body);
                rest = tail.get(body.len()..).unwrap_or(&[]);
                drain(&mut node, now);
                continue;
            }
        }
        rest = tail;
        drain(&mut node, now);
    }
}

/// Runs the node's off-loop work and drops what it sends; checks its events.
fn drain(node: &mut Ceremony, now: Instant) {
    while let Some(w) = node.poll_work() {
        let done = w.run();
        node.handle_work_done(now, done);
    }
    while node.poll_transmit().is_some() {}
    while let Some(e) = node.poll_event() {
        // Lone node: no peer ever completes a barrier, so it can never get to write keys.
        assert!(
            !matches!(e, Event::NeedCommit(_) | Event::NeedPublish | Event::Done),
            "a lone node fed raw frames reached {e:?}"
        );
    }
}

/// A whole four-node ceremony in which the frames of one sender to one receiver (chosen by
/// the first byte) pass through a [`TapeMutator`] reading the rest of the input. The other
/// nodes must stay all-or-nothing (all publish byte-identical locks, or none publishes,
/// except a node that staged and then aborted in the commit step, which keeps the same set
/// aside), and no node may blame anyone but the sender or, relayed, the receiver.
pub fn cluster(data: &[u8]) {
    let (sel, tape) = split(data);
    let tape = tape.get(..4096).unwrap_or(tape);
    let c = cluster_setup();
    let from = usize::from(sel) % N;
    let to = (from + 1 + usize::from(sel >> 2) % (N - 1)) % N;
    let Ok(mut net) = Net::new(&c.ops, &vec![c.def.clone(); N], &[&V1_10; N], 11) else {
        unreachable!("a valid cluster starts");
    };
    net.tamper = Some((from, to, Box::new(TapeMutator::new(tape))));
    assert!(net.run(), "the cluster stalled ({from}→{to})");
    let others: Vec<usize> = (0..N).filter(|i| *i != from).collect();
    let any = others.iter().any(|i| net.published_at[*i].is_some());
    let mut locks = Vec::new();
    for &i in &others {
        let published = net.published_at[i].is_some();
        let kept_aside = net.committed_at[i].is_some()
            && net.abort(i).is_some_and(|e| e.step() == Step::Committed);
        assert!(
            published == any || kept_aside,
            "{from}→{to}: node {i} published={published} while others did {any}"
        );
        if published {
            locks.extend(net.artifacts(i).map(|a| a.lock_json.clone()));
        }
        if let Some(e) = net.abort(i) {
            let culprit = e.culprit();
            let fair = culprit.is_none()
                || culprit == Some(peer(from))
                || (i != to && culprit == Some(peer(to)));
            assert!(fair, "{from}→{to}: node {i} blames {culprit:?}: {e}");
        }
    }
    assert!(
        locks.windows(2).all(|w| w[0] == w[1]),
        "{from}→{to}: published locks differ"
    );
}
