//! Sync steps 6 – 8: verify the lock (every check of `verify_lock`), render the artifacts and
//! hand them to the driver (`NeedCommit`); after the driver reports the commit, the post-write
//! barrier (step 7: every peer committed) and the shutdown handshake (step 8).

use super::nodesigs::Signed;
use super::Core;
use crate::artifacts::{self, Artifacts, Keystore};
use crate::ceremony::{CeremonyError, Phase};

/// Step 6: the verified artifacts, or why there are none. `keystores` were encrypted off the
/// event loop since the DKG ([`crate::ceremony::Work`]).
pub(crate) fn verify_and_render(
    core: &mut Core,
    signed: Signed,
    keystores: Vec<Keystore>,
) -> Result<Artifacts, CeremonyError> {
    let err = |source| CeremonyError::Ceremony {
        step: Phase::Verify,
        source,
    };
    let Signed { drafted, node_sigs } = signed;
    let lock = drafted
        .draft
        .finish(drafted.aggregate, &node_sigs)
        .map_err(err)?;
    artifacts::build(&core.plan, lock, &drafted.keys.dkg, keystores).map_err(err)
}
