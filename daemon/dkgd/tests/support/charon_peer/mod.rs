//! A scripted charon peer: one operator of a ceremony played the way charon's Go code
//! sequences it, in straight-line async Rust over a real libp2p host, so that `dkgd dkg`
//! processes can be run against an implementation that does not share dkgd's state machines
//! (`dkgd_ceremony::{Ceremony, sync::SyncNode, bcast::Bcast}` are deliberately not used).
//!
//! Only the transport (`dkgd_p2p::Host`), the golden-tested protobuf structs
//! (`dkgd_ceremony::wire::proto`, parsigex JSON and FROST codecs) and pure crypto/assembly
//! functions are shared with dkgd. Framing, stream sequencing, sync, bcast hashing and
//! signing, callbacks and step order are written here from charon's source (read for protocol
//! facts only; BUSL-1.1, nothing copied). Where each behaviour was read:
//!
//! | behaviour | charon tag(s) and file |
//! |---|---|
//! | sync client: message at stream open then every 100 ms, shutdown message ends the stream, error response aborts, reconnect with ≤ 1 s backoff while enabled | v1.7.0, v1.9.5, v1.10.3 `dkg/sync/client.go` |
//! | `MsgSync.nickname` (field 6) sent from v1.9.0 (absent from the v1.7.x and v1.8.x protos and clients) | v1.8.3 and v1.9.0 `dkg/dkgpb/v1/sync.proto`, `dkg/sync/client.go` |
//! | sync server: version (exact major.minor, `mismatching charon version; expect=…, got=…`), DER signature of the definition hash, step rules (first 0/1, no regression, at most +2), shutdown bookkeeping | v1.7.0 `dkg/sync/server.go`, `app/version/version.go` |
//! | sync server: step error closes the stream (≤ v1.10) / sets the sticky error and answers it (v1.11) | v1.10.3 vs v1.11.0-rc3 `dkg/sync/server.go` |
//! | connect loop (250 ms), reconnect disabled once connected (≤ v1.9), step-1 barrier, `nextStepSync`, shutdown: clients one by one then all peers' shutdown | v1.7.0, v1.9.5 `dkg/dkg.go` `startSyncProtocol` |
//! | "shutdown ready" barrier (step 8) and reconnect disabled only at shutdown | v1.10.0, v1.10.3 `dkg/dkg.go` |
//! | 2-minute bound on the shutdown, watcher aborting on a server error | v1.11.0-rc3 `dkg/dkg.go` (not in v1.10.x) |
//! | step order: sync → FROST (1) → deposits per amount (2) → registrations (3) → lock hash (4) → node signatures (5) → verify+write (6) → barrier 7 | v1.7.0, v1.10.3 `dkg/dkg.go` `Run` |
//! | bcast: Any wrap, hash, parallel sig requests, verify all n, final message to each peer in turn; server: message check, dedup per (peer, id), sign | v1.7.0 `dkg/bcast/{client,server,impl,helpers}.go` |
//! | bcast 2.0.0 protocol IDs and session-bound length-prefixed hash | v1.11.0-rc3 `dkg/bcast/{helpers,impl}.go` |
//! | FROST: round-1 broadcast, then one direct message per peer, then wait; round 2 broadcast; callback checks (source, target, validator index, t commitments, dedup) | v1.7.0, v1.10.3 `dkg/frostp2p.go`, `dkg/frost.go` |
//! | parsigex: `Duty{slot, type 3}` one-way to each peer in turn, sets buffered until the exchange, all n needed; share index bound to the sender from v1.11 | v1.10.3 `dkg/exchanger.go`, `core/parsigex/parsigex.go`; v1.11.0-rc3 `dkg/exchanger.go` |
//! | node signatures: sign the lock hash, bcast `/charon/dkg/node_sig`, callback checks (index in range, not ours, sender's from v1.10) | v1.7.0, v1.10.3 `dkg/nodesigs.go` |
//! | one message per stream: write, `CloseWrite`, read one answer (SendReceive, 7 s) / write, close (Send); handler read deadline 5 s (bcast 60 s) | v1.7.0, v1.10.3 `p2p/sender.go`, `p2p/receive.go` |
//! | sync client reads without a deadline; reconnect always after a relay reset (`isRelayError`) | v1.7.0 `dkg/sync/client.go` |
//! | `--shutdown-delay` 1 s (v1.7) / 5 s (v1.9 on; the script uses 1 s), `--timeout` 1 min / 2 min | v1.7.0, v1.9.5 `cmd/dkg.go` |
//!
//! Not modelled: peerinfo (charon serves `/charon/peerinfo/2.0.0`; dkgd never asks), Pedersen,
//! keystore/lock writing (the script only verifies the lock), charon's metrics and logging.
//! [`Fault`] adds deliberate deviations for negative tests; [`Journal`] records what the
//! script saw, for failure messages.

#![allow(dead_code, unreachable_pub)]

pub mod bcast;
pub mod ceremony;
pub mod frame;
pub mod harness;
pub mod net;
pub mod sync;
pub mod sync_client;

use dkgd_crypto::k1::K1SecretKey;
use dkgd_formats::definition::{Definition, Version};
use dkgd_p2p::Multiaddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The charon minor the script plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharonVersion {
    V1_7,
    V1_8,
    V1_9,
    V1_10,
    V1_11,
}

impl CharonVersion {
    /// Every version, oldest first.
    pub const ALL: [CharonVersion; 5] = [
        CharonVersion::V1_7,
        CharonVersion::V1_8,
        CharonVersion::V1_9,
        CharonVersion::V1_10,
        CharonVersion::V1_11,
    ];

    /// `version.Version.Minor().String()`: what `MsgSync.version` carries.
    pub fn minor(self) -> &'static str {
        match self {
            CharonVersion::V1_7 => "v1.7",
            CharonVersion::V1_8 => "v1.8",
            CharonVersion::V1_9 => "v1.9",
            CharonVersion::V1_10 => "v1.10",
            CharonVersion::V1_11 => "v1.11",
        }
    }

    /// `(major, minor)`.
    pub fn numbers(self) -> (u64, u64) {
        match self {
            CharonVersion::V1_7 => (1, 7),
            CharonVersion::V1_8 => (1, 8),
            CharonVersion::V1_9 => (1, 9),
            CharonVersion::V1_10 => (1, 10),
            CharonVersion::V1_11 => (1, 11),
        }
    }

    /// `MsgSync.nickname` exists (v1.9.0 on).
    pub fn sends_nickname(self) -> bool {
        self >= CharonVersion::V1_9
    }

    /// bcast 2.0.0 with the session-bound hash (v1.11).
    pub fn bcast_v2(self) -> bool {
        self >= CharonVersion::V1_11
    }

    /// The extra "shutdown ready" barrier before the shutdown messages (v1.10.0 on).
    pub fn shutdown_ready_step(self) -> bool {
        self >= CharonVersion::V1_10
    }

    /// Sync clients stop reconnecting once everyone is connected (up to v1.9).
    pub fn disables_reconnect_after_connect(self) -> bool {
        self <= CharonVersion::V1_9
    }

    /// The bound on the shutdown handshake (v1.11 only).
    pub fn shutdown_bound(self) -> Option<Duration> {
        (self >= CharonVersion::V1_11).then_some(Duration::from_secs(120))
    }

    /// A step inconsistency is a sticky, answered error (v1.11) rather than a closed stream.
    pub fn step_error_is_fatal(self) -> bool {
        self >= CharonVersion::V1_11
    }

    /// A node signature must come from the peer it names (v1.10 on).
    pub fn binds_node_sig_sender(self) -> bool {
        self >= CharonVersion::V1_10
    }

    /// A partial signature's share index must be its sender's (v1.11).
    pub fn binds_parsig_sender(self) -> bool {
        self >= CharonVersion::V1_11
    }

    /// The newest definition version this minor accepts.
    pub fn definition_version(self) -> Version {
        if self >= CharonVersion::V1_11 {
            Version::V1_11
        } else {
            Version::V1_10
        }
    }

    /// bcast protocol IDs.
    pub fn bcast_protocols(self) -> (&'static str, &'static str) {
        if self.bcast_v2() {
            ("/charon/dkg/bcast/2.0.0/sig", "/charon/dkg/bcast/2.0.0/msg")
        } else {
            ("/charon/dkg/bcast/1.0.0/sig", "/charon/dkg/bcast/1.0.0/msg")
        }
    }
}

impl PartialOrd for CharonVersion {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for CharonVersion {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.numbers().cmp(&other.numbers())
    }
}

/// Deliberate deviations, for negative tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Fault {
    /// Behave like charon.
    #[default]
    None,
    /// The sync server answers every message with this `MsgSyncResponse.error` (and, like a
    /// charon server that recorded an error, aborts its own run).
    SyncErrorResponse(String),
    /// Every sync client resets its stream once when it reaches this step and reconnects, as
    /// charon does on a relay circuit recycle (`isRelayError`: always, in every version).
    ResetSyncAt(i64),
    /// Local work before announcing this step takes this long (e.g. keystores written with
    /// the real KDF on a slow machine before step 7); charon's barriers wait unbounded.
    DelayBeforeStep(i64, Duration),
    /// Runs the v1.10 "shutdown ready" barrier whatever the version: the sequence dkgd had
    /// in every profile before the fix, here on the charon side.
    ShutdownReadyStepAlways,
}

/// Everything the script needs.
pub struct PeerConfig {
    pub version: CharonVersion,
    pub key: K1SecretKey,
    pub definition: Definition,
    /// Where to listen (e.g. `/ip4/127.0.0.1/tcp/PORT`); empty: outbound only.
    pub listen: Vec<Multiaddr>,
    /// The peers' addresses we know, by operator index.
    pub peer_addrs: Vec<(usize, Multiaddr)>,
    /// Relays (multiaddrs or `http://` URLs, as `--p2p-relays`).
    pub relays: Vec<String>,
    /// Sent as `MsgSync.nickname` from v1.9.
    pub nickname: String,
    pub fault: Fault,
    /// charon's `--timeout` (per parsig exchange).
    pub timeout: Duration,
}

/// A timeline of what the script saw and did, shared with its tasks.
#[derive(Clone, Default)]
pub struct Journal(Arc<Mutex<Vec<(Duration, String)>>>, Option<Instant>);

impl Journal {
    pub fn new() -> Self {
        Journal(Arc::default(), Some(Instant::now()))
    }

    pub fn note(&self, what: impl Into<String>) {
        let at = self.1.map(|s| s.elapsed()).unwrap_or_default();
        if let Ok(mut j) = self.0.lock() {
            j.push((at, what.into()));
        }
    }

    pub fn render(&self) -> String {
        self.0
            .lock()
            .map(|j| {
                j.iter()
                    .map(|(at, w)| format!("[{:7.3}s] {w}\n", at.as_secs_f64()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// How a scripted run ended.
#[derive(Debug)]
pub struct Outcome {
    /// Operators whose `shutdown = true` our sync server received.
    pub shutdown_from: Vec<usize>,
    /// The step each peer's shutdown message carried.
    pub peer_shutdown_steps: Vec<(usize, i64)>,
    /// The lock hash everyone signed.
    pub lock_hash: [u8; 32],
    /// Our sync step when we sent our shutdown messages.
    pub shutdown_step: i64,
}

/// Runs the scripted peer to the end of its shutdown handshake, or to the error that would
/// make charon exit non-zero.
pub async fn run(cfg: PeerConfig, journal: Journal) -> Result<Outcome, String> {
    ceremony::run(cfg, journal).await
}
