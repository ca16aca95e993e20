//! A deliberately small HTTP/1.1 GET client over a tokio `TcpStream`, enough to ask a relay
//! for its addresses the way charon does (spec §1.3 "Relays and discovery"): one request,
//! `Connection: close`, a whole-exchange timeout, a capped response, `Content-Length` or
//! chunked bodies. Plain `http://` only: there is no TLS client in dkgd.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest response head we accept.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Why an HTTP exchange failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The URL is not `http://host[:port][/path]`.
    #[error("not an http:// URL: {0}")]
    InvalidUrl(&'static str),
    /// An `https://` URL; dkgd has no TLS client.
    #[error("https is not supported (no TLS client in dkgd); give the relay's multiaddr or an http:// URL")]
    HttpsUnsupported,
    /// The host name did not resolve.
    #[error("resolving {host}: {source}")]
    Resolve {
        /// The host name.
        host: String,
        /// The resolver's error.
        #[source]
        source: std::io::Error,
    },
    /// No address of the host accepted a connection.
    #[error("connecting to {addr}: {source}")]
    Connect {
        /// The last address tried.
        addr: SocketAddr,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// The whole exchange took longer than allowed.
    #[error("no complete answer within {0:?}")]
    Timeout(Duration),
    /// The connection failed mid-exchange.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// A status other than 2xx.
    #[error("HTTP status {0}")]
    Status(u16),
    /// The response is larger than allowed.
    #[error("response larger than {0} bytes")]
    TooLarge(usize),
    /// The response is not well-formed HTTP/1.x.
    #[error("malformed HTTP response: {0}")]
    Malformed(&'static str),
}

/// A parsed `http://host[:port][/path]` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    host: String,
    port: u16,
    path: String,
}

impl HttpUrl {
    /// Parses an `http://` URL (port 80 by default, path `/` by default).
    pub fn parse(text: &str) -> Result<Self, HttpError> {
        if text.len() >= 8
            && text
                .get(..8)
                .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
        {
            return Err(HttpError::HttpsUnsupported);
        }
        let rest = text
            .get(..7)
            .filter(|s| s.eq_ignore_ascii_case("http://"))
            .and_then(|_| text.get(7..))
            .ok_or(HttpError::InvalidUrl("the scheme must be http://"))?;
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
        let (host, port) = split_host_port(authority)?;
        if host.is_empty() {
            return Err(HttpError::InvalidUrl("the host is empty"));
        }
        if !path.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(HttpError::InvalidUrl("the path must be printable ASCII"));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            path,
        })
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
        if self.host.contains(':') {
            write!(f, "http://[{}]:{}{}", self.host, self.port, self.path)
        } else {
            write!(f, "http://{}:{}{}", self.host, self.port, self.path)
        }
    }
}

fn split_host_port(authority: &str) -> Result<(&str, u16), HttpError> {
    let bad_port = HttpError::InvalidUrl("the port is not a number from 1 to 65535");
    let parse_port = |p: &str| p.parse::<u16>().ok().filter(|&p| p != 0);
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or(HttpError::InvalidUrl("unclosed '[' in the host"))?;
        return match after.strip_prefix(':') {
            Some(p) => Ok((host, parse_port(p).ok_or(bad_port)?)),
            None if after.is_empty() => Ok((host, 80)),
            None => Err(HttpError::InvalidUrl("junk after the IPv6 host")),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, p)) => Ok((host, parse_port(p).ok_or(bad_port)?)),
        None => Ok((authority, 80)),
    }
}

/// GETs `url` with extra `headers`, and returns the body of a 2xx answer. The whole
/// exchange (resolve, connect, send, receive) must finish within `timeout`, and the body
/// must not exceed `max_body_bytes`. Header values with control characters are refused.
pub async fn get(
    url: &HttpUrl,
    headers: &[(&str, &str)],
    timeout: Duration,
    max_body_bytes: usize,
) -> Result<Vec<u8>, HttpError> {
    tokio::time::timeout(timeout, exchange(url, headers, max_body_bytes))
        .await
        .map_err(|_| HttpError::Timeout(timeout))?
}

async fn exchange(
    url: &HttpUrl,
    headers: &[(&str, &str)],
    max_body_bytes: usize,
) -> Result<Vec<u8>, HttpError> {
    let mut request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: dkgd/{}\r\nAccept: */*\r\nConnection: close\r\n",
        url.path,
        host_header(url),
        env!("CARGO_PKG_VERSION")
    );
    for (name, value) in headers {
        let clean = |s: &str| s.bytes().all(|b| b == b' ' || b.is_ascii_graphic());
        if !clean(name) || !clean(value) || name.is_empty() {
            return Err(HttpError::InvalidUrl(
                "a request header has control characters",
            ));
        }
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");

    let mut stream = connect(url).await?;
    stream.write_all(request.as_bytes()).await?;
    stream.flush().await?;

    let limit = MAX_HEAD_BYTES.saturating_add(max_body_bytes);
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        if buf.len() > limit {
            return Err(HttpError::TooLarge(max_body_bytes));
        }
        if content_complete(&buf) {
            break;
        }
    }
    parse_response(&buf, max_body_bytes)
}

fn host_header(url: &HttpUrl) -> String {
    let host = if url.host.contains(':') {
        format!("[{}]", url.host)
    } else {
        url.host.clone()
    };
    if url.port == 80 {
        host
    } else {
        format!("{host}:{}", url.port)
    }
}

async fn connect(url: &HttpUrl) -> Result<TcpStream, HttpError> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((url.host.as_str(), url.port))
        .await
        .map_err(|source| HttpError::Resolve {
            host: url.host.clone(),
            source,
        })?
        .collect();
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => return Ok(s),
            Err(source) => last = Some(HttpError::Connect { addr, source }),
        }
    }
    Err(last.unwrap_or_else(|| HttpError::Resolve {
        host: url.host.clone(),
        source: std::io::Error::new(std::io::ErrorKind::NotFound, "no addresses"),
    }))
}

/// A response head: status, lowercase header names with values, and where the body starts.
type Head = (u16, Vec<(String, String)>, usize);

/// Splits a response into its head (`None` while the head is incomplete).
fn parse_head(buf: &[u8]) -> Result<Option<Head>, HttpError> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() > MAX_HEAD_BYTES {
            Err(HttpError::Malformed("the response head is too long"))
        } else {
            Ok(None)
        };
    };
    let head = std::str::from_utf8(buf.get(..end).unwrap_or_default())
        .map_err(|_| HttpError::Malformed("the response head is not text"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(HttpError::Malformed("not an HTTP/1.x status line"));
    }
    let status = parts
        .next()
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or(HttpError::Malformed("no status code"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(Some((status, headers, end + 4)))
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Whether a `Content-Length` response is complete (so we need not wait for the close).
fn content_complete(buf: &[u8]) -> bool {
    match parse_head(buf) {
        Ok(Some((_, headers, start))) => header(&headers, "content-length")
            .and_then(|v| v.parse::<usize>().ok())
            .is_some_and(|len| buf.len().saturating_sub(start) >= len),
        _ => false,
    }
}

fn parse_response(buf: &[u8], max_body_bytes: usize) -> Result<Vec<u8>, HttpError> {
    let (status, headers, start) =
        parse_head(buf)?.ok_or(HttpError::Malformed("the response ended inside its head"))?;
    if !(200..300).contains(&status) {
        return Err(HttpError::Status(status));
    }
    let raw = buf.get(start..).unwrap_or_default();
    let body = if header(&headers, "transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        dechunk(raw)?
    } else if let Some(len) = header(&headers, "content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| HttpError::Malformed("bad Content-Length"))?;
        raw.get(..len)
            .ok_or(HttpError::Malformed(
                "the body is shorter than its Content-Length",
            ))?
            .to_vec()
    } else {
        raw.to_vec()
    };
    if body.len() > max_body_bytes {
        return Err(HttpError::TooLarge(max_body_bytes));
    }
    Ok(body)
}

fn dechunk(mut raw: &[u8]) -> Result<Vec<u8>, HttpError> {
    let mut out = Vec::new();
    loop {
        let line_end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or(HttpError::Malformed("bad chunked encoding"))?;
        let size_line = std::str::from_utf8(raw.get(..line_end).unwrap_or_default())
            .map_err(|_| HttpError::Malformed("bad chunk size"))?;
        let size_hex = size_line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| HttpError::Malformed("bad chunk size"))?;
        let data_start = line_end + 2;
        if size == 0 {
            return Ok(out);
        }
        let data_end = data_start
            .checked_add(size)
            .ok_or(HttpError::Malformed("bad chunk size"))?;
        out.extend_from_slice(
            raw.get(data_start..data_end)
                .ok_or(HttpError::Malformed("truncated chunk"))?,
        );
        raw = raw
            .get(data_end..)
            .and_then(|r| r.strip_prefix(b"\r\n"))
            .ok_or(HttpError::Malformed("chunk not followed by CRLF"))?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = HttpUrl::parse("http://127.0.0.1:3640").expect("valid");
        assert_eq!((u.host(), u.port(), u.path()), ("127.0.0.1", 3640, "/"));
        let u = HttpUrl::parse("HTTP://relay.example/enr?x=1").expect("valid");
        assert_eq!(
            (u.host(), u.port(), u.path()),
            ("relay.example", 80, "/enr?x=1")
        );
        let u = HttpUrl::parse("http://[::1]:8080/").expect("valid");
        assert_eq!((u.host(), u.port()), ("::1", 8080));
        assert_eq!(u.to_string(), "http://[::1]:8080/");
        assert!(matches!(
            HttpUrl::parse("https://4.relay.obol.dev"),
            Err(HttpError::HttpsUnsupported)
        ));
        for bad in [
            "ftp://x",
            "http://",
            "http://h:0",
            "http://h:99999",
            "http://u@h/",
        ] {
            assert!(HttpUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bodies() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello-and-more";
        assert_eq!(parse_response(ok, 64).expect("ok"), b"hello");
        assert!(content_complete(ok));
        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked, 64).expect("ok"), b"abcde");
        let until_close = b"HTTP/1.0 200 OK\r\n\r\n[\"/ip4/1.2.3.4/tcp/1\"]";
        assert_eq!(
            parse_response(until_close, 64).expect("ok"),
            br#"["/ip4/1.2.3.4/tcp/1"]"#
        );
        assert!(matches!(
            parse_response(b"HTTP/1.1 503 Busy\r\n\r\n", 64),
            Err(HttpError::Status(503))
        ));
        assert!(matches!(parse_response(ok, 4), Err(HttpError::TooLarge(4))));
        assert!(parse_response(b"SSH-2.0-x\r\n\r\n", 64).is_err());
        assert!(parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            64
        )
        .is_err());
    }
}
