//! The Obol API over HTTPS: hyper 1 (hyper-util's pooled client) on rustls with compiled-in
//! webpki roots. Every request has a connect and a total time bound and a body cap; redirects
//! are not followed (hyper never follows them; a 3xx is an error that names the target).

use crate::api::{self, ApiUrl, OperatorPage, SignedRequest};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// Bounds of every request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// TCP connect bound.
    pub connect: Duration,
    /// Whole request bound (connect, TLS, send, headers, body).
    pub total: Duration,
    /// Largest response body read.
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            total: Duration::from_secs(30),
            // The largest definition (charon caps validators per cluster) is well below this.
            max_body: 16 << 20,
        }
    }
}

/// Longest `Retry-After` honoured; a longer one is cut to this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// What went wrong talking to the API. Each names the URL and whether to retry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// No connection, TLS failure, connection reset.
    #[error("cannot reach {url}: {why} (check the box's network, DNS and clock; retrying)")]
    Unreachable {
        /// The URL.
        url: String,
        /// The transport's reason.
        why: String,
    },
    /// The request did not finish in time.
    #[error("{url} did not answer within {secs} s (retrying)")]
    Timeout {
        /// The URL.
        url: String,
        /// The bound.
        secs: u64,
    },
    /// The body exceeds the cap.
    #[error("{url} sent more than {limit} bytes: refused (the API or a proxy is misbehaving)")]
    TooLarge {
        /// The URL.
        url: String,
        /// The cap.
        limit: usize,
    },
    /// 404.
    #[error("{url}: not found (404): the API does not know this config hash or address; check the pairing code")]
    NotFound {
        /// The URL.
        url: String,
    },
    /// 429 or 503: come back later.
    #[error("{url}: {status}, retry {}", retry_after.map_or_else(|| "with backoff".to_owned(), |d| format!("after {} s", d.as_secs())))]
    RetryLater {
        /// The URL.
        url: String,
        /// 429 or 503.
        status: u16,
        /// The server's `Retry-After`, when it sent one (seconds form).
        retry_after: Option<Duration>,
    },
    /// Any other non-2xx answer.
    #[error("{url}: HTTP {status}: {excerpt}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// The start of the body (public API text).
        excerpt: String,
    },
    /// A 2xx answer that is not what the contract says.
    #[error("{url}: unexpected answer: {why}")]
    BadAnswer {
        /// The URL.
        url: String,
        /// What is wrong.
        why: String,
    },
}

impl ApiError {
    /// Whether trying again later can help (network, timeouts, 429/5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } | Self::Timeout { .. } | Self::RetryLater { .. } => true,
            Self::Status { status, .. } => *status >= 500,
            Self::TooLarge { .. } | Self::NotFound { .. } | Self::BadAnswer { .. } => false,
        }
    }

    /// The server's requested wait, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RetryLater { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// An HTTP CONNECT proxy the `https://` API is reached through (`HTTPS_PROXY`).
#[derive(Clone)]
pub struct Proxy {
    uri: hyper::Uri,
    auth: Option<hyper::header::HeaderValue>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URI may carry credentials; show where it goes only.
        let host = self.uri.authority().map(|a| a.host()).unwrap_or("?");
        f.debug_struct("Proxy").field("host", &host).finish()
    }
}

impl Proxy {
    /// A proxy at `uri` (`http://host:port`), without credentials.
    pub fn new(uri: hyper::Uri) -> Self {
        Self { uri, auth: None }
    }

    /// The proxy the environment names for `base` (`HTTPS_PROXY`/`https_proxy`, then
    /// `ALL_PROXY`; `NO_PROXY` honoured, as curl does), with its basic credentials. `None`
    /// for an `http://` base (only loopback, never proxied) or when none is set.
    pub fn from_env(base: &ApiUrl) -> Option<Self> {
        let uri: hyper::Uri = base.as_str().parse().ok()?;
        if uri.scheme_str() != Some("https") {
            return None;
        }
        let matcher = hyper_util::client::proxy::matcher::Matcher::from_env();
        let found = matcher.intercept(&uri)?;
        Some(Self {
            uri: found.uri().clone(),
            auth: found.basic_auth().cloned(),
        })
    }

    /// The proxy's host and port, for logs (never its credentials).
    pub fn shown(&self) -> String {
        self.uri
            .authority()
            .map(|a| format!("{}:{}", a.host(), a.port_u16().unwrap_or(80)))
            .unwrap_or_default()
    }
}

type Direct = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;
type Tunneled = Client<hyper_rustls::HttpsConnector<Tunnel<HttpConnector>>, Full<Bytes>>;

/// Straight to the API, or through a CONNECT tunnel (TLS end to end either way).
#[derive(Clone)]
enum Transport {
    Direct(Direct),
    Tunneled(Tunneled),
}

/// A client of one API base URL.
#[derive(Clone)]
pub struct ApiClient {
    base: ApiUrl,
    limits: Limits,
    http: Transport,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("base", &self.base)
            .finish()
    }
}

impl ApiClient {
    /// A client of `base`, through the proxy the environment names (`HTTPS_PROXY`), if any.
    /// Needs a tokio runtime when requests are made.
    pub fn new(base: ApiUrl, limits: Limits) -> Result<Self, String> {
        let proxy = Proxy::from_env(&base);
        Self::with_proxy(base, limits, proxy)
    }

    /// A client of `base`, through `proxy` when given (an `https://` base only).
    pub fn with_proxy(base: ApiUrl, limits: Limits, proxy: Option<Proxy>) -> Result<Self, String> {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_connect_timeout(Some(limits.connect));
        tcp.set_nodelay(true);
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let tls = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)
            .map_err(|e| format!("TLS set-up failed: {e}"))?;
        let mut builder = Client::builder(TokioExecutor::new());
        builder
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(2);
        let http = match proxy {
            None => Transport::Direct(
                builder.build(tls.https_or_http().enable_http1().wrap_connector(tcp)),
            ),
            Some(p) => {
                tracing::info!(proxy = %p.shown(), "the Obol API is reached through a proxy (HTTPS_PROXY)");
                let mut tunnel = Tunnel::new(p.uri, tcp);
                if let Some(auth) = p.auth {
                    tunnel = tunnel.with_auth(auth);
                }
                Transport::Tunneled(
                    builder.build(tls.https_only().enable_http1().wrap_connector(tunnel)),
                )
            }
        };
        Ok(Self { base, limits, http })
    }

    /// The base URL.
    pub fn base(&self) -> &ApiUrl {
        &self.base
    }

    /// `GET` the definition named by `config_hash` (raw JSON, for the checker).
    pub async fn definition(&self, config_hash: &[u8; 32]) -> Result<Vec<u8>, ApiError> {
        self.request(Method::GET, self.base.definition(config_hash), None)
            .await
    }

    /// Every definition naming `address`, page by page from page 1, at most `max_pages`
    /// pages; stops at `has_next_page` false or an empty page.
    pub async fn operator_definitions(
        &self,
        address: &[u8; 20],
        max_pages: u32,
    ) -> Result<Vec<Vec<u8>>, ApiError> {
        let mut all = Vec::new();
        for page in 1..=max_pages {
            let url = self.base.operator_page(address, page);
            let body = self.request(Method::GET, url.clone(), None).await?;
            let OperatorPage {
                definitions,
                has_next_page,
            } = api::parse_operator_page(&body).map_err(|why| ApiError::BadAnswer { url, why })?;
            let empty = definitions.is_empty();
            all.extend(definitions);
            if !has_next_page || empty {
                break;
            }
        }
        Ok(all)
    }

    /// `PUT` an invite acceptance; returns the updated definition's JSON.
    pub async fn accept(
        &self,
        config_hash: &[u8; 32],
        signed: &SignedRequest,
    ) -> Result<Vec<u8>, ApiError> {
        self.request(Method::PUT, self.base.definition(config_hash), Some(signed))
            .await
    }

    /// `POST` a terms-and-conditions acceptance.
    pub async fn accept_terms(&self, signed: &SignedRequest) -> Result<(), ApiError> {
        self.request(Method::POST, self.base.terms(), Some(signed))
            .await
            .map(|_| ())
    }

    /// `POST` a cluster lock (its JSON).
    pub async fn publish_lock(&self, lock_json: &[u8]) -> Result<(), ApiError> {
        let body = SignedRequest {
            body: lock_json.to_vec(),
            authorization: String::new(),
        };
        self.request(Method::POST, self.base.lock(), Some(&body))
            .await
            .map(|_| ())
    }

    async fn request(
        &self,
        method: Method,
        url: String,
        body: Option<&SignedRequest>,
    ) -> Result<Vec<u8>, ApiError> {
        let secs = self.limits.total.as_secs();
        match tokio::time::timeout(self.limits.total, self.exchange(method, &url, body)).await {
            Ok(r) => r,
            Err(_) => Err(ApiError::Timeout { url, secs }),
        }
    }

    async fn exchange(
        &self,
        method: Method,
        url: &str,
        body: Option<&SignedRequest>,
    ) -> Result<Vec<u8>, ApiError> {
        let unreachable = |why: String| ApiError::Unreachable {
            url: url.to_owned(),
            why,
        };
        let mut req = Request::builder()
            .method(method)
            .uri(url)
            .header("accept", "application/json")
            .header("user-agent", concat!("dkgd/", env!("CARGO_PKG_VERSION")));
        let payload = match body {
            Some(b) => {
                req = req.header("content-type", "application/json");
                if !b.authorization.is_empty() {
                    req = req.header("authorization", &b.authorization);
                }
                Bytes::from(b.body.clone())
            }
            None => Bytes::new(),
        };
        let req = req
            .body(Full::new(payload))
            .map_err(|e| unreachable(format!("bad request: {e}")))?;
        let resp = match &self.http {
            Transport::Direct(c) => c.request(req).await,
            Transport::Tunneled(c) => c.request(req).await,
        }
        .map_err(|e| unreachable(error_chain(&e)))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let limit = self.limits.max_body;
        let declared = resp
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(ApiError::TooLarge {
                url: url.to_owned(),
                limit,
            });
        }
        let bytes = Limited::new(resp.into_body(), limit)
            .collect()
            .await
            .map_err(|e| {
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    ApiError::TooLarge {
                        url: url.to_owned(),
                        limit,
                    }
                } else {
                    unreachable(format!("reading the answer: {e}"))
                }
            })?
            .to_bytes()
            .to_vec();
        classify(url, status, retry_after, location, bytes)
    }
}

fn classify(
    url: &str,
    status: StatusCode,
    retry_after: Option<Duration>,
    location: Option<String>,
    body: Vec<u8>,
) -> Result<Vec<u8>, ApiError> {
    let url = url.to_owned();
    match status.as_u16() {
        200..=299 => Ok(body),
        404 => Err(ApiError::NotFound { url }),
        s @ (429 | 503) => Err(ApiError::RetryLater {
            url,
            status: s,
            retry_after,
        }),
        s @ 300..=399 => Err(ApiError::Status {
            url,
            status: s,
            excerpt: format!(
                "redirect to {} not followed: set api_url to the API's real address",
                location.as_deref().unwrap_or("(no location)")
            ),
        }),
        s => Err(ApiError::Status {
            url,
            status: s,
            excerpt: excerpt(&body),
        }),
    }
}

/// The first 200 characters of a body, printable only.
fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body)
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect()
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}
