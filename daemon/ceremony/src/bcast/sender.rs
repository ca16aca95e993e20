//! The sending side (charon `dkg/bcast/client.go`): sign our own hash, ask every peer for
//! theirs, verify each answer as it arrives, and send the final message once all `n` are in.

use prost::Message;

use super::{Bcast, BcastError, BcastEvent, Outgoing, Topic};
use crate::index::PeerIdx;
use crate::wire::proto::{Any, BCastMessage, BCastSigRequest, BCastSigResponse};
use crate::wire::{decode, Instant, TransmitKind};

impl Bcast {
    /// Starts broadcasting `payload` (the encoded message of `topic`, e.g. from
    /// [`crate::wire::frost::encode_round1_casts`]): signature requests go to every peer.
    pub fn broadcast(
        &mut self,
        now: Instant,
        topic: Topic,
        payload: Vec<u8>,
    ) -> Result<(), BcastError> {
        if self.outgoing.iter().any(|o| o.topic == topic) {
            return Err(BcastError::AlreadyBroadcast { topic });
        }
        let any = Any {
            type_url: topic.type_url().to_string(),
            value: payload,
        };
        let hash = self.hash(topic, &any);
        let mut sigs = vec![None; self.cfg.peers.len()];
        if let Some(own) = sigs.get_mut(self.cfg.me.as_usize()) {
            *own = Some(self.cfg.identity.sign_digest(&hash));
        }
        self.signed.insert((self.cfg.me, topic), hash);
        let request = BCastSigRequest {
            id: topic.message_id(self.cfg.profile).to_string(),
            message: Some(any.clone()),
        }
        .encode_to_vec();
        self.send_to_others(self.sig_protocol(), TransmitKind::Request, &request);
        self.outgoing.push(Outgoing {
            topic,
            any,
            hash,
            sigs,
            deadline: now + self.cfg.sig_request_timeout,
            done: false,
        });
        self.finish_if_complete(topic);
        Ok(())
    }

    /// `peer` answered our signature request (frame prefix removed).
    pub fn handle_sig_response(&mut self, _now: Instant, peer: PeerIdx, body: &[u8]) {
        if !self.check_peer(peer) {
            return;
        }
        let resp: BCastSigResponse = match decode("BCastSigResponse", body) {
            Ok(r) => r,
            Err(why) => {
                return self.fault(BcastError::Malformed {
                    peer,
                    step: None,
                    topic: None,
                    why,
                })
            }
        };
        let Some(topic) = Topic::from_message_id(self.cfg.profile, &resp.id) else {
            return self.fault(BcastError::UnknownMessageId {
                peer,
                id: resp.id.chars().take(100).collect(),
            });
        };
        let step = topic.step();
        let Some(pos) = self
            .outgoing
            .iter()
            .position(|o| o.topic == topic && !o.done)
        else {
            return self.fault(BcastError::UnexpectedResponse { peer, step, topic });
        };
        let hash = self.outgoing.get(pos).map(|o| o.hash).unwrap_or_default();
        if !self.verify(peer, &hash, &resp.signature) {
            return self.fault(BcastError::InvalidSignature {
                peer,
                signer: peer,
                step,
                topic,
            });
        }
        let Ok(sig) = <[u8; 65]>::try_from(resp.signature.as_slice()) else {
            return;
        };
        let of = self.cfg.peers.len();
        let Some(out) = self.outgoing.get_mut(pos) else {
            return;
        };
        match out.sigs.get_mut(peer.as_usize()) {
            Some(slot @ None) => *slot = Some(sig),
            _ => return, // a repeated answer: already counted
        }
        let collected = out.sigs.iter().flatten().count();
        self.events.push_back(BcastEvent::Signed {
            topic,
            peer,
            collected,
            of,
        });
        self.finish_if_complete(topic);
    }

    /// The driver could not get a response from `peer` to a signature request (stream error,
    /// reset, or the peer closed without answering): every broadcast still waiting for its
    /// signature fails naming it.
    pub fn handle_request_failed(&mut self, _now: Instant, peer: PeerIdx) {
        if !self.check_peer(peer) {
            return;
        }
        let failed: Vec<Topic> = self
            .outgoing
            .iter_mut()
            .filter(|o| !o.done && o.sigs.get(peer.as_usize()).is_some_and(Option::is_none))
            .map(|o| {
                o.done = true;
                o.topic
            })
            .collect();
        for topic in failed {
            self.fault(BcastError::SigRequestFailed {
                peer,
                step: topic.step(),
                topic,
            });
        }
    }

    /// Fails broadcasts whose signature requests are overdue, naming the missing peers.
    pub fn handle_timeout(&mut self, now: Instant) {
        let overdue: Vec<(Topic, Vec<PeerIdx>)> = self
            .outgoing
            .iter_mut()
            .filter(|o| !o.done && o.deadline <= now)
            .map(|o| {
                o.done = true;
                let missing = o
                    .sigs
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.is_none())
                    .filter_map(|(i, _)| PeerIdx::from_usize(i))
                    .collect();
                (o.topic, missing)
            })
            .collect();
        for (topic, missing) in overdue {
            self.fault(BcastError::SigRequestTimedOut {
                step: topic.step(),
                topic,
                missing,
            });
        }
    }

    /// Once every signature is in: the final message to every peer, then `Completed`.
    fn finish_if_complete(&mut self, topic: Topic) {
        let Some(out) = self
            .outgoing
            .iter_mut()
            .find(|o| o.topic == topic && !o.done)
        else {
            return;
        };
        if out.sigs.iter().any(Option::is_none) {
            return;
        }
        out.done = true;
        let msg = BCastMessage {
            id: topic.message_id(self.cfg.profile).to_string(),
            message: Some(out.any.clone()),
            signatures: out.sigs.iter().flatten().map(|s| s.to_vec()).collect(),
        }
        .encode_to_vec();
        self.send_to_others(self.msg_protocol(), TransmitKind::OneWay, &msg);
        self.events.push_back(BcastEvent::Completed { topic });
    }
}
