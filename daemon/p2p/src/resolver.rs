//! Background resolution of relay URLs (charon `p2p/bootnode.go` `resolveRelay`): query
//! until an answer parses (backing off between failures, 10 s per attempt), report the relay
//! when its identity or addresses change, then look again after the refresh interval.

use crate::http::HttpUrl;
use crate::relay_addr::{fetch_relay, RelayQuery, ResolvedRelay, RELAY_HTTP_TIMEOUT};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// First and largest pause between failed attempts.
const BACKOFF_MIN: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// A relay URL that resolved (again).
#[derive(Debug)]
pub(crate) struct Resolved {
    /// Index of the relay in the host's relay list.
    pub(crate) slot: usize,
    /// The URL, for logs and events.
    pub(crate) url: String,
    /// What it resolved to.
    pub(crate) relay: ResolvedRelay,
}

/// Spawns the resolver of relay `slot`. It stops when `tx` is closed (the host stopped) or
/// when the returned handle is aborted.
pub(crate) fn spawn(
    slot: usize,
    url: HttpUrl,
    query: RelayQuery,
    refresh: Duration,
    tx: mpsc::Sender<Resolved>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut last: Option<ResolvedRelay> = None;
        loop {
            let relay = resolve_once(&url, &query).await;
            if last.as_ref() != Some(&relay) {
                last = Some(relay.clone());
                let msg = Resolved {
                    slot,
                    url: url.to_string(),
                    relay,
                };
                if tx.send(msg).await.is_err() {
                    return;
                }
            }
            tokio::select! {
                () = tokio::time::sleep(refresh) => {}
                () = tx.closed() => return,
            }
        }
    })
}

/// Queries until one answer parses.
async fn resolve_once(url: &HttpUrl, query: &RelayQuery) -> ResolvedRelay {
    let mut backoff = BACKOFF_MIN;
    loop {
        match fetch_relay(url, query, RELAY_HTTP_TIMEOUT).await {
            Ok(relay) => return relay,
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?backoff, "failed to resolve relay (will retry)");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}
