//! The receiving side (charon `dkg/bcast/server.go`): sign at most one hash per sender and
//! message ID, and deliver a final message once all `n` signatures verify.

use prost::Message;

use super::{Bcast, BcastError, BcastEvent, Topic};
use crate::index::PeerIdx;
use crate::wire::proto::{Any, BCastMessage, BCastSigRequest, BCastSigResponse};
use crate::wire::{decode, InboundId, Instant, TransmitKind, WireError};

impl Bcast {
    /// `peer` asks us to sign its message (frame prefix removed); our answer goes back on
    /// inbound stream `reply`. A different message under an ID we already signed for `peer`
    /// is refused and reported as [`BcastError::Equivocation`] (no answer is sent).
    pub fn handle_sig_request(
        &mut self,
        _now: Instant,
        peer: PeerIdx,
        reply: InboundId,
        body: &[u8],
    ) {
        if !self.check_peer(peer) {
            return;
        }
        let req: BCastSigRequest = match decode("BCastSigRequest", body) {
            Ok(r) => r,
            Err(why) => return self.malformed(peer, None, why),
        };
        let Some((topic, any)) = self.topic_and_payload(peer, &req.id, req.message) else {
            return;
        };
        let hash = self.hash(topic, &any);
        match self.signed.get(&(peer, topic)) {
            Some(prev) if *prev != hash => {
                return self.fault(BcastError::Equivocation {
                    peer,
                    step: topic.step(),
                    topic,
                })
            }
            Some(_) => {}
            None => {
                self.signed.insert((peer, topic), hash);
            }
        }
        let resp = BCastSigResponse {
            id: req.id,
            signature: self.cfg.identity.sign_digest(&hash).to_vec(),
        }
        .encode_to_vec();
        self.send(
            peer,
            self.sig_protocol(),
            TransmitKind::Response(reply),
            &resp,
        );
    }

    /// `peer`'s final message (frame prefix removed): verified against every operator's key,
    /// then delivered once.
    pub fn handle_message(&mut self, _now: Instant, peer: PeerIdx, body: &[u8]) {
        if !self.check_peer(peer) {
            return;
        }
        let msg: BCastMessage = match decode("BCastMessage", body) {
            Ok(m) => m,
            Err(why) => return self.malformed(peer, None, why),
        };
        let Some((topic, any)) = self.topic_and_payload(peer, &msg.id, msg.message) else {
            return;
        };
        let step = topic.step();
        let hash = self.hash(topic, &any);
        // A message other than the one we signed for this sender and ID.
        if self.signed.get(&(peer, topic)).is_some_and(|h| *h != hash)
            || self
                .delivered
                .get(&(peer, topic))
                .is_some_and(|h| *h != hash)
        {
            return self.fault(BcastError::Equivocation { peer, step, topic });
        }
        if msg.signatures.len() != self.cfg.peers.len() {
            return self.fault(BcastError::SignatureCount {
                peer,
                step,
                topic,
                expected: self.cfg.peers.len(),
                found: msg.signatures.len(),
            });
        }
        let bad_signer = msg
            .signatures
            .iter()
            .enumerate()
            .filter_map(|(i, s)| PeerIdx::from_usize(i).map(|p| (p, s)))
            .find(|(signer, sig)| !self.verify(*signer, &hash, sig));
        if let Some((signer, _)) = bad_signer {
            return self.fault(BcastError::InvalidSignature {
                peer,
                signer,
                step,
                topic,
            });
        }
        if self.delivered.insert((peer, topic), hash).is_some() {
            return; // the same message again
        }
        self.events.push_back(BcastEvent::Delivered {
            from: peer,
            topic,
            payload: any.value,
        });
    }

    /// The topic of `id` and the checked payload, or a fault.
    fn topic_and_payload(
        &mut self,
        peer: PeerIdx,
        id: &str,
        any: Option<Any>,
    ) -> Option<(Topic, Any)> {
        let Some(topic) = Topic::from_message_id(self.cfg.profile, id) else {
            self.fault(BcastError::UnknownMessageId {
                peer,
                id: id.chars().take(100).collect(),
            });
            return None;
        };
        let any = match any {
            Some(a) => a,
            None => {
                let why = WireError::MissingField {
                    message: "BCastMessage",
                    field: "message",
                };
                self.malformed(peer, Some(topic), why);
                return None;
            }
        };
        if let Err(why) = topic.check(&any) {
            self.malformed(peer, Some(topic), why);
            return None;
        }
        Some((topic, any))
    }

    fn malformed(&mut self, peer: PeerIdx, topic: Option<Topic>, why: WireError) {
        self.fault(BcastError::Malformed {
            peer,
            step: topic.map(Topic::step),
            topic,
            why,
        });
    }
}
