//! charon's sync client (`dkg/sync/client.go` `Run`, `sendMsgs`, `connect`) and the goroutine
//! `startSyncProtocol` runs it in.

use super::frame::Frames;
use super::net::{protocol, Net, SYNC};
use super::sync::Fatal;
use super::{CharonVersion, Fault, Journal};
use dkgd_ceremony::wire::proto::{MsgSync, MsgSyncResponse, Timestamp};
use dkgd_p2p::PeerStream;
use prost::Message;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Default)]
pub struct ClientState {
    pub connected: AtomicBool,
    pub reconnect: AtomicBool,
    pub step: AtomicI64,
    pub shutdown: Notify,
}

/// What a client puts in every message besides step and shutdown.
#[derive(Clone)]
pub struct Hello {
    pub hash_sig: Vec<u8>,
    pub version: &'static str,
    pub nickname: String,
}

enum Broke {
    /// A relay-style reset: always reconnect.
    Relay(String),
    /// The stream failed: reconnect if allowed.
    Conn(String),
    /// The peer answered with an error, or the context ended.
    Fatal(String),
}

/// `Client.Run` plus the goroutine around it in `startSyncProtocol` (failure cancels the
/// run, except after the shutdown started, v1.10+).
#[allow(clippy::too_many_arguments)]
pub async fn client_task(
    net: Arc<Net>,
    peer: usize,
    st: Arc<ClientState>,
    hello: Hello,
    version: CharonVersion,
    fault: Fault,
    shutdown_started: Arc<AtomicBool>,
    fatal: Fatal,
    journal: Journal,
) {
    let r = client_run(&net, peer, &st, &hello, &fault, &fatal, &journal).await;
    if let Err(e) = r {
        journal.note(format!("sync client to peer {peer} failed: {e}"));
        let ignore = version.shutdown_ready_step() && shutdown_started.load(Ordering::SeqCst);
        if !ignore {
            fatal.set(format!("sync client (peer {peer}): {e}"));
        }
    }
}

async fn client_run(
    net: &Net,
    peer: usize,
    st: &ClientState,
    hello: &Hello,
    fault: &Fault,
    fatal: &Fatal,
    journal: &Journal,
) -> Result<(), String> {
    let mut reset_at = match fault {
        Fault::ResetSyncAt(step) => Some(*step),
        _ => None,
    };
    loop {
        fatal.check()?;
        let mut s = connect(net, peer, st, fatal).await?;
        st.connected.store(true, Ordering::SeqCst);
        let r = send_msgs(&mut s, st, hello, &mut reset_at, fatal).await;
        st.connected.store(false, Ordering::SeqCst);
        match r {
            Ok(()) => return Ok(()),
            Err(Broke::Relay(e)) => {
                journal.note(format!("sync client to peer {peer}: {e}; reconnecting"));
                // The old circuit's end reaches the other side late (after the new stream
                // is up), as when a relay recycles a circuit.
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    let _ = s.close().await;
                });
            }
            Err(Broke::Conn(e)) if st.reconnect.load(Ordering::SeqCst) => {
                journal.note(format!(
                    "sync client to peer {peer}: reconnecting after {e}"
                ));
            }
            Err(Broke::Conn(e)) | Err(Broke::Fatal(e)) => return Err(e),
        }
    }
}

async fn connect(
    net: &Net,
    peer: usize,
    st: &ClientState,
    fatal: &Fatal,
) -> Result<PeerStream, String> {
    // charon sets no deadline on its sync client streams (a read blocks until an answer).
    let p = protocol(SYNC, None);
    let mut backoff = Duration::from_millis(100);
    loop {
        fatal.check()?;
        match net.open(peer, &p).await {
            Ok(s) => return Ok(s),
            Err(e) if st.reconnect.load(Ordering::SeqCst) => {
                let _ = e;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
            Err(e) => return Err(format!("client connect: open connection: {e}")),
        }
    }
}

fn now_timestamp() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

/// `sendMsgs`: a message at once, then one per 100 ms tick, until shutdown or error.
async fn send_msgs(
    s: &mut PeerStream,
    st: &ClientState,
    hello: &Hello,
    reset_at: &mut Option<i64>,
    fatal: &Fatal,
) -> Result<(), Broke> {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let shutdown = tokio::select! {
            () = st.shutdown.notified() => true,
            _ = tick.tick() => false,
        };
        fatal.check().map_err(Broke::Fatal)?;
        if !shutdown && reset_at.is_some_and(|k| st.step.load(Ordering::SeqCst) >= k) {
            *reset_at = None;
            return Err(Broke::Relay("test fault: stream reset".to_owned()));
        }
        let msg = MsgSync {
            timestamp: Some(now_timestamp()),
            hash_signature: hello.hash_sig.clone(),
            shutdown,
            version: hello.version.to_owned(),
            step: st.step.load(Ordering::SeqCst),
            nickname: hello.nickname.clone(),
        };
        s.send_frame(&msg.encode_to_vec())
            .await
            .map_err(|e| Broke::Conn(format!("write: {e}")))?;
        let frame = s
            .recv_frame()
            .await
            .map_err(|e| Broke::Conn(format!("read: {e}")))?;
        let resp = MsgSyncResponse::decode(frame.as_slice())
            .map_err(|e| Broke::Conn(format!("unmarshal proto: {e}")))?;
        if shutdown {
            return Ok(());
        }
        if !resp.error.is_empty() {
            return Err(Broke::Fatal(format!(
                "peer responded with error: {}",
                resp.error
            )));
        }
    }
}
