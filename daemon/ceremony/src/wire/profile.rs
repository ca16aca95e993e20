//! Compatibility profiles: everything that differs between the charon minors dkgd can hold a
//! ceremony with, as data (charon-dkg-protocol.md §1.4, §1.6, §1.14; issue 5). A profile is
//! chosen per ceremony: by name from configuration, else [`Profile::for_definition`].
//!
//! | profile | sync `version` | bcast protocol | bcast hash | "shutdown ready" step | charon's own shutdown bound | default for definitions |
//! |---|---|---|---|---|---|---|
//! | `v1.7` | `v1.7` | `/charon/dkg/bcast/1.0.0/{sig,msg}` | SHA-256(type URL ‖ value) | no | none | — |
//! | `v1.8` | `v1.8` | 1.0.0 | same | no | none | — |
//! | `v1.9` | `v1.9` | 1.0.0 | same | no | none | — |
//! | **`v1.10`** | `v1.10` | 1.0.0 | same | yes | none | v1.6.0 – v1.10.0 (**default**) |
//! | `v1.11` | `v1.11` | `/charon/dkg/bcast/2.0.0/{sig,msg}` | session-bound (see [`BcastHash`]) | yes | 2 min | v1.11.0 |
//!
//! The shutdown columns were read from charon's `dkg/dkg.go` `startSyncProtocol` at the tags
//! v1.7.0, v1.9.5, v1.10.0, v1.10.3 and v1.11.0-rc3 (`tests/conformance/README.md` has the
//! whole per-version message sequence): the extra barrier arrived in v1.10.0 (charon#4344), the
//! 2-minute context around the shutdown only in v1.11 (charon#4616). dkgd bounds its own
//! shutdown wait in every profile ([`crate::sync::SyncTimers::shutdown_timeout`]).
//!
//! Shared by all five (checked in charon's tags v1.7.0 … v1.10.3 and v1.11.0-rc3): sync
//! `/charon/dkg/sync/1.0.0/` (trailing slash), FROST `/charon/dkg/frost/2.0.0/round1/cast`,
//! `…/round1/p2p`, `…/round2/cast`, node signatures `/charon/dkg/node_sig`, parsigex
//! `/charon/parsigex/2.0.0`, peerinfo `/charon/peerinfo/2.0.0`. v1.7 and v1.8 have no
//! `MsgSync.nickname` (field 6 arrived in v1.9.0; older peers ignore it as an unknown field). Definitions v1.11.0
//! exist only from charon v1.11 (its `cluster/version.go` is the first with `v1.11.0`), so they
//! select the v1.11 profile; every earlier definition selects the released v1.10 line.

use std::time::Duration;

use dkgd_formats::definition::{Definition, Version};

use super::framing::{Framing, MAX_DELIMITED_FRAME_BYTES, MAX_SYNC_FRAME_BYTES};
use super::ProtocolId;

/// How a bcast message is hashed before peers sign it (charon `dkg/bcast/impl.go`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BcastHash {
    /// bcast 1.0.0 (charon ≤ v1.10): SHA-256(Any.type_url ‖ Any.value). Not bound to the
    /// ceremony or message ID.
    TypeUrlValue,
    /// bcast 2.0.0 (charon ≥ v1.11, charon#4638): SHA-256 over session hash, message ID,
    /// Any.type_url and Any.value, each preceded by its length as a big-endian u64.
    SessionBound,
}

/// One charon minor's wire, as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Profile name, e.g. `v1.10`.
    pub name: &'static str,
    /// `MsgSync.version`: charon's `version.Version.Minor()` string.
    pub sync_version: &'static str,
    /// Whether this minor's `MsgSync` has `nickname` (field 6).
    pub sync_nickname: bool,
    /// The sync protocol (long-lived stream, [`Framing::Sync`]).
    pub sync_protocol: &'static str,
    /// bcast signature requests (request/response).
    pub bcast_sig_protocol: &'static str,
    /// bcast final messages (one-way).
    pub bcast_msg_protocol: &'static str,
    /// How bcast hashes what peers sign.
    pub bcast_hash: BcastHash,
    /// bcast message ID of FROST round-1 broadcasts.
    pub frost_round1_cast_id: &'static str,
    /// FROST round-1 direct shares (one-way).
    pub frost_round1_p2p_protocol: &'static str,
    /// bcast message ID of FROST round-2 broadcasts.
    pub frost_round2_cast_id: &'static str,
    /// bcast message ID of node signatures.
    pub node_sig_id: &'static str,
    /// Partial-signature exchange (one-way).
    pub parsigex_protocol: &'static str,
    /// Peer info (request/response; charon serves it during a DKG).
    pub peerinfo_protocol: &'static str,
    /// Largest sync message.
    pub max_sync_frame_bytes: usize,
    /// Largest delimited message.
    pub max_delimited_frame_bytes: usize,
    /// The newest definition version this charon minor's `dkg` accepts.
    pub max_definition_version: Version,
    /// Whether the shutdown starts with one more sync barrier ("shutdown ready", charon
    /// ≥ v1.10.0). Without it every client sends `shutdown = true` right after the post-write
    /// barrier, still at that step number.
    pub shutdown_ready_step: bool,
    /// How long this charon minor itself waits for the shutdown handshake (`None`: forever).
    pub charon_shutdown_bound: Option<Duration>,
}

const SYNC: &str = "/charon/dkg/sync/1.0.0/";
const BCAST1_SIG: &str = "/charon/dkg/bcast/1.0.0/sig";
const BCAST1_MSG: &str = "/charon/dkg/bcast/1.0.0/msg";
const BCAST2_SIG: &str = "/charon/dkg/bcast/2.0.0/sig";
const BCAST2_MSG: &str = "/charon/dkg/bcast/2.0.0/msg";
const FROST_R1_CAST: &str = "/charon/dkg/frost/2.0.0/round1/cast";
const FROST_R1_P2P: &str = "/charon/dkg/frost/2.0.0/round1/p2p";
const FROST_R2_CAST: &str = "/charon/dkg/frost/2.0.0/round2/cast";
const NODE_SIG: &str = "/charon/dkg/node_sig";
const PARSIGEX: &str = "/charon/parsigex/2.0.0";
const PEERINFO: &str = "/charon/peerinfo/2.0.0";

/// The bcast 1.0.0 line (charon v1.7 – v1.10) with `version` as its sync string.
const fn bcast1(name: &'static str, sync_nickname: bool, shutdown_ready_step: bool) -> Profile {
    Profile {
        name,
        sync_version: name,
        sync_nickname,
        sync_protocol: SYNC,
        bcast_sig_protocol: BCAST1_SIG,
        bcast_msg_protocol: BCAST1_MSG,
        bcast_hash: BcastHash::TypeUrlValue,
        frost_round1_cast_id: FROST_R1_CAST,
        frost_round1_p2p_protocol: FROST_R1_P2P,
        frost_round2_cast_id: FROST_R2_CAST,
        node_sig_id: NODE_SIG,
        parsigex_protocol: PARSIGEX,
        peerinfo_protocol: PEERINFO,
        max_sync_frame_bytes: MAX_SYNC_FRAME_BYTES,
        max_delimited_frame_bytes: MAX_DELIMITED_FRAME_BYTES,
        max_definition_version: Version::V1_10,
        shutdown_ready_step,
        charon_shutdown_bound: None,
    }
}

/// charon v1.7.x.
pub static V1_7: Profile = bcast1("v1.7", false, false);
/// charon v1.8.x.
pub static V1_8: Profile = bcast1("v1.8", false, false);
/// charon v1.9.x.
pub static V1_9: Profile = bcast1("v1.9", true, false);
/// charon v1.10.x, the released line: the default.
pub static V1_10: Profile = bcast1("v1.10", true, true);
/// charon v1.11.x: bcast 2.0.0 with the session-bound hash.
pub static V1_11: Profile = Profile {
    name: "v1.11",
    sync_version: "v1.11",
    bcast_sig_protocol: BCAST2_SIG,
    bcast_msg_protocol: BCAST2_MSG,
    bcast_hash: BcastHash::SessionBound,
    max_definition_version: Version::V1_11,
    charon_shutdown_bound: Some(Duration::from_secs(120)),
    ..bcast1("v1.11", true, true)
};

/// Every profile, oldest first.
pub static ALL: [&Profile; 5] = [&V1_7, &V1_8, &V1_9, &V1_10, &V1_11];

impl Profile {
    /// The default profile (charon v1.10).
    pub fn default_profile() -> &'static Profile {
        &V1_10
    }

    /// The profile named `name`: `v1.10`, `1.10`, or a full charon version such as
    /// `v1.10.3` or `v1.11.0-rc3` (patch and pre-release are ignored, as charon's sync does).
    pub fn by_name(name: &str) -> Option<&'static Profile> {
        let with_v = if name.starts_with('v') {
            name.to_string()
        } else {
            format!("v{name}")
        };
        let minor = parse_minor(&with_v)?;
        ALL.iter()
            .copied()
            .find(|p| parse_minor(p.sync_version) == Some(minor))
    }

    /// The default profile for a definition: v1.11 for a v1.11.0 definition (only charon
    /// v1.11 creates and accepts those), v1.10 otherwise.
    pub fn for_definition(definition: &Definition) -> &'static Profile {
        if definition.version >= Version::V1_11 {
            &V1_11
        } else {
            &V1_10
        }
    }

    /// Whether this minor's `charon dkg` accepts a definition of `version` (v1.6.0 up to
    /// [`Profile::max_definition_version`]).
    pub fn accepts_definition(&self, version: Version) -> bool {
        (Version::V1_6..=self.max_definition_version).contains(&version)
    }

    /// charon's ID string of `protocol` in this profile.
    pub fn id(&self, protocol: ProtocolId) -> &'static str {
        match protocol {
            ProtocolId::Sync => self.sync_protocol,
            ProtocolId::BcastSig => self.bcast_sig_protocol,
            ProtocolId::BcastMsg => self.bcast_msg_protocol,
            ProtocolId::FrostRound1P2p => self.frost_round1_p2p_protocol,
            ProtocolId::Parsigex => self.parsigex_protocol,
            ProtocolId::Peerinfo => self.peerinfo_protocol,
        }
    }

    /// The protocol whose ID string is `id` in this profile; `None` for any other string
    /// (another charon version's ID, or no ceremony protocol at all).
    pub fn protocol(&self, id: &str) -> Option<ProtocolId> {
        ProtocolId::ALL.into_iter().find(|p| self.id(*p) == id)
    }

    /// The framing of `protocol`, if it belongs to this profile.
    pub fn framing(&self, protocol: &str) -> Option<Framing> {
        if protocol == self.sync_protocol {
            return Some(Framing::Sync {
                max_frame_bytes: self.max_sync_frame_bytes,
            });
        }
        [
            self.bcast_sig_protocol,
            self.bcast_msg_protocol,
            self.frost_round1_p2p_protocol,
            self.parsigex_protocol,
            self.peerinfo_protocol,
        ]
        .contains(&protocol)
        .then_some(Framing::Delimited {
            max_frame_bytes: self.max_delimited_frame_bytes,
        })
    }

    /// Every libp2p protocol of this profile (bcast message IDs are not protocols).
    pub fn protocols(&self) -> [&'static str; 6] {
        ProtocolId::ALL.map(|p| self.id(p))
    }
}

/// The framing of `protocol` under any profile (every profile frames a protocol ID the same
/// way), for a driver that serves every profile while the version is being negotiated.
pub fn framing_of(protocol: &str) -> Option<Framing> {
    ALL.iter().find_map(|p| p.framing(protocol))
}

/// Every libp2p protocol of every profile, without duplicates, oldest profile first.
pub fn all_protocols() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for p in ALL {
        for id in p.protocols() {
            if !out.contains(&id) {
                out.push(id);
            }
        }
    }
    out
}

/// `(major, minor)` of a charon version string, as charon's `version.Parse` reads it:
/// `^v(\d+)\.(\d+)(?:\.(\d+))?(?:-(.+))?$` (ASCII digits). `None` if it does not parse.
pub fn parse_minor(version: &str) -> Option<(u64, u64)> {
    let rest = version.strip_prefix('v')?;
    let (core, pre) = match rest.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (rest, None),
    };
    if pre.is_some_and(str::is_empty) {
        return None;
    }
    let mut parts = core.split('.');
    let number = |s: Option<&str>| -> Option<u64> {
        let s = s?;
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let major = number(parts.next())?;
    let minor = number(parts.next())?;
    if let Some(patch) = parts.next() {
        number(Some(patch))?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions() {
        assert_eq!(Profile::default_profile().name, "v1.10");
        assert_eq!(Profile::by_name("v1.11").map(|p| p.name), Some("v1.11"));
        assert_eq!(Profile::by_name("1.9").map(|p| p.name), Some("v1.9"));
        assert_eq!(Profile::by_name("v1.10.3").map(|p| p.name), Some("v1.10"));
        assert_eq!(
            Profile::by_name("v1.11.0-rc3").map(|p| p.name),
            Some("v1.11")
        );
        assert_eq!(Profile::by_name("v1.6"), None);
        assert_eq!(Profile::by_name("v1.10.x"), None);
        assert_eq!(parse_minor("v1.10-dev"), Some((1, 10)));
        assert_eq!(parse_minor("v1.10-"), None);
        assert_eq!(parse_minor("1.10"), None);
        assert_eq!(parse_minor("v1"), None);
        assert_eq!(parse_minor("v1.10.2.1"), None);
    }

    #[test]
    fn protocol_ids() {
        assert_eq!(V1_10.bcast_sig_protocol, "/charon/dkg/bcast/1.0.0/sig");
        assert_eq!(V1_11.bcast_msg_protocol, "/charon/dkg/bcast/2.0.0/msg");
        assert_eq!(V1_11.sync_protocol, "/charon/dkg/sync/1.0.0/");
        assert_eq!(
            V1_11.frost_round1_p2p_protocol,
            V1_7.frost_round1_p2p_protocol
        );
        assert!(!V1_7.sync_nickname && !V1_8.sync_nickname && V1_9.sync_nickname);
        assert_eq!(V1_10.framing(SYNC), Some(Framing::SYNC));
        assert_eq!(V1_10.framing(PARSIGEX), Some(Framing::DELIMITED));
        assert_eq!(V1_10.framing(BCAST2_SIG), None);
        assert!(V1_10.accepts_definition(Version::V1_6));
        assert!(!V1_10.accepts_definition(Version::V1_11));
        assert!(V1_11.accepts_definition(Version::V1_11));
    }

    #[test]
    fn typed_protocols_map_to_each_profiles_strings_and_back() {
        for p in ALL {
            for id in ProtocolId::ALL {
                assert_eq!(p.protocol(p.id(id)), Some(id), "{} {id:?}", p.name);
            }
        }
        assert_eq!(V1_10.id(ProtocolId::BcastSig), BCAST1_SIG);
        assert_eq!(V1_11.id(ProtocolId::BcastSig), BCAST2_SIG);
        // Another version's ID, or no ceremony protocol at all: unknown, explicitly.
        assert_eq!(V1_11.protocol(BCAST1_MSG), None);
        assert_eq!(V1_10.protocol("/charon/dkg/sync/1.0.0"), None);
        assert_eq!(V1_10.protocol(""), None);
    }

    #[test]
    fn shutdown_sequence_per_profile() {
        for p in [&V1_7, &V1_8, &V1_9] {
            assert!(!p.shutdown_ready_step, "{}", p.name);
            assert_eq!(p.charon_shutdown_bound, None);
        }
        assert!(V1_10.shutdown_ready_step && V1_11.shutdown_ready_step);
        assert_eq!(V1_10.charon_shutdown_bound, None);
        assert_eq!(V1_11.charon_shutdown_bound, Some(Duration::from_secs(120)));
    }

    #[test]
    fn union_of_protocols() {
        let all = all_protocols();
        assert_eq!(all.len(), 8, "{all:?}");
        assert!(all.contains(&BCAST1_SIG) && all.contains(&BCAST2_MSG));
        assert_eq!(framing_of(BCAST2_SIG), Some(Framing::DELIMITED));
        assert_eq!(framing_of(SYNC), Some(Framing::SYNC));
        assert_eq!(framing_of("/other/1.0.0"), None);
    }
}
