//! `dkgd dkg`'s last check before any network (issue 12 §1): the data dir is writable by this
//! process, keeps the modes key files need, and has room for this plan's artifacts. A node
//! that would fail at its commit, after every other node already holds its keys, fails here
//! instead, having changed nothing: exit 77 (permissions) or 73 (no space).

use super::store_failure::store_failure;
use crate::exit::Failure;
use dkgd_ceremony::Plan;
use dkgd_store::preflight::{check_room, ArtifactEstimate};
use std::path::Path;

/// Checks `dir` for `plan`'s artifacts.
pub(crate) fn check_data_dir(dir: &Path, plan: &Plan) -> Result<(), Failure> {
    let to_u64 = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    let estimate = ArtifactEstimate {
        validators: to_u64(plan.num_validators()),
        operators: to_u64(plan.num_operators()),
        deposit_files: to_u64(plan.definition().deposit_amounts().len().max(1)),
    };
    let room = check_room(dir, &estimate).map_err(|e| store_failure(e, dir))?;
    tracing::info!(
        free_bytes = room.available_bytes,
        needed_bytes = room.needed_bytes,
        "data dir writable, with room for the artifacts"
    );
    Ok(())
}
