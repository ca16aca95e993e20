//! Accepting a cluster definition: from the inbox (`<state dir>/inbox/cluster-definition.json`,
//! polled every 2 s while `awaiting-definition`) into the data dir as
//! `cluster-definition.json`, after checking it with dkgd-formats (parse, hashes, signatures)
//! and that this node's key is one of its operators.

use super::identity::PublicIdentity;
use crate::lifecycle::DefinitionFacts;
use crate::status::model::Peer;
use dkgd_formats::definition::Definition;
use dkgd_formats::enr::Enr;
use dkgd_formats::error::MAX_INPUT_BYTES;
use dkgd_formats::verify::{verify_definition, Status};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The definition's file name, in the inbox and in the data dir.
pub const DEFINITION_FILE: &str = "cluster-definition.json";

/// A checked definition: what the lifecycle needs and what the status shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// Hash, name, operator count.
    pub facts: DefinitionFacts,
    /// The operators, ours marked.
    pub peers: Vec<Peer>,
}

/// Identifies one version of an inbox file, so a refused file is refused once, not every poll.
/// The change time is in it: `install -o dkgd -m0600` writes the file as root and only then
/// hands it to the daemon's user, and a file refused as unreadable in between must be looked
/// at again once its owner or mode changed (the mtime and size do not).
pub type FileStamp = (u64, u64, (i64, i64), (i64, i64), (u32, u32, u32));

/// The inbox file's stamp (inode, size, mtime, ctime, and mode with the file type, owner and
/// group: the timestamps alone may not move within one clock tick), if it exists.
pub fn stamp(path: &Path) -> Option<FileStamp> {
    let m = std::fs::symlink_metadata(path).ok()?;
    Some((
        m.ino(),
        m.size(),
        (m.mtime(), m.mtime_nsec()),
        (m.ctime(), m.ctime_nsec()),
        (m.mode(), m.uid(), m.gid()),
    ))
}

/// Reads and checks the definition at `path` for the node `me`. The error is the reason for
/// the operator (the caller adds the file name).
pub fn check(path: &Path, me: &PublicIdentity) -> Result<Accepted, String> {
    // Not followed: a symlink in the inbox could point the daemon at any file it can read.
    let meta = std::fs::symlink_metadata(path).map_err(|e| format!("cannot read it: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file (symbolic links are not followed)".to_owned());
    }
    if meta.len() > MAX_INPUT_BYTES as u64 {
        return Err(format!(
            "{} bytes is too large for a definition",
            meta.len()
        ));
    }
    let bytes = read_capped(path)?;
    let def = Definition::from_json(&bytes)
        .map_err(|e| format!("not a valid cluster definition: {e}"))?;
    let report = verify_definition(&def);
    if let Some(bad) = report.checks.iter().find(|c| c.status == Status::Fail) {
        return Err(format!("does not verify: {}: {}", bad.check, bad.detail));
    }
    let mut peers = Vec::new();
    let mut ours = false;
    for (i, op) in def.operators().iter().enumerate() {
        let enr =
            Enr::parse(&op.enr).map_err(|e| format!("operator {i} has an invalid ENR: {e}"))?;
        let peer_id = enr.peer_id().to_string();
        let is_self = enr.public_key() == me.public_key;
        ours |= is_self;
        let tail = peer_id
            .get(peer_id.len().saturating_sub(6)..)
            .unwrap_or_default();
        peers.push(Peer {
            index: u32::try_from(i).unwrap_or(u32::MAX),
            name: format!("op{i}-{tail}"),
            peer_id,
            address: op.address.as_str().to_owned(),
            is_self,
        });
    }
    if !ours {
        return Err(format!(
            "this node is not one of its {} operators: its ENR {} is not in the definition \
             (ask the cluster creator to add this ENR, or use the definition made for this node)",
            peers.len(),
            me.enr
        ));
    }
    let hash = def
        .compute_definition_hash()
        .map_err(|e| format!("cannot hash it: {e}"))?;
    Ok(Accepted {
        facts: DefinitionFacts {
            hash: hex0x(&hash),
            name: def.name.clone(),
            operators: u32::try_from(peers.len()).unwrap_or(u32::MAX),
        },
        peers,
    })
}

/// Copies an accepted inbox file into the data dir (atomic, fsynced, never replacing a
/// definition already there), then removes it from the inbox. Returns the new path.
pub fn adopt(inbox_file: &Path, data_dir: &Path) -> Result<PathBuf, String> {
    let bytes = read_capped(inbox_file)?;
    let to = dkgd_store::atomic::create_new(data_dir, DEFINITION_FILE, &bytes, 0o644)
        .map_err(|e| format!("cannot copy it into the data dir: {e}"))?;
    if let Err(e) = std::fs::remove_file(inbox_file) {
        tracing::warn!(file = %inbox_file.display(), error = %e, "cannot remove the adopted definition from the inbox");
    }
    Ok(to)
}

/// Reads at most [`MAX_INPUT_BYTES`] (plus one byte to notice more) without following a
/// symlink: a file that grew after its size was checked is still never read whole.
fn read_capped(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| format!("cannot read it: {e}"))?;
    let cap = u64::try_from(MAX_INPUT_BYTES).unwrap_or(u64::MAX);
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read it: {e}"))?;
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(format!(
            "more than {MAX_INPUT_BYTES} bytes is too large for a definition"
        ));
    }
    Ok(bytes)
}

/// `0x` and lower-case hex.
pub fn hex0x(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 + bytes.len() * 2);
    s.push_str("0x");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_mode_or_owner_change_is_a_new_stamp() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(DEFINITION_FILE);
        std::fs::write(&path, b"{}").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let before = stamp(&path).expect("a stamp");
        assert_eq!(stamp(&path), Some(before), "unchanged file, same stamp");
        // What `install -o dkgd -m0600` does last: same bytes, same mtime, new mode/owner.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        assert_ne!(
            stamp(&path),
            Some(before),
            "a refused file must be looked at again"
        );
    }
}
