//! A whole honest ceremony in one call: the operators' keys in any order in, every node's
//! artifacts in operator order out. What tests and tools use where they need real artifacts
//! (the ceremony's acceptance matrix, the backup tests' data dirs).

use std::fmt;

use dkgd_ceremony::wire::Profile;
use dkgd_ceremony::{Artifacts, CeremonyConfig, CeremonyError, Error, Event, Plan};
use dkgd_crypto::k1::K1SecretKey;
use dkgd_formats::definition::Definition;

use crate::Net;

/// Why [`run_cluster`] returned no artifacts.
#[derive(Debug)]
pub enum ClusterError {
    /// The inputs were refused before any node ran (keys, definition, settings).
    Setup(Error),
    /// A node aborted; the lowest such node and its reason.
    Aborted {
        /// The node (operator index).
        node: usize,
        /// Why it aborted.
        error: Box<CeremonyError>,
    },
    /// The cluster stopped short of an end (a bug: every wait has a bound).
    Stalled,
}

impl fmt::Display for ClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterError::Setup(e) => write!(f, "set-up refused: {e}"),
            ClusterError::Aborted { node, error } => write!(f, "node {node} aborted: {error}"),
            ClusterError::Stalled => f.write_str("the cluster stalled"),
        }
    }
}

impl std::error::Error for ClusterError {}

/// `keys` (any order) in the definition's operator order; every operator exactly once.
pub fn operator_order(def: &Definition, keys: &[K1SecretKey]) -> Result<Vec<K1SecretKey>, Error> {
    let mut slots: Vec<Option<K1SecretKey>> = (0..def.operators().len()).map(|_| None).collect();
    for key in keys {
        let plan = Plan::new(def.clone(), &key.public_key())?;
        let copy =
            K1SecretKey::from_bytes(&key.expose_secret()).map_err(|_| Error::InvalidInput {
                what: "operator keys",
                why: "a key does not round-trip",
            })?;
        match slots.get_mut(plan.me().as_usize()) {
            Some(slot @ None) => *slot = Some(copy),
            _ => {
                return Err(Error::InvalidInput {
                    what: "operator keys",
                    why: "two keys belong to the same operator",
                })
            }
        }
    }
    slots
        .into_iter()
        .map(|k| {
            k.ok_or(Error::InvalidInput {
                what: "operator keys",
                why: "every operator of the definition needs its identity key",
            })
        })
        .collect()
}

/// Runs `def`'s ceremony among the holders of `keys` on the in-memory network (no faults,
/// the definition's own protocol profile, node RNGs from `seed`) and returns each node's
/// artifacts in operator order.
pub fn run_cluster(
    def: &Definition,
    keys: &[K1SecretKey],
    seed: u8,
    cfg: &CeremonyConfig,
) -> Result<Vec<Artifacts>, ClusterError> {
    let ops = operator_order(def, keys).map_err(ClusterError::Setup)?;
    let n = ops.len();
    let profile = Profile::for_definition(def);
    let defs = vec![def.clone(); n];
    let mut net =
        Net::with_config(&ops, &defs, &vec![profile; n], seed, cfg).map_err(ClusterError::Setup)?;
    if !net.run() {
        return Err(ClusterError::Stalled);
    }
    let mut arts = Vec::with_capacity(n);
    for (node, events) in net.events.iter_mut().enumerate() {
        let mut staged = None;
        for e in events.drain(..) {
            match e {
                Event::Aborted(error) => {
                    let error = Box::new(error);
                    return Err(ClusterError::Aborted { node, error });
                }
                Event::NeedCommit(a) => staged = Some(*a),
                _ => {}
            }
        }
        arts.push(staged.ok_or(ClusterError::Stalled)?);
    }
    Ok(arts)
}
