//! A small HTTP(S) GET client, enough to ask a relay for its addresses the way charon does
//! (spec §1.3 "Relays and discovery"): one request, a whole-exchange timeout, a capped
//! response, no redirects. hyper 1 with hyper-util's client on rustls (ring, compiled-in
//! webpki roots), the same stack as the Obol API client, so `https://` relay URLs (Obol's
//! public relays) work as well as `http://`.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::header::{HeaderName, HeaderValue, ACCEPT, USER_AGENT};
use hyper::Request;
use hyper_util::client::legacy::connect::HttpConnector;
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
pub async fn get(
    url: &HttpUrl,
    headers: &[(&str, &str)],
    timeout: Duration,
    max_body_bytes: usize,
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
    let client = client(timeout)?;
    let exchange = async {
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
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| HttpError::Timeout(timeout))?
}

/// A one-shot client: plain TCP for `http://`, rustls for `https://`, no connection reuse.
fn client(
    timeout: Duration,
) -> Result<Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>, HttpError> {
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_connect_timeout(Some(timeout));
    tcp.set_nodelay(true);
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(provider)
        .map_err(|e| HttpError::Tls(e.to_string()))?
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp);
    Ok(Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build(https))
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
