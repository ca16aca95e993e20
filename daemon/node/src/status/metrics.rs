//! `GET /metrics`: the Prometheus text exposition format (version 0.0.4) of a status.

use super::model::{Status, INVITE_STATES};
use crate::lifecycle::State;
use std::fmt::Write;

/// Renders `status` as Prometheus text: state as a labelled gauge, peers connected, ceremony
/// attempts, last ceremony duration, step durations, uptime.
pub fn render(status: &Status) -> String {
    let mut out = String::with_capacity(1024);
    family(
        &mut out,
        "dkgd_state",
        "gauge",
        "1 for the daemon's current state, 0 for the others.",
    );
    for &name in State::NAMES.iter().chain(INVITE_STATES.iter()) {
        let v = u8::from(status.state == name);
        let _ = writeln!(out, "dkgd_state{{state=\"{name}\"}} {v}");
    }
    family(
        &mut out,
        "dkgd_peers_connected",
        "gauge",
        "Cluster peers connected during the ceremony (not counting this node).",
    );
    let _ = writeln!(out, "dkgd_peers_connected {}", status.peers.connected);
    family(
        &mut out,
        "dkgd_peers_total",
        "gauge",
        "Other operators in the cluster.",
    );
    let _ = writeln!(out, "dkgd_peers_total {}", status.peers.total);
    family(
        &mut out,
        "dkgd_ceremony_attempts",
        "gauge",
        "Ceremony attempts started for the current cluster definition.",
    );
    let _ = writeln!(out, "dkgd_ceremony_attempts {}", status.attempts);
    family(
        &mut out,
        "dkgd_last_ceremony_duration_seconds",
        "gauge",
        "Duration of the last finished ceremony attempt.",
    );
    let _ = writeln!(
        out,
        "dkgd_last_ceremony_duration_seconds {}",
        status.last_ceremony_secs.unwrap_or(0.0)
    );
    family(
        &mut out,
        "dkgd_ceremony_step_duration_seconds",
        "gauge",
        "Time spent in each step of the last ceremony attempt.",
    );
    for (step, secs) in &status.step_secs {
        let _ = writeln!(
            out,
            "dkgd_ceremony_step_duration_seconds{{step=\"{}\"}} {secs}",
            escape(step)
        );
    }
    family(
        &mut out,
        "dkgd_next_retry_timestamp_seconds",
        "gauge",
        "Unix time of the next ceremony attempt (0 when none is scheduled).",
    );
    let _ = writeln!(
        out,
        "dkgd_next_retry_timestamp_seconds {}",
        status.next_retry_unix.unwrap_or(0)
    );
    family(
        &mut out,
        "dkgd_uptime_seconds",
        "gauge",
        "Seconds since the daemon started.",
    );
    let _ = writeln!(out, "dkgd_uptime_seconds {}", status.uptime_secs);
    backups(&mut out, status);
    invite(&mut out, status);
    family(
        &mut out,
        "dkgd_build_info",
        "gauge",
        "Always 1; the labels carry the versions.",
    );
    let _ = writeln!(
        out,
        "dkgd_build_info{{version=\"{}\",api=\"{}\"}} 1",
        escape(&status.versions.dkgd),
        status.versions.api
    );
    out
}

/// Backup count, recipients, and the newest backup's time and age (README "Backups").
fn backups(out: &mut String, status: &Status) {
    let b = &status.backup;
    family(
        out,
        "dkgd_backups_stored",
        "gauge",
        "Automatic backups kept in the state database (at most 5 per kind).",
    );
    let _ = writeln!(out, "dkgd_backups_stored {}", b.count);
    family(
        out,
        "dkgd_backup_recipients",
        "gauge",
        "Owner keys backups are encrypted to (0: the keys exist only on this box).",
    );
    let _ = writeln!(out, "dkgd_backup_recipients {}", b.recipients);
    family(
        out,
        "dkgd_backup_last_timestamp_seconds",
        "gauge",
        "Unix time of the newest backup (0 when there is none).",
    );
    let _ = writeln!(
        out,
        "dkgd_backup_last_timestamp_seconds {}",
        b.last_unix.unwrap_or(0)
    );
    if let Some(last) = b.last_unix {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        family(
            out,
            "dkgd_backup_age_seconds",
            "gauge",
            "Seconds since the newest backup was made.",
        );
        let _ = writeln!(out, "dkgd_backup_age_seconds {}", now.saturating_sub(last));
    }
}

/// Obol API requests by outcome and the operators signed, while an invite is resolved.
fn invite(out: &mut String, status: &Status) {
    let Some(i) = &status.invite else {
        return;
    };
    family(
        out,
        "dkgd_api_requests_total",
        "counter",
        "Obol API requests by outcome (ok, not-found, retry-later, unreachable, server-error, refused).",
    );
    for (outcome, n) in &i.requests {
        let _ = writeln!(
            out,
            "dkgd_api_requests_total{{outcome=\"{}\"}} {n}",
            escape(outcome)
        );
    }
    family(
        out,
        "dkgd_invite_operators_signed",
        "gauge",
        "Operators of the invited cluster that accepted (of dkgd_invite_operators).",
    );
    let _ = writeln!(out, "dkgd_invite_operators_signed {}", i.signed);
    family(
        out,
        "dkgd_invite_operators",
        "gauge",
        "Operators of the invited cluster.",
    );
    let _ = writeln!(out, "dkgd_invite_operators {}", i.operators);
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Escapes a label value (`\`, `"` and newlines).
fn escape(v: &str) -> String {
    v.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_state_is_set_and_labels_are_escaped() {
        let mut s = Status {
            state: "ceremony".into(),
            ..Status::default()
        };
        s.step_secs.insert("frost \"round\" 1".into(), 1.5);
        let text = render(&s);
        assert!(text.contains("dkgd_state{state=\"ceremony\"} 1\n"));
        assert!(text.contains("dkgd_state{state=\"failed\"} 0\n"));
        assert!(text.contains(r#"{step="frost \"round\" 1"} 1.5"#), "{text}");
        assert!(text.contains("dkgd_backups_stored 0\n"), "{text}");
        assert!(!text.contains("dkgd_backup_age_seconds"), "{text}");
        s.backup.count = 2;
        s.backup.last_unix = Some(1);
        let text = render(&s);
        assert!(text.contains("dkgd_backups_stored 2\n"), "{text}");
        assert!(text.contains("dkgd_backup_age_seconds "), "{text}");
        assert!(!text.contains("dkgd_api_requests_total"), "{text}");
    }

    #[test]
    fn api_requests_by_outcome_while_an_invite_is_resolved() {
        let mut invite = crate::status::model::Invite {
            signed: 2,
            operators: 4,
            ..Default::default()
        };
        invite.requests.insert("ok".into(), 3);
        invite.requests.insert("retry-later".into(), 1);
        let s = Status {
            invite: Some(invite),
            ..Status::default()
        };
        let text = render(&s);
        assert!(
            text.contains("dkgd_api_requests_total{outcome=\"ok\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("dkgd_api_requests_total{outcome=\"retry-later\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("dkgd_invite_operators_signed 2\n"), "{text}");
        assert!(
            text.contains("# TYPE dkgd_api_requests_total counter\n"),
            "{text}"
        );
    }
}
