//! The ceremony in charon's order (`dkg/dkg.go` `Run`): sync up to step 1, FROST, then one
//! barrier after each of deposits, registrations, lock hash, node signatures, verification,
//! and the (skipped) writes; then the shutdown handshake. Crypto and lock assembly are
//! dkgd-ceremony's pure functions; everything on the wire is sequenced here.

use super::bcast::{Bcast, NODE_SIG, R1_CAST, R2_CAST};
use super::net::{Delivery, Net, FROST_R1_P2P, PARSIGEX, RECEIVE_TIMEOUT, SEND_TIMEOUT, SYNC};
use super::sync::{Fatal, Sync};
use super::{Journal, Outcome, PeerConfig};
use dkgd_ceremony::duties::{Duties, Duty};
use dkgd_ceremony::index::PeerIdx;
use dkgd_ceremony::partials::{self, PartialSignatures};
use dkgd_ceremony::wire::frost::{
    decode_round1_casts, decode_round1_p2p, decode_round2_casts, encode_round1_casts,
    encode_round1_p2p, encode_round2_casts,
};
use dkgd_ceremony::wire::parsig::{decode_partials, encode_partials};
use dkgd_ceremony::wire::proto::{
    FrostRound1Casts, FrostRound2Casts, MsgNodeSig, ParSigExMsg, TypeUrl,
};
use dkgd_ceremony::{assemble, keygen, nodesigs, Plan};
use dkgd_crypto::frost::{Round1Casts, Round1P2P, Round2Casts, ShareIdx};
use prost::Message;
use rand_core::OsRng;
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How long the script waits for a peer's message where charon has no timeout at all (FROST
/// rounds, node signatures): only so that a broken run fails instead of hanging the test.
const NO_CHARON_TIMEOUT: Duration = Duration::from_secs(60);

/// Messages that arrived, kept until the step that consumes them (charon buffers them in
/// channels and parsigdb).
struct Inbox {
    rx: mpsc::UnboundedReceiver<Delivery>,
    pending: Vec<Delivery>,
    fatal: Fatal,
    journal: Journal,
}

impl Inbox {
    /// Collects one message from every peer in `from`: `pick` returns `None` for messages of
    /// other steps (kept), `Some(Err)` for a message charon's callback would reject (dropped,
    /// as charon only logs it), `Some(Ok(body))` to take it. A peer's first taken message
    /// counts; later ones are ignored (charon's dedup).
    async fn gather(
        &mut self,
        what: &str,
        from: &[usize],
        wait: Duration,
        mut pick: impl FnMut(&Delivery) -> Option<(usize, Result<Vec<u8>, String>)>,
    ) -> Result<BTreeMap<usize, Vec<u8>>, String> {
        let end = Instant::now() + wait;
        let mut got = BTreeMap::new();
        loop {
            let mut keep = Vec::new();
            for d in std::mem::take(&mut self.pending) {
                match pick(&d) {
                    None => keep.push(d),
                    Some((peer, Ok(body))) => match got.entry(peer) {
                        Entry::Occupied(_) => self
                            .journal
                            .note(format!("{what}: ignoring a duplicate from peer {peer}")),
                        Entry::Vacant(slot) => {
                            if from.contains(&peer) {
                                slot.insert(body);
                            }
                        }
                    },
                    Some((peer, Err(e))) => self
                        .journal
                        .note(format!("{what}: dropped peer {peer}'s message: {e}")),
                }
            }
            self.pending = keep;
            if from.iter().all(|p| got.contains_key(p)) {
                return Ok(got);
            }
            self.fatal.check()?;
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let missing: Vec<_> = from.iter().filter(|p| !got.contains_key(p)).collect();
                return Err(format!(
                    "{what}: nothing from peers {missing:?} within {wait:?}"
                ));
            }
            let step = left.min(Duration::from_millis(100));
            if let Ok(Some(d)) = tokio::time::timeout(step, self.rx.recv()).await {
                self.pending.push(d);
            }
        }
    }
}

fn share(peer: usize) -> ShareIdx {
    PeerIdx::from_usize(peer).expect("peer index").share_idx()
}

/// The whole run; see [`super::run`].
pub async fn run(cfg: PeerConfig, journal: Journal) -> Result<Outcome, String> {
    let plan = Plan::new(cfg.definition.clone(), &cfg.key.public_key())
        .map_err(|e| format!("plan: {e}"))?;
    let me = plan.me().as_usize();
    let n = plan.num_operators();
    let enrs: Vec<_> = (0..n)
        .map(|i| {
            plan.operator_enr(PeerIdx::from_usize(i).expect("index"))
                .expect("operator")
                .clone()
        })
        .collect();
    let peers = enrs.iter().map(|e| e.peer_id()).collect();
    let pubkeys = enrs.iter().map(|e| e.public_key()).collect();
    let def_hash = plan.definition_hash();
    let (sig_id, msg_id) = cfg.version.bcast_protocols();
    let serve = [SYNC, sig_id, msg_id, FROST_R1_P2P, PARSIGEX];
    let net = Arc::new(
        Net::start(
            &cfg.key,
            peers,
            me,
            cfg.listen.clone(),
            &cfg.peer_addrs,
            &cfg.relays,
            &serve,
        )
        .await?,
    );
    journal.note(format!(
        "charon {} as operator {me}, listening on {:?}",
        cfg.version.minor(),
        net.host.listen_addrs()
    ));
    let result = ceremony(&cfg, &plan, &net, pubkeys, def_hash, journal.clone()).await;
    // `--shutdown-delay` (1 s in v1.7): the host stays up briefly, then the process exits.
    tokio::time::sleep(Duration::from_secs(1)).await;
    net.host.shutdown().await;
    if let Err(e) = &result {
        journal.note(format!("run failed: {e}"));
    }
    result
}

async fn ceremony(
    cfg: &PeerConfig,
    plan: &Plan,
    net: &Arc<Net>,
    pubkeys: Vec<dkgd_crypto::k1::K1PublicKey>,
    def_hash: [u8; 32],
    journal: Journal,
) -> Result<Outcome, String> {
    let version = cfg.version;
    let others = net.others();
    let key = Arc::new(copy_key(&cfg.key));
    let (tx, rx) = mpsc::unbounded_channel();
    let bcast = Bcast::new(
        version,
        Arc::clone(&key),
        pubkeys,
        def_hash,
        journal.clone(),
    );
    bcast.serve(net, tx.clone())?;
    net.serve_oneway(FROST_R1_P2P, RECEIVE_TIMEOUT, tx.clone(), |from, body| {
        Delivery::FrostP2P { from, body }
    })?;
    net.serve_oneway(PARSIGEX, cfg.timeout, tx, |from, body| Delivery::Parsig {
        from,
        body,
    })?;
    let fatal = Fatal::default();
    let mut inbox = Inbox {
        rx,
        pending: Vec::new(),
        fatal: fatal.clone(),
        journal: journal.clone(),
    };
    let mut sync = Sync::start(
        Arc::clone(net),
        version,
        &cfg.key,
        def_hash,
        cfg.nickname.clone(),
        cfg.fault.clone(),
        fatal,
        journal.clone(),
    )
    .await?;

    // Step 1: FROST. Round 1: broadcast, then the direct messages one by one, then wait.
    let (state, out) = keygen::start(plan, &mut OsRng).map_err(|e| format!("frost: {e}"))?;
    bcast
        .broadcast(
            net,
            R1_CAST,
            FrostRound1Casts::TYPE_URL,
            encode_round1_casts(&out.cast),
        )
        .await?;
    for (to, msg) in &out.direct {
        let peer = PeerIdx::from_share_idx(*to)
            .expect("share index")
            .as_usize();
        net.send(peer, FROST_R1_P2P, &encode_round1_p2p(msg), SEND_TIMEOUT)
            .await?;
    }
    let (t, v) = (plan.threshold(), plan.num_validators());
    let casts = inbox
        .gather("round 1 casts", &others, NO_CHARON_TIMEOUT, |d| match d {
            Delivery::Bcast {
                id, from, value, ..
            } if id == R1_CAST => Some((*from, check_r1(*from, value, t, v))),
            _ => None,
        })
        .await?;
    let me = net.me;
    let direct = inbox
        .gather("round 1 p2p", &others, NO_CHARON_TIMEOUT, |d| match d {
            Delivery::FrostP2P { from, body } => Some((*from, check_p2p(*from, me, body, v))),
            _ => None,
        })
        .await?;
    let mut r1: Vec<(ShareIdx, Round1Casts)> = vec![(share(me), out.cast.clone())];
    for (p, body) in &casts {
        r1.push((
            share(*p),
            decode_round1_casts(body).map_err(|e| e.to_string())?,
        ));
    }
    r1.sort_by_key(|(s, _)| *s);
    let mut p2p: Vec<(ShareIdx, Round1P2P)> = Vec::new();
    for (p, body) in &direct {
        p2p.push((
            share(*p),
            decode_round1_p2p(body).map_err(|e| e.to_string())?,
        ));
    }
    let (state, own_r2) = state
        .handle_round1(&r1, &p2p, &mut OsRng)
        .map_err(|e| format!("frost round 1: {e}"))?;
    bcast
        .broadcast(
            net,
            R2_CAST,
            FrostRound2Casts::TYPE_URL,
            encode_round2_casts(&own_r2),
        )
        .await?;
    let casts2 = inbox
        .gather("round 2 casts", &others, NO_CHARON_TIMEOUT, |d| match d {
            Delivery::Bcast {
                id, from, value, ..
            } if id == R2_CAST => Some((*from, check_r2(*from, value, v))),
            _ => None,
        })
        .await?;
    let mut r2: Vec<(ShareIdx, Round2Casts)> = vec![(share(me), own_r2)];
    for (p, body) in &casts2 {
        r2.push((
            share(*p),
            decode_round2_casts(body).map_err(|e| e.to_string())?,
        ));
    }
    r2.sort_by_key(|(s, _)| *s);
    let keys = state
        .handle_round2(&r2, &mut OsRng)
        .map_err(|e| format!("frost round 2: {e}"))?;
    let out = keygen::DkgOutput::new(plan, keys).map_err(|e| e.to_string())?;
    let group_keys = out.public().group_keys();
    let mut duties = Duties::new(plan, &group_keys).map_err(|e| e.to_string())?;
    journal.note("DKG done");
    step(&mut sync, cfg).await?; // 2

    // Step 2: deposit data, one exchange per amount; step 3: registrations.
    let mut signed = Vec::new();
    for duty in duties.before_lock() {
        if duty == Duty::BuilderRegistration {
            step(&mut sync, cfg).await?; // 3
        }
        let received = exchange(cfg, net, &mut inbox, &duties, &out, duty, &group_keys).await?;
        let sigs = partials::aggregate_threshold(plan, &duties, out.public(), duty, &received)
            .map_err(|e| format!("aggregate {duty:?}: {e}"))?;
        signed.push((duty, sigs));
    }
    step(&mut sync, cfg).await?; // 4

    // Step 4: lock hash.
    let draft = assemble::draft(plan, &duties, out.public(), &signed)
        .map_err(|e| format!("lock draft: {e}"))?;
    let lock_hash = draft.lock_hash();
    duties.set_lock_hash(lock_hash);
    let received = exchange(
        cfg,
        net,
        &mut inbox,
        &duties,
        &out,
        Duty::LockHash,
        &group_keys,
    )
    .await?;
    let aggregate = partials::aggregate_lock_hash(plan, &duties, out.public(), &received)
        .map_err(|e| format!("aggregate lock hash: {e}"))?;
    journal.note(format!("lock hash 0x{}", hex::encode(lock_hash)));
    step(&mut sync, cfg).await?; // 5

    // Step 5: node signatures.
    let own = nodesigs::sign(&key, &lock_hash);
    let msg = MsgNodeSig {
        signature: own.to_vec(),
        peer_index: u32::try_from(me).expect("index"),
    };
    bcast
        .broadcast(net, NODE_SIG, MsgNodeSig::TYPE_URL, msg.encode_to_vec())
        .await?;
    let n = plan.num_operators();
    let binds = version.binds_node_sig_sender();
    let sigs = inbox
        .gather("node signatures", &others, NO_CHARON_TIMEOUT, |d| match d {
            Delivery::Bcast {
                id, from, value, ..
            } if id == NODE_SIG => {
                Some(check_node_sig(plan, *from, me, n, binds, &lock_hash, value))
            }
            _ => None,
        })
        .await?;
    let mut all = vec![(plan.me(), own)];
    for (p, sig) in sigs {
        let sig = <[u8; 65]>::try_from(sig.as_slice()).map_err(|_| "node sig length")?;
        all.push((PeerIdx::from_usize(p).expect("index"), sig));
    }
    let node_sigs = nodesigs::collect(plan, &lock_hash, &all).map_err(|e| e.to_string())?;
    step(&mut sync, cfg).await?; // 6

    // Step 6: lock.VerifySignatures; the script writes nothing.
    draft
        .finish(aggregate, &node_sigs)
        .map_err(|e| format!("invalid lock file signatures: {e}"))?;
    journal.note("lock verified");
    step(&mut sync, cfg).await?; // 7

    let shutdowns = sync
        .shutdown()
        .await
        .map_err(|e| format!("{e}; shutdown messages from {:?}", sync.shutdowns()))?;
    journal.note(format!(
        "shutdown handshake complete: (peer, step) {shutdowns:?}"
    ));
    Ok(Outcome {
        shutdown_from: shutdowns.iter().map(|(p, _)| *p).collect(),
        peer_shutdown_steps: shutdowns,
        lock_hash,
        shutdown_step: sync.step(),
    })
}

/// One parsigex exchange (`exchanger.exchange`): sign, send to each peer in turn, wait for
/// every peer's set (received early ones included). Returns every set, ours first.
async fn exchange(
    cfg: &PeerConfig,
    net: &Arc<Net>,
    inbox: &mut Inbox,
    duties: &Duties,
    out: &keygen::DkgOutput,
    duty: Duty,
    group_keys: &[[u8; 48]],
) -> Result<Vec<(PeerIdx, PartialSignatures)>, String> {
    let own = partials::sign(duties, duty, out).map_err(|e| e.to_string())?;
    let body = encode_partials(&own, group_keys).map_err(|e| e.to_string())?;
    for peer in net.others() {
        net.send(peer, PARSIGEX, &body, cfg.timeout).await?;
    }
    let slot = duty.sig_type();
    let binds = cfg.version.binds_parsig_sender();
    let sets = inbox
        .gather(
            &format!("parsigex slot {slot}"),
            &net.others(),
            cfg.timeout,
            |d| match d {
                Delivery::Parsig { from, body } => {
                    let msg = ParSigExMsg::decode(body.as_slice()).ok()?;
                    if msg.duty.map(|d| d.slot) != Some(slot) {
                        return None;
                    }
                    Some((*from, check_parsig(*from, body, duty, group_keys, binds)))
                }
                _ => None,
            },
        )
        .await?;
    let mut received = vec![(PeerIdx::from_usize(net.me).expect("index"), own)];
    for (p, body) in sets {
        let set = decode_partials(&body, duty, group_keys).map_err(|e| e.to_string())?;
        received.push((PeerIdx::from_usize(p).expect("index"), set));
    }
    Ok(received)
}

fn check_parsig(
    from: usize,
    body: &[u8],
    duty: Duty,
    group_keys: &[[u8; 48]],
    binds: bool,
) -> Result<Vec<u8>, String> {
    let set = decode_partials(body, duty, group_keys).map_err(|e| e.to_string())?;
    if binds && set.share != share(from) {
        return Err(format!(
            "partial signature share index {} does not match sender peer",
            set.share.get()
        ));
    }
    Ok(body.to_vec())
}

/// `newBcastCallback` round 1: source = sender, target 0, validator index < V, t commitments.
fn check_r1(from: usize, value: &[u8], t: usize, v: usize) -> Result<Vec<u8>, String> {
    let msg = FrostRound1Casts::decode(value).map_err(|e| e.to_string())?;
    for c in &msg.casts {
        let k = c.key.unwrap_or_default();
        if k.source_id != share(from).get() {
            return Err("invalid round 1 cast source ID".into());
        }
        if k.target_id != 0 {
            return Err("invalid round 1 cast target ID".into());
        }
        if k.val_idx as usize >= v {
            return Err("invalid round 1 cast validator index".into());
        }
        if c.commitments.len() != t {
            return Err("invalid amount of commitments in round 1".into());
        }
    }
    Ok(value.to_vec())
}

/// `newBcastCallback` round 2.
fn check_r2(from: usize, value: &[u8], v: usize) -> Result<Vec<u8>, String> {
    let msg = FrostRound2Casts::decode(value).map_err(|e| e.to_string())?;
    for c in &msg.casts {
        let k = c.key.unwrap_or_default();
        if k.source_id != share(from).get() {
            return Err("invalid round 2 cast source ID".into());
        }
        if k.target_id != 0 {
            return Err("invalid round 2 cast target ID".into());
        }
        if k.val_idx as usize >= v {
            return Err("invalid round 2 cast validator index".into());
        }
    }
    Ok(value.to_vec())
}

/// `newP2PCallback`: source = sender, target = us, validator index < V.
fn check_p2p(from: usize, me: usize, body: &[u8], v: usize) -> Result<Vec<u8>, String> {
    let msg =
        dkgd_ceremony::wire::proto::FrostRound1P2P::decode(body).map_err(|e| e.to_string())?;
    for s in &msg.shares {
        let k = s.key.unwrap_or_default();
        if k.source_id != share(from).get() {
            return Err("invalid round 1 p2p source ID".into());
        }
        if k.target_id != share(me).get() {
            return Err("invalid round 1 p2p target ID".into());
        }
        if k.val_idx as usize >= v {
            return Err("invalid round 1 p2p validator index".into());
        }
    }
    Ok(body.to_vec())
}

/// `nodeSigBcast.broadcastCallback`: the index is in range and not ours, (v1.10+) it is the
/// sender's, and the signature verifies against that operator's key.
fn check_node_sig(
    plan: &Plan,
    from: usize,
    me: usize,
    n: usize,
    binds: bool,
    lock_hash: &[u8; 32],
    value: &[u8],
) -> (usize, Result<Vec<u8>, String>) {
    let msg = match MsgNodeSig::decode(value) {
        Ok(m) => m,
        Err(e) => return (from, Err(e.to_string())),
    };
    let idx = msg.peer_index as usize;
    if idx >= n || idx == me {
        return (from, Err("invalid peer index".into()));
    }
    if binds && idx != from {
        return (
            from,
            Err("sender peer ID does not match claimed peer index".into()),
        );
    }
    let Ok(sig) = <[u8; 65]>::try_from(msg.signature.as_slice()) else {
        return (from, Err("invalid node signature length".into()));
    };
    match nodesigs::verify(
        plan,
        PeerIdx::from_usize(idx).expect("index"),
        lock_hash,
        &sig,
    ) {
        Ok(()) => (idx, Ok(msg.signature)),
        Err(e) => (from, Err(format!("invalid node signature: {e}"))),
    }
}

/// A second handle on a key (the type is deliberately not `Clone`).
pub fn copy_key(key: &dkgd_crypto::k1::K1SecretKey) -> dkgd_crypto::k1::K1SecretKey {
    dkgd_crypto::k1::K1SecretKey::from_bytes(&key.expose_secret()).expect("a valid key")
}

/// `nextStepSync`, after the local work of a [`Fault::DelayBeforeStep`].
async fn step(sync: &mut Sync, cfg: &PeerConfig) -> Result<(), String> {
    if let super::Fault::DelayBeforeStep(k, d) = &cfg.fault {
        if sync.step() + 1 == *k {
            tokio::time::sleep(*d).await;
        }
    }
    sync.next_step().await
}
