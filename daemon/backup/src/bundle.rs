//! The plaintext of a backup: a ustar archive whose first entry is `manifest.json`, followed
//! by the key and artifacts in a fixed order. Built from checked files ([`Bundle::assemble`])
//! or parsed from untrusted bytes ([`Bundle::from_tar`]), which refuses anything but regular
//! files at known paths, caps every size before reading, and checks the manifest against
//! every byte.

use crate::error::{Error, Problem};
use crate::facts::Facts;
use crate::manifest::{FileRecord, Manifest, Probe, FORMAT, FORMAT_VERSION};
use crate::names::{EntryKind, MANIFEST};
use crate::{MAX_BUNDLE_BYTES, MAX_ENTRIES, MAX_ENTRY_BYTES, MAX_MANIFEST_BYTES};
use dkgd_crypto::secret::SecretVec;
use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;
use zeroize::Zeroizing;

/// One file of a bundle. Its content is treated as secret whatever it is.
pub struct Entry {
    path: String,
    kind: EntryKind,
    content: SecretVec,
}

impl Entry {
    /// A file at `path` (already classified as `kind`).
    pub(crate) fn new(path: String, kind: EntryKind, content: SecretVec) -> Self {
        Self {
            path,
            kind,
            content,
        }
    }

    /// Path inside the bundle and the data dir.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What the file is.
    pub fn kind(&self) -> EntryKind {
        self.kind
    }

    /// The file's bytes (the key and keystore passwords among them).
    pub fn expose_secret(&self) -> &[u8] {
        self.content.expose_secret()
    }
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Entry({}, {} bytes)", self.path, self.content.len())
    }
}

/// A checked bundle: the manifest and every file it lists, in archive order.
#[derive(Debug)]
pub struct Bundle {
    manifest: Manifest,
    entries: Vec<Entry>,
    /// Modification time of every archive entry (the creation time).
    mtime: u64,
}

/// What goes into a new manifest besides what the files themselves say.
#[derive(Debug, Clone)]
pub struct Meta {
    /// The dkgd version writing the backup.
    pub dkgd_version: String,
    /// Creation time, seconds since the Unix epoch (also each entry's mtime).
    pub created_unix_secs: i64,
}

impl Bundle {
    /// Builds a bundle from data-dir files. `origin` names where they came from (for errors).
    pub(crate) fn assemble(
        origin: &Path,
        mut entries: Vec<Entry>,
        meta: &Meta,
    ) -> Result<Self, Error> {
        entries.sort_by(|a, b| order(a).cmp(&order(b)));
        let facts = Facts::derive(origin, &entries)?;
        let manifest = Manifest {
            format: FORMAT.to_owned(),
            format_version: FORMAT_VERSION,
            dkgd_version: meta.dkgd_version.clone(),
            created: dkgd_store::rfc3339_seconds(meta.created_unix_secs),
            kind: facts.kind,
            peer_id: facts.peer_id,
            enr: facts.enr,
            cluster_name: facts.cluster_name,
            lock_hash: facts.lock_hash,
            files: entries
                .iter()
                .map(|e| FileRecord::of(&e.path, e.expose_secret()))
                .collect(),
        };
        Ok(Self {
            manifest,
            entries,
            mtime: u64::try_from(meta.created_unix_secs).unwrap_or(0),
        })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The files, in archive order (manifest excluded).
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry at `path`, if any.
    pub fn entry(&self, path: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.path == path)
    }

    /// The archive bytes: manifest first, then every entry with its ceremony mode.
    pub fn to_tar(&self) -> Result<SecretVec, Error> {
        let manifest = self.manifest.to_json();
        let padded = |n: usize| 512 + n.div_ceil(512) * 512;
        let capacity = self
            .entries
            .iter()
            .map(|e| padded(e.content.len()))
            .sum::<usize>()
            + padded(manifest.len())
            + 1024;
        // Sized once: the archive is never reallocated, so no stray copy of a key is freed.
        let mut out = Zeroizing::new(Vec::with_capacity(capacity));
        let mut builder = tar::Builder::new(&mut *out);
        let mtime = self.mtime;
        let files = std::iter::once((MANIFEST, EntryKind::Manifest, manifest.as_slice())).chain(
            self.entries
                .iter()
                .map(|e| (e.path.as_str(), e.kind, e.expose_secret())),
        );
        for (path, kind, content) in files {
            let mut h = tar::Header::new_ustar();
            h.set_path(path)
                .map_err(|_| Error::Internal("bundle path does not fit a ustar header"))?;
            h.set_size(content.len() as u64);
            h.set_mode(kind.mode());
            h.set_mtime(mtime);
            h.set_uid(0);
            h.set_gid(0);
            h.set_entry_type(tar::EntryType::Regular);
            h.set_cksum();
            builder
                .append(&h, content)
                .map_err(|_| Error::Internal("writing to an in-memory archive failed"))?;
        }
        builder
            .into_inner()
            .map_err(|_| Error::Internal("finishing an in-memory archive failed"))?;
        Ok(SecretVec::new(std::mem::take(&mut *out)))
    }

    /// Parses and checks an archive from an opened backup `file`: only regular files at known
    /// paths, sizes capped before reading, the manifest first and matching every file.
    pub fn from_tar(plain: &[u8], file: &Path) -> Result<Self, Error> {
        if plain.len() > MAX_BUNDLE_BYTES {
            return Err(Error::TooLarge {
                path: file.to_path_buf(),
                bytes: plain.len() as u64,
                limit: MAX_BUNDLE_BYTES as u64,
                what: "a backup's contents",
            });
        }
        let bad = |entry: Option<&str>, why| Error::invalid(file, entry, why);
        let mut archive = tar::Archive::new(plain);
        let iter = archive.entries().map_err(|_| bad(None, Problem::Archive))?;
        let mut manifest_bytes: Option<Zeroizing<Vec<u8>>> = None;
        let mut entries = Vec::new();
        let mut seen = BTreeSet::new();
        let mut mtime = 0;
        for item in iter {
            let mut entry = item.map_err(|_| bad(None, Problem::Archive))?;
            let path = String::from_utf8(entry.path_bytes().into_owned())
                .map_err(|_| bad(None, Problem::Path(crate::names::PathProblem::BadCharacter)))?;
            if !entry.header().entry_type().is_file() {
                return Err(bad(Some(&path), Problem::NotAFile));
            }
            let kind = EntryKind::of(&path).map_err(|p| bad(Some(&path), Problem::Path(p)))?;
            if !seen.insert(path.clone()) {
                return Err(bad(Some(&path), Problem::Duplicate));
            }
            if seen.len() > MAX_ENTRIES + 1 {
                return Err(bad(None, Problem::Archive));
            }
            let first = seen.len() == 1;
            if (kind == EntryKind::Manifest) != first {
                return Err(bad(None, Problem::NoManifest));
            }
            let limit = if first {
                MAX_MANIFEST_BYTES
            } else {
                MAX_ENTRY_BYTES
            };
            let size = entry.size();
            if size > limit as u64 {
                return Err(Error::TooLarge {
                    path: file.join(&path),
                    bytes: size,
                    limit: limit as u64,
                    what: "a file in a backup",
                });
            }
            let content = read_exact_entry(&mut entry, size)
                .ok_or_else(|| bad(Some(&path), Problem::Archive))?;
            if first {
                mtime = entry.header().mtime().unwrap_or(0);
                manifest_bytes = Some(content);
            } else {
                let content = SecretVec::new(std::mem::take(&mut *{ content }));
                entries.push(Entry::new(path, kind, content));
            }
        }
        let manifest_bytes = manifest_bytes.ok_or_else(|| bad(None, Problem::NoManifest))?;
        let manifest = parse_manifest(&manifest_bytes, file)?;
        check_files(&manifest, &entries, file)?;
        let facts = Facts::derive(file, &entries)?;
        facts.check_manifest(&manifest, file)?;
        Ok(Self {
            manifest,
            entries,
            mtime,
        })
    }
}

/// Archive order: key, definition, lock, deposit files, then keystores by index (json, txt).
fn order(e: &Entry) -> (u8, u32, u8, &str) {
    match e.kind {
        EntryKind::Manifest => (0, 0, 0, ""),
        EntryKind::Key => (1, 0, 0, ""),
        EntryKind::Definition => (2, 0, 0, ""),
        EntryKind::Lock => (3, 0, 0, ""),
        EntryKind::Deposit => (4, 0, 0, &e.path),
        EntryKind::KeystoreJson(n) => (5, n, 0, ""),
        EntryKind::KeystorePassword(n) => (5, n, 1, ""),
    }
}

/// Reads exactly `size` bytes of an entry into a buffer allocated once.
fn read_exact_entry(r: &mut impl Read, size: u64) -> Option<Zeroizing<Vec<u8>>> {
    let n = usize::try_from(size).ok()?;
    let mut buf = Zeroizing::new(vec![0u8; n]);
    r.read_exact(&mut buf).ok()?;
    Some(buf)
}

fn parse_manifest(bytes: &[u8], file: &Path) -> Result<Manifest, Error> {
    let bad = |why| Error::invalid(file, Some(MANIFEST), why);
    let probe: Probe =
        serde_json::from_slice(bytes).map_err(|e| bad(Problem::ManifestSyntax(e.to_string())))?;
    if probe.format.as_deref() != Some(FORMAT) {
        return Err(bad(Problem::ManifestSyntax(format!(
            "\"format\" is not \"{FORMAT}\""
        ))));
    }
    match probe.format_version {
        Some(v) if v > FORMAT_VERSION => return Err(bad(Problem::NewerFormat(v))),
        Some(v) if v == FORMAT_VERSION => {}
        _ => {
            return Err(bad(Problem::ManifestSyntax(
                "missing or unknown \"format_version\"".into(),
            )))
        }
    }
    serde_json::from_slice(bytes).map_err(|e| bad(Problem::ManifestSyntax(e.to_string())))
}

/// The manifest lists exactly the archive's files, in order, each with its hash and size.
fn check_files(manifest: &Manifest, entries: &[Entry], file: &Path) -> Result<(), Error> {
    let mut listed = BTreeSet::new();
    for rec in &manifest.files {
        if !listed.insert(rec.path.as_str()) {
            return Err(Error::invalid(file, Some(&rec.path), Problem::Duplicate));
        }
        match entries.iter().find(|e| e.path == rec.path) {
            None => return Err(Error::invalid(file, Some(&rec.path), Problem::Missing)),
            Some(e) if !rec.matches(e.expose_secret()) => {
                return Err(Error::invalid(file, Some(&rec.path), Problem::HashMismatch))
            }
            Some(_) => {}
        }
    }
    if let Some(e) = entries.iter().find(|e| !listed.contains(e.path.as_str())) {
        return Err(Error::invalid(file, Some(&e.path), Problem::Unlisted));
    }
    Ok(())
}
