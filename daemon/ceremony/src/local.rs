//! An in-memory ceremony: all `n` nodes in one process, messages routed between them in
//! memory, every step run exactly as each node would run it over the network
//! (charon-dkg-protocol.md §1.11). Used by `dkgd create cluster`-style tools, demos and tests,
//! and the model for the networked driver.
//!
//! ```text
//!  plans ─▶ 1 FROST round 1 ─route─▶ round 2 ─route─▶ DkgOutput        (per node)
//!        ─▶ 2 deposits, 3 registrations: sign ─route all n sets─▶ aggregate_threshold
//!        ─▶ 4 draft lock ─▶ lock-hash partials ─route─▶ aggregate_lock_hash
//!        ─▶ 5 node signatures ─route─▶ collect ─▶ 6 finish (verify_lock) ─▶ Artifacts
//! ```
//!
//! Every node builds its own lock from what it received; the driver finally checks that all
//! locks are byte-identical. Deterministic: one seed gives every node its own RNG.

use dkgd_crypto::frost::threshold::partial_sign;
use dkgd_crypto::frost::{Round1Casts, Round1P2P, Round2Casts};
use dkgd_crypto::k1::K1SecretKey;
use dkgd_crypto::keystore::KdfStrength;
use dkgd_formats::definition::Definition;
use rand_core::{CryptoRngCore, SeedableRng};

use crate::artifacts::{self, Artifacts};
use crate::dkg::{self, frost_error, DkgOutput};
use crate::duties::{Duties, Duty};
use crate::error::Error;
use crate::index::{PeerIdx, ShareIdx, ValidatorIdx};
use crate::partials::{self, PartialSignatures};
use crate::plan::{Plan, PlanOptions};
use crate::{assemble, nodesigs};

/// How to run an in-memory ceremony.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// Keystore KDF cost.
    pub kdf: KdfStrength,
    /// Plan options (e.g. `no_verify`), the same for every node.
    pub plan: PlanOptions,
    /// A fault to inject (tests and demos of failure reporting).
    pub fault: Option<Fault>,
}

impl LocalOptions {
    /// Honest run with keystores encrypted at `kdf` cost.
    pub fn new(kdf: KdfStrength) -> Self {
        LocalOptions {
            kdf,
            plan: PlanOptions::default(),
            fault: None,
        }
    }
}

/// A misbehaving node, applied to its messages in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// `from` sends every other node, for `duty`, a partial signature of `validator` that is a
    /// valid BLS signature by its share, but over another message.
    BadPartial {
        /// The misbehaving node.
        from: PeerIdx,
        /// The duty whose partial is replaced.
        duty: Duty,
        /// The validator whose partial is replaced.
        validator: ValidatorIdx,
    },
}

/// One simulated node.
struct Node<'k, R> {
    plan: Plan,
    identity: &'k K1SecretKey,
    rng: R,
}

/// Runs a whole ceremony for `definition` with every operator's identity key (any order) and
/// returns each node's artifacts in operator order. Node `p` draws from its own RNG, the
/// `p`-th one seeded from `R::from_seed(seed)`. The first failure (lowest node index) aborts.
pub fn run<R: CryptoRngCore + SeedableRng>(
    definition: &Definition,
    identities: &[K1SecretKey],
    seed: R::Seed,
    options: &LocalOptions,
) -> Result<Vec<Artifacts>, Error> {
    let mut nodes = nodes::<R>(definition, identities, seed, &options.plan)?;
    // Refuse the test KDF on a production network before any work (charon refuses test-only
    // flags on mainnet in its preconditions, charon-dkg-protocol.md §1.2 item 9).
    if options.kdf == KdfStrength::InsecureTestOnly
        && nodes
            .first()
            .is_some_and(|n| n.plan.is_production_network())
    {
        return Err(Error::InvalidInput {
            what: "keystore KDF",
            why: "the insecure test KDF is refused on mainnet and gnosis",
        });
    }

    // Step 1: FROST.
    let dkgs = run_dkg(&mut nodes)?;

    // Steps 2 and 3: deposit data per amount, then builder registrations.
    let mut duties: Vec<Duties> = nodes
        .iter()
        .zip(&dkgs)
        .map(|(n, d)| Duties::new(&n.plan, &d.public().group_keys()))
        .collect::<Result<_, _>>()?;
    let before_lock = duties
        .first()
        .map(Duties::before_lock)
        .ok_or(Error::Internal("no nodes"))?;
    let mut signed: Vec<Vec<(Duty, Vec<[u8; 96]>)>> = vec![Vec::new(); nodes.len()];
    for duty in before_lock {
        let inboxes = exchange(&nodes, &dkgs, &duties, duty, options.fault)?;
        for ((((node, dkg), d), inbox), out) in nodes
            .iter()
            .zip(&dkgs)
            .zip(&duties)
            .zip(inboxes)
            .zip(&mut signed)
        {
            let sigs = partials::aggregate_threshold(&node.plan, d, dkg.public(), duty, &inbox)?;
            out.push((duty, sigs));
        }
    }

    // Step 4: each node drafts its lock; lock-hash partials; signature_aggregate.
    let mut drafts = Vec::with_capacity(nodes.len());
    for (((node, dkg), d), s) in nodes.iter().zip(&dkgs).zip(&mut duties).zip(&signed) {
        let draft = assemble::draft(&node.plan, d, dkg.public(), s)?;
        d.set_lock_hash(draft.lock_hash());
        drafts.push(draft);
    }
    let inboxes = exchange(&nodes, &dkgs, &duties, Duty::LockHash, options.fault)?;
    let aggregates: Vec<[u8; 96]> = nodes
        .iter()
        .zip(&dkgs)
        .zip(&duties)
        .zip(inboxes)
        .map(|(((node, dkg), d), inbox)| {
            partials::aggregate_lock_hash(&node.plan, d, dkg.public(), &inbox)
        })
        .collect::<Result<_, _>>()?;

    // Step 5: node signatures.
    let node_sigs: Vec<(PeerIdx, [u8; 65])> = nodes
        .iter()
        .zip(&drafts)
        .map(|(n, dr)| (n.plan.me(), nodesigs::sign(n.identity, &dr.lock_hash())))
        .collect();

    // Step 6: finish and verify each lock, then render the artifacts.
    let mut out: Vec<Artifacts> = Vec::with_capacity(nodes.len());
    for (((node, dkg), draft), aggregate) in nodes.iter_mut().zip(&dkgs).zip(drafts).zip(aggregates)
    {
        let sigs = nodesigs::collect(&node.plan, &draft.lock_hash(), &node_sigs)?;
        let lock = draft.finish(aggregate, &sigs)?;
        let keystores = artifacts::encrypt_keystores(&node.plan, dkg, options.kdf, &mut node.rng)?;
        out.push(artifacts::build(&node.plan, lock, dkg, keystores)?);
    }
    if out
        .windows(2)
        .any(|w| matches!(w, [a, b] if a.lock_json != b.lock_json))
    {
        return Err(Error::Internal("honest nodes built different locks"));
    }
    Ok(out)
}

/// One node per operator, in operator order, each with its own RNG.
fn nodes<'k, R: CryptoRngCore + SeedableRng>(
    definition: &Definition,
    identities: &'k [K1SecretKey],
    seed: R::Seed,
    options: &PlanOptions,
) -> Result<Vec<Node<'k, R>>, Error> {
    let mut slots: Vec<Option<(Plan, &K1SecretKey)>> =
        (0..definition.operators().len()).map(|_| None).collect();
    for identity in identities {
        let plan = Plan::with_options(definition.clone(), &identity.public_key(), options)?;
        match slots.get_mut(plan.me().as_usize()) {
            Some(slot @ None) => *slot = Some((plan, identity)),
            _ => {
                return Err(Error::InvalidInput {
                    what: "operator keys",
                    why: "two keys belong to the same operator",
                })
            }
        }
    }
    let mut master = R::from_seed(seed);
    slots
        .into_iter()
        .map(|slot| {
            let (plan, identity) = slot.ok_or(Error::InvalidInput {
                what: "operator keys",
                why: "every operator of the definition needs its identity key",
            })?;
            let rng = R::from_rng(&mut master)
                .map_err(|_| Error::Internal("deriving a node RNG from the seed"))?;
            Ok(Node {
                plan,
                identity,
                rng,
            })
        })
        .collect()
}

/// Step 1 for every node: round 1, every broadcast to everyone (ours echoed back) and each
/// direct message to its recipient, round 2, every broadcast to everyone.
fn run_dkg<R: CryptoRngCore>(nodes: &mut [Node<'_, R>]) -> Result<Vec<DkgOutput>, Error> {
    let mut states = Vec::with_capacity(nodes.len());
    let mut casts: Vec<(ShareIdx, Round1Casts)> = Vec::with_capacity(nodes.len());
    let mut inboxes: Vec<Vec<(ShareIdx, Round1P2P)>> = nodes.iter().map(|_| Vec::new()).collect();
    for node in nodes.iter_mut() {
        let (state, out) = dkg::start(&node.plan, &mut node.rng)?;
        let from = node.plan.share_idx();
        casts.push((from, out.cast));
        for (to, msg) in out.direct {
            PeerIdx::from_share_idx(to)
                .and_then(|p| inboxes.get_mut(p.as_usize()))
                .ok_or(Error::Internal("direct message to a non-participant"))?
                .push((from, msg));
        }
        states.push(state);
    }
    let mut round2 = Vec::with_capacity(nodes.len());
    let mut casts2: Vec<(ShareIdx, Round2Casts)> = Vec::with_capacity(nodes.len());
    for ((node, state), inbox) in nodes.iter_mut().zip(states).zip(inboxes) {
        let (state, cast) = state
            .handle_round1(&casts, &inbox, &mut node.rng)
            .map_err(frost_error)?;
        casts2.push((node.plan.share_idx(), cast));
        round2.push(state);
    }
    nodes
        .iter_mut()
        .zip(round2)
        .map(|(node, state)| {
            let keys = state
                .handle_round2(&casts2, &mut node.rng)
                .map_err(frost_error)?;
            DkgOutput::new(&node.plan, keys)
        })
        .collect()
}

/// Every node signs `duty`; returns each node's inbox: all `n` sets (its own included) with
/// their senders, after the fault, if any, is applied in flight.
fn exchange<R>(
    nodes: &[Node<'_, R>],
    dkgs: &[DkgOutput],
    duties: &[Duties],
    duty: Duty,
    fault: Option<Fault>,
) -> Result<Vec<Vec<(PeerIdx, PartialSignatures)>>, Error> {
    let sent: Vec<(PeerIdx, PartialSignatures)> = nodes
        .iter()
        .zip(dkgs)
        .zip(duties)
        .map(|((n, dkg), d)| Ok((n.plan.me(), partials::sign(d, duty, dkg)?)))
        .collect::<Result<_, Error>>()?;
    let tampered = match fault {
        Some(Fault::BadPartial {
            from,
            duty: f_duty,
            validator,
        }) if f_duty == duty => Some((from, tamper(&sent, dkgs, from, validator)?)),
        _ => None,
    };
    Ok(nodes
        .iter()
        .map(|to| {
            sent.iter()
                .map(|(from, set)| match &tampered {
                    Some((bad, t)) if bad == from && *from != to.plan.me() => (*from, t.clone()),
                    _ => (*from, set.clone()),
                })
                .collect()
        })
        .collect())
}

/// `from`'s set with validator `v`'s partial replaced by its share's signature of another
/// message: a well-formed signature that fails verification.
fn tamper(
    sent: &[(PeerIdx, PartialSignatures)],
    dkgs: &[DkgOutput],
    from: PeerIdx,
    v: ValidatorIdx,
) -> Result<PartialSignatures, Error> {
    let bad_input = Error::InvalidInput {
        what: "fault",
        why: "names a node or validator that does not exist",
    };
    let (Some((_, set)), Some(dkg)) = (sent.get(from.as_usize()), dkgs.get(from.as_usize())) else {
        return Err(bad_input);
    };
    let key = dkg.keys().get(v.as_usize()).ok_or(bad_input)?;
    let mut set = set.clone();
    let wrong = partial_sign(
        &key.secret_share,
        b"dkgd fault injection: not the signing root",
    )
    .map_err(|_| Error::Internal("a DKG secret share cannot sign"))?;
    if let Some(slot) = set.signatures.get_mut(v.as_usize()) {
        *slot = wrong;
    }
    Ok(set)
}
