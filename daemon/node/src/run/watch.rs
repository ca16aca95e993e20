//! Wakes the main loop when something is written into a watched folder (inotify), so a daemon
//! awaiting a definition sleeps instead of polling (issue 16: an idle box is idle). The loop
//! still looks on a slow timer too, in case an event was missed (a queue overflow, a file
//! system without inotify support); without inotify at all it falls back to polling.

use std::path::Path;

use nix::errno::Errno;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use tokio::sync::mpsc;

/// Watches folders for files that were written, moved in, created or removed. A thread of its
/// own sleeps in a blocking read of the inotify descriptor (no timer, no wake-up while nothing
/// happens) and signals the loop through a channel that coalesces bursts into one wake-up.
pub(super) struct DirWatch {
    rx: mpsc::Receiver<()>,
}

impl DirWatch {
    /// Watches every folder of `dirs` that exists; `None` when inotify is unavailable or
    /// none could be watched (the caller then polls).
    pub(super) fn new(dirs: &[&Path]) -> Option<Self> {
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC)
            .map_err(|e| tracing::info!(error = %e, "no inotify: polling the inbox instead"))
            .ok()?;
        let flags = AddWatchFlags::IN_CLOSE_WRITE
            | AddWatchFlags::IN_MOVED_TO
            | AddWatchFlags::IN_CREATE
            | AddWatchFlags::IN_DELETE
            | AddWatchFlags::IN_ATTRIB;
        let mut watched = 0;
        for dir in dirs {
            match inotify.add_watch(*dir, flags) {
                Ok(_) => watched += 1,
                Err(e) => {
                    tracing::debug!(dir = %dir.display(), error = %e, "cannot watch a folder");
                }
            }
        }
        if watched == 0 {
            return None;
        }
        let (tx, rx) = mpsc::channel(1);
        std::thread::Builder::new()
            .name("dkgd-inbox".into())
            .spawn(move || loop {
                match inotify.read_events() {
                    // A full channel already holds a wake-up: this one merges into it.
                    Ok(_) => match tx.try_send(()) {
                        Ok(()) | Err(mpsc::error::TrySendError::Full(())) => {}
                        Err(mpsc::error::TrySendError::Closed(())) => return,
                    },
                    Err(Errno::EINTR) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "the inbox watch stopped: looking every minute instead");
                        return;
                    }
                }
            })
            .map_err(|e| tracing::info!(error = %e, "cannot start the inbox watch: polling instead"))
            .ok()?;
        Some(Self { rx })
    }

    /// Waits until something changed since the last call (never, once the watch stopped).
    pub(super) async fn changed(&mut self) {
        if self.rx.recv().await.is_none() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DirWatch;
    use std::time::Duration;

    #[tokio::test]
    async fn a_file_written_into_a_watched_folder_wakes_the_watcher() {
        let d = tempfile::tempdir().expect("tempdir");
        let mut w = DirWatch::new(&[d.path()]).expect("inotify");
        // Nothing happened yet: no wake-up.
        let idle = tokio::time::timeout(Duration::from_millis(100), w.changed()).await;
        assert!(idle.is_err(), "woke without an event");
        std::fs::write(d.path().join("cluster-definition.json"), b"{}").expect("write");
        tokio::time::timeout(Duration::from_secs(5), w.changed())
            .await
            .expect("the write was seen");
        // The events of that one write come as one wake-up (or at most two, if the reader
        // thread took them in two reads); after that it is quiet.
        let _ = tokio::time::timeout(Duration::from_millis(100), w.changed()).await;
        let after = tokio::time::timeout(Duration::from_millis(100), w.changed()).await;
        assert!(after.is_err(), "one write woke the watcher twice");
    }

    #[test]
    fn no_folder_to_watch_means_polling() {
        let d = tempfile::tempdir().expect("tempdir");
        assert!(DirWatch::new(&[&d.path().join("missing")]).is_none());
    }
}
