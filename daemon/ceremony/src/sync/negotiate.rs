//! Version negotiation before step 1 (`--compat auto`, issue 10 §2).
//!
//! A cluster definition does not say which charon minor its nodes run (the creator's tool and
//! the nodes' clients are independent), and a charon node aborts for good the moment it reads
//! a `MsgSync` with another version. So while negotiating we **listen first**:
//!
//! 1. Every peer's `MsgSync.version` is recorded ([`SyncEvent::PeerVersion`]); a message in
//!    another version is answered without an error (a charon client only reads the
//!    timestamp) and does not count as connected.
//! 2. Our client holds its first message to a peer until that peer has announced our version,
//!    or — for a peer that has not spoken at all, which is what another listening dkgd looks
//!    like — until [`super::SyncTimers::negotiation_grace`] after our stream opened. A charon
//!    client writes its first message right after opening its stream to us; a peer whose
//!    stream to us stays silent for [`QUIET`] is listening too, so we speak then.
//! 3. Once every peer has announced: all in our version → decided; all others in one other
//!    version that accepts the definition → switch to it ([`SyncEvent::ProfileSwitched`]);
//!    two other versions → [`SyncError::PeersDisagree`]; a version we cannot run the
//!    definition in → [`SyncError::UnsupportedPeerVersion`]. Peers that announced *our*
//!    version are taken to be negotiating dkgd nodes that will follow.
//! 4. After the decision nothing is held; a peer still announcing another version after
//!    [`super::SyncTimers::negotiation_settle`] stops the ceremony, naming who speaks what.
//!
//! A peer's server rejecting our version with charon's text
//! (`mismatching charon version; expect=v1.7, …`) counts as its announcement. Nothing here
//! applies once step 1 has started: a ceremony never mixes profiles.

use super::error::{expected_version, peer_text};
use super::{SyncError, SyncEvent, SyncNode};
use crate::index::PeerIdx;
use crate::wire::profile::{parse_minor, Profile, ALL};
use crate::wire::Instant;

/// A peer's sync stream to us silent this long after it opened: the peer listens first (a
/// negotiating dkgd), where a charon client writes at once.
pub(super) const QUIET: std::time::Duration = std::time::Duration::from_millis(500);

/// Where the negotiation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Negotiation {
    /// `--compat vX`: no negotiation.
    Fixed,
    /// Listening for every peer's version.
    Listening,
    /// Decided (switched or not); later mismatches are bounded by the settle time.
    Decided,
}

/// What we know of one peer's version.
#[derive(Debug, Clone, Default)]
pub(super) struct PeerVersion {
    /// The last version it announced (truncated).
    pub(super) announced: Option<String>,
    /// Since when it announces a version other than ours, after the decision.
    pub(super) mismatch_since: Option<Instant>,
    /// When its current stream to our server opened, while nothing arrived on it.
    pub(super) silent_since: Option<Instant>,
}

/// What our server does with a `MsgSync`'s version.
pub(super) enum VersionCheck {
    /// Our version: process the message.
    Same,
    /// Another version while negotiating: answer without an error, do not count it.
    Hold,
    /// Another version, refused (fixed profile, or after step 0).
    Reject(SyncError),
}

fn same_minor(a: &str, b: &str) -> bool {
    parse_minor(a).is_some() && parse_minor(a) == parse_minor(b)
}

impl SyncNode {
    /// The profile the sync protocol speaks now (it changes only by negotiation, before step 1).
    pub fn profile(&self) -> &'static Profile {
        self.cfg.profile
    }

    /// Every peer's last announced `MsgSync.version`, in operator order (`None`: not heard
    /// yet, or us).
    pub fn peer_versions(&self) -> Vec<(PeerIdx, Option<String>)> {
        self.other_peers()
            .map(|p| {
                let v = self
                    .versions
                    .get(p.as_usize())
                    .and_then(|v| v.announced.clone());
                (p, v)
            })
            .collect()
    }

    /// Whether the version is still being negotiated.
    pub fn is_negotiating(&self) -> bool {
        self.negotiation == Negotiation::Listening
    }

    fn negotiable(&self) -> bool {
        self.negotiation != Negotiation::Fixed && self.step == 0
    }

    /// The peer opened a sync stream to our server (the driver's notice, before any frame).
    pub fn handle_inbound_opened(&mut self, now: Instant, peer: PeerIdx) {
        if let Some(v) = self.versions.get_mut(peer.as_usize()) {
            v.silent_since = Some(now);
        }
        self.release_held(now);
    }

    /// Records `version` as `peer`'s announcement.
    fn record_version(&mut self, now: Instant, peer: PeerIdx, version: &str) {
        let ours = self.cfg.profile.sync_version;
        let decided = self.negotiation == Negotiation::Decided;
        let Some(v) = self.versions.get_mut(peer.as_usize()) else {
            return;
        };
        v.silent_since = None;
        let text = peer_text(version);
        if v.announced.as_deref() != Some(text.as_str()) {
            v.announced = Some(text.clone());
            self.events.push_back(SyncEvent::PeerVersion {
                peer,
                version: text,
            });
        }
        if same_minor(version, ours) {
            v.mismatch_since = None;
        } else if decided {
            v.mismatch_since.get_or_insert(now);
        }
    }

    /// Our server's verdict on a peer's version.
    pub(super) fn check_version(
        &mut self,
        now: Instant,
        peer: PeerIdx,
        version: &str,
    ) -> VersionCheck {
        let negotiable = self.negotiable();
        if negotiable {
            self.record_version(now, peer, version);
        }
        let ours = self.cfg.profile.sync_version;
        if same_minor(version, ours) {
            return VersionCheck::Same;
        }
        if negotiable {
            if let Some(s) = self.server_mut(peer) {
                s.connected = false;
            }
            return VersionCheck::Hold;
        }
        VersionCheck::Reject(SyncError::PeerIncompatible {
            peer,
            step: self.step,
            ours,
            theirs: peer_text(version),
        })
    }

    /// A peer's server answered with `error`: if it is charon's version-mismatch text while
    /// we negotiate, it is that peer's announcement (`true`), not a failure.
    pub(super) fn rejected_for_version(
        &mut self,
        now: Instant,
        peer: PeerIdx,
        error: &str,
    ) -> bool {
        if !self.negotiable() {
            return false;
        }
        let Some(version) = expected_version(error) else {
            return false;
        };
        self.record_version(now, peer, &version);
        true
    }

    /// Until when our client holds its next message to `peer` (`None`: send now).
    pub(super) fn hold_until(
        &self,
        now: Instant,
        peer: PeerIdx,
        opened_at: Instant,
    ) -> Option<Instant> {
        if !self.negotiable() {
            return None;
        }
        let ours = self.cfg.profile.sync_version;
        let v = self.versions.get(peer.as_usize())?;
        let grace = self.cfg.timers.negotiation_grace;
        if self.negotiation != Negotiation::Listening {
            // Decided: speak to everyone, so dkgd peers still deciding hear our choice.
            return None;
        }
        match &v.announced {
            Some(a) if same_minor(a, ours) => None,
            // It refused our version, or speaks another one: wait for the decision.
            Some(_) => Some(now + grace),
            None => {
                let quiet = v.silent_since.map(|t| t + QUIET);
                let until = quiet.map_or(opened_at + grace, |q| q.min(opened_at + grace));
                (now < until).then_some(until)
            }
        }
    }

    /// Decides once every peer has announced; afterwards bounds lingering mismatches.
    pub(super) fn negotiate(&mut self, now: Instant) {
        if !self.negotiable() {
            return;
        }
        if self.negotiation == Negotiation::Decided {
            return self.check_settled(now);
        }
        let ours = self.cfg.profile.sync_version;
        let announced: Vec<(PeerIdx, Option<String>)> = self.peer_versions();
        let mut others: Vec<&str> = Vec::new();
        for (_, v) in &announced {
            if let Some(v) = v.as_deref() {
                if !same_minor(v, ours) && !others.iter().any(|o| same_minor(o, v)) {
                    others.push(v);
                }
            }
        }
        if others.len() > 1 {
            return self.fail(SyncError::PeersDisagree {
                versions: known_versions(&announced),
            });
        }
        if announced.iter().any(|(_, v)| v.is_none()) {
            return;
        }
        let target = match others.first() {
            None => None,
            Some(v) => {
                let profile = ALL
                    .iter()
                    .copied()
                    .find(|p| same_minor(p.sync_version, v))
                    .filter(|p| self.cfg.alternatives.contains(p));
                match profile {
                    Some(p) => Some(p),
                    None => {
                        let version = (*v).to_string();
                        let peers = announced
                            .iter()
                            .filter(|(_, a)| a.as_deref().is_some_and(|a| same_minor(a, v)))
                            .map(|(p, _)| *p)
                            .collect();
                        return self.fail(SyncError::UnsupportedPeerVersion { peers, version });
                    }
                }
            }
        };
        self.negotiation = Negotiation::Decided;
        if let Some(to) = target {
            let from = self.cfg.profile;
            self.cfg.profile = to;
            self.events
                .push_back(SyncEvent::ProfileSwitched { from, to });
        }
        // Mismatches from here on are bounded by the settle time, and a peer counts as
        // connected again only once it speaks the chosen version (a dkgd peer accepted under
        // the old one may still be deciding).
        let to = self.cfg.profile.sync_version;
        for (i, v) in self.versions.iter_mut().enumerate() {
            let stale = v.announced.as_deref().is_some_and(|a| !same_minor(a, to));
            v.mismatch_since = stale.then_some(now);
            if stale {
                if let Some(Some(s)) = self.servers.get_mut(i) {
                    s.connected = false;
                }
            }
        }
        self.release_held(now);
    }

    /// After the decision: a peer still announcing another version after the settle time
    /// stops the ceremony.
    pub(super) fn check_settled(&mut self, now: Instant) {
        let settle = self.cfg.timers.negotiation_settle;
        let stuck = self
            .versions
            .iter()
            .any(|v| v.mismatch_since.is_some_and(|t| t + settle <= now));
        if stuck {
            let versions = known_versions(&self.peer_versions());
            self.fail(SyncError::PeersDisagree { versions });
        }
    }

    /// The next settle deadline, while one runs.
    pub(super) fn negotiation_deadline(&self) -> Option<Instant> {
        if !self.negotiable() || self.negotiation != Negotiation::Decided {
            return None;
        }
        let settle = self.cfg.timers.negotiation_settle;
        self.versions
            .iter()
            .filter_map(|v| v.mismatch_since.map(|t| t + settle))
            .min()
    }
}

fn known_versions(announced: &[(PeerIdx, Option<String>)]) -> Vec<(PeerIdx, String)> {
    announced
        .iter()
        .filter_map(|(p, v)| Some((*p, v.clone()?)))
        .collect()
}
