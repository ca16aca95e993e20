//! The task that owns a node's swarm: it keeps a reservation on every relay (charon
//! `p2p/relay.go` `NewRelayReserver`), keeps trying to connect to every cluster peer that has
//! a route (direct addresses, or relay circuits when we are the smaller peer ID), learns
//! addresses via identify, answers the [`crate::Host`] handles' commands and reports
//! connectivity as [`HostEvent`]s. Streams themselves bypass this task (`libp2p-stream`).

mod peers;
mod relays;

use crate::behaviour::{bind, build_swarm, Behaviour, BehaviourEvent};
use crate::error::Error;
use crate::gate::{Gate, GateEvent};
use crate::host_types::{Connection, HostConfig, HostEvent};
use crate::identity::{from_libp2p, to_libp2p};
use crate::relay_addr::RelaySpec;
use crate::resolver::{self, Resolved};
use libp2p::futures::StreamExt;
use libp2p::identity::Keypair;
use libp2p::swarm::SwarmEvent;
use libp2p::{dcutr, identify, relay, Multiaddr, PeerId as NetPeerId, Swarm};
use peers::PeerSlot;
use relays::RelaySlot;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How often reservations and connections are checked (charon polls relays every 1 s and
/// peers every 250 ms).
const TICK: Duration = Duration::from_millis(250);
/// First retry pause for dials and reservations.
const BACKOFF_MIN: Duration = Duration::from_millis(250);
/// A dial or reservation without an outcome after this long is abandoned and retried.
const STALE_AFTER: Duration = Duration::from_secs(30);
/// Events buffered for a slow consumer before further ones are dropped.
const EVENT_BUFFER: usize = 1024;

/// What a [`crate::Host`] handle asks of the swarm task.
pub(crate) enum Command {
    AddPeerAddrs(NetPeerId, Vec<Multiaddr>),
    Connections(oneshot::Sender<Vec<Connection>>),
    /// Answers `true` once the cluster peer is connected, `false` if it is not a cluster peer.
    WaitConnected(NetPeerId, oneshot::Sender<bool>),
    Shutdown(oneshot::Sender<()>),
}

/// What [`start`] hands to the [`crate::Host`].
pub(crate) struct Started {
    pub(crate) listen: Vec<Multiaddr>,
    pub(crate) control: crate::stream_behaviour::Control,
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) events: mpsc::Receiver<HostEvent>,
}

/// Builds the swarm, binds, resolves relays (waiting for the first URL relay when no fixed
/// relay was given) and spawns the swarm task.
pub(crate) async fn start(keypair: Keypair, config: &HostConfig) -> Result<Started, Error> {
    let local = keypair.public().to_peer_id();
    let now = Instant::now();
    let mut gate = Gate::new(local, config.peers.iter().map(to_libp2p));
    for (peer, addr) in &config.peer_addrs {
        gate.add_direct_addrs(to_libp2p(peer), [addr.clone()]);
    }
    let (resolved_tx, mut resolved) = mpsc::channel(16);
    let mut relays = Vec::new();
    let mut resolvers = Vec::new();
    for (slot, spec) in config.relays.iter().enumerate() {
        let (url, relay) = match spec {
            RelaySpec::Addr(r) => (None, Some(r.clone())),
            RelaySpec::Url(u) => {
                let (q, every) = (config.relay_query.clone(), config.relay_refresh_interval);
                let tx = resolved_tx.clone();
                resolvers.push(resolver::spawn(slot, u.clone(), q, every, tx));
                (Some(u.to_string()), None)
            }
        };
        gate.set_relay(slot, relay.clone());
        relays.push(RelaySlot::new(url, relay, now));
    }
    drop(resolved_tx);
    let abort_all = |resolvers: &[JoinHandle<()>]| resolvers.iter().for_each(JoinHandle::abort);

    let mut swarm = build_swarm(
        keypair,
        gate,
        &config.user_agent,
        config.idle_connection_timeout,
        config
            .protocols
            .iter()
            .map(crate::Protocol::stream_protocol)
            .collect(),
    )
    .inspect_err(|_| abort_all(&resolvers))?;
    let listen = bind(&mut swarm, &config.listen)
        .await
        .inspect_err(|_| abort_all(&resolvers))?;
    let mut first = None;
    if !relays.is_empty() && relays.iter().all(|r| r.relay.is_none()) {
        match tokio::time::timeout(config.relay_resolve_wait, resolved.recv()).await {
            Ok(Some(r)) => first = Some(r),
            _ => {
                abort_all(&resolvers);
                return Err(Error::RelaysUnresolved {
                    urls: relays.iter().filter_map(|r| r.url.clone()).collect(),
                    waited: config.relay_resolve_wait,
                });
            }
        }
    }

    let control = swarm.behaviour().stream.control();
    let (commands_tx, commands) = mpsc::channel(64);
    let (events_tx, events) = mpsc::channel(EVENT_BUFFER);
    let peers = config
        .peers
        .iter()
        .filter(|p| to_libp2p(p) != local)
        .map(|p| (to_libp2p(p), PeerSlot::new(*p, now)))
        .collect();
    let mut task = SwarmTask {
        swarm,
        commands,
        resolved,
        events: events_tx,
        dropped_events: 0,
        relays,
        peers,
        resolvers,
    };
    if let Some(r) = first {
        task.on_resolved(r);
    }
    tracing::info!(peer_id = %local, listen = ?listen, relays = task.relays.len(), "p2p host started");
    tokio::spawn(task.run());
    Ok(Started {
        listen,
        control,
        commands: commands_tx,
        events,
    })
}

struct SwarmTask {
    swarm: Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    resolved: mpsc::Receiver<Resolved>,
    events: mpsc::Sender<HostEvent>,
    dropped_events: u64,
    relays: Vec<RelaySlot>,
    peers: HashMap<NetPeerId, PeerSlot>,
    resolvers: Vec<JoinHandle<()>>,
}

impl SwarmTask {
    async fn run(mut self) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let ack = loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                command = self.commands.recv() => match command {
                    None => break None,
                    Some(Command::Shutdown(ack)) => break Some(ack),
                    Some(c) => self.on_command(c),
                },
                Some(r) = self.resolved.recv() => self.on_resolved(r),
                _ = tick.tick() => {
                    self.maintain_relays();
                    self.maintain_peers();
                }
            }
        };
        self.resolvers.iter().for_each(JoinHandle::abort);
        let local = *self.swarm.local_peer_id();
        drop(self.swarm);
        tracing::info!(peer_id = %local, "p2p host stopped");
        if let Some(ack) = ack {
            let _ = ack.send(());
        }
    }

    fn emit(&mut self, event: HostEvent) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.events.try_send(event) {
            self.dropped_events += 1;
            if self.dropped_events.is_power_of_two() {
                tracing::warn!(
                    dropped = self.dropped_events,
                    "p2p event consumer is behind; events dropped"
                );
            }
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::AddPeerAddrs(peer, addrs) => {
                self.swarm
                    .behaviour_mut()
                    .gate
                    .add_direct_addrs(peer, addrs);
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.retry_at = Instant::now();
                }
            }
            Command::Connections(reply) => {
                let list = self
                    .peers
                    .values()
                    .flat_map(|p| {
                        p.conns.values().map(|route| Connection {
                            peer: p.id,
                            route: route.clone(),
                        })
                    })
                    .collect();
                let _ = reply.send(list);
            }
            Command::WaitConnected(peer, reply) => match self.peers.get_mut(&peer) {
                None => {
                    let _ = reply.send(false);
                }
                Some(p) if !p.conns.is_empty() => {
                    let _ = reply.send(true);
                }
                Some(p) => {
                    p.waiters.retain(|w| !w.is_closed());
                    p.waiters.push(reply);
                    if p.dialing_since.is_none() {
                        p.retry_at = Instant::now();
                    }
                }
            },
            Command::Shutdown(_) => {}
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(e) => self.on_behaviour_event(e),
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                ..
            } => self.on_connected(peer_id, connection_id, &endpoint),
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                cause,
                ..
            } => self.on_closed(peer_id, connection_id, cause),
            SwarmEvent::OutgoingConnectionError {
                peer_id: Some(peer_id),
                error,
                ..
            } => self.on_dial_failed(peer_id, &error),
            SwarmEvent::ListenerClosed { listener_id, .. } => self.relay_listener_gone(listener_id),
            SwarmEvent::ListenerError { listener_id, error } => {
                tracing::debug!(?listener_id, %error, "listener error");
                self.relay_listener_gone(listener_id);
            }
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::debug!(%address, "listening");
            }
            _ => {}
        }
    }

    fn on_behaviour_event(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Gate(GateEvent::Refused {
                peer,
                addr,
                inbound,
            }) => {
                tracing::warn!(%peer, %addr, inbound, "refused a peer that is not in the cluster definition or relay list");
                self.emit(HostEvent::Refused { peer, addr });
            }
            BehaviourEvent::RelayClient(relay::client::Event::ReservationReqAccepted {
                relay_peer_id,
                renewal,
                ..
            }) => self.on_reserved(relay_peer_id, renewal),
            BehaviourEvent::RelayClient(e) => tracing::debug!(event = ?e, "relay client"),
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                tracing::debug!(peer = %peer_id, agent = %info.agent_version, addrs = ?info.listen_addrs, "identified");
                self.swarm
                    .behaviour_mut()
                    .gate
                    .add_direct_addrs(peer_id, info.listen_addrs);
            }
            BehaviourEvent::Dcutr(dcutr::Event {
                remote_peer_id,
                result,
            }) => {
                let peer = from_libp2p(&remote_peer_id).map(|p| p.to_string());
                let peer = peer.unwrap_or_else(|_| remote_peer_id.to_base58());
                match result {
                    Ok(_) => tracing::info!(%peer, "direct connection by hole punching"),
                    Err(e) => {
                        tracing::debug!(%peer, error = %e, "hole punching failed; staying relayed")
                    }
                }
            }
            BehaviourEvent::Identify(_) | BehaviourEvent::Ping(_) | BehaviourEvent::Stream(()) => {}
        }
    }
}
