//! The `dkgd dkg --progress-json` line format: one JSON object per stdout line, tagged by
//! `"event"`. The daemon parses it from its ceremony child; `dkgd dkg` emits it with
//! [`ProgressEvent::to_line`]. Unknown events and fields are ignored (forward compatible),
//! other stdout lines are skipped.
//!
//! ```text
//! {"event":"connected","peers":3,"total":3}
//! {"event":"step","step":"frost round 1","done":7,"total":9}
//! {"event":"done","lock_hash":"0x…"}
//! {"event":"failed","step":"…","peer":"…","reason":"…"}
//! ```
//!
//! Exit code 0 means success; anything else is a failure whose reason is the last `failed`
//! event (or else the last stderr line).

use serde::{Deserialize, Serialize};

/// One progress line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProgressEvent {
    /// Peer connectivity changed: `peers` of the `total` other operators are connected.
    Connected {
        /// Connected peers (not counting us).
        peers: u32,
        /// Other operators.
        total: u32,
    },
    /// A step started or advanced.
    Step {
        /// The step's name (e.g. `sync`, `frost round 1`, `lock`, `commit`).
        step: String,
        /// Units done.
        #[serde(default)]
        done: u32,
        /// Units in total (0 when unknown).
        #[serde(default)]
        total: u32,
    },
    /// The charon wire profile the ceremony speaks (at start, and again if negotiation
    /// switched it before step 1).
    Profile {
        /// The profile, e.g. `v1.10`.
        name: String,
        /// The definition's default it switched from, if negotiated.
        #[serde(default)]
        switched_from: Option<String>,
    },
    /// An operator announced its charon version (while the version is negotiated).
    PeerVersion {
        /// The operator's 0-based index in the definition.
        operator: u32,
        /// The version it announced (peer-supplied text).
        version: String,
    },
    /// An operator ended without the "shutdown ready" step (charon < v1.10) after writing
    /// its artifacts; the ceremony still completed.
    PeerSkippedShutdownReady {
        /// The operator's 0-based index.
        operator: u32,
    },
    /// Ceremony frame bytes this node sent and received (printed once, before `done`).
    Traffic {
        /// Bytes sent.
        sent_bytes: u64,
        /// Bytes received.
        received_bytes: u64,
    },
    /// The artifacts are committed; the lock hash (0x-hex).
    Done {
        /// `lock_hash` of the written cluster-lock.json.
        lock_hash: String,
    },
    /// The ceremony failed.
    Failed {
        /// The step it failed in.
        #[serde(default)]
        step: Option<String>,
        /// The peer at fault, when known.
        #[serde(default)]
        peer: Option<String>,
        /// Why.
        reason: String,
    },
}

/// The step name during which the child commits its artifacts; a stopping daemon lets a
/// child in this step finish instead of signalling it.
pub const COMMIT_STEP: &str = "commit";

impl ProgressEvent {
    /// Parses one stdout line; `None` for anything that is not a known event.
    pub fn parse(line: &str) -> Option<Self> {
        let line = line.trim();
        if !line.starts_with('{') {
            return None;
        }
        serde_json::from_str(line).ok()
    }

    /// The event as one line of JSON (with the newline), for `dkgd dkg --progress-json`.
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// The operator-facing reason of a `failed` event (`step: reason (peer P)`).
    pub fn failure_text(&self) -> Option<String> {
        let Self::Failed { step, peer, reason } = self else {
            return None;
        };
        let mut s = match step {
            Some(step) => format!("step {step}: {reason}"),
            None => reason.clone(),
        };
        if let Some(p) = peer {
            s.push_str(&format!(" (peer {p})"));
        }
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_lines() {
        assert_eq!(
            ProgressEvent::parse(r#"{"event":"connected","peers":3,"total":3}"#),
            Some(ProgressEvent::Connected { peers: 3, total: 3 })
        );
        assert_eq!(
            ProgressEvent::parse(
                r#"{"event":"step","step":"frost round 1","done":7,"total":9,"extra":1}"#
            ),
            Some(ProgressEvent::Step {
                step: "frost round 1".into(),
                done: 7,
                total: 9
            })
        );
        assert_eq!(
            ProgressEvent::parse(r#"{"event":"done","lock_hash":"0xab"}"#),
            Some(ProgressEvent::Done {
                lock_hash: "0xab".into()
            })
        );
        let f = ProgressEvent::parse(
            r#"{"event":"failed","step":"dkg","peer":"16Uiu2","reason":"timeout"}"#,
        )
        .unwrap();
        assert_eq!(f.failure_text().unwrap(), "step dkg: timeout (peer 16Uiu2)");
        for junk in [
            "",
            "dkg complete: artifacts in x",
            "{",
            r#"{"event":"nope"}"#,
            "[1]",
        ] {
            assert_eq!(ProgressEvent::parse(junk), None, "{junk}");
        }
    }

    #[test]
    fn lines_round_trip() {
        let e = ProgressEvent::Step {
            step: "lock".into(),
            done: 1,
            total: 2,
        };
        let line = e.to_line();
        assert!(line.ends_with('\n') && !line.trim_end().contains('\n'));
        assert_eq!(ProgressEvent::parse(&line), Some(e));
    }
}
