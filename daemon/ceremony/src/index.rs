//! Index types (style.md §3.2). Every index states its base:
//!
//! | type | base | meaning |
//! |---|---|---|
//! | [`PeerIdx`] | 0 | position in the definition's `operators[]` (charon's peer index) |
//! | [`ShareIdx`] | 1 | Shamir evaluation point of a peer's key share: `PeerIdx + 1` |
//! | [`ValidatorIdx`] | 0 | position in `distributed_validators[]` (FROST `val_idx`) |

use std::fmt;

pub use dkgd_crypto::frost::ShareIdx;

/// A peer's position in the definition's `operators[]`: **0-based**. At most 255 operators take
/// part in a DKG (one-byte FROST ids), so a `u8` holds every index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerIdx(u8);

impl PeerIdx {
    /// The peer at position `i`.
    pub const fn new(i: u8) -> Self {
        Self(i)
    }

    /// The peer at position `i`, if `i` fits (≤ 254, so its share index stays ≤ 255).
    pub fn from_usize(i: usize) -> Option<Self> {
        u8::try_from(i).ok().filter(|i| *i < u8::MAX).map(Self)
    }

    /// The peer whose share index is `share` (`share − 1`).
    pub fn from_share_idx(share: ShareIdx) -> Option<Self> {
        share
            .get()
            .checked_sub(1)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(Self::from_usize)
    }

    /// The index as a number.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// The index for slice access.
    pub fn as_usize(self) -> usize {
        usize::from(self.0)
    }

    /// This peer's 1-based share index (`PeerIdx + 1`, charon-dkg-protocol.md §1.2 item 10).
    pub fn share_idx(self) -> ShareIdx {
        ShareIdx::new(u32::from(self.0) + 1).expect("invariant: p + 1 is never zero")
    }
}

impl fmt::Display for PeerIdx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Peers for a message: `1, 3` (their Display, never their Debug form).
pub(crate) fn peer_list(peers: &[PeerIdx]) -> String {
    let names: Vec<String> = peers.iter().map(ToString::to_string).collect();
    names.join(", ")
}

/// A validator's position in the ceremony: **0-based**, the index into
/// `distributed_validators[]` and the `N` of `keystore-N.json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ValidatorIdx(u32);

impl ValidatorIdx {
    /// Validator `i`.
    pub const fn new(i: u32) -> Self {
        Self(i)
    }

    /// Validator `i`, if it fits in a `u32`.
    pub fn from_usize(i: usize) -> Option<Self> {
        u32::try_from(i).ok().map(Self)
    }

    /// The index as a number.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// The index for slice access.
    pub fn as_usize(self) -> usize {
        usize::try_from(self.0).expect("invariant: usize holds u32 on supported targets")
    }
}

impl fmt::Display for ValidatorIdx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Iterates `0..n` as validator indices (n ≤ `u32::MAX`, guaranteed by the plan).
pub(crate) fn validators(n: usize) -> impl Iterator<Item = ValidatorIdx> {
    (0..n).filter_map(ValidatorIdx::from_usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_and_share_indices() {
        let p = PeerIdx::new(0);
        assert_eq!(p.share_idx().get(), 1);
        assert_eq!(PeerIdx::from_share_idx(p.share_idx()), Some(p));
        assert_eq!(
            PeerIdx::from_usize(254).map(|p| p.share_idx().get()),
            Some(255)
        );
        assert_eq!(PeerIdx::from_usize(255), None);
        assert_eq!(PeerIdx::from_share_idx(ShareIdx::new(256).unwrap()), None);
    }
}
