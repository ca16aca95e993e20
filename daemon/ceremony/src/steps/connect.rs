//! Sync step 0 → 1: wait until every peer is connected both ways with the same version and
//! definition hash (the [`SyncNode`] checks both), and the step barriers in between steps.

use crate::index::PeerIdx;
use crate::sync::SyncNode;

/// Peers whose sync client has not yet reached our server (for progress and timeouts).
pub(crate) fn unconnected(sync: &SyncNode, others: &[PeerIdx]) -> Vec<PeerIdx> {
    others
        .iter()
        .copied()
        .filter(|p| sync.peer_step(*p).is_none())
        .collect()
}

/// Peers that have not reported sync step `k` yet: who a barrier waits for.
pub(crate) fn behind(sync: &SyncNode, others: &[PeerIdx], k: u64) -> Vec<PeerIdx> {
    let k = i64::try_from(k).unwrap_or(i64::MAX);
    others
        .iter()
        .copied()
        .filter(|p| sync.peer_step(*p).is_none_or(|s| s < k))
        .collect()
}
