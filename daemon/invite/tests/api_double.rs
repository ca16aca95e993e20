//! The invite path against a real HTTP server speaking the Obol API contract: fetch by pairing
//! code, the untrusted-definition checks, the self-operated acceptance, pagination, and the
//! transport faults (404, 429 + Retry-After, 5xx, slow, oversized, redirect).

mod support;

use dkgd_ceremony::definition::{definition_for_local_cluster, LocalClusterConfig};
use dkgd_crypto::k1::K1SecretKey;
use dkgd_formats::definition::{Definition, Version};
use dkgd_formats::enr::Enr;
use dkgd_formats::network::{HOODI, SEPOLIA};
use dkgd_formats::pairing::PairingCode;
use dkgd_invite::api::{self, ApiUrl};
use dkgd_invite::{check_definition, ApiClient, ApiError, InviteError, Limits, OperatorState};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::time::Duration;
use support::obol_api::{Fault, ObolApi};

fn keys(n: u8, salt: u8) -> Vec<K1SecretKey> {
    (1..=n)
        .map(|i| {
            K1SecretKey::from_bytes(&[i.wrapping_add(salt); 32]).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

fn definition(ops: &[K1SecretKey], creator: &K1SecretKey, name: &str) -> Definition {
    let mut config = LocalClusterConfig::new(Version::V1_10, &HOODI, 2);
    config.name = name.to_owned();
    config.timestamp = "2026-12-04T00:00:00Z".to_owned();
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    definition_for_local_cluster(&config, ops, creator, &mut rng).unwrap_or_else(|e| panic!("{e}"))
}

/// The launchpad's state before `pending` operators accepted: no ENR, no signatures.
fn with_pending(def: &Definition, pending: &[usize]) -> Definition {
    let mut d = def.clone();
    for (i, op) in d.operators.iter_mut().flatten().enumerate() {
        if pending.contains(&i) {
            op.enr.clear();
            op.config_signature.clear();
            op.enr_signature.clear();
        }
    }
    d.with_hashes_recomputed().unwrap_or_else(|e| panic!("{e}"))
}

fn client(api: &ObolApi) -> ApiClient {
    let limits = Limits {
        connect: Duration::from_secs(2),
        total: Duration::from_secs(2),
        max_body: 1 << 20,
    };
    ApiClient::new(
        ApiUrl::parse(&api.url).unwrap_or_else(|e| panic!("{e}")),
        limits,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn code(def: &Definition) -> PairingCode {
    PairingCode::new(&HOODI, def.config_hash.unwrap_or([0; 32]))
}

#[tokio::test]
async fn a_fully_signed_definition_is_fetched_by_code_and_passes() {
    let ops = keys(4, 0);
    let def = definition(&ops, &keys(1, 100)[0], "full");
    let api = ObolApi::start().await;
    api.put(&def);
    let c = code(&def);
    // The code as an owner types it, through the parser.
    let parsed =
        dkgd_formats::pairing::parse_invite(&c.encode(), None).unwrap_or_else(|e| panic!("{e}"));
    let bytes = client(&api)
        .definition(&parsed.config_hash)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let checked =
        check_definition(&bytes, &parsed, &Enr::create(&ops[2])).unwrap_or_else(|e| panic!("{e}"));
    assert!(checked.is_complete());
    assert_eq!(checked.our_index, Some(2));
    assert!(
        checked.self_operated,
        "the local cluster's operators are their own wallets"
    );
    assert!(checked.we_signed);
    assert_eq!(checked.definition.definition_hash, def.definition_hash);
    assert_eq!(
        api.seen(),
        vec![format!("GET /v1/definition/{}", c.config_hash_hex())]
    );
}

#[tokio::test]
async fn a_self_operated_box_accepts_and_the_api_records_it() {
    let ops = keys(4, 10);
    let full = definition(&ops, &keys(1, 110)[0], "accept");
    let launchpad = with_pending(&full, &[1, 3]);
    let api = ObolApi::start().await;
    api.put(&launchpad);
    let c = code(&launchpad);
    let me = Enr::create(&ops[1]);
    let cl = client(&api);
    let bytes = cl
        .definition(&c.config_hash)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let checked = check_definition(&bytes, &c, &me).unwrap_or_else(|e| panic!("{e}"));
    assert!(!checked.is_complete());
    assert_eq!(checked.signed(), 2);
    assert_eq!(
        checked.missing().map(|o| o.index).collect::<Vec<_>>(),
        vec![1, 3]
    );
    assert_eq!(
        (checked.our_index, checked.self_operated, checked.we_signed),
        (Some(1), true, false)
    );
    // A box not (yet) in it while operators are pending: waiting, place unknown.
    let stranger = Enr::create(&keys(1, 210)[0]);
    let waiting = check_definition(&bytes, &c, &stranger).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((waiting.our_index, waiting.self_operated), (None, false));

    // Without the terms the API refuses; with them it takes the acceptance.
    let req = api::acceptance(
        &ops[1],
        me.to_text(),
        "v1.10.0",
        &HOODI.genesis_fork_version,
        &c.config_hash,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let refused = cl.accept(&c.config_hash, &req).await;
    assert!(
        matches!(refused, Err(ApiError::Status { status: 401, .. })),
        "{refused:?}"
    );
    cl.accept_terms(&api::terms_acceptance(&ops[1]))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let updated = cl
        .accept(&c.config_hash, &req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let after = check_definition(&updated, &c, &me).unwrap_or_else(|e| panic!("{e}"));
    assert!(after.we_signed);
    assert_eq!(after.operators[1].state, OperatorState::Signed);
    assert_eq!(
        after.missing().map(|o| o.index).collect::<Vec<_>>(),
        vec![3]
    );

    // The last operator signs in the launchpad (the test is its wallet): complete, and equal
    // to the definition signed in one go.
    cl.accept_terms(&api::terms_acceptance(&ops[3]))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let enr3 = Enr::create(&ops[3]);
    let req3 = api::acceptance(
        &ops[3],
        enr3.to_text(),
        "v1.10.0",
        &HOODI.genesis_fork_version,
        &c.config_hash,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    cl.accept(&c.config_hash, &req3)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let bytes = cl
        .definition(&c.config_hash)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let done = check_definition(&bytes, &c, &me).unwrap_or_else(|e| panic!("{e}"));
    assert!(done.is_complete());
    assert_eq!(done.definition.definition_hash, full.definition_hash);
}

#[tokio::test]
async fn an_api_that_lies_is_refused() {
    let ops = keys(4, 20);
    let creator = &keys(1, 120)[0];
    let def = definition(&ops, creator, "real");
    let other = definition(&ops, creator, "other");
    let me = Enr::create(&ops[0]);
    let api = ObolApi::start().await;
    let cl = client(&api);

    // Another definition served under this config hash.
    api.put_under(&def.config_hash.unwrap_or_default(), &other);
    let bytes = cl
        .definition(&code(&def).config_hash)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let e = check_definition(&bytes, &code(&def), &me).err();
    assert!(
        matches!(e, Some(InviteError::ConfigHashMismatch { .. })),
        "{e:?}"
    );

    // A forged ENR signature (config hash unchanged: signatures are not in it).
    let mut forged = def.clone();
    if let Some(op) = forged.operators.iter_mut().flatten().nth(2) {
        op.enr_signature[10] ^= 1;
    }
    api.put(&forged);
    let bytes = cl
        .definition(&code(&def).config_hash)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let e = check_definition(&bytes, &code(&def), &me).err();
    assert!(
        matches!(&e, Some(InviteError::BadSignature { who, .. }) if who == "operators[2].enr_signature"),
        "{e:?}"
    );

    // The creator's signature by someone else.
    let mut creator_forged = def.clone();
    creator_forged.creator.config_signature = keys(1, 99)[0].sign_digest(&[5; 32]).to_vec();
    api.put(&creator_forged);
    let bytes = cl
        .definition(&code(&def).config_hash)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let e = check_definition(&bytes, &code(&def), &me).err();
    assert!(
        matches!(&e, Some(InviteError::BadSignature { who, .. }) if who == "creator.config_signature"),
        "{e:?}"
    );

    // The right definition, but not ours.
    api.put(&def);
    let stranger = Enr::create(&keys(1, 200)[0]);
    let bytes = cl
        .definition(&code(&def).config_hash)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let e = check_definition(&bytes, &code(&def), &stranger).err();
    assert!(
        matches!(e, Some(InviteError::NotOurs { operators: 4, .. })),
        "{e:?}"
    );
    let text = e.map(|e| e.to_string()).unwrap_or_default();
    assert!(text.contains(stranger.to_text()), "{text}");

    // A code for another network naming the same hash.
    let wrong_net = PairingCode::new(&SEPOLIA, def.config_hash.unwrap_or_default());
    let e = check_definition(&bytes, &wrong_net, &me).err();
    assert!(matches!(e, Some(InviteError::ForkMismatch { .. })), "{e:?}");

    // An unknown config hash.
    let e = cl.definition(&[0x42; 32]).await.err();
    assert!(matches!(e, Some(ApiError::NotFound { .. })), "{e:?}");
    assert!(!e.is_some_and(|e| e.is_transient()));
}

#[tokio::test]
async fn transport_faults_are_typed_and_bounded() {
    let api = ObolApi::start().await;
    let ops = keys(4, 30);
    let def = definition(&ops, &keys(1, 130)[0], "faults");
    api.put(&def);
    let h = def.config_hash.unwrap_or_default();
    let cl = client(&api);

    api.fault(Fault::TooMany(7));
    let e = cl.definition(&h).await.err();
    assert_eq!(
        e.as_ref().and_then(ApiError::retry_after),
        Some(Duration::from_secs(7)),
        "{e:?}"
    );
    assert!(e.is_some_and(|e| e.is_transient()));

    api.fault(Fault::ServerError);
    let e = cl.definition(&h).await.err();
    assert!(
        matches!(&e, Some(ApiError::Status { status: 500, .. })),
        "{e:?}"
    );
    assert!(e.is_some_and(|e| e.is_transient()));

    api.fault(Fault::Slow(Duration::from_secs(5)));
    let started = std::time::Instant::now();
    let e = cl.definition(&h).await.err();
    assert!(
        matches!(e, Some(ApiError::Timeout { secs: 2, .. })),
        "{e:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(4));

    api.fault(Fault::Oversized(2 << 20));
    let e = cl.definition(&h).await.err();
    assert!(
        matches!(
            e,
            Some(ApiError::TooLarge {
                limit: 1_048_576,
                ..
            })
        ),
        "{e:?}"
    );

    api.fault(Fault::Redirect);
    let e = cl.definition(&h).await.err();
    let text = e.as_ref().map(ToString::to_string).unwrap_or_default();
    assert!(
        matches!(e, Some(ApiError::Status { status: 302, .. })),
        "{text}"
    );
    assert!(text.contains("not followed"), "{text}");

    // After all that, the same client still works.
    assert!(cl.definition(&h).await.is_ok());

    // Nothing listens: unreachable, transient.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        l.local_addr().unwrap_or_else(|e| panic!("{e}")).port()
    };
    let dead = ApiClient::new(
        ApiUrl::parse(&format!("http://127.0.0.1:{closed}")).unwrap_or_else(|e| panic!("{e}")),
        Limits::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let e = dead.definition(&h).await.err();
    assert!(matches!(&e, Some(ApiError::Unreachable { .. })), "{e:?}");
}

#[tokio::test]
async fn zero_touch_finds_our_definition_on_page_three_of_three() {
    let api = ObolApi::start().await;
    let me = keys(1, 40).remove(0);
    let creator = &keys(1, 140)[0];
    // 24 clusters of others, and ours, all naming our address.
    let mut ours = None;
    for i in 0..25u8 {
        let mut ops = keys(3, 50u8.wrapping_add(i.wrapping_mul(3)));
        ops.push(K1SecretKey::from_bytes(&[40 + 1; 32]).unwrap_or_else(|e| panic!("{e}")));
        let mut d = definition(&ops, creator, &format!("cluster-{i:02}"));
        // Ours is the one our box was invited to: pending at our slot; the others carry
        // another node's ENR at our address (we accepted them elsewhere).
        d = with_pending(&d, &[3]);
        if i == 24 {
            ours = Some(d.clone());
        } else if let Some(op) = d.operators.iter_mut().flatten().nth(3) {
            op.enr = Enr::create(&keys(1, 230)[0]).to_text().to_owned();
        }
        api.put(&d);
    }
    let ours = ours.unwrap_or_else(|| panic!("no definition"));
    let address = me.public_key().eth_address();
    let found = client(&api)
        .operator_definitions(&address, api::MAX_PAGES)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(found.len(), 25);
    let page_requests = api
        .seen()
        .iter()
        .filter(|l| l.contains("/operator/"))
        .count();
    assert_eq!(page_requests, 3, "{:?}", api.seen());
    let my_enr = Enr::create(&me);
    let qualifying: Vec<_> = found
        .iter()
        .filter_map(|bytes| {
            let def = Definition::from_json(bytes).ok()?;
            let code = PairingCode::new(&HOODI, def.config_hash?);
            check_definition(bytes, &code, &my_enr).ok()
        })
        .collect();
    assert_eq!(
        qualifying.len(),
        1,
        "exactly one definition has a place for this box"
    );
    assert_eq!(qualifying[0].definition.config_hash, ours.config_hash);
}

/// With a proxy (HTTPS_PROXY), the https:// API is reached through an HTTP CONNECT tunnel:
/// the proxy is asked for the API's host and port (the client never resolves the API host
/// itself), and a proxy that refuses is an "unreachable" error, retried like any other.
#[tokio::test]
async fn an_https_api_goes_through_the_proxy_tunnel() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let mut len = 0;
        while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf[len..]).await.unwrap();
            assert!(n > 0, "the client hung up before its CONNECT");
            len += n;
        }
        s.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            .await
            .unwrap();
        String::from_utf8_lossy(&buf[..len]).into_owned()
    });
    let base = ApiUrl::parse("https://api.obol.invalid").unwrap();
    let proxy = dkgd_invite::Proxy::new(format!("http://127.0.0.1:{port}").parse().unwrap());
    let c = ApiClient::with_proxy(base, Limits::default(), Some(proxy)).unwrap();
    let err = c.definition(&[7; 32]).await.unwrap_err();
    assert!(matches!(err, ApiError::Unreachable { .. }), "{err}");
    assert!(err.is_transient(), "{err}");
    let request = tokio::time::timeout(Duration::from_secs(5), seen)
        .await
        .unwrap()
        .unwrap();
    assert!(
        request.starts_with("CONNECT api.obol.invalid:443 HTTP/1.1\r\n"),
        "{request}"
    );
    // An http:// (loopback) API is never proxied, whatever the environment says.
    assert!(dkgd_invite::Proxy::from_env(&ApiUrl::parse("http://127.0.0.1:1").unwrap()).is_none());
}
