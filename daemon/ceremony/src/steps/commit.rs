//! Sync steps 6 – 8: verify the lock (every check of `verify_lock`), render the artifacts and
//! hand them to the driver (`NeedCommit`); after the driver reports the commit, the post-write
//! barrier (step 7: every peer committed) and the shutdown handshake (step 8).

use super::nodesigs::Signed;
use super::Core;
use crate::artifacts::{self, Artifacts, Keystore};
use crate::ceremony::types::CeremonyError;
use crate::ceremony::work::Done;
use crate::ceremony::work::Work;
use crate::error::Error;
use crate::plan::Plan;
use crate::step::Step;

/// Step 6: hands the verification and rendering to the driver ([`Work`]: every lock check
/// grows with V). `keystores` were encrypted off the event loop since the DKG.
pub(crate) fn start_render(core: &mut Core, signed: Signed, keystores: Vec<Keystore>) {
    let plan = core.plan.clone();
    let validators = keystores.len();
    let render = move || verify_and_render(&plan, signed, keystores);
    core.work.push_back(Work::render(validators, render));
}

/// The rendered artifacts once the driver's work is done (`None`: not yet).
pub(crate) fn poll_render(core: &mut Core) -> Result<Option<Artifacts>, CeremonyError> {
    match core.finished.take() {
        Some(Done::Rendered(r)) => r
            .map(|a| Some(*a))
            .map_err(|source| CeremonyError::Ceremony {
                step: Step::Verify,
                source,
            }),
        other => {
            core.finished = other;
            Ok(None)
        }
    }
}

/// The work itself: the verified artifacts, or why there are none.
pub(crate) fn verify_and_render(
    plan: &Plan,
    signed: Signed,
    keystores: Vec<Keystore>,
) -> Result<Artifacts, Error> {
    let Signed { drafted, node_sigs } = signed;
    let lock = drafted.draft.finish(drafted.aggregate, &node_sigs)?;
    artifacts::build(plan, lock, &drafted.keys.dkg, keystores)
}
