//! CPU-heavy work the ceremony hands to its driver instead of doing it inside `handle_*`
//! (the quinn-proto pattern, issue 15 §1): [`Ceremony::poll_work`](super::Ceremony::poll_work)
//! yields a [`Work`], the driver calls [`Work::run`] off its event loop (a blocking thread;
//! the work itself spreads over the cores) and feeds the [`WorkDone`] back with
//! [`Ceremony::handle_work_done`](super::Ceremony::handle_work_done). Meanwhile the node keeps
//! answering sync and broadcast messages, so a large ceremony is never taken for a dead peer
//! while it encrypts keys.
//!
//! Today's one job: the keystores, scheduled as soon as the DKG has produced the key shares
//! (they are final then), so the KDF overlaps the signing steps; the files are still written
//! only at the commit.

use std::fmt;

use dkgd_crypto::keystore::{encrypt_all, KdfStrength, KeystoreError, KeystoreFile};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zeroize::Zeroizing;

/// Work to run off the event loop. Holds secrets (zeroized on drop); its `Debug` shows none.
pub struct Work {
    job: Job,
}

enum Job {
    Keystores {
        secrets: Vec<Zeroizing<[u8; 32]>>,
        kdf: KdfStrength,
        production: bool,
        seed: Zeroizing<[u8; 32]>,
    },
}

/// The result of a [`Work`], for [`Ceremony::handle_work_done`](super::Ceremony::handle_work_done).
pub struct WorkDone {
    pub(super) result: Done,
}

pub(super) enum Done {
    Keystores(Result<Vec<KeystoreFile>, KeystoreError>),
}

impl Work {
    /// Encrypting `secrets` into keystores, randomised by `seed` (deterministic for a seed).
    pub(super) fn keystores(
        secrets: Vec<Zeroizing<[u8; 32]>>,
        kdf: KdfStrength,
        production: bool,
        seed: Zeroizing<[u8; 32]>,
    ) -> Self {
        Work {
            job: Job::Keystores {
                secrets,
                kdf,
                production,
                seed,
            },
        }
    }

    /// Does the work (blocking, CPU-bound; uses every core). Never call it on an event loop.
    pub fn run(self) -> WorkDone {
        match self.job {
            Job::Keystores {
                secrets,
                kdf,
                production,
                seed,
            } => {
                let mut rng = ChaCha20Rng::from_seed(*seed);
                WorkDone {
                    result: Done::Keystores(encrypt_all(&secrets, kdf, production, &mut rng)),
                }
            }
        }
    }

    /// What it is, for logs (`keystores (100 keys)`).
    pub fn describe(&self) -> String {
        match &self.job {
            Job::Keystores { secrets, .. } => format!("keystores ({} keys)", secrets.len()),
        }
    }
}

impl fmt::Debug for Work {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Work({})", self.describe())
    }
}

impl fmt::Debug for WorkDone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.result {
            Done::Keystores(Ok(files)) => write!(f, "WorkDone(keystores: {})", files.len()),
            Done::Keystores(Err(e)) => write!(f, "WorkDone(keystores failed: {e})"),
        }
    }
}
