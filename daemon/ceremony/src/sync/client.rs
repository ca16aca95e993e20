//! Our sync client towards one peer (charon `dkg/sync/client.go`): open the stream (retrying
//! with backoff), send `MsgSync` right away and then every ping period — one message in
//! flight at a time, as charon's blocking send-then-read loop does — measure the RTT from each
//! response, reopen broken streams, and finish with a `shutdown = true` message.

use std::time::Duration;

use prost::Message;

use super::error::peer_text;
use super::{Shutdown, Side, SyncError, SyncEvent, SyncNode, SyncTimers, SyncTransmit};
use crate::index::PeerIdx;
use crate::wire::proto::{MsgSync, MsgSyncResponse};
use crate::wire::{decode, Framing, Instant, WireError};

/// Client stream state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting to (re)open the stream at `at`.
    Idle { at: Instant },
    /// The driver is opening it.
    Opening,
    /// Open. `in_flight` is when the unanswered message was sent.
    Open {
        in_flight: Option<Instant>,
        next_send: Instant,
        shutdown_sent: bool,
    },
    /// Finished: shutdown acknowledged, or shutting down without a stream.
    Done,
}

/// One peer's client.
#[derive(Debug, Clone)]
pub(super) struct Client {
    state: State,
    /// Consecutive failed opens (backoff exponent).
    failures: u32,
    /// Last measured round trip.
    pub(super) rtt: Option<Duration>,
    /// Longest round trip measured on any of its streams.
    pub(super) max_rtt: Option<Duration>,
    /// When the current stream opened.
    opened_at: Instant,
}

impl Client {
    pub(super) fn new(now: Instant) -> Self {
        Client {
            state: State::Idle { at: now },
            failures: 0,
            rtt: None,
            max_rtt: None,
            opened_at: now,
        }
    }

    pub(super) fn is_open(&self) -> bool {
        matches!(self.state, State::Open { .. })
    }

    pub(super) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Open with no message in flight (a held first message, or between pings).
    pub(super) fn is_idle_open(&self) -> bool {
        matches!(
            self.state,
            State::Open {
                in_flight: None,
                ..
            }
        )
    }

    /// This client's next timer.
    pub(super) fn deadline(&self, timers: &SyncTimers) -> Option<Instant> {
        match self.state {
            State::Idle { at } => Some(at),
            State::Open {
                in_flight: Some(sent),
                ..
            } => Some(sent + timers.response_timeout),
            State::Open {
                in_flight: None,
                next_send,
                ..
            } => Some(next_send),
            State::Opening | State::Done => None,
        }
    }
}

/// charon's fast backoff (100 ms × 1.6ⁿ) without jitter, capped.
fn backoff(timers: &SyncTimers, failures: u32) -> Duration {
    let mut d = timers.reconnect_base;
    for _ in 0..failures.min(32) {
        d = d.mul_f64(1.6);
        if d >= timers.reconnect_max {
            return timers.reconnect_max;
        }
    }
    d.min(timers.reconnect_max)
}

impl SyncNode {
    /// Our client stream to `peer` is open: the first message goes out at once.
    pub fn handle_opened(&mut self, now: Instant, peer: PeerIdx) {
        if !self.check_peer(peer) {
            return;
        }
        let draining = self.is_draining();
        let failed = self.failed.is_some();
        let Some(c) = self.client_mut(peer) else {
            return;
        };
        if c.state == State::Done || failed {
            c.state = State::Done;
            self.transmits.push_back(SyncTransmit::Close {
                to: peer,
                side: Side::Client,
            });
            return;
        }
        if c.state != State::Opening {
            return;
        }
        c.failures = 0;
        c.opened_at = now;
        c.state = State::Open {
            in_flight: None,
            next_send: now,
            shutdown_sent: false,
        };
        self.send(now, peer, draining);
        self.check_progress(now);
    }

    /// Opening our client stream to `peer` failed: retry after a backoff (until shutdown).
    pub fn handle_open_failed(&mut self, now: Instant, peer: PeerIdx) {
        if !self.check_peer(peer) {
            return;
        }
        let draining =
            self.is_draining() || self.shutdown == Shutdown::Done || self.failed.is_some();
        let timers = self.cfg.timers;
        let Some(c) = self.client_mut(peer) else {
            return;
        };
        if c.state != State::Opening {
            return;
        }
        c.state = if draining {
            State::Done
        } else {
            State::Idle {
                at: now + backoff(&timers, c.failures),
            }
        };
        c.failures = c.failures.saturating_add(1);
        self.check_progress(now);
    }

    fn is_draining(&self) -> bool {
        matches!(self.shutdown, Shutdown::Draining { .. })
    }

    pub(super) fn client_timeout(&mut self, now: Instant, peer: PeerIdx) {
        let timers = self.cfg.timers;
        let draining = self.is_draining();
        let Some(c) = self.client_mut(peer) else {
            return;
        };
        match c.state {
            State::Idle { at } if at <= now => {
                c.state = State::Opening;
                self.transmits.push_back(SyncTransmit::Open { to: peer });
            }
            State::Open {
                in_flight: Some(sent),
                ..
            } if sent + timers.response_timeout <= now => {
                let why = WireError::InvalidField {
                    message: "MsgSyncResponse",
                    field: "sync_timestamp",
                    why: "no response within the response timeout",
                };
                self.client_broken(now, peer, Some(why));
            }
            State::Open {
                in_flight: None,
                next_send,
                ..
            } if next_send <= now => self.send(now, peer, draining),
            _ => {}
        }
    }

    /// Sends our next `MsgSync` to `peer` (with `shutdown` during the drain), unless version
    /// negotiation holds it (then it is due again when the hold ends).
    pub(super) fn send(&mut self, now: Instant, peer: PeerIdx, shutdown: bool) {
        let opened_at = self.client(peer).map(|c| c.opened_at);
        if let Some(until) = opened_at.and_then(|t| self.hold_until(now, peer, t)) {
            if let Some(c) = self.client_mut(peer) {
                if let State::Open {
                    in_flight: None,
                    shutdown_sent,
                    ..
                } = c.state
                {
                    c.state = State::Open {
                        in_flight: None,
                        next_send: until,
                        shutdown_sent,
                    };
                }
            }
            return;
        }
        let msg = MsgSync {
            timestamp: Some(self.timestamp(now)),
            hash_signature: self.hash_signature.clone(),
            shutdown,
            version: self.cfg.profile.sync_version.to_string(),
            step: i64::try_from(self.step).unwrap_or(i64::MAX),
            nickname: if self.cfg.profile.sync_nickname {
                self.cfg.nickname.clone()
            } else {
                String::new()
            },
        };
        let period = self.cfg.timers.ping_period;
        let Some(c) = self.client_mut(peer) else {
            return;
        };
        if let State::Open { shutdown_sent, .. } = c.state {
            c.state = State::Open {
                in_flight: Some(now),
                next_send: now + period,
                shutdown_sent: shutdown_sent || shutdown,
            };
            let frame = Framing::SYNC.encode(&msg.encode_to_vec());
            self.transmits.push_back(SyncTransmit::Write {
                to: peer,
                side: Side::Client,
                frame,
            });
        }
    }

    /// Tells every peer our new step without waiting for the next ping: at once where no
    /// message is in flight, else right after its answer. Each barrier then costs a round
    /// trip, not up to a ping period (charon waits for its ticker; any rate is fine for its
    /// server, and the step still moves by one).
    pub(super) fn announce_now(&mut self, now: Instant) {
        let mut idle = Vec::new();
        for peer in self.other_peers() {
            let Some(c) = self.client_mut(peer) else {
                continue;
            };
            if let State::Open {
                in_flight,
                shutdown_sent,
                ..
            } = c.state
            {
                c.state = State::Open {
                    in_flight,
                    next_send: now,
                    shutdown_sent,
                };
                if in_flight.is_none() {
                    idle.push(peer);
                }
            }
        }
        for peer in idle {
            self.send(now, peer, false);
        }
    }

    /// A `MsgSyncResponse` from `peer`'s server.
    pub(super) fn client_frame(&mut self, now: Instant, peer: PeerIdx, body: &[u8]) {
        let draining = self.is_draining();
        let Some(State::Open {
            in_flight: Some(sent),
            next_send,
            shutdown_sent,
        }) = self.client(peer).map(|c| c.state)
        else {
            let why = WireError::InvalidField {
                message: "MsgSyncResponse",
                field: "sync_timestamp",
                why: "a response without a request",
            };
            return self.client_broken(now, peer, Some(why));
        };
        let resp: MsgSyncResponse = match decode("MsgSyncResponse", body) {
            Ok(r) => r,
            Err(why) => return self.client_broken(now, peer, Some(why)),
        };
        if shutdown_sent {
            if let Some(c) = self.client_mut(peer) {
                c.state = State::Done;
            }
            self.transmits.push_back(SyncTransmit::Close {
                to: peer,
                side: Side::Client,
            });
            return;
        }
        if !resp.error.is_empty() && self.rejected_for_version(now, peer, &resp.error) {
            // Its announcement, while negotiating: the next message (held until the decision
            // while listening) goes out no earlier than the next ping.
            if let Some(c) = self.client_mut(peer) {
                c.state = State::Open {
                    in_flight: None,
                    next_send,
                    shutdown_sent,
                };
            }
            return self.negotiate(now);
        }
        if !resp.error.is_empty() {
            let step = self.step;
            let me = self.cfg.me;
            return self.fail(SyncError::PeerRejected {
                peer,
                step,
                reason: peer_text(&resp.error),
                blames: super::Blame::of(&resp.error, me),
            });
        }
        // A valid answer proves the peer is alive, whatever its own client does.
        if let Some(t) = self.lost_since.get_mut(peer.as_usize()) {
            *t = None;
        }
        if let Some(c) = self.client_mut(peer) {
            let rtt = now.saturating_duration_since(sent);
            c.rtt = Some(rtt);
            c.max_rtt = c.max_rtt.max(Some(rtt));
            c.state = State::Open {
                in_flight: None,
                next_send,
                shutdown_sent,
            };
        }
        // A missed tick fires at once, like Go's ticker; the drain starts at once too.
        if next_send <= now || draining {
            self.send(now, peer, draining);
        }
    }

    /// Our client stream to `peer` broke (or we reset it because of `why`): reopen it at
    /// once, unless we are shutting down.
    pub(super) fn client_broken(&mut self, now: Instant, peer: PeerIdx, why: Option<WireError>) {
        let stopping = self.failed.is_some()
            || !matches!(
                self.shutdown,
                Shutdown::Running | Shutdown::AwaitReady { .. }
            );
        let Some(c) = self.client_mut(peer) else {
            return;
        };
        let was_open = c.is_open();
        c.state = if stopping || c.is_done() {
            State::Done
        } else {
            State::Idle { at: now }
        };
        if let Some(why) = why {
            self.transmits.push_back(SyncTransmit::Close {
                to: peer,
                side: Side::Client,
            });
            self.events.push_back(SyncEvent::StreamReset {
                peer,
                side: Side::Client,
                why,
            });
        } else if was_open {
            self.events.push_back(SyncEvent::PeerDisconnected {
                peer,
                side: Side::Client,
            });
        }
        if !stopping {
            self.client_timeout(now, peer);
        }
    }

    /// "Shutdown ready" passed: every open client sends its shutdown message (now, or after
    /// the response in flight); clients without a stream are done.
    pub(super) fn start_draining(&mut self, now: Instant) {
        for peer in self.other_peers() {
            let Some(c) = self.client_mut(peer) else {
                continue;
            };
            match c.state {
                State::Open {
                    in_flight: None, ..
                } => self.send(now, peer, true),
                State::Open { .. } | State::Done => {}
                State::Idle { .. } | State::Opening => c.state = State::Done,
            }
        }
    }
}
