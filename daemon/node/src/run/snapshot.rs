//! Builds the published [`Status`] from the lifecycle and what the shell knows.

use super::definition::Accepted;
use super::identity::PublicIdentity;
use crate::lifecycle::{Lifecycle, State};
use crate::status::model::{
    Cluster, Identity, KeyHolder, Peers, Progress, Status, Versions, API_VERSION,
};

/// The status document for the current lifecycle state.
pub(super) fn status(
    lc: &Lifecycle,
    id: Option<&PublicIdentity>,
    def: Option<&Accepted>,
) -> Status {
    let r = lc.record();
    let (step, progress) = match lc.state() {
        State::Ceremony { step, done, total } => (
            Some(step.clone()),
            Some(Progress {
                done: *done,
                total: *total,
            }),
        ),
        _ => (None, None),
    };
    let next_retry_ms = match lc.state() {
        State::Failed { retry_at, .. } => retry_at.map(|t| t.0),
        _ => None,
    };
    let (connected, total) = lc.peers();
    Status {
        api: API_VERSION,
        state: lc.state().name().to_owned(),
        step,
        progress,
        peers: Peers {
            connected,
            total,
            list: def.map(|d| d.peers.clone()).unwrap_or_default(),
        },
        identity: id.map(|i| Identity {
            enr: i.enr.clone(),
            peer_id: i.peer_id.clone(),
        }),
        cluster: def.map(|d| Cluster {
            name: d.facts.name.clone(),
            definition_hash: d.facts.hash.clone(),
            operators: d.facts.operators,
        }),
        attempts: r.attempts,
        last_error: r.last_error.clone(),
        next_retry: next_retry_ms.map(rfc3339),
        next_retry_unix: next_retry_ms.map(|ms| ms / 1000),
        last_ceremony_secs: r.last_attempt_duration_ms.map(secs),
        step_secs: r
            .step_durations_ms
            .iter()
            .map(|(k, v)| (k.clone(), secs(*v)))
            .collect(),
        lock_hash: r.lock_hash.clone(),
        key_holder: match lc.state() {
            State::KeyLocked { holder, pid } => Some(KeyHolder {
                pid: *pid,
                description: holder.clone(),
            }),
            _ => None,
        },
        versions: Versions {
            dkgd: env!("CARGO_PKG_VERSION").to_owned(),
            api: API_VERSION,
        },
        uptime_secs: 0,
        backup: Default::default(),
        warnings: Vec::new(),
        wire: None,
        invite: None,
    }
}

/// The one-line summary for `STATUS=` and logs.
pub(super) fn status_line(s: &Status) -> String {
    let mut line = s.state.clone();
    if let (Some(step), Some(p)) = (&s.step, &s.progress) {
        line.push_str(&format!(": {step} {}/{}", p.done, p.total));
    }
    if matches!(s.state.as_str(), "awaiting-peers" | "ceremony") {
        line.push_str(&format!(", peers {}/{}", s.peers.connected, s.peers.total));
    }
    if let Some(h) = &s.key_holder {
        line.push_str(&format!(
            ": the identity key is in use by {}",
            h.description
        ));
    }
    if s.state == "failed" {
        if let Some(e) = &s.last_error {
            line.push_str(&format!(": {e}"));
        }
        if let Some(t) = &s.next_retry {
            line.push_str(&format!(" (retry at {t})"));
        }
    }
    line
}

#[allow(clippy::cast_precision_loss)] // milliseconds of a ceremony fit f64 exactly
fn secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix milliseconds (UTC; proleptic Gregorian).
pub(super) fn rfc3339(unix_ms: u64) -> String {
    dkgd_store::rfc3339_seconds(i64::try_from(unix_ms / 1000).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000_999), "2023-11-14T22:13:20Z");
    }
}
