//! Real data dirs for the backup tests: an in-process ceremony (dkgd-sim's in-memory
//! network, insecure test KDF) committed through dkgd-store exactly as `dkgd dkg` commits.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use dkgd_ceremony::definition::{definition_for_local_cluster, LocalClusterConfig};
use dkgd_ceremony::Artifacts;
use dkgd_crypto::k1::K1SecretKey;
use dkgd_formats::definition::Version;
use dkgd_store::commit::{self, KeystoreArtifact};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The operator keys (hex) and node 0's artifacts and definition, computed once per binary.
struct Cluster {
    keys: Vec<[u8; 32]>,
    definition_json: Vec<u8>,
    artifacts: Vec<Artifacts>,
}

fn cluster() -> &'static Cluster {
    static C: OnceLock<Cluster> = OnceLock::new();
    C.get_or_init(|| {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let ops: Vec<K1SecretKey> = (0..3).map(|_| K1SecretKey::generate(&mut rng)).collect();
        let creator = K1SecretKey::generate(&mut rng);
        let mut config = LocalClusterConfig::new(Version::V1_10, &dkgd_formats::network::HOODI, 2);
        config.name = "backup test".into();
        config.timestamp = "2026-01-02T03:04:05Z".into();
        let def = definition_for_local_cluster(&config, &ops, &creator, &mut rng).unwrap();
        let arts = dkgd_sim::run_cluster(&def, &ops, 3, &dkgd_sim::config()).unwrap();
        Cluster {
            keys: ops.iter().map(|k| *k.expose_secret()).collect(),
            definition_json: def.to_json().unwrap(),
            artifacts: arts,
        }
    })
}

/// Operator 0's key as it sits in a key file.
pub fn key_hex() -> String {
    hex::encode(cluster().keys[0])
}

/// A data dir with only operator 0's key (as after first boot).
pub fn key_only_dir(root: &Path) -> PathBuf {
    let dir = root.join("key-only");
    std::fs::create_dir_all(&dir).unwrap();
    dkgd_store::atomic::create_new(&dir, "charon-enr-private-key", key_hex().as_bytes(), 0o600)
        .unwrap();
    dir
}

/// Operator 0's data dir after a complete ceremony (key, definition, lock, deposits,
/// keystores), written through dkgd-store with a ceremony's modes.
pub fn full_dir(root: &Path) -> PathBuf {
    let c = cluster();
    let dir = key_only_dir(root);
    let full = root.join("full");
    std::fs::rename(&dir, &full).unwrap();
    dkgd_store::atomic::create_new(&full, "cluster-definition.json", &c.definition_json, 0o644)
        .unwrap();
    // run_cluster returns the nodes in operator order: node 0 is operator 0.
    let a = c.artifacts.first().unwrap();
    let passwords: Vec<_> = a
        .keystores
        .iter()
        .map(|k| k.password.expose_secret().as_bytes().to_vec())
        .collect();
    let arts = commit::Artifacts {
        lock_json: &a.lock_json,
        deposit_files: a
            .deposit_files
            .iter()
            .map(|f| (f.name.as_str(), f.contents.as_slice()))
            .collect(),
        keystores: a
            .keystores
            .iter()
            .zip(&passwords)
            .map(|(k, pw)| KeystoreArtifact {
                index: k.index.as_usize(),
                json: &k.json,
                password: pw,
            })
            .collect(),
    };
    commit::commit(&full, &arts).unwrap();
    full
}

/// Every path under `dir` with its content, mode and mtime (to prove "nothing changed").
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32, i64, i64)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let bytes = if m.is_file() {
                std::fs::read(&p).unwrap()
            } else {
                Vec::new()
            };
            if m.is_dir() {
                stack.push(p.clone());
            }
            out.insert(p, (bytes, m.mode(), m.mtime(), m.mtime_nsec()));
        }
    }
    out
}

/// Permission bits of `p`.
pub fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().mode() & 0o7777
}
