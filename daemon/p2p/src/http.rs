//! A small HTTP(S) GET client, enough to ask a relay for its addresses the way charon does
//! (spec §1.3 "Relays and discovery"): one request, a whole-exchange timeout, a capped
//! response, no redirects. hyper 1 with hyper-util's client on rustls (ring, compiled-in
//! webpki roots), the same stack as the Obol API client, so `https://` relay URLs (Obol's
//! public relays) work as well as `http://`.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::header::{HeaderName, HeaderValue, ACCEPT, USER_AGENT};
use hyper::Request;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::fmt;
use std::time::Duration;

/// Why an HTTP exchange failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The URL is not `http(s)://host[:port][/path]`, or a header cannot be sent.
    #[error("not a usable http(s):// URL: {0}")]
    InvalidUrl(&'static str),
    /// The TLS client could not be set up.
    #[error("TLS set-up failed: {0}")]
    Tls(String),
    /// The host did not resolve, or no address accepted a connection (or the TLS handshake
    /// failed).
    #[error("connecting: {0}")]
    Connect(String),
    /// The whole exchange took longer than allowed.
    #[error("no complete answer within {0:?}")]
    Timeout(Duration),
    /// The connection failed mid-exchange.
    #[error("exchange failed: {0}")]
    Io(String),
    /// A status other than 2xx (redirects are not followed).
    #[error("HTTP status {0}")]
    Status(u16),
    /// The response is larger than allowed.
    #[error("response larger than {0} bytes")]
    TooLarge(usize),
    /// The response body could not be read as HTTP/1.x.
    #[error("malformed HTTP response: {0}")]
    Malformed(String),
}

/// A parsed `http(s)://host[:port][/path]` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    tls: bool,
    host: String,
    port: u16,
    path: String,
}

impl HttpUrl {
    /// Parses an `http://` or `https://` URL (port 80 or 443 by default, path `/` by
    /// default).
    pub fn parse(text: &str) -> Result<Self, HttpError> {
        let scheme = |s: &str| {
            text.get(..s.len())
                .filter(|p| p.eq_ignore_ascii_case(s))
                .and_then(|_| text.get(s.len()..))
        };
        let (tls, rest) = match (scheme("https://"), scheme("http://")) {
            (Some(rest), _) => (true, rest),
            (None, Some(rest)) => (false, rest),
            (None, None) => {
                return Err(HttpError::InvalidUrl(
                    "the scheme must be http:// or https://",
                ))
            }
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (
                rest.get(..i).unwrap_or_default(),
                rest.get(i..).unwrap_or("/"),
            ),
            None => (rest, "/"),
        };
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_owned()
        };
        if authority.contains('@') {
            return Err(HttpError::InvalidUrl("user info is not supported"));
        }
        let (host, port) = split_host_port(authority, if tls { 443 } else { 80 })?;
        if host.is_empty() {
            return Err(HttpError::InvalidUrl("the host is empty"));
        }
        if !path.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(HttpError::InvalidUrl("the path must be printable ASCII"));
        }
        Ok(Self {
            tls,
            host: host.to_owned(),
            port,
            path,
        })
    }

    /// Whether the URL is `https://`.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The host (a name or an IP literal, without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The path and query, starting with `/`.
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}{}", self.host, self.port, self.path)
        } else {
            write!(f, "{scheme}://{}:{}{}", self.host, self.port, self.path)
        }
    }
}

fn split_host_port(authority: &str, default_port: u16) -> Result<(&str, u16), HttpError> {
    let bad_port = HttpError::InvalidUrl("the port is not a number from 1 to 65535");
    let parse_port = |p: &str| p.parse::<u16>().ok().filter(|&p| p != 0);
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or(HttpError::InvalidUrl("unclosed '[' in the host"))?;
        return match after.strip_prefix(':') {
            Some(p) => Ok((host, parse_port(p).ok_or(bad_port)?)),
            None if after.is_empty() => Ok((host, default_port)),
            None => Err(HttpError::InvalidUrl("junk after the IPv6 host")),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, p)) => Ok((host, parse_port(p).ok_or(bad_port)?)),
        None => Ok((authority, default_port)),
    }
}

/// GETs `url` with extra `headers`, and returns the body of a 2xx answer. The whole
/// exchange (resolve, connect, TLS, send, receive) must finish within `timeout`, and the
/// body must not exceed `max_body_bytes`. Header values with control characters are refused.
/// An `https://` URL goes through the proxy the environment names (`HTTPS_PROXY`,
/// `ALL_PROXY`, `NO_PROXY` honoured as curl does), like charon's Go client.
pub async fn get(
    url: &HttpUrl,
    headers: &[(&str, &str)],
    timeout: Duration,
    max_body_bytes: usize,
) -> Result<Vec<u8>, HttpError> {
    let proxy = if url.is_tls() {
        url.to_string().parse::<hyper::Uri>().ok().and_then(|u| {
            hyper_util::client::proxy::matcher::Matcher::from_env()
                .intercept(&u)
                .map(|i| (i.uri().clone(), i.basic_auth().cloned()))
        })
    } else {
        None
    };
    get_via(url, headers, timeout, max_body_bytes, proxy).await
}

/// [`get`] through `proxy` (an HTTP CONNECT proxy and its `Proxy-Authorization`), if given,
/// for an `https://` URL.
pub async fn get_via(
    url: &HttpUrl,
    headers: &[(&str, &str)],
    timeout: Duration,
    max_body_bytes: usize,
    proxy: Option<(hyper::Uri, Option<HeaderValue>)>,
) -> Result<Vec<u8>, HttpError> {
    let mut req = Request::get(url.to_string())
        .header(USER_AGENT, concat!("dkgd/", env!("CARGO_PKG_VERSION")))
        .header(ACCEPT, "*/*");
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| HttpError::InvalidUrl("a request header name is not a token"))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| HttpError::InvalidUrl("a request header has control characters"))?;
        req = req.header(name, value);
    }
    let req = req
        .body(Empty::<Bytes>::new())
        .map_err(|_| HttpError::InvalidUrl("the URL does not form a request"))?;
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_connect_timeout(Some(timeout));
    tcp.set_nodelay(true);
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(provider)
        .map_err(|e| HttpError::Tls(e.to_string()))?;
    let exchange = async {
        match proxy.filter(|_| url.is_tls()) {
            None => {
                let connector = tls.https_or_http().enable_http1().wrap_connector(tcp);
                send(connector, req, max_body_bytes).await
            }
            Some((at, auth)) => {
                let mut tunnel = Tunnel::new(at, tcp);
                if let Some(auth) = auth {
                    tunnel = tunnel.with_auth(auth);
                }
                let connector = tls.https_only().enable_http1().wrap_connector(tunnel);
                send(connector, req, max_body_bytes).await
            }
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| HttpError::Timeout(timeout))?
}

/// One request over a one-shot client (no connection reuse) on `connector`.
async fn send<C>(
    connector: C,
    req: Request<Empty<Bytes>>,
    max_body_bytes: usize,
) -> Result<Vec<u8>, HttpError>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let client = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build::<_, Empty<Bytes>>(connector);
    let resp = client.request(req).await.map_err(|e| {
        if e.is_connect() {
            HttpError::Connect(chain(&e))
        } else {
            HttpError::Io(chain(&e))
        }
    })?;
    let status = resp.status();
    if !status.is_success() {
        return Err(HttpError::Status(status.as_u16()));
    }
    let body = Limited::new(resp.into_body(), max_body_bytes)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                HttpError::TooLarge(max_body_bytes)
            } else {
                HttpError::Malformed(e.to_string())
            }
        })?;
    Ok(body.to_bytes().to_vec())
}

/// An error with its causes, `a: b: c` (hyper-util's own message alone says little).
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An https:// relay URL behind a proxy: the proxy is asked to CONNECT to the relay's
    /// host and port (the client never resolves the relay itself); a refusal is a connect
    /// error.
    #[tokio::test]
    async fn https_relay_urls_go_through_the_proxy() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut buf = vec![0u8; 4096];
            let mut len = 0;
            while !buf
                .get(..len)
                .unwrap_or_default()
                .windows(4)
                .any(|w| w == b"\r\n\r\n")
            {
                let n = s
                    .read(buf.get_mut(len..).unwrap_or_default())
                    .await
                    .expect("read");
                assert!(n > 0, "no CONNECT");
                len += n;
            }
            s.write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
                .await
                .expect("write");
            String::from_utf8_lossy(buf.get(..len).unwrap_or_default()).into_owned()
        });
        let url = HttpUrl::parse("https://0.relay.obol.invalid/enr").expect("url");
        let proxy: hyper::Uri = format!("http://127.0.0.1:{port}").parse().expect("uri");
        let auth = HeaderValue::from_static("Basic dTpw");
        let err = get_via(
            &url,
            &[],
            Duration::from_secs(5),
            1024,
            Some((proxy, Some(auth))),
        )
        .await
        .expect_err("the proxy refuses");
        assert!(matches!(err, HttpError::Connect(_)), "{err}");
        let request = seen.await.expect("proxy task");
        assert!(
            request.starts_with("CONNECT 0.relay.obol.invalid:443 HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(
            request
                .to_ascii_lowercase()
                .contains("proxy-authorization: basic dtpw"),
            "{request}"
        );
    }

    #[test]
    fn urls() {
        let u = HttpUrl::parse("http://127.0.0.1:3640").expect("valid");
        assert_eq!((u.host(), u.port(), u.path()), ("127.0.0.1", 3640, "/"));
        assert!(!u.is_tls());
        let u = HttpUrl::parse("HTTP://relay.example/enr?x=1").expect("valid");
        assert_eq!(
            (u.host(), u.port(), u.path()),
            ("relay.example", 80, "/enr?x=1")
        );
        let u = HttpUrl::parse("http://[::1]:8080/").expect("valid");
        assert_eq!((u.host(), u.port()), ("::1", 8080));
        assert_eq!(u.to_string(), "http://[::1]:8080/");
        let u = HttpUrl::parse("https://4.relay.obol.dev").expect("valid");
        assert_eq!(
            (u.host(), u.port(), u.is_tls()),
            ("4.relay.obol.dev", 443, true)
        );
        assert_eq!(u.to_string(), "https://4.relay.obol.dev:443/");
        for bad in [
            "ftp://x",
            "http://",
            "https://",
            "http://h:0",
            "http://h:99999",
            "http://u@h/",
        ] {
            assert!(HttpUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
