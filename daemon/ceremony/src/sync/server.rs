//! Our sync server for one peer's client stream (charon `dkg/sync/server.go`): validate each
//! `MsgSync` (version, definition-hash signature), track the peer's step with charon's
//! restart rules, answer with the echoed timestamp (and an error if invalid), and record the
//! peer's shutdown.
//!
//! | check | rule | failure |
//! |---|---|---|
//! | version | same `vMAJOR.MINOR` as our profile (patch, pre-release ignored) | [`SyncError::PeerIncompatible`] |
//! | `hash_signature` | DER ECDSA over SHA-256(definition hash), peer's ENR key | [`SyncError::DefinitionMismatch`] |
//! | first step | 0 or 1 | [`SyncError::PeerRestarted`] (we or they restarted) |
//! | later steps | never lower | [`SyncError::PeerRestarted`] |
//!
//! Invalid messages are answered with the error text, then the ceremony aborts (charon#2003).
//! A step inconsistency also closes the stream. Steps of invalid messages are not recorded.
//!
//! Unlike charon (at most +2), a forward jump of any size is accepted: a barrier can pass on a
//! peer's word ([`SyncNode`]'s barrier, "vouching"), so we may move on before a slow peer's
//! pings for the steps in between reach us, and its next ping then jumps. A restart shows as
//! a step going back, which is still refused.

use prost::Message;

use super::error::charon_version_mismatch;
use super::negotiate::VersionCheck;
use super::sig::verify_definition_hash;
use super::{Side, SyncError, SyncEvent, SyncNode, SyncTransmit};
use crate::index::PeerIdx;
use crate::wire::proto::{MsgSync, MsgSyncResponse};
use crate::wire::{decode, Framing, Instant};

/// What our server knows about one peer.
#[derive(Debug, Clone, Default)]
pub(super) struct ServerPeer {
    /// A valid message arrived on the peer's current stream.
    pub(super) connected: bool,
    /// The last step it reported.
    pub(super) step: Option<i64>,
    /// It sent its shutdown message.
    pub(super) shutdown: bool,
}

impl SyncNode {
    /// A `MsgSync` from `peer`'s client.
    pub(super) fn server_frame(&mut self, now: Instant, peer: PeerIdx, body: &[u8]) {
        let msg: MsgSync = match decode("MsgSync", body) {
            Ok(m) => m,
            Err(why) => {
                // charon drops the stream on unreadable input; the peer reconnects.
                if let Some(s) = self.server_mut(peer) {
                    s.connected = false;
                }
                self.transmits.push_back(SyncTransmit::Close {
                    to: peer,
                    side: Side::Server,
                });
                self.events.push_back(SyncEvent::StreamReset {
                    peer,
                    side: Side::Server,
                    why,
                });
                return;
            }
        };
        let mut resp = MsgSyncResponse {
            // Always non-empty: charon's reader refuses a zero-length frame.
            sync_timestamp: Some(msg.timestamp.unwrap_or_default()),
            error: String::new(),
        };
        let mut close = msg.shutdown;
        let verdict = match self.check_version(now, peer, &msg.version) {
            VersionCheck::Same => Ok(false),
            VersionCheck::Hold => Ok(true),
            VersionCheck::Reject(e) => Err(e),
        };
        let verdict = verdict.and_then(|held| self.verify_signature(peer, &msg).map(|()| held));
        let held = matches!(verdict, Ok(true));
        match verdict {
            Err(e) => {
                resp.error = match &e {
                    // charon's wording, which a negotiating peer reads our version from.
                    SyncError::PeerIncompatible { ours, theirs, .. } => {
                        charon_version_mismatch(ours, theirs)
                    }
                    _ => e.to_string(),
                };
                self.fail(e);
            }
            // Another version while negotiating: answered, not counted (see `negotiate`).
            Ok(true) => close = false,
            Ok(false) => {
                self.mark_connected(peer);
                if let Some(t) = self.lost_since.get_mut(peer.as_usize()) {
                    *t = None;
                }
                if let Err(e) = self.update_step(peer, msg.step) {
                    resp.error = e.to_string();
                    self.fail(e);
                    close = true;
                }
            }
        }
        if resp.error.is_empty() {
            if let Some(reason) = &self.aborted {
                resp.error = format!("aborted: {reason}");
            }
        }
        self.transmits.push_back(SyncTransmit::Write {
            to: peer,
            side: Side::Server,
            frame: Framing::SYNC.encode(&resp.encode_to_vec()),
        });
        if msg.shutdown && resp.error.is_empty() && !held {
            if let Some(s) = self.server_mut(peer) {
                s.shutdown = true;
            }
        }
        if close {
            if let Some(s) = self.server_mut(peer) {
                s.connected = false;
            }
            self.transmits.push_back(SyncTransmit::Close {
                to: peer,
                side: Side::Server,
            });
        }
        self.negotiate(now);
    }

    /// charon `Server.validReq` after the version ([`SyncNode::check_version`]): the
    /// definition-hash signature.
    fn verify_signature(&self, peer: PeerIdx, msg: &MsgSync) -> Result<(), SyncError> {
        let key = self
            .cfg
            .peers
            .get(peer.as_usize())
            .ok_or(SyncError::UnknownPeer { peer })?;
        verify_definition_hash(key, &self.cfg.definition_hash, &msg.hash_signature).map_err(|why| {
            SyncError::DefinitionMismatch {
                peer,
                step: self.step,
                why,
            }
        })
    }

    fn mark_connected(&mut self, peer: PeerIdx) {
        let Some(s) = self.server_mut(peer) else {
            return;
        };
        if s.connected {
            return;
        }
        s.connected = true;
        let connected = self.connected_peers();
        let of = self.cfg.peers.len().saturating_sub(1);
        self.events.push_back(SyncEvent::PeerConnected {
            peer,
            connected,
            of,
        });
    }

    /// charon `Server.updateStep`, but any forward jump is accepted (see the module docs).
    fn update_step(&mut self, peer: PeerIdx, reported: i64) -> Result<(), SyncError> {
        let step = self.step;
        let Some(s) = self.server_mut(peer) else {
            return Err(SyncError::UnknownPeer { peer });
        };
        let ok = match s.step {
            Some(last) => reported >= last,
            None => reported == 0 || reported == 1,
        };
        if !ok {
            return Err(SyncError::PeerRestarted {
                peer,
                step,
                reported,
                last: s.step,
            });
        }
        s.step = Some(reported);
        Ok(())
    }
}
