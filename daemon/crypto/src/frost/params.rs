//! Ceremony parameters and the 1-based share index (charon-dkg-protocol.md §1.7).

use std::fmt;
use std::num::NonZeroU32;

use blstrs::Scalar;

use super::FrostError;

/// Largest number of participants: kryptology hashes the participant id as one byte.
pub const MAX_PARTICIPANTS: u32 = 255;

/// Largest number of validators in one ceremony. A bound on message sizes and memory, far above
/// what a home-staking cluster creates (charon's sync frames cap a round-1 broadcast at 32 MiB).
pub const MAX_VALIDATORS: u32 = 10_000;

/// A participant's share index: **1-based**, as in charon's `FrostMsgKey.source_id` and in
/// Shamir sharing (the share of participant `i` is `f(i)`). Peer index `p` (0-based) has share
/// index `p + 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShareIdx(NonZeroU32);

impl ShareIdx {
    /// The share index `i`, or `None` for 0.
    pub const fn new(i: u32) -> Option<Self> {
        match NonZeroU32::new(i) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// The index as a number (≥ 1).
    pub const fn get(self) -> u32 {
        self.0.get()
    }

    /// The index as a field element (the Shamir evaluation point).
    pub(crate) fn scalar(self) -> Scalar {
        Scalar::from(u64::from(self.get()))
    }

    /// The one-byte id kryptology hashes into the proof challenge. Only meaningful for indices
    /// ≤ 255, which [`FrostParams::new`] guarantees for every participant.
    pub(crate) fn id_byte(self) -> u8 {
        u8::try_from(self.get()).unwrap_or(u8::MAX)
    }
}

impl fmt::Display for ShareIdx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The shape of one FROST ceremony: `n` participants, threshold `t`, `V` validators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrostParams {
    participants: u32,
    threshold: u32,
    validators: u32,
}

impl FrostParams {
    /// Validates `2 ≤ t ≤ n ≤ 255` and `1 ≤ V ≤ MAX_VALIDATORS`.
    ///
    /// `t ≥ 2` mirrors kryptology's Feldman/Shamir constructor, which rejects a threshold below
    /// two; `n ≤ 255` follows from the one-byte participant id in the proof challenge.
    pub fn new(participants: u32, threshold: u32, validators: u32) -> Result<Self, FrostError> {
        let why = if threshold < 2 {
            Some("threshold must be at least 2")
        } else if threshold > participants {
            Some("threshold exceeds the number of participants")
        } else if participants > MAX_PARTICIPANTS {
            Some("more than 255 participants")
        } else if validators == 0 {
            Some("no validators")
        } else if validators > MAX_VALIDATORS {
            Some("too many validators")
        } else {
            None
        };
        match why {
            Some(why) => Err(FrostError::InvalidParams {
                participants,
                threshold,
                validators,
                why,
            }),
            None => Ok(Self {
                participants,
                threshold,
                validators,
            }),
        }
    }

    /// Number of participants `n`.
    pub fn participants(&self) -> u32 {
        self.participants
    }

    /// Threshold `t` (polynomial degree `t − 1`, `t` commitments per validator).
    pub fn threshold(&self) -> u32 {
        self.threshold
    }

    /// Number of validators `V` created by the ceremony.
    pub fn validators(&self) -> u32 {
        self.validators
    }

    /// Whether `idx` names a participant (`1 ≤ idx ≤ n`).
    pub fn contains(&self, idx: ShareIdx) -> bool {
        idx.get() <= self.participants
    }

    /// All share indices `1..=n` in order.
    pub fn indices(&self) -> impl Iterator<Item = ShareIdx> {
        (1..=self.participants).filter_map(ShareIdx::new)
    }

    pub(crate) fn v_usize(&self) -> usize {
        self.validators as usize
    }

    pub(crate) fn t_usize(&self) -> usize {
        self.threshold as usize
    }

    pub(crate) fn n_usize(&self) -> usize {
        self.participants as usize
    }
}
