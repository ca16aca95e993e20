//! Writes the first inputs of every fuzz target into `daemon/fuzz/corpus/<target>/`, made
//! by our own encoders and an honest in-memory ceremony (never copied vectors). libFuzzer
//! grows the corpus from these; `daemon/fuzz/run` minimises it before it is committed.
//!
//! `cargo run -p dkgd-fuzzing --example seed_corpus`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use dkgd_backup::{collect, Meta};
use dkgd_ceremony::definition::LocalClusterConfig;
use dkgd_ceremony::wire::framing::{encode_delimited, encode_sync};
use dkgd_ceremony::wire::parsig::encode_partials;
use dkgd_ceremony::wire::profile::V1_10;
use dkgd_ceremony::wire::proto::MsgNodeSig;
use dkgd_ceremony::wire::ProtocolId;
use dkgd_ceremony::{Duty, ShareIdx};
use dkgd_crypto::k1::K1SecretKey;
use dkgd_formats::definition::Version;
use dkgd_formats::enr::Enr;
use dkgd_formats::network::HOODI;
use dkgd_formats::pairing::PairingCode;
use dkgd_sim::{Mutator, Net};
use prost::Message;

/// Passes every frame unchanged and keeps a copy, with its protocol.
/// The frames seen so far: (protocol, body).
type Frames = Rc<RefCell<Vec<(ProtocolId, Vec<u8>)>>>;

struct Recorder(Frames);

impl Mutator for Recorder {
    fn mutate(&mut self, protocol: ProtocolId, body: Vec<u8>) -> Vec<u8> {
        self.0.borrow_mut().push((protocol, body.clone()));
        body
    }
    fn mutated(&self) -> usize {
        0
    }
}

struct Corpus {
    root: PathBuf,
    written: usize,
}

impl Corpus {
    fn put(&mut self, target: &str, data: &[u8]) {
        assert!(dkgd_fuzzing::target(target).is_some(), "{target}");
        let dir = self.root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        let name = format!("seed-{}", &hex(&sha(data))[..16]);
        std::fs::write(dir.join(name), data).unwrap();
        self.written += 1;
    }
}

fn sha(data: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(data).to_vec()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn with(sel: u8, body: &[u8]) -> Vec<u8> {
    [&[sel][..], body].concat()
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let mut c = Corpus { root, written: 0 };

    // An honest 4-node ceremony; every frame from operator 1 to operator 0 is kept.
    let (ops, creator) = dkgd_sim::keys(4, 7);
    let mut config = LocalClusterConfig::new(Version::V1_10, &HOODI, 1);
    config.timestamp = "2026-01-02T03:04:05Z".to_string();
    let def = dkgd_sim::definition(&config, &ops, &creator).unwrap();
    let frames = Rc::new(RefCell::new(Vec::new()));
    let mut net = Net::new(&ops, &vec![def.clone(); 4], &[&V1_10; 4], 11).unwrap();
    net.tamper = Some((1, 0, Box::new(Recorder(frames.clone()))));
    assert!(net.run());
    let arts = net.artifacts(0).expect("an honest run stages");

    let frames = frames.borrow();
    let protocols = ProtocolId::ALL;
    let mut one_node = Vec::new();
    for (protocol, body) in frames.iter() {
        let p = protocols.iter().position(|x| x == protocol).unwrap();
        let p = u8::try_from(p).unwrap();
        c.put("frame_decoder", &with(0, &encode_delimited(body)));
        c.put("frame_decoder", &with(1, &encode_sync(body)));
        for sel in 0..6 {
            c.put("bcast", &with(sel, body));
        }
        for sel in 0..3 {
            c.put("frost", &with(sel, body));
        }
        // Operator 1's frame as a record for operator 0's lone ceremony (sender bits 0).
        one_node.push(p);
        one_node.extend(u16::try_from(body.len()).unwrap().to_le_bytes());
        one_node.extend(body);
    }
    c.put("ceremony_frames", &one_node);
    c.put("ceremony_frames", &[6, 0, 0]);
    for sel in 0..12u8 {
        c.put("cluster", &[sel]);
    }
    c.put("cluster", &[5, 200, 0, 3, 0, 0, 0, 0, 0, 193, 0, 7, 0, 1]);

    // Partial signatures for the parsigex target's group keys, one per duty.
    for (sel, duty) in [
        Duty::Deposit {
            index: 0,
            amount_gwei: 32_000_000_000,
        },
        Duty::Deposit {
            index: 1,
            amount_gwei: 1_000_000_000,
        },
        Duty::BuilderRegistration,
        Duty::LockHash,
    ]
    .into_iter()
    .enumerate()
    {
        let set = dkgd_ceremony::partials::PartialSignatures {
            duty,
            share: ShareIdx::new(2).unwrap(),
            signatures: vec![[0x11; 96], [0x22; 96]],
        };
        let keys = [[0xa1; 48], [0xb2; 48]];
        let sel = u8::try_from(sel).unwrap();
        c.put(
            "parsigex",
            &with(sel | 0x80, &encode_partials(&set, &keys).unwrap()),
        );
        set_one(&mut c, sel, duty);
    }

    let signer = K1SecretKey::from_bytes(&[7; 32]).unwrap();
    let sig = MsgNodeSig {
        signature: signer.sign_digest(&[0x5a; 32]).to_vec(),
        peer_index: 2,
    };
    c.put("node_sig", &sig.encode_to_vec());

    // Files: our definition, lock, deposit file, ENR, and a backup of a data dir.
    c.put("definition", &def.to_json().unwrap());
    c.put("lock", &arts.lock_json);
    for f in &arts.deposit_files {
        c.put("deposit_file", &f.contents);
    }
    for op in &ops {
        c.put("enr", Enr::create(op).to_text().as_bytes());
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(
        dir.join("charon-enr-private-key"),
        hex(&ops[0].expose_secret()[..]),
    )
    .unwrap();
    std::fs::write(dir.join("cluster-definition.json"), def.to_json().unwrap()).unwrap();
    std::fs::write(dir.join("cluster-lock.json"), &arts.lock_json).unwrap();
    for f in &arts.deposit_files {
        std::fs::write(dir.join(&f.name), &f.contents).unwrap();
    }
    std::fs::create_dir(dir.join("validator_keys")).unwrap();
    for k in &arts.keystores {
        let base = dir
            .join("validator_keys")
            .join(format!("keystore-{}", k.index.as_usize()));
        std::fs::write(base.with_extension("json"), &k.json).unwrap();
        std::fs::write(base.with_extension("txt"), k.password.expose_secret()).unwrap();
    }
    let meta = Meta {
        dkgd_version: "seed".into(),
        created_unix_secs: 0,
    };
    match collect(dir, &meta) {
        Ok(col) => c.put(
            "backup_bundle",
            col.bundle.to_tar().unwrap().expose_secret(),
        ),
        Err(e) => eprintln!("no backup_bundle seed: {e}"),
    }

    // What an owner types, what the Obol API answers, what a socket client sends.
    let code = PairingCode::new(&HOODI, def.config_hash.unwrap());
    c.put("pairing_code", code.encode().as_bytes());
    c.put(
        "pairing_code",
        format!("0x{} hoodi", hex(&def.config_hash.unwrap())).as_bytes(),
    );
    c.put(
        "pairing_code",
        format!(
            "https://hoodi.launchpad.obol.org/dv?configHash=0x{}",
            hex(&def.config_hash.unwrap())
        )
        .as_bytes(),
    );
    c.put(
        "obol_api",
        &with(
            0,
            br#"{"cluster_definitions":[{"name":"x"}],"has_next_page":false}"#,
        ),
    );
    c.put("obol_api", &with(1, &def.to_json().unwrap()));
    for req in [
        "GET /status HTTP/1.1\r\nHost: x\r\n\r\n".to_string(),
        "HEAD /health HTTP/1.1\r\n\r\n".to_string(),
        "GET /metrics HTTP/1.0\r\n\r\n".to_string(),
        "GET /backups HTTP/1.1\r\n\r\n".to_string(),
        format!(
            "POST /pair HTTP/1.1\r\nContent-Length: {}\r\n\r\n{}",
            code.encode().len(),
            code.encode()
        ),
        "POST /backup/recipients HTTP/1.1\r\nContent-Length: 4\r\n\r\nage1".to_string(),
        "POST /backup/acknowledge-restore HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
            .to_string(),
    ] {
        c.put("status_request", req.as_bytes());
    }
    eprintln!(
        "{} seed inputs written under {}",
        c.written,
        c.root.display()
    );
}

/// One partial signature, for the one-key selector.
fn set_one(c: &mut Corpus, sel: u8, duty: Duty) {
    let set = dkgd_ceremony::partials::PartialSignatures {
        duty,
        share: ShareIdx::new(1).unwrap(),
        signatures: vec![[0x33; 96]],
    };
    c.put(
        "parsigex",
        &with(sel, &encode_partials(&set, &[[0xa1; 48]]).unwrap()),
    );
}
