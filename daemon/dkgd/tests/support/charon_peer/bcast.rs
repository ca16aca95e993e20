//! charon's "reliable" broadcast (`dkg/bcast`): the client asks every peer to sign the hash
//! of an `Any`, checks all n signatures, then sends the signed message to each peer in turn;
//! the server signs at most one hash per (sender, message ID) and hands verified messages on.

use super::frame::Frames;
use super::net::{Delivery, Net};
use super::{CharonVersion, Journal};
use dkgd_ceremony::wire::proto::{
    Any, BCastMessage, BCastSigRequest, BCastSigResponse, FrostRound1Casts, FrostRound2Casts,
    MsgNodeSig, TypeUrl,
};
use dkgd_crypto::k1::{self, K1PublicKey, K1SecretKey};
use prost::Message;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// FROST round-1 broadcast (`dkg/frostp2p.go`).
pub const R1_CAST: &str = "/charon/dkg/frost/2.0.0/round1/cast";
/// FROST round-2 broadcast.
pub const R2_CAST: &str = "/charon/dkg/frost/2.0.0/round2/cast";
/// Node signatures (`dkg/nodesigs.go`).
pub const NODE_SIG: &str = "/charon/dkg/node_sig";

/// bcast server read deadline (`dkg/bcast/helpers.go` `receiveTimeout`).
const RECEIVE_TIMEOUT: Duration = Duration::from_secs(60);
/// Final message send deadline (`sendTimeout`).
const MSG_SEND_TIMEOUT: Duration = Duration::from_secs(62);

/// The type URL each registered message ID must carry (`UnmarshalTo` in the check funcs).
fn expected_type(id: &str) -> Option<&'static str> {
    match id {
        R1_CAST => Some(FrostRound1Casts::TYPE_URL),
        R2_CAST => Some(FrostRound2Casts::TYPE_URL),
        NODE_SIG => Some(MsgNodeSig::TYPE_URL),
        _ => None,
    }
}

/// The bcast component of one node.
pub struct Bcast {
    version: CharonVersion,
    key: Arc<K1SecretKey>,
    pubkeys: Vec<K1PublicKey>,
    session: [u8; 32],
    dedup: Mutex<HashMap<(usize, String), [u8; 32]>>,
    journal: Journal,
}

impl Bcast {
    pub fn new(
        version: CharonVersion,
        key: Arc<K1SecretKey>,
        pubkeys: Vec<K1PublicKey>,
        session: [u8; 32],
        journal: Journal,
    ) -> Arc<Bcast> {
        Arc::new(Bcast {
            version,
            key,
            pubkeys,
            session,
            dedup: Mutex::default(),
            journal,
        })
    }

    /// What peers sign: v1.0.0 SHA-256(type_url ‖ value); v2.0.0 SHA-256 over session hash,
    /// message ID, type URL, value, each after its length as a big-endian u64.
    pub fn hash(&self, id: &str, any: &Any) -> [u8; 32] {
        let mut h = Sha256::new();
        if self.version.bcast_v2() {
            for field in [
                &self.session[..],
                id.as_bytes(),
                any.type_url.as_bytes(),
                &any.value,
            ] {
                h.update((field.len() as u64).to_be_bytes());
                h.update(field);
            }
        } else {
            h.update(any.type_url.as_bytes());
            h.update(&any.value);
        }
        h.finalize().into()
    }

    fn check_message(id: &str, any: Option<&Any>) -> Result<(), String> {
        let want = expected_type(id).ok_or_else(|| format!("unknown message id {id:?}"))?;
        let any = any.ok_or("message is missing")?;
        if any.type_url != want {
            return Err(format!("mismatched message type {:?}", any.type_url));
        }
        let ok = match id {
            R1_CAST => FrostRound1Casts::decode(any.value.as_slice()).is_ok(),
            R2_CAST => FrostRound2Casts::decode(any.value.as_slice()).is_ok(),
            _ => MsgNodeSig::decode(any.value.as_slice()).is_ok(),
        };
        ok.then_some(())
            .ok_or_else(|| format!("{id}: payload does not decode"))
    }

    fn verify_all(&self, id: &str, any: &Any, sigs: &[Vec<u8>]) -> Result<(), String> {
        if sigs.len() != self.pubkeys.len() {
            return Err("invalid number of signatures".to_owned());
        }
        expected_type(id).ok_or("invalid message id")?;
        let hash = self.hash(id, any);
        for (i, sig) in sigs.iter().enumerate() {
            if sig.len() != 65 {
                return Err(format!(
                    "signature {i}: invalid signature length, expect 65 bytes [R || S || V] format"
                ));
            }
            let signer = k1::recover_digest(&hash, sig)
                .map_err(|e| format!("signature {i}: verify failed: {e}"))?;
            if signer != self.pubkeys[i] {
                return Err(format!("signature {i}: invalid signature"));
            }
        }
        Ok(())
    }

    /// Serves both bcast protocols: signature requests are answered, verified final messages
    /// become [`Delivery::Bcast`].
    pub fn serve(
        self: &Arc<Self>,
        net: &Net,
        out: mpsc::UnboundedSender<Delivery>,
    ) -> Result<(), String> {
        let (sig_id, msg_id) = self.version.bcast_protocols();
        let mut sig_rx = net.accept(sig_id, Some(RECEIVE_TIMEOUT))?;
        let me = Arc::clone(self);
        tokio::spawn(async move {
            while let Some((from, mut s)) = sig_rx.recv().await {
                let me = Arc::clone(&me);
                tokio::spawn(async move {
                    let Ok(frame) = s.recv_frame().await else {
                        return;
                    };
                    match me.handle_sig_request(from, &frame) {
                        Ok(resp) => {
                            let _ = s.send_frame(&resp).await;
                        }
                        Err(e) => me
                            .journal
                            .note(format!("bcast: refused sig request from peer {from}: {e}")),
                    }
                    let _ = s.close().await;
                });
            }
        });
        let mut msg_rx = net.accept(msg_id, Some(RECEIVE_TIMEOUT))?;
        let me = Arc::clone(self);
        tokio::spawn(async move {
            while let Some((from, mut s)) = msg_rx.recv().await {
                let (me, out) = (Arc::clone(&me), out.clone());
                tokio::spawn(async move {
                    let Ok(frame) = s.recv_frame().await else {
                        return;
                    };
                    match me.handle_message(from, &frame) {
                        Ok(d) => {
                            let _ = out.send(d);
                        }
                        Err(e) => me
                            .journal
                            .note(format!("bcast: dropped message from peer {from}: {e}")),
                    }
                });
            }
        });
        Ok(())
    }

    fn handle_sig_request(&self, from: usize, frame: &[u8]) -> Result<Vec<u8>, String> {
        let req = BCastSigRequest::decode(frame).map_err(|e| format!("unmarshal: {e}"))?;
        Self::check_message(&req.id, req.message.as_ref())
            .map_err(|e| format!("signature request message check: {e}"))?;
        let any = req.message.as_ref().ok_or("message is missing")?;
        let hash = self.hash(&req.id, any);
        {
            let mut d = self.dedup.lock().expect("dedup");
            let key = (from, req.id.clone());
            if d.get(&key).is_some_and(|h| *h != hash) {
                return Err("dedup: duplicate ID, mismatching hash".to_owned());
            }
            d.insert(key, hash);
        }
        let signature = self.key.sign_digest(&hash).to_vec();
        Ok(BCastSigResponse {
            id: req.id,
            signature,
        }
        .encode_to_vec())
    }

    fn handle_message(&self, from: usize, frame: &[u8]) -> Result<Delivery, String> {
        let msg = BCastMessage::decode(frame).map_err(|e| format!("unmarshal: {e}"))?;
        let any = msg.message.as_ref().ok_or("message is missing")?;
        self.verify_all(&msg.id, any, &msg.signatures)
            .map_err(|e| format!("verify signatures: {e}"))?;
        Ok(Delivery::Bcast {
            id: msg.id,
            type_url: any.type_url.clone(),
            value: any.value.clone(),
            from,
        })
    }

    /// `client.Broadcast`: sig requests to every peer in parallel, all n signatures checked,
    /// then the final message to each peer in turn.
    pub async fn broadcast(
        &self,
        net: &Arc<Net>,
        id: &str,
        type_url: &str,
        value: Vec<u8>,
    ) -> Result<(), String> {
        let any = Any {
            type_url: type_url.to_owned(),
            value,
        };
        let hash = self.hash(id, &any);
        let req = BCastSigRequest {
            id: id.to_owned(),
            message: Some(any.clone()),
        }
        .encode_to_vec();
        let (sig_id, msg_id) = self.version.bcast_protocols();
        let mut tasks = Vec::new();
        for peer in net.others() {
            let (net, req) = (Arc::clone(net), req.clone());
            tasks.push((
                peer,
                tokio::spawn(async move { net.send_receive(peer, sig_id, &req).await }),
            ));
        }
        let mut sigs = vec![Vec::new(); self.pubkeys.len()];
        sigs[net.me] = self.key.sign_digest(&hash).to_vec();
        for (peer, t) in tasks {
            let frame = t
                .await
                .map_err(|e| format!("join: {e}"))?
                .map_err(|e| format!("send sig request (peer {peer}): {e}"))?;
            let resp = BCastSigResponse::decode(frame.as_slice())
                .map_err(|e| format!("sig response from peer {peer}: {e}"))?;
            sigs[peer] = resp.signature;
        }
        self.verify_all(id, &any, &sigs)
            .map_err(|e| format!("verify signatures: {e}"))?;
        let msg = BCastMessage {
            id: id.to_owned(),
            message: Some(any),
            signatures: sigs,
        }
        .encode_to_vec();
        for peer in net.others() {
            net.send(peer, msg_id, &msg, MSG_SEND_TIMEOUT)
                .await
                .map_err(|e| format!("send message: {e}"))?;
        }
        self.journal.note(format!("bcast {id}: sent to every peer"));
        Ok(())
    }
}
