//! CPU-heavy work the ceremony hands to its driver instead of doing it inside `handle_*`
//! (the quinn-proto pattern, issue 15 §1): [`Ceremony::poll_work`](super::Ceremony::poll_work)
//! yields a [`Work`], the driver calls [`Work::run`] off its event loop (a blocking thread;
//! the work itself spreads over the cores) and feeds the [`WorkDone`] back with
//! [`Ceremony::handle_work_done`](super::Ceremony::handle_work_done). Meanwhile the node keeps
//! answering sync and broadcast messages, so a large ceremony is never taken for a dead peer
//! while it encrypts keys.
//!
//! The jobs, each of which grows with the number of validators V (and operators n):
//!
//! | job | when | what |
//! |---|---|---|
//! | FROST round 1 | every peer's round-1 cast and direct message arrived | verify n·V proofs and shares, make our round-2 cast |
//! | FROST round 2 | every round-2 cast arrived | verify and combine into our key shares |
//! | sign a duty | a signing step starts | V partial signatures with our shares |
//! | aggregate a duty | every peer's partials arrived | batch-verify n·V partials, combine, check the group keys (or sum, for the lock hash) |
//! | verify and render | step 6, keystores ready | every check of the lock, deposit files, keystore checks |
//! | keystores | right after the DKG (shares are final) | one KDF per key; overlaps the signing steps; written only at the commit |

use std::fmt;

use dkgd_crypto::frost::{
    AwaitRound1, AwaitRound2, FrostError, FrostParams, Round1Casts, Round1Output, Round1P2P,
    Round2Casts, ValidatorKeys,
};
use dkgd_crypto::keystore::{encrypt_all, KdfStrength, KeystoreError, KeystoreFile};

use std::sync::Arc;

use crate::artifacts::Artifacts;
use crate::duties::{Duties, Duty};
use crate::error::Error;
use crate::index::{PeerIdx, ShareIdx};
use crate::keygen::{frost_error, DkgOutput};
use crate::partials::{self, PartialSignatures};
use crate::plan::Plan;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zeroize::Zeroizing;

/// Work to run off the event loop. Holds secrets (zeroized on drop); its `Debug` shows none.
pub struct Work {
    job: Job,
}

enum Job {
    FrostStart {
        params: FrostParams,
        me: ShareIdx,
        seed: Zeroizing<[u8; 32]>,
    },
    FrostRound1 {
        state: AwaitRound1,
        casts: Vec<(ShareIdx, Round1Casts)>,
        direct: Vec<(ShareIdx, Round1P2P)>,
        seed: Zeroizing<[u8; 32]>,
    },
    FrostRound2 {
        plan: Plan,
        state: AwaitRound2,
        casts: Vec<(ShareIdx, Round2Casts)>,
        seed: Zeroizing<[u8; 32]>,
    },
    Sign {
        duties: Duties,
        duty: Duty,
        dkg: Arc<DkgOutput>,
    },
    Aggregate {
        plan: Plan,
        duties: Duties,
        dkg: Arc<DkgOutput>,
        duty: Duty,
        received: Vec<(PeerIdx, PartialSignatures)>,
    },
    Render {
        validators: usize,
        render: Renderer,
    },
    Keystores {
        secrets: Vec<Zeroizing<[u8; 32]>>,
        kdf: KdfStrength,
        production: bool,
        seed: Zeroizing<[u8; 32]>,
    },
}

/// Step 6's verification and rendering, built by the step (which knows its inputs' types).
type Renderer = Box<dyn FnOnce() -> Result<Artifacts, Error> + Send>;

/// The DKG's result as the signing steps use it.
pub(crate) struct Keys {
    /// Shared with the driver's signing work (never copied: it holds the secret shares).
    pub(crate) dkg: Arc<DkgOutput>,
    pub(crate) duties: Duties,
    pub(crate) group_keys: Vec<[u8; 48]>,
}

/// The result of a [`Work`], for [`Ceremony::handle_work_done`](super::Ceremony::handle_work_done).
pub struct WorkDone {
    pub(crate) result: Done,
}

pub(crate) enum Done {
    FrostStarted(Result<(AwaitRound1, Round1Output), FrostError>),
    FrostRound1(Result<(AwaitRound2, Round2Casts), FrostError>),
    /// The DKG's output, checked, with the duties it makes (their messages and roots).
    FrostRound2(Result<Box<Keys>, Error>),
    Signed(Result<PartialSignatures, Error>),
    /// One signature per validator (threshold duties), or one aggregate (the lock hash).
    Aggregated(Result<Vec<[u8; 96]>, Error>),
    Rendered(Result<Box<Artifacts>, Error>),
    Keystores(Result<Vec<KeystoreFile>, KeystoreError>),
}

impl Work {
    /// Our FROST round-1 messages for every validator (polynomials, commitments, proofs and
    /// every peer's shares), from `seed`.
    pub(crate) fn frost_start(
        params: FrostParams,
        me: ShareIdx,
        seed: Zeroizing<[u8; 32]>,
    ) -> Self {
        Work {
            job: Job::FrostStart { params, me, seed },
        }
    }

    /// FROST round 1 for every validator, randomised (batch weights) by `seed`.
    pub(crate) fn frost_round1(
        state: AwaitRound1,
        casts: Vec<(ShareIdx, Round1Casts)>,
        direct: Vec<(ShareIdx, Round1P2P)>,
        seed: Zeroizing<[u8; 32]>,
    ) -> Self {
        Work {
            job: Job::FrostRound1 {
                state,
                casts,
                direct,
                seed,
            },
        }
    }

    /// FROST round 2 for every validator, then the checked output (every public key share
    /// subgroup-checked) and the duties' signing roots: all of it grows with n·V.
    pub(crate) fn frost_round2(
        plan: &Plan,
        state: AwaitRound2,
        casts: Vec<(ShareIdx, Round2Casts)>,
        seed: Zeroizing<[u8; 32]>,
    ) -> Self {
        Work {
            job: Job::FrostRound2 {
                plan: plan.clone(),
                state,
                casts,
                seed,
            },
        }
    }

    /// Signing `duty` for every validator with our shares.
    pub(crate) fn sign(duties: &Duties, duty: Duty, dkg: &Arc<DkgOutput>) -> Self {
        Work {
            job: Job::Sign {
                duties: duties.clone(),
                duty,
                dkg: Arc::clone(dkg),
            },
        }
    }

    /// Verifying and aggregating every peer's partials of `duty` (threshold-combined per
    /// validator, or summed for the lock hash).
    pub(crate) fn aggregate(
        plan: &Plan,
        duties: &Duties,
        dkg: &Arc<DkgOutput>,
        duty: Duty,
        received: Vec<(PeerIdx, PartialSignatures)>,
    ) -> Self {
        Work {
            job: Job::Aggregate {
                plan: plan.clone(),
                duties: duties.clone(),
                dkg: Arc::clone(dkg),
                duty,
                received,
            },
        }
    }

    /// Verifying the finished lock and rendering the artifacts of `validators` (step 6).
    pub(crate) fn render(
        validators: usize,
        render: impl FnOnce() -> Result<Artifacts, Error> + Send + 'static,
    ) -> Self {
        Work {
            job: Job::Render {
                validators,
                render: Box::new(render),
            },
        }
    }

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
        let result = match self.job {
            Job::FrostStart { params, me, seed } => {
                let mut rng = ChaCha20Rng::from_seed(*seed);
                Done::FrostStarted(dkgd_crypto::frost::round1(params, me, &mut rng))
            }
            Job::FrostRound1 {
                state,
                casts,
                direct,
                seed,
            } => {
                let mut rng = ChaCha20Rng::from_seed(*seed);
                Done::FrostRound1(state.handle_round1(&casts, &direct, &mut rng))
            }
            Job::FrostRound2 {
                plan,
                state,
                casts,
                seed,
            } => {
                let mut rng = ChaCha20Rng::from_seed(*seed);
                Done::FrostRound2(finish_dkg(&plan, state.handle_round2(&casts, &mut rng)))
            }
            Job::Sign { duties, duty, dkg } => Done::Signed(partials::sign(&duties, duty, &dkg)),
            Job::Aggregate {
                plan,
                duties,
                dkg,
                duty,
                received,
            } => Done::Aggregated(if duty == Duty::LockHash {
                partials::aggregate_lock_hash(&plan, &duties, dkg.public(), &received)
                    .map(|a| vec![a])
            } else {
                partials::aggregate_threshold(&plan, &duties, dkg.public(), duty, &received)
            }),
            Job::Render { render, .. } => Done::Rendered(render().map(Box::new)),
            Job::Keystores {
                secrets,
                kdf,
                production,
                seed,
            } => {
                let mut rng = ChaCha20Rng::from_seed(*seed);
                Done::Keystores(encrypt_all(&secrets, kdf, production, &mut rng))
            }
        };
        WorkDone { result }
    }

    /// What it is, for logs (`keystores (100 keys)`).
    pub fn describe(&self) -> String {
        match &self.job {
            Job::FrostStart { params, .. } => {
                format!(
                    "FROST round-1 messages ({} validators)",
                    params.validators()
                )
            }
            Job::FrostRound1 { casts, .. } => format!("FROST round 1 ({} senders)", casts.len()),
            Job::FrostRound2 { casts, .. } => format!("FROST round 2 ({} senders)", casts.len()),
            Job::Sign { duty, .. } => format!("sign {duty:?}"),
            Job::Aggregate { duty, received, .. } => {
                format!("aggregate {duty:?} ({} sets)", received.len())
            }
            Job::Render { validators, .. } => {
                format!("verify and render ({validators} validators)")
            }
            Job::Keystores { secrets, .. } => format!("keystores ({} keys)", secrets.len()),
        }
    }
}

/// The DKG's keys, checked, with their duties.
fn finish_dkg(
    plan: &Plan,
    keys: Result<Vec<ValidatorKeys>, FrostError>,
) -> Result<Box<Keys>, Error> {
    let dkg = DkgOutput::new(plan, keys.map_err(frost_error)?)?;
    let group_keys = dkg.public().group_keys();
    let duties = Duties::new(plan, &group_keys)?;
    Ok(Box::new(Keys {
        dkg: Arc::new(dkg),
        duties,
        group_keys,
    }))
}

impl fmt::Debug for Work {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Work({})", self.describe())
    }
}

impl fmt::Debug for WorkDone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.result {
            Done::FrostStarted(r) => write!(f, "WorkDone(FROST start, ok: {})", r.is_ok()),
            Done::FrostRound1(r) => write!(f, "WorkDone(FROST round 1, ok: {})", r.is_ok()),
            Done::FrostRound2(r) => write!(f, "WorkDone(FROST round 2, ok: {})", r.is_ok()),
            Done::Signed(r) => write!(f, "WorkDone(signed, ok: {})", r.is_ok()),
            Done::Aggregated(r) => write!(f, "WorkDone(aggregated, ok: {})", r.is_ok()),
            Done::Rendered(r) => write!(f, "WorkDone(rendered, ok: {})", r.is_ok()),
            Done::Keystores(Ok(files)) => write!(f, "WorkDone(keystores: {})", files.len()),
            Done::Keystores(Err(e)) => write!(f, "WorkDone(keystores failed: {e})"),
        }
    }
}
