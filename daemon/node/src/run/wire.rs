//! The ceremony child's wire-profile reports (`--progress-json` `profile`, `peer_version`,
//! `peer_skipped_shutdown_ready` lines) folded into the status document's `wire` section.

use super::progress::ProgressEvent;
use crate::status::model::Wire;

/// Applies `event` to `wire`; `true` if it was a wire report (the status changed).
pub(super) fn apply(wire: &mut Option<Wire>, event: ProgressEvent) -> bool {
    match event {
        ProgressEvent::Profile {
            name,
            switched_from,
        } => {
            // A new ceremony starts with its initial profile: forget the last one's.
            let w = match wire {
                Some(w) if switched_from.is_some() => w,
                _ => wire.insert(Wire::default()),
            };
            w.profile = name;
            w.negotiated_from = switched_from;
        }
        ProgressEvent::PeerVersion { operator, version } => {
            wire.get_or_insert_with(Wire::default)
                .peer_versions
                .insert(operator, version);
        }
        ProgressEvent::PeerSkippedShutdownReady { operator } => {
            let w = wire.get_or_insert_with(Wire::default);
            if !w.ended_without_shutdown_ready.contains(&operator) {
                w.ended_without_shutdown_ready.push(operator);
            }
        }
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_negotiated_ceremony_is_reported() {
        let mut w = None;
        assert!(apply(
            &mut w,
            ProgressEvent::Profile {
                name: "v1.10".into(),
                switched_from: None
            }
        ));
        assert!(apply(
            &mut w,
            ProgressEvent::PeerVersion {
                operator: 2,
                version: "v1.7".into()
            }
        ));
        assert!(apply(
            &mut w,
            ProgressEvent::Profile {
                name: "v1.7".into(),
                switched_from: Some("v1.10".into())
            }
        ));
        assert!(apply(
            &mut w,
            ProgressEvent::PeerSkippedShutdownReady { operator: 2 }
        ));
        let w = w.expect("wire");
        assert_eq!(w.profile, "v1.7");
        assert_eq!(w.negotiated_from.as_deref(), Some("v1.10"));
        assert_eq!(w.peer_versions.get(&2).map(String::as_str), Some("v1.7"));
        assert_eq!(w.ended_without_shutdown_ready, vec![2]);
        // The next ceremony starts afresh.
        let mut w = Some(w);
        apply(
            &mut w,
            ProgressEvent::Profile {
                name: "v1.10".into(),
                switched_from: None,
            },
        );
        assert!(w.is_some_and(|w| w.peer_versions.is_empty()));
        assert!(!apply(
            &mut None,
            ProgressEvent::Connected { peers: 1, total: 3 }
        ));
    }
}
