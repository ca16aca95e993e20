//! Definition/lock format versions (formats.md §2.1).

use std::fmt;
use std::str::FromStr;

/// A cluster definition / lock format version. Ordered oldest → newest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Version {
    /// `v1.0.0` (legacy hashing, base64 fields).
    V1_0,
    /// `v1.1.0` (legacy hashing, base64 fields).
    V1_1,
    /// `v1.2.0` (legacy hashing, eth-hex fields).
    V1_2,
    /// `v1.3.0` (raw-append hashing, EIP-712 `ConfigHash`).
    V1_3,
    /// `v1.4.0` (raw-append hashing, creator).
    V1_4,
    /// `v1.5.0` (`validators[]`, SSZ containers).
    V1_5,
    /// `v1.6.0` (lock `deposit_data`).
    V1_6,
    /// `v1.7.0` (lock `builder_registration`, `node_signatures`).
    V1_7,
    /// `v1.8.0` (`deposit_amounts`, `partial_deposit_data`).
    V1_8,
    /// `v1.9.0` (`consensus_protocol`).
    V1_9,
    /// `v1.10.0` (`target_gas_limit`, `compounding`).
    V1_10,
    /// `v1.11.0` (multi-signatures hashed as `List[Bytes65, 32]`).
    V1_11,
}

impl Version {
    /// Every version, oldest first.
    pub const ALL: [Version; 12] = [
        Version::V1_0,
        Version::V1_1,
        Version::V1_2,
        Version::V1_3,
        Version::V1_4,
        Version::V1_5,
        Version::V1_6,
        Version::V1_7,
        Version::V1_8,
        Version::V1_9,
        Version::V1_10,
        Version::V1_11,
    ];

    /// The newest version (charon `main` default).
    pub const LATEST: Version = Version::V1_11;

    /// The exact version string, e.g. `"v1.10.0"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V1_0 => "v1.0.0",
            Version::V1_1 => "v1.1.0",
            Version::V1_2 => "v1.2.0",
            Version::V1_3 => "v1.3.0",
            Version::V1_4 => "v1.4.0",
            Version::V1_5 => "v1.5.0",
            Version::V1_6 => "v1.6.0",
            Version::V1_7 => "v1.7.0",
            Version::V1_8 => "v1.8.0",
            Version::V1_9 => "v1.9.0",
            Version::V1_10 => "v1.10.0",
            Version::V1_11 => "v1.11.0",
        }
    }

    /// Parses an exact version string (charon matches versions exactly, §2.5).
    pub fn parse(s: &str) -> Option<Version> {
        Version::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether `charon dkg` accepts definitions of this version (v1.6 – v1.11, §2.1).
    pub fn dkg_supported(self) -> bool {
        self >= Version::V1_6
    }

    /// v1.0/v1.1 encode most binary fields as standard base64 (§10).
    pub(crate) fn uses_base64(self) -> bool {
        self <= Version::V1_1
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The version string is not one of the known versions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown version {0:?}")]
pub struct UnknownVersion(pub String);

impl FromStr for Version {
    type Err = UnknownVersion;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::parse(s).ok_or_else(|| UnknownVersion(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_order() {
        for v in Version::ALL {
            assert_eq!(Version::parse(v.as_str()), Some(v));
            assert_eq!(v.to_string().parse::<Version>().unwrap(), v);
        }
        assert!(Version::V1_9 < Version::V1_10);
        assert_eq!(Version::parse("v1.10"), None);
        assert_eq!(Version::parse("V1.10.0"), None);
        assert!(!Version::V1_5.dkg_supported() && Version::V1_6.dkg_supported());
    }
}
