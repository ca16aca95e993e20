//! How a `dkgd dkg` that did not complete everywhere ends (issue 12 §1): which of the three
//! outcomes it was, its exit code, and words that fit it: never "retry" where a retry would be
//! refused, never "failed" where this node's artifacts are complete.

use crate::cmd::store_failure;
use crate::exit::{Code, Failure};
use anyhow::anyhow;
use dkgd_ceremony::Step;
use dkgd_formats::definition::Definition;
use dkgd_formats::lock::Lock;
use dkgd_node::driver::{DriverError, Written};
use std::path::Path;

/// A re-run on a data dir that already holds this definition's complete artifacts: says so
/// (exit 0, nothing changed). `None` when the data dir holds anything else.
pub(super) fn already_complete(dir: &Path, definition: &Path) -> Option<Code> {
    let lock = Lock::from_json(&std::fs::read(dir.join("cluster-lock.json")).ok()?).ok()?;
    let bytes = crate::cmd::input::read_capped(definition).ok()?;
    let def = Definition::from_json(&bytes).ok()?;
    if def.config_hash.is_none() || def.config_hash != lock.definition.config_hash {
        return None;
    }
    let report = crate::cmd::verify::verify_data_dir(dir, false).ok()?;
    if !report.all_passed() {
        return None;
    }
    let hash = lock.lock_hash.map(hex::encode).unwrap_or_default();
    println!(
        "already complete: {} holds this definition's cluster-lock.json (lock 0x{hash}) and \
         its keys, and they verify; nothing was changed",
        dir.display()
    );
    Some(Code::Ok)
}

/// The lock hash (hex, no `0x`) of the `cluster-lock.json` in `dir`, if it reads.
pub(super) fn lock_hash_in(dir: &Path) -> Option<String> {
    let lock = Lock::from_json(&std::fs::read(dir.join("cluster-lock.json")).ok()?).ok()?;
    lock.lock_hash.map(hex::encode)
}

/// The failure for a ceremony that ended without `Done` (`definition`: for hints).
pub(super) fn failed(
    e: DriverError,
    dir: &Path,
    definition: &Path,
    relay_down: Option<(String, std::time::Duration)>,
) -> Failure {
    let relay = relay_down.filter(|_| lost_contact(&e));
    let mut failure = outcome_of(e, dir, definition);
    if let Some((relay, for_)) = relay {
        // Every node would otherwise blame whichever peer it missed first.
        failure.error = failure.error.context(format!(
            "relay {relay} unreachable for {}s (our connections to the peers ran through it)",
            for_.as_secs()
        ));
        failure.hint = Some(format!(
            "check the relay (or give another --relay); {}",
            failure.hint.unwrap_or_default()
        ));
    }
    failure
}

fn outcome_of(e: DriverError, dir: &Path, definition: &Path) -> Failure {
    let at_barrier =
        matches!(&e, DriverError::Aborted { error, .. } if error.step() == Step::Committed);
    let written = match &e {
        DriverError::Aborted { written, .. } => written.clone(),
        _ => Written::Nothing,
    };
    let d = dir.display();
    match written {
        Written::Published => unconfirmed(e, dir),
        Written::Withheld(kept) => {
            let mut hint = String::from(
                "no node publishes artifacts before every node staged them; fix the cause \
                 above, then run the ceremony again on every node",
            );
            if at_barrier {
                // A peer lost here may have staged and will publish when it starts again.
                let lock = lock_hash_in(&kept).unwrap_or_default();
                hint = format!(
                    "{hint}. If instead an operator reports this ceremony complete (lock \
                     0x{lock}), publish the same artifacts here: dkgd dkg --definition {} \
                     --data-dir {} --publish-kept",
                    definition.display(),
                    dir.display()
                );
            }
            Failure::new(
                Code::Failed,
                anyhow!(
                    "ceremony failed: {e}; nothing was published here (this node's staged \
                     artifacts are kept, unpublished, in {})",
                    kept.display()
                ),
                hint,
            )
        }
        Written::WithholdFailed(why) => Failure::new(
            Code::Failed,
            anyhow!(
                "ceremony failed: {e}; the staged artifacts in {d}/.dkgd-staging could not be \
                 set aside: {why}"
            ),
            format!("move {d}/.dkgd-staging aside by hand before running dkgd in {d} again"),
        ),
        Written::Nothing => match store_error(&e) {
            Some(local) => Failure::new(
                store_failure::code(local),
                anyhow!("ceremony failed: {e}"),
                format!(
                    "this node could not write its artifacts, so no node published any; {}, \
                     then run the ceremony again on every node",
                    store_failure::default_hint(local, dir)
                ),
            ),
            None => Failure::new(
                Code::Failed,
                anyhow!("ceremony failed: {e}"),
                "nothing was written here; check that every operator runs the same definition \
                 and is reachable, then run the ceremony again on every node",
            ),
        },
    }
}

/// The store error that failed our own staging or publishing, if that is why we aborted
/// (the writer's typed error, carried inside the ceremony's abort).
fn store_error(e: &DriverError) -> Option<&dkgd_store::Error> {
    match e {
        DriverError::Aborted { error, .. } => match error.as_ref() {
            dkgd_ceremony::CeremonyError::Commit { source } => source.downcast_ref(),
            _ => None,
        },
        _ => None,
    }
}

/// Whether the ceremony failed because peers could not be reached (not because one sent
/// something wrong).
fn lost_contact(e: &DriverError) -> bool {
    use dkgd_ceremony::sync::SyncError;
    use dkgd_ceremony::CeremonyError as C;
    let DriverError::Aborted { error, written, .. } = e else {
        return false;
    };
    *written != Written::Published
        && matches!(
            &**error,
            C::TimedOut { .. }
                | C::SendFailed { .. }
                | C::Sync {
                    source: SyncError::PeerLost { .. } | SyncError::ShutdownTimedOut { .. },
                    ..
                }
        )
}

/// Every peer staged and ours are published, but the end was not confirmed by every peer.
fn unconfirmed(e: DriverError, dir: &Path) -> Failure {
    let d = dir.display();
    let verified = crate::cmd::verify::verify_data_dir(dir, false).is_ok_and(|r| r.all_passed());
    if !verified {
        return Failure::new(
            Code::Failed,
            anyhow!("ceremony ended with an error after publishing: {e}"),
            format!("the written data dir does not verify: run `dkgd verify {d}` for details"),
        );
    }
    let lock = lock_hash_in(dir).unwrap_or_default();
    Failure::new(
        Code::Unconfirmed,
        anyhow!(
            "complete here, not confirmed by every peer: the artifacts in {d} (lock 0x{lock}) \
             verify and every peer had staged its own before they were published, but the \
             ceremony's end failed: {e}"
        ),
        "do not run the ceremony again; ask the operator named above to check that their node \
         shows this lock hash (a node that was stopped publishes its staged artifacts when \
         dkgd starts again)",
    )
}

/// `dkgd dkg --publish-kept [LOCK_HASH]`: publishes a set an aborted ceremony of this
/// definition kept aside, after it verifies. Nothing changes unless exactly one kept set
/// matches and the data dir holds no artifacts.
pub(super) fn publish_kept(
    dir: &Path,
    definition: &Path,
    lock_hash: Option<&str>,
) -> Result<Code, Failure> {
    let usage = |e: anyhow::Error, hint: &str| Failure::new(Code::Usage, e, hint.to_string());
    let bytes = crate::cmd::input::read_capped(definition)?;
    let def = Definition::from_json(&bytes).map_err(|e| {
        usage(
            anyhow!("{}: {e}", definition.display()),
            "check --definition",
        )
    })?;
    let want = lock_hash.map(|h| h.trim_start_matches("0x").to_ascii_lowercase());
    let mut kept = Vec::new();
    let sets = dkgd_store::commit::kept(dir).map_err(|e| store_failure::store_failure(e, dir))?;
    for set in sets {
        let Some(lock) = std::fs::read(set.join("cluster-lock.json"))
            .ok()
            .and_then(|b| Lock::from_json(&b).ok())
        else {
            continue;
        };
        let hash = lock.lock_hash.map(hex::encode).unwrap_or_default();
        let ours = def.config_hash.is_some() && def.config_hash == lock.definition.config_hash;
        if ours && want.as_ref().is_none_or(|w| *w == hash) {
            kept.push((set, hash));
        }
    }
    let (path, hash) =
        match kept.len() {
            1 => kept.remove(0),
            0 => return Err(usage(
                anyhow!(
                    "{} holds no kept artifacts of this definition{}",
                    dir.display(),
                    lock_hash
                        .map(|h| format!(" with lock {h}"))
                        .unwrap_or_default()
                ),
                "nothing was changed; `ls -a` the data dir for .dkgd-staging.unpublished-* sets",
            )),
            _ => {
                let hashes: Vec<String> = kept.iter().map(|(_, h)| format!("0x{h}")).collect();
                return Err(usage(
                    anyhow!(
                        "several kept sets are of this definition (locks {})",
                        hashes.join(", ")
                    ),
                    "nothing was changed; give the lock hash the other operators have: \
                 --publish-kept 0x…",
                ));
            }
        };
    let report = crate::cmd::verify::verify_data_dir(&path, false)?;
    if !report.all_passed() {
        return Err(Failure::new(
            Code::Failed,
            anyhow!("the kept artifacts in {} do not verify", path.display()),
            format!("nothing was changed; run `dkgd verify {}`", path.display()),
        ));
    }
    dkgd_store::commit::publish_kept(dir, &path)
        .map_err(|e| store_failure::store_failure(e, dir))?;
    println!(
        "published the kept artifacts of lock 0x{hash} in {}",
        dir.display()
    );
    Ok(Code::Ok)
}
