//! dkgd-ceremony: charon's DKG ceremony as pure logic — from a cluster definition to verified,
//! charon-compatible artifacts (cluster lock, deposit-data files, keystores) as bytes.
//!
//! **What it does not do**: no network, no files, no clock, no OS randomness (`clippy.toml`
//! bans them; randomness always arrives as a `rand_core::CryptoRngCore`), no `unsafe`. Secret
//! shares stay inside `dkgd-crypto`'s zeroizing types until keystore encryption, the only way
//! out. Moving bytes between nodes is the driver's job: [`ceremony::Ceremony`] is the one
//! orchestrator, a sans-IO machine speaking charon's wire protocols, which the network driver
//! (`dkgd-node`) or the in-memory simulator (`dkgd-sim`) feeds with frames and timeouts.
//!
//! # The ceremony, top-down (charon-dkg-protocol.md §1.11)
//!
//! ```text
//!  step  charon sync step            this crate                               networked driver adds
//!  ────  ──────────────────────────  ───────────────────────────────────────  ───────────────────────
//!   0    preconditions               plan::Plan::new (version, algorithm, t,  data-dir preflight,
//!                                    n, V, network, ENRs, our index,          key lock, sync: version
//!                                    hashes, EIP-712 signatures)              + definition hash agree
//!   1    DKG                         keygen::start → frost round 1 → round 2  bcast of casts, p2p of
//!                                    → keygen::DkgOutput                      shares (protobuf)
//!   2    deposit data (per amount)   duties::Duties, partials::sign,          parsigex (duty 200+k),
//!                                    partials::aggregate_threshold            timeouts
//!   3    builder registrations       same, Duty::BuilderRegistration          parsigex (duty 102)
//!   4    lock hash                   assemble::draft → lock_hash,             parsigex (duty 101)
//!                                    partials::aggregate_lock_hash
//!   5    node signatures             nodesigs::sign / nodesigs::collect       bcast MsgNodeSig
//!   6    verify, then write          LockDraft::finish (verify_lock),         atomic commit through
//!                                    artifacts::build (bytes only)            dkgd-store, fsync
//!   7–8  post-write barrier,         —                                        sync barriers,
//!        shutdown                                                             "complete on all n"
//! ```
//!
//! Step by step:
//!
//! 1. **Plan** ([`plan`]): a definition is accepted only if `charon dkg` would accept it for
//!    the default FROST algorithm; the result names our [`PeerIdx`] (0-based) and
//!    [`ShareIdx`] (1-based). Errors name the JSON field ([`DefinitionProblem::field`]).
//! 2. **DKG** ([`keygen`]): `dkgd_crypto::frost` runs the two rounds for all validators at once;
//!    [`keygen::DkgOutput`] re-derives our public shares and decodes every key once.
//! 3. **Duties** ([`duties`]): deposit messages per distinct amount, then builder
//!    registrations, then the lock hash, each with its signing root.
//! 4. **Partial signatures** ([`partials`]): every node signs every duty with every share;
//!    aggregation needs all `n` peers, verifies each partial against the sender's public share
//!    (a bad one names the peer, duty and validator), then Lagrange-combines the first `t` and
//!    checks the group key — except the lock hash, whose `n × V` partials are summed plainly
//!    into `signature_aggregate` and checked with FastAggregateVerify.
//! 5. **Lock** ([`assemble`]): v1.6/v1.7/v1.8+ shapes, lock hash, `signature_aggregate`,
//!    `node_signatures` ([`nodesigs`]); `verify_lock` must pass every check before anything is
//!    returned.
//! 6. **Artifacts** ([`artifacts`]): lock JSON, deposit-data files, EIP-2335 keystores with
//!    their passwords — bytes for dkgd-store to write (keystores, lock, deposits, in that order).
//!
//! [`definition`] makes signed definitions for local clusters (tests, `dkgd demo`).
//!
//! # The wire machine
//!
//! [`ceremony::Ceremony`] (style.md §2: `handle_frame` / `poll_transmit` / `poll_timeout` /
//! `poll_event`) runs exactly these steps over charon's wire encodings ([`wire`]: protobuf,
//! parsigex's JSON-in-protobuf signatures keyed by validator pubkey, framings, version
//! [`wire::Profile`]s), with [`sync`] barriers between steps, [`bcast`] for casts and node
//! signatures, one file per step in [`steps`], per-step timeouts, progress events and abort
//! reasons that name the peer and the step.

#![cfg_attr(not(test), warn(clippy::indexing_slicing))]

pub mod artifacts;
pub mod assemble;
pub mod bcast;
pub mod ceremony;
pub mod definition;
pub mod duties;
mod duty;
pub mod error;
pub mod index;
pub mod keygen;
pub mod nodesigs;
pub mod partials;
pub mod plan;
pub mod step;
pub mod steps;
pub mod sync;
pub mod wire;

pub use artifacts::{Artifacts, Keystore};
pub use ceremony::{
    Ceremony, CeremonyConfig, CeremonyError, ErrorKind, Event, LocalCause, Outgoing, Stream,
};
pub use duties::{Duties, Duty};
pub use error::{DefinitionProblem, Error, Misbehaviour};
pub use index::{PeerIdx, ShareIdx, ValidatorIdx};
pub use plan::{Plan, PlanOptions};
pub use step::Step;

#[cfg(test)]
mod tests;
