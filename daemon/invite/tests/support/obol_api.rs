//! A test double of the Obol API: a real HTTP/1.1 server on 127.0.0.1 (hyper), definitions in
//! memory, the endpoints dkgd uses, and switches for the faults a real API shows.
//!
//! It checks what the real API checks on writes: the acceptance's `Authorization` signature
//! recovers to the body's address, the ENR signature verifies, the address accepted the terms.

#![allow(dead_code, unreachable_pub)]

use bytes::Bytes;
use dkgd_formats::definition::Definition;
use dkgd_formats::eip712;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One injected fault, used by the next request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// 404.
    NotFound,
    /// 429 with this `Retry-After` (seconds).
    TooMany(u64),
    /// 500.
    ServerError,
    /// Wait this long before answering.
    Slow(Duration),
    /// A 200 body of this many bytes.
    Oversized(usize),
    /// 302 to another host.
    Redirect,
}

/// The double's state, shared with the test.
#[derive(Default)]
pub struct Store {
    /// Definitions by lower-case `0x` config hash (as the API returns them).
    pub definitions: BTreeMap<String, serde_json::Value>,
    /// Faults for the next requests, in order.
    pub faults: VecDeque<Fault>,
    /// Addresses (lower case) that accepted the terms.
    pub terms: HashSet<String>,
    /// Published locks.
    pub locks: Vec<serde_json::Value>,
    /// Every request line seen (`GET /v1/…`).
    pub seen: Vec<String>,
}

/// A running double.
pub struct ObolApi {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Its state.
    pub store: Arc<Mutex<Store>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ObolApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ObolApi {
    /// Starts a double on a free loopback port.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr: SocketAddr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"));
        let store = Arc::new(Mutex::new(Store::default()));
        let shared = store.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let store = shared.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let store = store.clone();
                        async move { Ok::<_, hyper::Error>(handle(&store, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Self {
            url: format!("http://{addr}"),
            store,
            task,
        }
    }

    /// Serves `def` under its config hash, with the extra field the real API adds.
    pub fn put(&self, def: &Definition) {
        let hash = def.config_hash.unwrap_or([0; 32]);
        self.put_under(&hash, def);
    }

    /// Serves `def` under `hash` (which may be a lie).
    pub fn put_under(&self, hash: &[u8; 32], def: &Definition) {
        let mut v: serde_json::Value =
            serde_json::from_slice(&def.to_json().unwrap_or_else(|e| panic!("to_json: {e}")))
                .unwrap_or_else(|e| panic!("json: {e}"));
        if let Some(o) = v.as_object_mut() {
            o.insert("is_synced_to_all_participants".into(), false.into());
        }
        self.lock()
            .definitions
            .insert(format!("0x{}", hex::encode(hash)), v);
    }

    /// The definition now served under `hash`.
    pub fn get(&self, hash: &[u8; 32]) -> Option<Definition> {
        let v = self
            .lock()
            .definitions
            .get(&format!("0x{}", hex::encode(hash)))?
            .clone();
        Definition::from_json(&serde_json::to_vec(&v).ok()?).ok()
    }

    /// Queues faults for the next requests.
    pub fn fault(&self, f: Fault) {
        self.lock().faults.push_back(f);
    }

    /// The requests seen so far.
    pub fn seen(&self) -> Vec<String> {
        self.lock().seen.clone()
    }

    /// Locked state.
    pub fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn reply(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

fn json(status: StatusCode, v: &serde_json::Value) -> Response<Full<Bytes>> {
    reply(status, v.to_string())
}

async fn handle(store: &Mutex<Store>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let line = format!("{} {}", req.method(), req.uri());
    let fault = {
        let mut s = store.lock().unwrap_or_else(|e| e.into_inner());
        s.seen.push(line);
        s.faults.pop_front()
    };
    match fault {
        Some(Fault::NotFound) => {
            return json(
                StatusCode::NOT_FOUND,
                &serde_json::json!({"message": "Not Found"}),
            )
        }
        Some(Fault::TooMany(secs)) => {
            let mut r = json(
                StatusCode::TOO_MANY_REQUESTS,
                &serde_json::json!({"message": "slow down"}),
            );
            r.headers_mut().insert("retry-after", secs.into());
            return r;
        }
        Some(Fault::ServerError) => return reply(StatusCode::INTERNAL_SERVER_ERROR, "boom"),
        Some(Fault::Slow(d)) => tokio::time::sleep(d).await,
        Some(Fault::Oversized(n)) => return reply(StatusCode::OK, vec![b' '; n]),
        Some(Fault::Redirect) => {
            let mut r = reply(StatusCode::FOUND, "");
            r.headers_mut().insert(
                "location",
                hyper::header::HeaderValue::from_static("https://elsewhere.invalid/"),
            );
            return r;
        }
        None => {}
    }
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or_default().to_owned();
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut s = store.lock().unwrap_or_else(|e| e.into_inner());
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["v1", "definition", "operator", address]) => operator_page(&s, address, &query),
        ("GET", ["v1", "definition", hash]) => {
            match s.definitions.get(&hash.to_ascii_lowercase()) {
                Some(d) => json(StatusCode::OK, d),
                None => json(
                    StatusCode::NOT_FOUND,
                    &serde_json::json!({"message": "Not Found"}),
                ),
            }
        }
        ("PUT", ["v1", "definition", hash]) => {
            accept(&mut s, &hash.to_ascii_lowercase(), &auth, &body)
        }
        ("POST", ["v1", "termsAndConditions"]) => terms(&mut s, &auth, &body),
        ("POST", ["v1", "lock"]) => match serde_json::from_slice(&body) {
            Ok(v) => {
                s.locks.push(v);
                json(StatusCode::CREATED, &serde_json::json!({}))
            }
            Err(_) => reply(StatusCode::BAD_REQUEST, "not json"),
        },
        _ => json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({"message": "no such route"}),
        ),
    }
}

fn operator_page(s: &Store, address: &str, query: &str) -> Response<Full<Bytes>> {
    let param = |k: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(k).and_then(|v| v.strip_prefix('=')))
            .and_then(|v| v.parse::<usize>().ok())
    };
    let page = param("page").unwrap_or(1).max(1);
    let limit = param("limit").unwrap_or(10).max(1);
    let mine: Vec<&serde_json::Value> = s
        .definitions
        .values()
        .filter(|d| {
            d["operators"].as_array().is_some_and(|ops| {
                ops.iter().any(|o| {
                    o["address"]
                        .as_str()
                        .is_some_and(|a| a.eq_ignore_ascii_case(address))
                })
            })
        })
        .collect();
    let start = (page - 1) * limit;
    let items: Vec<_> = mine.iter().skip(start).take(limit).cloned().collect();
    json(
        StatusCode::OK,
        &serde_json::json!({
            "cluster_definitions": items,
            "has_next_page": start + limit < mine.len(),
        }),
    )
}

fn sig_of(auth: &str) -> Option<Vec<u8>> {
    hex::decode(auth.strip_prefix("Bearer 0x")?).ok()
}

fn address_of(v: &serde_json::Value) -> Option<[u8; 20]> {
    let text = v["address"].as_str()?.trim_start_matches("0x");
    hex::decode(text).ok()?.try_into().ok()
}

fn terms(s: &mut Store, auth: &str, body: &[u8]) -> Response<Full<Bytes>> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return reply(StatusCode::BAD_REQUEST, "not json");
    };
    let (Some(addr), Some(sig)) = (address_of(&v), sig_of(auth)) else {
        return reply(StatusCode::BAD_REQUEST, "address and signature needed");
    };
    let hash = v["terms_and_conditions_hash"].as_str().unwrap_or_default();
    let version = v["version"].as_u64().unwrap_or_default();
    let digest = eip712::terms_and_conditions_digest(hash, version);
    if hash != eip712::TERMS_AND_CONDITIONS_HASH
        || !eip712::check_signature(&digest, &addr, &sig).is_valid()
    {
        return reply(StatusCode::UNAUTHORIZED, "bad terms signature");
    }
    s.terms.insert(hex::encode(addr));
    json(
        StatusCode::CREATED,
        &serde_json::json!({"message": "successful authorization"}),
    )
}

fn accept(s: &mut Store, hash: &str, auth: &str, body: &[u8]) -> Response<Full<Bytes>> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return reply(StatusCode::BAD_REQUEST, "not json");
    };
    let (Some(addr), Some(cfg_sig)) = (address_of(&v), sig_of(auth)) else {
        return reply(StatusCode::BAD_REQUEST, "address and signature needed");
    };
    if !s.terms.contains(&hex::encode(addr)) {
        return reply(
            StatusCode::UNAUTHORIZED,
            "terms and conditions not accepted",
        );
    }
    let Some(stored) = s.definitions.get(hash).cloned() else {
        return json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({"message": "Not Found"}),
        );
    };
    let Ok(mut def) = Definition::from_json(&serde_json::to_vec(&stored).unwrap_or_default())
    else {
        return reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            "stored definition unreadable",
        );
    };
    let enr = v["enr"].as_str().unwrap_or_default().to_owned();
    let enr_sig = hex::decode(
        v["enr_signature"]
            .as_str()
            .unwrap_or_default()
            .trim_start_matches("0x"),
    )
    .unwrap_or_default();
    let Ok(chain) = eip712::chain_id(&def.fork_version) else {
        return reply(StatusCode::BAD_REQUEST, "unknown network");
    };
    let cfg_hash = def.config_hash.unwrap_or([0; 32]);
    let cfg_digest = eip712::operator_config_hash_digest(def.version.as_str(), chain, &cfg_hash);
    if !eip712::check_signature(&cfg_digest, &addr, &cfg_sig).is_valid()
        || !eip712::check_signature(&eip712::enr_digest(chain, &enr), &addr, &enr_sig).is_valid()
    {
        return reply(StatusCode::UNAUTHORIZED, "invalid signature");
    }
    let Some(op) = def
        .operators
        .iter_mut()
        .flatten()
        .find(|o| o.address.bytes() == Some(addr))
    else {
        return reply(StatusCode::FORBIDDEN, "not an operator of this cluster");
    };
    op.enr = enr;
    op.config_signature = cfg_sig;
    op.enr_signature = enr_sig;
    let Ok(def) = def.with_hashes_recomputed() else {
        return reply(StatusCode::INTERNAL_SERVER_ERROR, "hashing");
    };
    let mut out: serde_json::Value =
        serde_json::from_slice(&def.to_json().unwrap_or_default()).unwrap_or_default();
    if let Some(o) = out.as_object_mut() {
        o.insert("is_synced_to_all_participants".into(), false.into());
    }
    s.definitions.insert(hash.to_owned(), out.clone());
    json(StatusCode::OK, &out)
}
