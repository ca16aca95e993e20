//! What a [`super::SyncNode`] is configured with: the profile, the peers' keys, the definition
//! hash, and charon's timers (charon-dkg-protocol.md §1.5, §1.12).

use std::time::Duration;

use dkgd_crypto::k1::K1PublicKey;

use crate::index::PeerIdx;
use crate::plan::Plan;
use crate::wire::Profile;

/// charon's timers (charon-dkg-protocol.md §1.12) and our one addition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncTimers {
    /// Period between a client's messages (charon: 100 ms).
    pub ping_period: Duration,
    /// First reconnect delay after a failed open (charon's fast backoff: 100 ms, ×1.6).
    pub reconnect_base: Duration,
    /// Cap of the reconnect delay (charon: 1 s).
    pub reconnect_max: Duration,
    /// A response missing this long means the stream is dead: reset and reopen it. charon
    /// has no such bound (a stuck stream blocks its client forever); ours is generous.
    pub response_timeout: Duration,
    /// Bound on the whole shutdown handshake (charon: 2 min).
    pub shutdown_timeout: Duration,
    /// Once every peer has connected, a peer whose stream to our server closes and that
    /// neither reconnects nor answers our client this long is gone: the ceremony aborts
    /// naming it (charon waits for its step timeout, then blames whoever it waited for).
    /// Keep it above twice `response_timeout`: a hung stream is reset and healed within that.
    pub peer_loss_timeout: Duration,
    /// While the version is negotiated (`--compat auto`), how long our client holds its first
    /// message to a peer we have not heard from yet. A charon peer speaks first within about
    /// a second of the connection (its client opens a stream at once); sending it a version it
    /// does not speak would make it abort, so we listen first. Two dkgd nodes both listening
    /// speak after this long.
    pub negotiation_grace: Duration,
    /// After the version was switched by negotiation, how long a peer may keep announcing
    /// another version (a dkgd peer still deciding) before the ceremony stops naming who
    /// speaks what.
    pub negotiation_settle: Duration,
}

impl Default for SyncTimers {
    fn default() -> Self {
        SyncTimers {
            ping_period: Duration::from_millis(100),
            reconnect_base: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(1),
            response_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(120),
            peer_loss_timeout: Duration::from_secs(75),
            negotiation_grace: Duration::from_secs(3),
            negotiation_settle: Duration::from_secs(15),
        }
    }
}

/// What a [`SyncNode`](super::SyncNode) needs to know.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// The compatibility profile (version string, nickname field, protocol ID) we start with.
    pub profile: &'static Profile,
    /// The profiles we may switch to while negotiating before step 1 (`--compat auto`): the
    /// ones that accept the definition. Empty: the profile is fixed (`--compat vX`).
    pub alternatives: Vec<&'static Profile>,
    /// The definition hash every peer must have signed.
    pub definition_hash: Vec<u8>,
    /// Every operator's identity (ENR) key, in definition order, ours included.
    pub peers: Vec<K1PublicKey>,
    /// Our position among them.
    pub me: PeerIdx,
    /// Our nickname (cosmetic, ≤ 32 characters are sent).
    pub nickname: String,
    /// Unix time of [`crate::wire::Instant::ZERO`], for `MsgSync.timestamp` (the only wall-clock use).
    pub unix_time_at_origin: Duration,
    /// Timers.
    pub timers: SyncTimers,
}

impl SyncConfig {
    /// The configuration for `plan`'s ceremony with default timers.
    pub fn new(
        plan: &Plan,
        profile: &'static Profile,
        nickname: &str,
        unix_time_at_origin: Duration,
    ) -> Self {
        SyncConfig {
            profile,
            alternatives: Vec::new(),
            definition_hash: plan.definition_hash().to_vec(),
            peers: plan
                .peers()
                .filter_map(|p| plan.operator_enr(p).map(|e| e.public_key()))
                .collect(),
            me: plan.me(),
            nickname: nickname.chars().take(32).collect(),
            unix_time_at_origin,
            timers: SyncTimers::default(),
        }
    }

    /// Negotiate the version (`--compat auto`): start with the configured profile and switch,
    /// before step 1, to another profile that accepts `plan`'s definition if the peers speak it.
    pub fn negotiating(mut self, plan: &Plan) -> Self {
        self.alternatives = crate::wire::profile::ALL
            .iter()
            .copied()
            .filter(|p| p.accepts_definition(plan.version()))
            .collect();
        self
    }
}
