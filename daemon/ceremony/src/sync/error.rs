//! Sync-protocol failures. Every variant names the peer at fault (or the peers still missing) and our
//! sync step when it happened (charon-dkg-protocol.md §1.5, §3.1).

use std::time::Duration;

use super::sig::HashSigError;
use crate::index::PeerIdx;

/// Longest peer-supplied text kept in an error (peers' strings are untrusted).
pub(super) const MAX_PEER_TEXT: usize = 200;

/// Keeps at most [`MAX_PEER_TEXT`] characters of peer-supplied text.
pub(super) fn peer_text(s: &str) -> String {
    s.chars().take(MAX_PEER_TEXT).collect()
}

/// Why the sync protocol aborts the ceremony.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The peer runs another charon minor (its `MsgSync.version`). Every operator must use the
    /// same minor (profile).
    #[error("peer {peer} speaks version {theirs:?} but this ceremony uses {ours} (sync step {step}); every operator must use the same charon-compatible version")]
    PeerIncompatible {
        /// The peer.
        peer: PeerIdx,
        /// Our sync step.
        step: u64,
        /// Our profile's version string.
        ours: &'static str,
        /// What the peer sent (truncated).
        theirs: String,
    },
    /// The peer's definition-hash signature does not verify under its ENR key: it runs with
    /// another cluster definition (or another identity key).
    #[error("peer {peer} signed a different cluster definition ({why}) at sync step {step}: every operator must use the same cluster-definition.json")]
    DefinitionMismatch {
        /// The peer.
        peer: PeerIdx,
        /// Our sync step.
        step: u64,
        /// Malformed or not matching.
        why: HashSigError,
    },
    /// The peer's sync server answered our message with an error.
    #[error("peer {peer} rejected our sync message at step {step}: {reason}")]
    PeerRejected {
        /// The peer.
        peer: PeerIdx,
        /// Our sync step.
        step: u64,
        /// The peer's reason (truncated).
        reason: String,
        /// The operator the peer's abort reason blames ([`CULPRIT_MARK`]), if any.
        blames: Blame,
    },
    /// The peer's step went backwards or started above 1: a node
    /// restarted mid-ceremony (charon#4616).
    #[error("peer {peer} reported sync step {reported} after {} (our step {step}): a node restarted mid-ceremony; all operators must restart the ceremony together", last.map_or("none".to_string(), |l| l.to_string()))]
    PeerRestarted {
        /// The peer.
        peer: PeerIdx,
        /// Our sync step.
        step: u64,
        /// The step it reported.
        reported: i64,
        /// The last step it reported before, if any.
        last: Option<i64>,
    },
    /// The peer's stream closed after everyone had connected and it did not come back.
    #[error("peer {peer} disconnected at sync step {step} and did not come back within {after:?} (did its process stop?)")]
    PeerLost {
        /// The peer.
        peer: PeerIdx,
        /// Our sync step.
        step: u64,
        /// How long we waited.
        after: Duration,
    },
    /// While we wait at `step`, the peer reports `step + 2` or more.
    #[error("peer {peer} is at sync step {peer_step} while we wait at step {step}")]
    PeerTooFarAhead {
        /// The peer.
        peer: PeerIdx,
        /// Our sync step.
        step: u64,
        /// The peer's step.
        peer_step: i64,
    },
    /// Not every peer confirmed the shutdown in time.
    #[error(
        "peers {missing:?} did not confirm the shutdown within {timeout:?} (sync step {step})"
    )]
    ShutdownTimedOut {
        /// Our sync step.
        step: u64,
        /// The peers that did not.
        missing: Vec<PeerIdx>,
        /// The bound.
        timeout: Duration,
    },
    /// Negotiating the version (`--compat auto`), the peers announced more than one version:
    /// no single profile serves them all.
    #[error("operators run different charon versions ({}); every operator must run the same charon minor version (or dkgd with --compat auto)", describe_versions(.versions))]
    PeersDisagree {
        /// Each peer and the version it announced, in operator order.
        versions: Vec<(PeerIdx, String)>,
    },
    /// Negotiating the version, every peer speaks `version`, which cannot run this
    /// definition (or is not a version dkgd speaks).
    #[error("operator(s) {} run charon {version}, which cannot run this cluster definition; they must upgrade (dkgd speaks v1.7 to v1.11)", peer_names(.peers))]
    UnsupportedPeerVersion {
        /// The peers.
        peers: Vec<PeerIdx>,
        /// What they announced (truncated).
        version: String,
    },
    /// The driver passed a peer index that is not another operator (a bug in the driver).
    #[error("internal error: peer index {peer} is not another operator of this ceremony")]
    UnknownPeer {
        /// The index given.
        peer: PeerIdx,
    },
}

impl SyncError {
    /// The peer at fault, if one is.
    pub fn peer(&self) -> Option<PeerIdx> {
        match self {
            SyncError::PeerIncompatible { peer, .. }
            | SyncError::DefinitionMismatch { peer, .. }
            | SyncError::PeerRejected { peer, .. }
            | SyncError::PeerRestarted { peer, .. }
            | SyncError::PeerTooFarAhead { peer, .. }
            | SyncError::PeerLost { peer, .. } => Some(*peer),
            SyncError::ShutdownTimedOut { missing, .. } => missing.first().copied(),
            SyncError::UnsupportedPeerVersion { peers, .. } => peers.first().copied(),
            SyncError::UnknownPeer { .. } | SyncError::PeersDisagree { .. } => None,
        }
    }

    /// The peer at fault: [`SyncError::peer`], except that a peer that rejected us because it
    /// aborted names, in its reason, the operator it blames ([`CULPRIT_MARK`]); that one is
    /// at fault, not the messenger. The mark is peer-supplied: it informs, it proves nothing.
    pub fn culprit(&self) -> Option<PeerIdx> {
        match self {
            SyncError::PeerRejected { blames, .. } => match blames {
                Blame::Operator(p) => Some(*p),
                // Another node blames us: neither the messenger nor anyone else we know of.
                Blame::Us => None,
                Blame::Unsaid => self.peer(),
            },
            // Several peers silent at the goodbye (after every node published): they may all
            // have stopped for one reason we never heard; naming the first would be a guess.
            SyncError::ShutdownTimedOut { missing, .. } if missing.len() > 1 => None,
            _ => self.peer(),
        }
    }

    /// Our sync step when it happened.
    pub fn step(&self) -> Option<u64> {
        match self {
            SyncError::PeerIncompatible { step, .. }
            | SyncError::DefinitionMismatch { step, .. }
            | SyncError::PeerRejected { step, .. }
            | SyncError::PeerRestarted { step, .. }
            | SyncError::PeerTooFarAhead { step, .. }
            | SyncError::PeerLost { step, .. }
            | SyncError::ShutdownTimedOut { step, .. } => Some(*step),
            SyncError::PeersDisagree { .. } | SyncError::UnsupportedPeerVersion { .. } => Some(0),
            SyncError::UnknownPeer { .. } => None,
        }
    }
}

/// Whom a peer's abort reason blames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
    /// It names nobody.
    Unsaid,
    /// It names this operator (not us).
    Operator(PeerIdx),
    /// It names us.
    Us,
}

impl Blame {
    /// Whom `reason` blames, seen by operator `me`.
    pub fn of(reason: &str, me: PeerIdx) -> Blame {
        match relayed_culprit(reason) {
            Some(p) if p == me => Blame::Us,
            Some(p) => Blame::Operator(p),
            None => Blame::Unsaid,
        }
    }
}

/// How an abort reason sent to peers names the operator at fault: `[culprit: operator 3] …`,
/// first, so that the truncation of long relayed texts never cuts it off.
pub const CULPRIT_MARK: &str = "[culprit: operator ";

/// The operator an abort reason blames: its first mark (each node that relays an abort puts
/// the culprit it took from the previous one first).
pub fn relayed_culprit(reason: &str) -> Option<PeerIdx> {
    let rest = &reason[reason.find(CULPRIT_MARK)? + CULPRIT_MARK.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    PeerIdx::from_usize(digits.parse().ok()?)
}

/// `reason` with the culprit's mark put first.
pub fn with_culprit(reason: String, culprit: Option<PeerIdx>) -> String {
    match culprit {
        Some(c) => format!("{CULPRIT_MARK}{c}] {reason}"),
        None => reason,
    }
}

/// `operator 1: v1.7, operator 2: v1.10`.
fn describe_versions(versions: &[(PeerIdx, String)]) -> String {
    let parts: Vec<String> = versions
        .iter()
        .map(|(p, v)| format!("operator {p}: {v}"))
        .collect();
    parts.join(", ")
}

/// `1, 3`.
fn peer_names(peers: &[PeerIdx]) -> String {
    let parts: Vec<String> = peers.iter().map(ToString::to_string).collect();
    parts.join(", ")
}

/// The text our sync server answers a version mismatch with: charon's own wording
/// (`dkg/sync/server.go` `validReq`, unchanged from v1.7.0 to v1.11.0-rc3), so that a peer
/// negotiating the version can read our version from it.
pub(crate) fn charon_version_mismatch(ours: &str, theirs: &str) -> String {
    format!(
        "mismatching charon version; expect={ours}, got={}",
        peer_text(theirs)
    )
}

/// The version a peer's sync server expects, read from charon's version-mismatch text.
pub(crate) fn expected_version(error_text: &str) -> Option<String> {
    let rest = error_text
        .split("mismatching charon version; expect=")
        .nth(1)?;
    let version: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
        .collect();
    crate::wire::profile::parse_minor(&version).map(|_| version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charon_mismatch_text_round_trips() {
        let t = charon_version_mismatch("v1.10", "v1.7");
        assert_eq!(t, "mismatching charon version; expect=v1.10, got=v1.7");
        assert_eq!(expected_version(&t).as_deref(), Some("v1.10"));
        let wrapped = format!("aborted: invalid sync message: {t}");
        assert_eq!(expected_version(&wrapped).as_deref(), Some("v1.10"));
        assert_eq!(expected_version("invalid definition hash signature"), None);
        assert_eq!(
            expected_version("mismatching charon version; expect=junk"),
            None
        );
    }
}

#[cfg(test)]
mod culprit_tests {
    use super::*;

    #[test]
    fn a_relayed_abort_blames_the_original_culprit() {
        let p = |i| PeerIdx::from_usize(i).unwrap();
        let first = with_culprit("step 2 (deposit data): bad share".into(), Some(p(3)));
        assert_eq!(relayed_culprit(&first), Some(p(3)));
        // Relayed by operator 1 (whose own abort text quotes the first one): still 3.
        let reason = format!("aborted: {first}");
        let relayed = SyncError::PeerRejected {
            peer: p(1),
            step: 2,
            blames: Blame::of(&reason, p(0)),
            reason,
        };
        assert_eq!(relayed.culprit(), Some(p(3)));
        assert_eq!(relayed.peer(), Some(p(1)));
        let again = with_culprit(relayed.to_string(), relayed.culprit());
        assert_eq!(relayed_culprit(&again), Some(p(3)));
        // A long relayed text is cut at its end: the mark, first, survives.
        let long = format!("aborted: {}", with_culprit("x".repeat(2000), Some(p(2))));
        assert_eq!(relayed_culprit(&long[..super::MAX_PEER_TEXT]), Some(p(2)));
        // No mark, or a garbled one: the messenger.
        let reason = "aborted: something [culprit: operator x]".to_string();
        let plain = SyncError::PeerRejected {
            peer: p(1),
            step: 2,
            blames: Blame::of(&reason, p(0)),
            reason,
        };
        assert_eq!(plain.culprit(), Some(p(1)));
        assert_eq!(relayed_culprit("[culprit: operator 99999999999]"), None);
        // Blamed ourselves by another node: no culprit we could name.
        let reason = "aborted: x [culprit: operator 0]".to_string();
        let us = SyncError::PeerRejected {
            peer: p(1),
            step: 2,
            blames: Blame::of(&reason, p(0)),
            reason,
        };
        assert_eq!(us.culprit(), None);
    }
}
