//! The ceremony's steps, numbered as charon numbers its sync steps (charon-dkg-protocol.md
//! §1.11). One vocabulary for progress, errors, the wire's sync step numbers and the status
//! socket; a leaf module that every other module may import.

use std::fmt;

/// A ceremony step; [`Step::number`] is charon's sync step number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// 0: connecting; versions and definition hashes are checked.
    Connect,
    /// 1: the DKG (FROST) for all validators.
    Dkg,
    /// 2: deposit data, one exchange per distinct amount.
    Deposits,
    /// 3: builder registrations.
    Registrations,
    /// 4: lock assembled, lock-hash partial signatures, `signature_aggregate`.
    LockHash,
    /// 5: node signatures over the lock hash.
    NodeSignatures,
    /// 6: lock verification; the driver writes (stages) the artifacts.
    Verify,
    /// 7: post-write barrier (every peer staged, or for charon wrote).
    Committed,
    /// 8: shutdown handshake.
    Shutdown,
}

impl Step {
    /// charon's sync step number.
    pub fn number(self) -> u64 {
        match self {
            Step::Connect => 0,
            Step::Dkg => 1,
            Step::Deposits => 2,
            Step::Registrations => 3,
            Step::LockHash => 4,
            Step::NodeSignatures => 5,
            Step::Verify => 6,
            Step::Committed => 7,
            Step::Shutdown => 8,
        }
    }

    /// The step's name as logs and the status socket print it.
    pub fn name(self) -> &'static str {
        match self {
            Step::Connect => "connect",
            Step::Dkg => "dkg",
            Step::Deposits => "deposit data",
            Step::Registrations => "builder registrations",
            Step::LockHash => "lock hash",
            Step::NodeSignatures => "node signatures",
            Step::Verify => "verify and write",
            Step::Committed => "post-write barrier",
            Step::Shutdown => "shutdown",
        }
    }
}

/// `N (name)`, e.g. `1 (dkg)`.
impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.number(), self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::Step;

    #[test]
    fn numbers_are_charons_and_display_names_the_step() {
        let order = [
            Step::Connect,
            Step::Dkg,
            Step::Deposits,
            Step::Registrations,
            Step::LockHash,
            Step::NodeSignatures,
            Step::Verify,
            Step::Committed,
            Step::Shutdown,
        ];
        for (i, s) in order.into_iter().enumerate() {
            assert_eq!(s.number(), i as u64);
        }
        assert_eq!(Step::Verify.to_string(), "6 (verify and write)");
        assert_eq!(Step::Dkg.to_string(), "1 (dkg)");
    }
}
