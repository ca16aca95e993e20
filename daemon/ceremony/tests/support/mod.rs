//! Shared helpers: signed local definitions and the checks every successful ceremony must pass.

#![allow(dead_code, unreachable_pub)]

use dkgd_ceremony::definition::LocalClusterConfig;
use dkgd_ceremony::duties::deposit_amounts;
use dkgd_ceremony::Artifacts;
use dkgd_crypto::k1::K1SecretKey;
use dkgd_crypto::keystore::{self, KdfStrength};
use dkgd_formats::definition::{Definition, Version};
use dkgd_formats::deposit::{deposit_file_name, verify_deposit_file, DepositData};
use dkgd_formats::lock::Lock;
use dkgd_formats::network::Network;
use dkgd_formats::verify::{verify_definition, verify_lock};
use dkgd_sim::{run_cluster, ClusterError};

/// `n` operator keys and a creator key, from `seed`.
pub fn keys(n: usize, seed: u64) -> (Vec<K1SecretKey>, K1SecretKey) {
    dkgd_sim::keys(n, seed)
}

/// A signed definition for `ops`.
pub fn definition(
    config: &LocalClusterConfig,
    ops: &[K1SecretKey],
    creator: &K1SecretKey,
) -> Definition {
    let def = dkgd_sim::definition(config, ops, creator).expect("definition");
    let report = verify_definition(&def);
    assert!(
        report.all_passed(),
        "definition must verify: {:#?}",
        report.checks
    );
    def
}

/// One ceremony case.
pub struct Case {
    pub n: usize,
    pub v: u64,
    pub version: Version,
    pub network: &'static Network,
    pub compounding: bool,
    pub deposit_amounts: Option<Vec<u64>>,
    pub kdf: KdfStrength,
    pub seed: u64,
}

impl Case {
    pub fn new(n: usize, v: u64, version: Version, network: &'static Network) -> Self {
        Case {
            n,
            v,
            version,
            network,
            compounding: false,
            deposit_amounts: None,
            kdf: KdfStrength::InsecureTestOnly,
            seed: 1,
        }
    }

    pub fn config(&self) -> LocalClusterConfig {
        let mut c = LocalClusterConfig::new(self.version, self.network, self.v);
        c.name = format!("test n={} v={}", self.n, self.v);
        c.timestamp = "2026-01-02T03:04:05Z".to_string();
        c.compounding = self.compounding;
        c.deposit_amounts.clone_from(&self.deposit_amounts);
        c
    }

    /// Runs the ceremony on the in-memory network and returns the definition and every
    /// node's artifacts.
    pub fn run(&self) -> Result<(Definition, Vec<Artifacts>), ClusterError> {
        let (ops, creator) = keys(self.n, self.seed);
        let def = definition(&self.config(), &ops, &creator);
        // Keys in reverse order: the cluster orders nodes by their operator position.
        let rev: Vec<K1SecretKey> = ops
            .iter()
            .rev()
            .map(|k| K1SecretKey::from_bytes(&k.expose_secret()).expect("key"))
            .collect();
        let mut cfg = dkgd_sim::config();
        cfg.kdf = self.kdf;
        let arts = run_cluster(&def, &rev, u8::try_from(self.seed).unwrap_or(0), &cfg)?;
        Ok((def, arts))
    }

    /// Runs the ceremony and checks everything a node writes.
    pub fn run_and_check(&self) {
        let (def, arts) = self
            .run()
            .unwrap_or_else(|e| panic!("ceremony failed: {e}"));
        check(self, &def, &arts);
    }
}

/// The acceptance checks of one successful ceremony.
pub fn check(case: &Case, def: &Definition, arts: &[Artifacts]) {
    let n = case.n;
    let v = usize::try_from(case.v).expect("small V");
    assert_eq!(arts.len(), n);
    // Every node's lock is byte-identical and verifies.
    for a in arts {
        assert_eq!(a.lock_json, arts[0].lock_json, "locks differ between nodes");
    }
    let lock = Lock::from_json(&arts[0].lock_json).expect("lock parses");
    assert_eq!(lock, arts[0].lock);
    assert_eq!(
        lock.to_json().expect("lock serialises"),
        arts[0].lock_json,
        "lock JSON round-trips"
    );
    let report = verify_lock(&lock);
    assert!(report.all_passed(), "verify_lock: {:#?}", report.checks);
    assert_eq!(lock.definition, *def);
    assert_eq!(lock.lock_hash, Some(arts[0].lock_hash));

    // Lock shape by version.
    let amounts = deposit_amounts(def);
    assert_eq!(lock.validators.len(), v);
    for dv in &lock.validators {
        assert_eq!(dv.public_shares.len(), n);
        let got: Vec<u64> = dv.deposit_data.iter().map(|d| d.amount).collect();
        assert_eq!(got, amounts, "one deposit per distinct amount, ascending");
        assert_eq!(
            dv.builder_registration.is_some(),
            case.version >= Version::V1_7
        );
        if let Some(r) = &dv.builder_registration {
            assert_eq!(r.message.timestamp, case.network.genesis_time);
            assert_eq!(r.message.pubkey, dv.public_key);
        }
    }
    let expected_sigs = if case.version >= Version::V1_7 { n } else { 0 };
    assert_eq!(lock.node_signatures.len(), expected_sigs);
    if case.version < Version::V1_8 {
        assert_eq!(amounts, [32_000_000_000]);
    }

    for (p, a) in arts.iter().enumerate() {
        // Keystores decrypt to this node's shares.
        assert_eq!(a.keystores.len(), v);
        for (i, ks) in a.keystores.iter().enumerate() {
            assert_eq!(ks.index.as_usize(), i);
            assert_eq!(ks.json_file_name(), format!("keystore-{i}.json"));
            assert_eq!(ks.password.expose_secret().len(), 32);
            if case.kdf == KdfStrength::Standard {
                let json = String::from_utf8(ks.json.clone()).expect("keystore JSON is UTF-8");
                assert!(json.contains("\"c\": 262144"), "charon's full PBKDF2 cost");
            }
            let key = keystore::decrypt(&ks.json, ks.password.expose_secret()).expect("decrypts");
            assert_eq!(
                key.pubkey(),
                &lock.validators[i].public_shares[p],
                "node {p} keystore {i} holds its share"
            );
        }
        // Deposit files verify and match the lock's deposit data.
        assert_eq!(a.deposit_files.len(), amounts.len());
        for (file, amount) in a.deposit_files.iter().zip(&amounts) {
            assert_eq!(file.name, deposit_file_name(*amount));
            assert_eq!(
                file.contents,
                arts[0].deposit_files[file_pos(arts, &file.name)].contents
            );
            let entries =
                verify_deposit_file(&file.contents, Some(case.network)).expect("verifies");
            let mut in_file: Vec<DepositData> = entries.into_iter().map(|e| e.deposit).collect();
            let mut in_lock: Vec<DepositData> = lock
                .validators
                .iter()
                .flat_map(|dv| {
                    dv.deposit_data
                        .iter()
                        .filter(|d| d.amount == *amount)
                        .cloned()
                })
                .collect();
            in_file.sort_by_key(|d| d.pubkey);
            in_lock.sort_by_key(|d| d.pubkey);
            assert_eq!(in_file, in_lock, "{}", file.name);
        }
    }
}

fn file_pos(arts: &[Artifacts], name: &str) -> usize {
    arts[0]
        .deposit_files
        .iter()
        .position(|f| f.name == name)
        .expect("same files on every node")
}
