//! `dkgd run` joining a cluster from a pairing code, against a real HTTP server speaking the
//! Obol API contract (the double in daemon/invite/tests/support): codes by `dkgd pair`, by
//! `POST /pair`, in the inbox and in the boot-partition file, self-operated boxes accepting by themselves, boxes whose operator is
//! a separate wallet (the test acts as the launchpad), the ceremony, `dkgd verify`; and bad
//! input (typo, wrong network, unknown hash, not ours, an API that lies) changing nothing.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

#[path = "../../invite/tests/support/obol_api.rs"]
mod obol_api;
mod support;

use dkgd_ceremony::definition::{definition_for_local_cluster, LocalClusterConfig};
use dkgd_crypto::k1::K1SecretKey;
use dkgd_formats::definition::{Definition, Version};
use dkgd_formats::enr::Enr;
use dkgd_formats::network::HOODI;
use dkgd_formats::pairing::PairingCode;
use dkgd_invite::api::{self, ApiUrl};
use dkgd_invite::{ApiClient, Limits};
use obol_api::ObolApi;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;
use support::daemon::Daemon;
use support::{run, s, KEY};

const START: Duration = Duration::from_secs(20);

fn key(seed: u8) -> K1SecretKey {
    K1SecretKey::from_bytes(&[seed; 32]).unwrap()
}

/// The launchpad's state right after the creator made the cluster: operators named by wallet
/// address only, creator signed.
fn launchpad_definition(wallets: &[K1SecretKey], name: &str) -> Definition {
    let mut config = LocalClusterConfig::new(Version::V1_10, &HOODI, 1);
    config.name = name.to_owned();
    config.timestamp = "2026-12-04T00:00:00Z".to_owned();
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let mut def = definition_for_local_cluster(&config, wallets, &key(200), &mut rng).unwrap();
    for op in def.operators.iter_mut().flatten() {
        op.enr.clear();
        op.config_signature.clear();
        op.enr_signature.clear();
    }
    def.with_hashes_recomputed().unwrap()
}

fn put_key(data: &Path, k: &K1SecretKey) {
    std::fs::create_dir_all(data).unwrap();
    std::fs::set_permissions(data, std::fs::Permissions::from_mode(0o700)).unwrap();
    let hex: String = k
        .expose_secret()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(data.join(KEY), hex).unwrap();
    std::fs::set_permissions(data.join(KEY), std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// Four daemons, four operators: two boxes are their operators' wallets (they accept by
/// themselves), two belong to operators with separate wallets (the test signs for them, as the
/// launchpad would, with the ENR each box shows). Codes arrive four ways: `dkgd pair`, the
/// boot-partition file, `POST /pair` on the socket, the inbox. Every box ends complete with
/// artifacts that verify.
#[test]
fn four_boxes_pair_by_code_and_complete_a_ceremony() {
    const N: usize = 4;
    let rt = runtime();
    let api = rt.block_on(ObolApi::start());
    let d = tempfile::tempdir().unwrap();
    let node_keys: Vec<K1SecretKey> = (0..N).map(|i| key(10 + u8::try_from(i).unwrap())).collect();
    let wallets = [key(10), key(11), key(90), key(91)];
    let def = launchpad_definition(&wallets, "paired");
    api.put(&def);
    let code = PairingCode::new(&HOODI, def.config_hash.unwrap()).encode();

    let ports = support::cluster::free_ports(N);
    let ids: Vec<String> = node_keys
        .iter()
        .map(|k| Enr::create(k).peer_id().to_string())
        .collect();
    let mut daemons = Vec::new();
    for i in 0..N {
        let root = d.path().join(format!("d{i}"));
        put_key(&root.join("data"), &node_keys[i]);
        let boot = root.join("boot/dkgd/pairing-code");
        let peers: Vec<String> = (0..N)
            .filter(|&j| j != i)
            .map(|j| format!("\"{}=/ip4/127.0.0.1/tcp/{}\"", ids[j], ports[j]))
            .collect();
        let extra = format!(
            "listen = [\"/ip4/127.0.0.1/tcp/{}\"]\npeer_addrs = [{}]\napi_url = \"{}\"\npairing_file = \"{}\"\npublish_lock = true\n",
            ports[i],
            peers.join(", "),
            api.url,
            s(&boot),
        );
        let mut daemon = Daemon::start(&root, &extra);
        daemon.wait_state("awaiting-definition", START);
        // Four ways in: box 0 by `dkgd pair` (the CLI), 1 by the boot-partition file, 2 by a
        // raw `POST /pair` on the status socket (the launchpad link), 3 by the inbox file.
        match i {
            0 => {
                let out = run(&["pair", &code, "--socket", s(&daemon.socket)]);
                out.expect_code(0);
                assert!(out.stdout.contains("paired"), "{}", out.stdout);
            }
            1 => {
                std::fs::create_dir_all(boot.parent().unwrap()).unwrap();
                std::fs::write(&boot, format!("{code}\r\n")).unwrap();
            }
            2 => {
                let link = format!(
                    "https://hoodi.launchpad.obol.org/dv?configHash=0x{}",
                    hex(&def.config_hash.unwrap())
                );
                let (status, body) = raw_post(&daemon.socket, "/pair", &link);
                assert_eq!(status, 202, "{body}");
            }
            _ => std::fs::write(
                daemon.data_dir.join("inbox/pairing-code"),
                format!("{code}\n"),
            )
            .unwrap(),
        }
        daemons.push(daemon);
    }

    // Boxes 2 and 3 tell their owners what to sign; the test signs as their wallets.
    let client = ApiClient::new(ApiUrl::parse(&api.url).unwrap(), Limits::default()).unwrap();
    for i in [2, 3] {
        let st = daemons[i].wait_status("the owner's to-do", START, |v| {
            v["invite"]["action"]
                .as_str()
                .is_some_and(|a| a.contains("must add this box's ENR"))
        });
        let enr = st["identity"]["enr"].as_str().unwrap().to_owned();
        assert!(
            st["invite"]["action"].as_str().unwrap().contains(&enr),
            "{st}"
        );
        assert_eq!(st["state"], "awaiting-signatures", "{st}");
        let out = run(&["status", "--socket", s(&daemons[i].socket)]);
        out.expect_code(0);
        assert!(out.stdout.contains("TO DO:"), "{}", out.stdout);
        assert!(
            out.stdout.contains("to scan into the launchpad"),
            "{}",
            out.stdout
        );
        let w = &wallets[i];
        rt.block_on(async {
            client
                .accept_terms(&api::terms_acceptance(w))
                .await
                .unwrap();
            let req = api::acceptance(
                w,
                &enr,
                "v1.10.0",
                &HOODI.genesis_fork_version,
                &def.config_hash.unwrap(),
            )
            .unwrap();
            client
                .accept(&def.config_hash.unwrap(), &req)
                .await
                .unwrap();
        });
    }

    let mut hashes = Vec::new();
    for daemon in &mut daemons {
        let st = daemon.wait_state("complete", Duration::from_secs(300));
        assert_eq!(st["invite"]["stage"], "complete", "{st}");
        assert_eq!(st["invite"]["signed"], 4, "{st}");
        hashes.push(st["lock_hash"].as_str().unwrap().to_owned());
        run(&["verify", s(&daemon.data_dir)]).expect_code(0);
    }
    assert!(hashes.windows(2).all(|w| w[0] == w[1]), "{hashes:?}");
    // The two self-operated boxes accepted the terms and the invite themselves.
    {
        let store = api.lock();
        for k in &node_keys[..2] {
            assert!(store.terms.contains(&hex(&k.public_key().eth_address())));
        }
    }
    // publish_lock: the API holds the lock (each box posts it once, in the background).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let published: Vec<String> = api
            .lock()
            .locks
            .iter()
            .filter_map(|l| l["lock_hash"].as_str().map(str::to_owned))
            .collect();
        if published.len() == N {
            assert!(published.iter().all(|h| *h == hashes[0]), "{published:?}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "published: {published:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Zero-touch (`operator_address`, no code): the box pages through the operator's
/// definitions, finds the one it belongs to on page 3 of 3 and accepts it; when a second
/// qualifying invite appears, a freshly started box refuses both instead of guessing.
#[test]
fn zero_touch_finds_its_invite_on_page_three_and_refuses_two() {
    use dkgd_formats::eip712;
    let rt = runtime();
    let api = rt.block_on(ObolApi::start());
    let d = tempfile::tempdir().unwrap();
    let me = key(70);
    let address = me.public_key().eth_address();
    let foreign = Enr::create(&key(71)).to_text().to_owned();
    // 24 invites where this address already accepted with another box's ENR: not for us.
    for i in 0..24u8 {
        let ops = [key(100 + i), key(130 + i), key(70)];
        let mut config = LocalClusterConfig::new(Version::V1_10, &HOODI, 1);
        config.name = format!("other-{i:02}");
        let mut def = definition_for_local_cluster(
            &config,
            &ops,
            &key(201),
            &mut ChaCha20Rng::seed_from_u64(5),
        )
        .unwrap();
        let op = def.operators.as_mut().unwrap().get_mut(2).unwrap();
        op.enr = foreign.clone();
        op.enr_signature = me
            .sign_digest(&eip712::enr_digest(HOODI.chain_id, &foreign))
            .to_vec();
        api.put(&def.with_hashes_recomputed().unwrap());
    }
    let ours = launchpad_definition(&[key(72), key(73), key(70)], "zz-ours");
    api.put(&ours);
    let root = d.path().join("box");
    put_key(&root.join("data"), &me);
    let extra = format!(
        "api_url = \"{}\"\noperator_address = \"0x{}\"\n",
        api.url,
        hex(&address)
    );
    let mut daemon = Daemon::start(&root, &extra);
    let want = format!("0x{}", hex(&ours.config_hash.unwrap()));
    let st = daemon.wait_status("our invite found and accepted", START, |v| {
        v["invite"]["config_hash"] == want.as_str() && v["invite"]["stage"] == "awaiting-signatures"
    });
    assert_eq!(st["invite"]["signed"], 1, "{st}");
    let pages = api
        .seen()
        .iter()
        .filter(|l| l.contains("/operator/"))
        .count();
    assert_eq!(pages, 3, "{:?}", api.seen());
    assert!(api.lock().terms.contains(&hex(&address)));
    daemon.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(daemon.wait_exit(Duration::from_secs(20)), Some(0));

    // A second invite for this box: a fresh box refuses both.
    let second = launchpad_definition(&[key(74), key(75), key(70)], "zz-second");
    api.put(&second);
    std::fs::remove_dir_all(root.join("data")).unwrap();
    put_key(&root.join("data"), &me);
    let mut daemon = Daemon::start_with(&root, &root.join("dkgd.toml"), &[]);
    let st = daemon.wait_status("two invites refused", START, |v| {
        v["invite"]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("refusing all of them"))
    });
    let err = st["invite"]["last_error"].as_str().unwrap();
    assert!(
        err.contains("zz-second") && err.contains("zz-ours"),
        "{err}"
    );
    assert_eq!(st["state"], "awaiting-pairing", "{st}");
    assert_eq!(st["invite"]["stage"], "searching", "{st}");
    assert!(!daemon
        .data_dir
        .join("inbox/cluster-definition.json")
        .exists());
}

/// A hand-written HTTP/1.1 POST over the Unix socket (independent of dkgd's client).
fn raw_post(socket: &Path, path: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut c = std::os::unix::net::UnixStream::connect(socket).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        c,
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    let (head, rest) = out.split_once("\r\n\r\n").unwrap();
    (
        head.split(' ').nth(1).unwrap().parse().unwrap(),
        rest.to_owned(),
    )
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// One box, a bad input after another: each is a clear status error and nothing is written.
#[test]
fn bad_codes_and_lying_apis_change_nothing() {
    let rt = runtime();
    let api = rt.block_on(ObolApi::start());
    let d = tempfile::tempdir().unwrap();
    let me = key(50);
    let root = d.path().join("box");
    put_key(&root.join("data"), &me);
    let extra = format!("api_url = \"{}\"\n", api.url);
    let mut daemon = Daemon::start(&root, &extra);
    daemon.wait_state("awaiting-definition", START);
    let inbox = daemon.data_dir.join("inbox");
    let code_file = inbox.join("pairing-code");
    let before = support::snapshot(&daemon.data_dir);

    // A typo.
    let good = PairingCode::new(&HOODI, [7; 32]).encode();
    let mut typo = good.clone().into_bytes();
    let last = typo.len() - 1;
    typo[last] = if typo[last] == b'q' { b'p' } else { b'q' };
    // Through the CLI: refused before it reaches the daemon (exit 2), nothing written; a
    // daemon that is not there: exit 75 naming the socket.
    let typo_text = String::from_utf8(typo.clone()).unwrap();
    let out = run(&["pair", &typo_text, "--socket", s(&daemon.socket)]);
    out.expect_code(2);
    assert!(out.stderr.contains("typo"), "{}", out.stderr);
    assert!(!code_file.exists());
    let nowhere = root.join("nowhere.sock");
    let out = run(&["pair", &good, "--socket", s(&nowhere)]);
    out.expect_code(75);
    assert!(out.stderr.contains("nowhere.sock"), "{}", out.stderr);
    std::fs::write(&code_file, &typo).unwrap();
    let st = daemon.wait_status("typo refused", START, |v| {
        v["last_error"].as_str().is_some_and(|e| e.contains("typo"))
    });
    assert!(
        st["last_error"].as_str().unwrap().contains("pairing-code"),
        "{st}"
    );
    assert!(st["invite"].is_null(), "{st}");

    // A bare hash with an unknown network name.
    std::fs::write(&code_file, format!("0x{} moonnet", "07".repeat(32))).unwrap();
    daemon.wait_status("unknown network refused", START, |v| {
        v["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("moonnet"))
    });

    // A good code, but the API does not know it.
    std::fs::write(&code_file, &good).unwrap();
    let st = daemon.wait_status("not found", START, |v| {
        v["invite"]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("not found"))
    });
    assert_eq!(
        st["invite"]["requests"]["not-found"]
            .as_u64()
            .map(|n| n >= 1),
        Some(true),
        "{st}"
    );
    assert_eq!(st["state"], "fetching-definition", "{st}");
    let not_found = st["invite"]["requests"]["not-found"].as_u64().unwrap();
    daemon.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(daemon.wait_exit(Duration::from_secs(20)), Some(0));

    // The pairing progress is kept in sled: restarted against an API that is gone, the same
    // invite carries on with its earlier answers (not-found) and adds the new ones.
    let gone = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut restarted = Daemon::start(&root, &format!("api_url = \"http://127.0.0.1:{gone}\"\n"));
    let st = restarted.wait_status("the earlier answers and a new one", START, |v| {
        v["invite"]["requests"]["unreachable"]
            .as_u64()
            .is_some_and(|n| n >= 1)
    });
    assert!(
        st["invite"]["requests"]["not-found"]
            .as_u64()
            .is_some_and(|n| n >= not_found),
        "{st}"
    );
    restarted.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(restarted.wait_exit(Duration::from_secs(20)), Some(0));
    support::daemon::write_config(&root, &extra);

    // A definition without us, and one served under another config hash (the API lies).
    let others = [key(60), key(61), key(62)];
    // Fully signed by the others: no pending slot could be ours.
    let mut config = LocalClusterConfig::new(Version::V1_10, &HOODI, 1);
    config.name = "not-ours".to_owned();
    let not_ours = definition_for_local_cluster(
        &config,
        &others,
        &key(201),
        &mut ChaCha20Rng::seed_from_u64(3),
    )
    .unwrap();
    api.put(&not_ours);
    let liar = launchpad_definition(&others, "liar");
    api.put_under(&[7; 32], &liar);
    for (code, needle) in [
        (
            PairingCode::new(&HOODI, not_ours.config_hash.unwrap()),
            "not one of the cluster",
        ),
        (PairingCode::new(&HOODI, [7; 32]), "hashes to config hash"),
    ] {
        std::fs::write(&code_file, code.encode()).unwrap();
        let mut daemon = Daemon::start_with(&root, &root.join("dkgd.toml"), &[]);
        daemon.wait_status(needle, START, |v| {
            v["invite"]["last_error"]
                .as_str()
                .is_some_and(|e| e.contains(needle))
        });
        daemon.signal(nix::sys::signal::Signal::SIGTERM);
        assert_eq!(daemon.wait_exit(Duration::from_secs(20)), Some(0));
    }
    std::fs::remove_file(&code_file).unwrap();
    // Nothing in the data dir changed but the daemon's own state database and log.
    let after = support::snapshot(&daemon.data_dir);
    let changed: Vec<_> = after
        .iter()
        .filter(|(p, st)| before.get(*p) != Some(st))
        .map(|(p, _)| p.clone())
        .filter(|p| {
            let t = p.to_string_lossy();
            !t.contains("state.sled") && !t.contains("inbox") && !t.ends_with("dkgd-run.lock")
        })
        .collect();
    assert!(changed.is_empty(), "{changed:?}");
    assert!(!daemon.data_dir.join("cluster-definition.json").exists());
    assert!(!inbox.join("cluster-definition.json").exists());
}

/// `POST /pair` (like the backup POSTs) is for root and the daemon's own user: another user
/// who can reach the socket (as the socket's group can) gets 403 and exit 77, and nothing is
/// written. Needs root and util-linux's setpriv (to run `dkgd pair` as nobody); skipped,
/// saying so, otherwise.
#[test]
fn another_user_may_read_but_not_pair() {
    let root_user = nix::unistd::geteuid().is_root();
    let as_nobody = |args: &[&str]| {
        std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_dkgd"))
            .args(args)
            .output()
    };
    if !root_user || !as_nobody(&["--version"]).is_ok_and(|o| o.status.success()) {
        eprintln!("SKIPPED: needs root, setpriv, and a dkgd binary that uid 65534 may run");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("box");
    let mut daemon = Daemon::start(&root, "");
    daemon.wait_state("awaiting-definition", START);
    // Let uid 65534 reach the socket, as a member of socket_group could.
    for dir in [d.path(), root.as_path()] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711)).unwrap();
    }
    std::fs::set_permissions(&daemon.socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let code = PairingCode::new(&HOODI, [9; 32]).encode();
    let read = as_nobody(&["status", "--json", "--socket", s(&daemon.socket)]).unwrap();
    assert!(read.status.success(), "{read:?}");
    let out = as_nobody(&["pair", &code, "--socket", s(&daemon.socket)]).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(77), "{stderr}");
    assert!(
        stderr.contains("uid 65534 may read the status but not pair"),
        "{stderr}"
    );
    assert!(!daemon.data_dir.join("inbox/pairing-code").exists());
}
