//! Step 5: node signatures (charon-dkg-protocol.md §1.10, formats.md §3.4). Each node signs
//! the 32-byte lock hash directly as an ECDSA digest with its ENR key; every node checks each
//! signature against the signer's ENR and lists them in operator order.

use dkgd_crypto::k1::{self, K1SecretKey};
use dkgd_formats::ssz::Root;

use crate::error::{Error, Misbehaviour};
use crate::index::PeerIdx;
use crate::plan::Plan;
use crate::step::Step;

/// Our node signature: `r ‖ s ‖ v` (v ∈ {0, 1}) over the raw lock hash, RFC 6979.
pub fn sign(identity: &K1SecretKey, lock_hash: &Root) -> [u8; 65] {
    identity.sign_digest(lock_hash)
}

/// Checks that `signature` over `lock_hash` recovers to the key in `from`'s ENR.
pub fn verify(
    plan: &Plan,
    from: PeerIdx,
    lock_hash: &Root,
    signature: &[u8; 65],
) -> Result<(), Error> {
    let enr = plan
        .operator_enr(from)
        .ok_or(Error::Internal("node signature from a non-operator"))?;
    let bad = |e| Error::PeerMisbehaved {
        peer: from,
        step: Step::NodeSignatures,
        what: Misbehaviour::InvalidNodeSignature(e),
    };
    let signer = k1::recover_digest(lock_hash, signature).map_err(bad)?;
    if signer != enr.public_key() {
        return Err(bad(k1::K1Error::VerificationFailed {
            public_key: enr.public_key().to_compressed(),
        }));
    }
    Ok(())
}

/// Verifies every peer's node signature (`received` pairs each with its authenticated sender,
/// ours included) and returns them in operator order, as `node_signatures[]`.
pub fn collect(
    plan: &Plan,
    lock_hash: &Root,
    received: &[(PeerIdx, [u8; 65])],
) -> Result<Vec<[u8; 65]>, Error> {
    let fault = |peer, what| Error::PeerMisbehaved {
        peer,
        step: Step::NodeSignatures,
        what,
    };
    let mut slots: Vec<Option<[u8; 65]>> = vec![None; plan.num_operators()];
    for (peer, sig) in received {
        let slot = slots
            .get_mut(peer.as_usize())
            .ok_or(Error::Internal("node signature from a non-operator"))?;
        if slot.is_some() {
            return Err(fault(*peer, Misbehaviour::DuplicateNodeSignature));
        }
        verify(plan, *peer, lock_hash, sig)?;
        *slot = Some(*sig);
    }
    plan.peers()
        .zip(slots)
        .map(|(peer, s)| s.ok_or_else(|| fault(peer, Misbehaviour::MissingNodeSignature)))
        .collect()
}
