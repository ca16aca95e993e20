//! Arrival checks shared by all rounds (charon's checks before kryptology sees the data,
//! charon-dkg-protocol.md §1.7): one message per participant, entries keyed by validator.

use super::msgs::MsgKey;
use super::{FrostError, FrostParams, Round, ShareIdx};

/// Sorts messages by sender. `with_self`: whether our own message belongs in the set (true for
/// broadcasts, which echo back; false for direct messages).
///
/// Result slot `k` holds the message of share index `k + 1` (`None` only for our own slot when
/// `with_self` is false).
pub(crate) fn by_sender<'a, M>(
    params: &FrostParams,
    me: ShareIdx,
    round: Round,
    msgs: &'a [(ShareIdx, M)],
    with_self: bool,
) -> Result<Vec<Option<&'a M>>, FrostError> {
    let mut slots: Vec<Option<&'a M>> = vec![None; params.n_usize()];
    for (from, msg) in msgs {
        if !params.contains(*from) {
            return Err(FrostError::NotAParticipant {
                idx: from.get(),
                participants: params.participants(),
            });
        }
        if *from == me && !with_self {
            return Err(FrostError::OwnMessage { round });
        }
        let slot = slot_mut(&mut slots, *from)?;
        if slot.is_some() {
            return Err(FrostError::Duplicate { round, from: *from });
        }
        *slot = Some(msg);
    }
    for idx in params.indices() {
        if (with_self || idx != me) && slot(&slots, idx).is_none() {
            return Err(FrostError::Missing { round, from: idx });
        }
    }
    Ok(slots)
}

/// The message of `idx` in a slot vector from [`by_sender`].
pub(crate) fn slot<'a, M>(slots: &[Option<&'a M>], idx: ShareIdx) -> Option<&'a M> {
    slots.get(idx.get() as usize - 1).copied().flatten()
}

fn slot_mut<'s, 'a, M>(
    slots: &'s mut [Option<&'a M>],
    idx: ShareIdx,
) -> Result<&'s mut Option<&'a M>, FrostError> {
    let participants = u32::try_from(slots.len()).unwrap_or(u32::MAX);
    slots
        .get_mut(idx.get() as usize - 1)
        .ok_or(FrostError::NotAParticipant {
            idx: idx.get(),
            participants,
        })
}

/// Orders one message's entries by validator index after checking that there is exactly one
/// per validator and that every key names `from` as source and `target` as target.
pub(crate) fn by_validator<'a, E>(
    params: &FrostParams,
    round: Round,
    from: ShareIdx,
    target: u32,
    entries: &'a [E],
    key: impl Fn(&E) -> MsgKey,
) -> Result<Vec<&'a E>, FrostError> {
    if entries.len() != params.v_usize() {
        return Err(FrostError::WrongCount {
            round,
            from,
            expected: params.v_usize(),
            got: entries.len(),
        });
    }
    let mut out: Vec<Option<&'a E>> = vec![None; entries.len()];
    for e in entries {
        let k = key(e);
        let bad = |what| FrostError::BadKey {
            round,
            from,
            validator: k.val_idx,
            what,
        };
        if k.source_id != from.get() {
            return Err(bad("source_id is not the sender"));
        }
        if k.target_id != target {
            return Err(bad("wrong target_id"));
        }
        let slot = out
            .get_mut(k.val_idx as usize)
            .ok_or(bad("val_idx out of range"))?;
        if slot.is_some() {
            return Err(bad("val_idx repeated"));
        }
        *slot = Some(e);
    }
    // Exactly V distinct in-range indices were placed into V slots, so all are filled.
    Ok(out.into_iter().flatten().collect())
}
