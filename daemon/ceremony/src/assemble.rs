//! Steps 4–6: the cluster lock (formats.md §3.1, §3.6), drafted from the DKG result and the
//! aggregated duties, hashed, then completed with `signature_aggregate` and `node_signatures`
//! and verified before anything leaves this crate.
//!
//! ```text
//!  draft(plan, duties, public keys, signed duties) ──▶ LockDraft { lock, lock_hash }
//!      lock_hash ──▶ partials (LockHash) and node signatures ──▶ LockDraft::finish ──▶ Lock
//!                                                            (verify_lock must all pass)
//! ```
//!
//! Lock shapes by version: v1.6 one `deposit_data` and no registration (generated, then
//! blanked), v1.7 one `deposit_data` plus `builder_registration`, v1.8+ `partial_deposit_data`
//! with one entry per distinct amount plus `builder_registration`. Node signatures are kept
//! from v1.7 only.

use dkgd_formats::definition::Version;
use dkgd_formats::lock::{DistValidator, Lock};
use dkgd_formats::ssz::Root;
use dkgd_formats::verify::{verify_definition, verify_lock, Status};

use crate::duties::{Duties, Duty};
use crate::error::Error;
use crate::index::validators;
use crate::keygen::PublicKeys;
use crate::plan::Plan;

/// The lock before its signatures: everything the lock hash covers.
#[derive(Debug, Clone)]
pub struct LockDraft {
    lock: Lock,
    lock_hash: Root,
    no_verify: bool,
}

/// Drafts the lock: the plan's definition plus, per validator, its keys, deposit data (one
/// entry per amount) and builder registration. `signed` holds the aggregated signatures of
/// every duty of [`Duties::before_lock`], one per validator.
pub fn draft(
    plan: &Plan,
    duties: &Duties,
    public: &PublicKeys,
    signed: &[(Duty, Vec<[u8; 96]>)],
) -> Result<LockDraft, Error> {
    let version = plan.version();
    let sigs_of = |duty: Duty| {
        signed
            .iter()
            .find(|(d, _)| *d == duty)
            .map(|(_, s)| s)
            .filter(|s| s.len() == plan.num_validators())
            .ok_or(Error::Internal("a duty was not aggregated before the lock"))
    };
    let deposit_duties: Vec<Duty> = duties
        .before_lock()
        .into_iter()
        .filter(|d| matches!(d, Duty::Deposit { .. }))
        .collect();
    if version < Version::V1_8 && deposit_duties.len() != 1 {
        return Err(Error::Internal("v1.6/v1.7 locks hold exactly one deposit"));
    }
    let registrations = sigs_of(Duty::BuilderRegistration)?;
    let mut out = Vec::with_capacity(plan.num_validators());
    for (v, keys) in validators(plan.num_validators()).zip(public.validators()) {
        let mut dv = DistValidator::new(
            keys.group_key.to_bytes(),
            keys.public_shares.iter().map(|k| k.to_bytes()).collect(),
        );
        for duty in &deposit_duties {
            let sig = sigs_of(*duty)?
                .get(v.as_usize())
                .ok_or(Error::Internal("deposit signature per validator"))?;
            dv.deposit_data.push(duties.deposit_data(*duty, v, *sig)?);
        }
        // charon signs registrations for v1.6 too, then blanks them (formats.md §3.6).
        if version >= Version::V1_7 {
            let sig = registrations
                .get(v.as_usize())
                .ok_or(Error::Internal("registration signature per validator"))?;
            dv.builder_registration = Some(duties.builder_registration(v, *sig)?);
        }
        out.push(dv);
    }
    if out.len() != plan.num_validators() {
        return Err(Error::Internal("public keys per validator"));
    }
    let mut lock = Lock::new(plan.definition().clone(), out);
    let lock_hash = lock
        .compute_lock_hash()
        .map_err(|_| Error::Internal("hashing a lock built from a checked definition"))?;
    lock.lock_hash = Some(lock_hash);
    Ok(LockDraft {
        lock,
        lock_hash,
        no_verify: plan.options().no_verify,
    })
}

impl LockDraft {
    /// The lock hash: what every share signs (step 4) and every node signs (step 5).
    pub fn lock_hash(&self) -> Root {
        self.lock_hash
    }

    /// The draft (no signatures yet).
    pub fn lock(&self) -> &Lock {
        &self.lock
    }

    /// Completes the lock with `signature_aggregate` and, from v1.7, `node_signatures`
    /// (operator order), then runs every check of `verify_lock`; any failure or undecidable
    /// check rejects the lock ([`Error::LockRejected`]). Under
    /// [`PlanOptions::no_verify`](crate::plan::PlanOptions::no_verify) the definition's own
    /// hash and signature checks are exempt, as with charon's `--no-verify`.
    pub fn finish(
        self,
        signature_aggregate: [u8; 96],
        node_signatures: &[[u8; 65]],
    ) -> Result<Lock, Error> {
        let mut lock = self.lock;
        lock.signature_aggregate = signature_aggregate.to_vec();
        if lock.version() >= Version::V1_7 {
            lock.node_signatures = node_signatures.iter().map(|s| s.to_vec()).collect();
        }
        let exempt = if self.no_verify {
            verify_definition(&lock.definition).checks
        } else {
            Vec::new()
        };
        let failures: Vec<_> = verify_lock(&lock)
            .checks
            .into_iter()
            .filter(|c| matches!(c.status, Status::Fail | Status::Unverifiable))
            .filter(|c| !exempt.contains(c))
            .collect();
        if failures.is_empty() {
            Ok(lock)
        } else {
            Err(Error::LockRejected { failures })
        }
    }
}
