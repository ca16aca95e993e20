//! FROST distributed key generation, byte-compatible with charon's kryptology-based FROST
//! (charon-dkg-protocol.md §1.7, messages §1.13), plus threshold BLS helpers (§1.9).
//!
//! Pure and sans-IO: every function takes its inputs as values and randomness as a
//! `rand_core::CryptoRngCore`, so a seed reproduces a whole ceremony. One participant runs the
//! ceremony for all `V` validators at once:
//!
//! ```text
//!  round1(params, me, rng) ──► AwaitRound1 + Round1Output { cast → all, direct[j] → j }
//!        │ handle_round1(n casts incl. ours, n−1 direct, rng)   checks: keys, c≠0, t valid
//!        ▼                                                      commitments, PoK, Feldman
//!  AwaitRound2 + Round2Casts (Y, vk_me) → all
//!        │ handle_round2(n casts incl. ours, rng)               checks: Y_j = Y,
//!        ▼                                                      vk_j = Σ_m C_m·j^m
//!  Vec<ValidatorKeys> { group_key, public_shares, secret_share }
//! ```
//!
//! Any error aborts; peer faults name the share index and validator ([`FrostError::culprit`]).
//!
//! Backend: field and group arithmetic through `blstrs` (a safe wrapper over blst; the
//! workspace forbids `unsafe`, so blst's raw `blst_p1`/`blst_fr` FFI cannot be called from
//! here), MSM through blst's Pippenger (`blstrs::G1Projective::multi_exp`), the challenge hash
//! through blst's safe `blst_scalar::hash_to` (which is exactly "expand_message_xmd to 48
//! bytes, big-endian, mod r"), BLS signing through `blst::min_pk`. Secret scalars live in
//! zeroizing containers; public data is variable-time, secret-dependent multiplications use
//! blst's constant-time ladder.
//!
//! # Compatibility decisions (ambiguities resolved)
//! * **Challenge**: `c = H(byte(i) ‖ 0x00 ‖ A_i0 ‖ R)`, `H` = RFC 9380 `expand_message_xmd`
//!   (SHA-256, DST `BLS12381_XMD:SHA-256_SSWU_RO_`, 48 bytes) read big-endian mod r. `i` is
//!   the **sender's** share index (the prover's id, also on verification), `ctx` is always 0.
//! * **R' check**: the verifier recomputes `R' = w·G − c·A_0` and compares the recomputed
//!   challenge with `c` as field elements (both canonical, so byte equality is the same).
//!   `R'` is hashed compressed even if it is the identity (`0xc0 ‖ 0…`), like kryptology.
//! * **Which proofs are checked**: kryptology skips its own broadcast; we compare our echoed
//!   broadcast byte for byte with what we sent instead (a relay that alters it is caught).
//! * **Check order**: kryptology first checks every sender's `c ≠ 0`, then every commitment,
//!   then proofs and shares per sender. We check per validator, per sender in share-index
//!   order, so the reported fault is the first in (validator, sender) order. Acceptance is
//!   identical; only which of several simultaneous faults is reported may differ.
//! * **Share id**: `FrostRound1ShamirShare.id` is the recipient's share index (the Shamir
//!   evaluation point); we require it to equal ours and `target_id`.
//! * **Thresholds**: `2 ≤ t ≤ n ≤ 255` as kryptology's Feldman constructor and one-byte ids
//!   impose; a non-zero constant term as kryptology's `Round1` insists.
//! * **Beyond charon**: the reported `Y_j` and `vk_j` of every peer are checked against the
//!   round-1 commitments; Feldman checks of all senders are batched (one MSM per validator).

mod batch;
mod codec;
mod collect;
mod error;
mod finish;
mod msgs;
mod params;
mod poly;
mod proof;
mod round1;
mod round2;
mod share;
pub mod threshold;

pub use error::{FrostError, Round};
pub use finish::{AwaitRound2, ValidatorKeys};
pub use msgs::{
    MsgKey, Round1Cast, Round1Casts, Round1Output, Round1P2P, Round1ShamirShare, Round2Cast,
    Round2Casts, ShareBytes,
};
pub use params::{FrostParams, ShareIdx, MAX_PARTICIPANTS, MAX_VALIDATORS};
pub use round1::{round1, AwaitRound1};
pub use share::SecretShare;
