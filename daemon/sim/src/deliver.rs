//! What arriving at the other end means: frames handed to the receiving machine, streams
//! that reset, sends that fail, and crashed processes.

use dkgd_ceremony::sync::{Side, SyncTransmit};
use dkgd_ceremony::wire::{FrameDecoder, Framing, InboundId, ProtocolId, TransmitKind};
use dkgd_ceremony::{Outgoing, PeerIdx, Stream};

use crate::net::Net;

pub(crate) fn peer(i: usize) -> PeerIdx {
    // Node indices come from the definition's operator list, far below PeerIdx's range.
    PeerIdx::from_usize(i).unwrap_or_else(|| unreachable!("operator index {i}"))
}

/// The body inside a complete frame the machine produced (the machines frame their own output).
fn body(framing: Framing, frame: &[u8]) -> Vec<u8> {
    let mut d = FrameDecoder::new(framing);
    d.push(frame);
    match (d.poll_frame(), d.finish()) {
        (Ok(Some(b)), Ok(())) => b,
        other => unreachable!("a machine wrote a bad frame: {other:?}"),
    }
}

/// The stream a sync frame travels on, as (client, server), and how the receiver sees it.
fn sync_stream(from: usize, to: usize, side: Side) -> ((usize, usize), Stream) {
    match side {
        Side::Client => ((from, to), Stream::Inbound(InboundId(0))),
        Side::Server => ((to, from), Stream::Outbound),
    }
}

impl Net {
    /// Hands `t` from node `a` to its recipient.
    pub(crate) fn deliver(&mut self, a: usize, t: Outgoing) {
        if self.crashed.contains(&a) {
            return; // lost with the process
        }
        match t {
            Outgoing::Sync(SyncTransmit::Open { to }) => {
                if self.crashed.contains(&to.as_usize()) {
                    return self.with(a, |c, now| c.handle_open_failed(now, to));
                }
                self.streams.insert((a, to.as_usize()));
                self.with(a, |c, now| c.handle_opened(now, to));
            }
            Outgoing::Sync(SyncTransmit::Write { to, side, frame }) => {
                let b = to.as_usize();
                let (stream, rx) = sync_stream(a, b, side);
                if self.muted.contains(&a) || !self.streams.contains(&stream) {
                    return;
                }
                let body = self.maybe_tamper(a, b, ProtocolId::Sync, body(Framing::SYNC, &frame));
                self.with(b, |c, now| {
                    c.handle_frame(now, peer(a), ProtocolId::Sync, rx, &body)
                });
            }
            Outgoing::Sync(SyncTransmit::Close { to, side }) => {
                let b = to.as_usize();
                let (stream, rx) = sync_stream(a, b, side);
                if self.streams.remove(&stream) {
                    self.with(b, |c, now| {
                        c.handle_closed(now, peer(a), ProtocolId::Sync, rx)
                    });
                }
            }
            Outgoing::Stream(t) => {
                if self.muted.contains(&a) {
                    return;
                }
                let b = t.to.as_usize();
                if self.crashed.contains(&b) {
                    // The dial fails: as a lost frame, a one-way send fails and a request's
                    // stream closes (an answer to the dead node goes nowhere).
                    return self.lose(a, Outgoing::Stream(t));
                }
                let body = self.maybe_tamper(a, b, t.protocol, body(Framing::DELIMITED, &t.frame));
                let stream = match t.kind {
                    TransmitKind::Request | TransmitKind::OneWay => {
                        self.next_id += 1;
                        if t.kind == TransmitKind::Request {
                            self.pending.insert(self.next_id, (a, b, t.protocol));
                            if std::mem::take(&mut self.delivering_ghost) {
                                self.ghosts.insert(self.next_id);
                            }
                        }
                        Stream::Inbound(InboundId(self.next_id))
                    }
                    TransmitKind::Response(InboundId(id)) => {
                        if self.ghosts.remove(&id) {
                            self.pending.remove(&id);
                            return; // the answer to a copy nobody awaits
                        }
                        match self.pending.remove(&id) {
                            Some((requester, ..)) => {
                                assert_eq!(requester, b, "an answer goes to its requester");
                            }
                            None => return, // the requester crashed meanwhile
                        }
                        Stream::Outbound
                    }
                };
                self.with(b, |c, now| {
                    c.handle_frame(now, peer(a), t.protocol, stream, &body)
                });
            }
        }
    }

    /// A copy of `t` for the links to send a second time, if a second copy means anything:
    /// a one-way frame or a request sent again (a sync ping or an answer is not repeated on
    /// a reliable stream).
    /// A copy of a request is a ghost: its answer is dropped, as the requester opened one
    /// stream, not two.
    pub(crate) fn duplicate(t: &Outgoing) -> Option<(Outgoing, bool)> {
        match t {
            Outgoing::Stream(s) if s.kind == TransmitKind::OneWay => Some((t.clone(), false)),
            Outgoing::Stream(s) if s.kind == TransmitKind::Request => Some((t.clone(), true)),
            _ => None,
        }
    }

    /// The links lost `t`: a sync stream resets (both ends see it close), a one-way send
    /// fails, a request's or answer's stream closes at the requester.
    pub(crate) fn lose(&mut self, a: usize, t: Outgoing) {
        match t {
            Outgoing::Sync(SyncTransmit::Write { to, side, .. }) => {
                let b = to.as_usize();
                let (stream, rx) = sync_stream(a, b, side);
                if !self.streams.remove(&stream) {
                    return;
                }
                let own = match side {
                    Side::Client => Stream::Outbound,
                    Side::Server => Stream::Inbound(InboundId(0)),
                };
                self.with(a, |c, now| c.handle_closed(now, to, ProtocolId::Sync, own));
                self.with(b, |c, now| {
                    c.handle_closed(now, peer(a), ProtocolId::Sync, rx)
                });
            }
            Outgoing::Sync(_) => {}
            Outgoing::Stream(t) => match t.kind {
                TransmitKind::OneWay => {
                    self.with(a, |c, now| c.handle_send_failed(now, t.to, t.protocol))
                }
                TransmitKind::Request => self.with(a, |c, now| {
                    c.handle_closed(now, t.to, t.protocol, Stream::Outbound)
                }),
                TransmitKind::Response(InboundId(id)) => {
                    if let Some((requester, _, proto)) = self.pending.remove(&id) {
                        if !self.ghosts.remove(&id) {
                            self.with(requester, |c, now| {
                                c.handle_closed(now, peer(a), proto, Stream::Outbound)
                            });
                        }
                    }
                }
            },
        }
    }

    /// Node `i` dies: every connection it had closes at the other end, requests it was to
    /// answer fail at their requesters, and it takes no more input.
    pub fn crash(&mut self, i: usize) {
        if !self.crashed.insert(i) {
            return;
        }
        let streams: Vec<_> = self
            .streams
            .iter()
            .copied()
            .filter(|(c, s)| *c == i || *s == i)
            .collect();
        for (client, server) in streams {
            self.streams.remove(&(client, server));
            let (other, rx) = if client == i {
                (server, Stream::Inbound(InboundId(0)))
            } else {
                (client, Stream::Outbound)
            };
            self.with(other, |c, now| {
                c.handle_closed(now, peer(i), ProtocolId::Sync, rx)
            });
        }
        let lost: Vec<_> = self
            .pending
            .iter()
            .filter(|(_, (req, resp, _))| *req == i || *resp == i)
            .map(|(id, p)| (*id, *p))
            .collect();
        for (id, (requester, responder, proto)) in lost {
            self.pending.remove(&id);
            if responder == i && !self.ghosts.remove(&id) {
                self.with(requester, |c, now| {
                    c.handle_closed(now, peer(i), proto, Stream::Outbound)
                });
            }
        }
    }

    fn maybe_tamper(
        &mut self,
        from: usize,
        to: usize,
        protocol: ProtocolId,
        body: Vec<u8>,
    ) -> Vec<u8> {
        match &mut self.tamper {
            Some((a, b, t)) if *a == from && *b == to => t.mutate(protocol, body),
            _ => body,
        }
    }
}
