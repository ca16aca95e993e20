//! The Obol API contract, without I/O: base URL rules, paths, request bodies, response parsing.
//!
//! | call | request | answer |
//! |---|---|---|
//! | definition by config hash | `GET /v1/definition/{config_hash}` | the definition (charon JSON, extra fields ignored) |
//! | definitions of an operator | `GET /v1/definition/operator/{address}?page=P&limit=L` | `{"cluster_definitions": [...], "has_next_page": bool}` |
//! | accept the terms | `POST /v1/termsAndConditions` + `Authorization: Bearer <sig>` | 2xx |
//! | accept the invite | `PUT /v1/definition/{config_hash}` + `Authorization: Bearer <config sig>` | the updated definition |
//! | publish the lock | `POST /v1/lock` | 2xx |

use dkgd_crypto::k1::{eip55_checksum, K1SecretKey};
use dkgd_formats::eip712;
use serde::Deserialize;

/// The default API.
pub const DEFAULT_API_URL: &str = "https://api.obol.tech";
/// Definitions per page when polling by operator (as Obol's sidecar).
pub const PAGE_LIMIT: u32 = 10;
/// Pages read per poll at most.
pub const MAX_PAGES: u32 = 20;
/// The terms-and-conditions version signed (obol-sdk's current one).
pub const TERMS_VERSION: u64 = 1;

/// A checked API base URL: `https://host[:port][/prefix]`, or `http://` to a loopback address
/// (tests, a local proxy). No credentials, query or fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiUrl(String);

/// Why a base URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("API URL {url:?} is refused: {why}")]
pub struct BadApiUrl {
    /// The URL given.
    pub url: String,
    /// Why.
    pub why: &'static str,
}

impl ApiUrl {
    /// Checks `url` (a trailing `/` is dropped).
    pub fn parse(url: &str) -> Result<Self, BadApiUrl> {
        let bad = |why| BadApiUrl {
            url: url.to_owned(),
            why,
        };
        let trimmed = url.trim().trim_end_matches('/');
        let (scheme, rest) = trimmed
            .split_once("://")
            .ok_or_else(|| bad("it must start with https://"))?;
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.is_empty() {
            return Err(bad("it has no host"));
        }
        if rest.contains(['?', '#', '@', ' ']) {
            return Err(bad("it must not hold credentials, a query or a fragment"));
        }
        let host = host_of(authority);
        match scheme.to_ascii_lowercase().as_str() {
            "https" => {}
            "http" if is_loopback(host) => {}
            "http" => {
                return Err(bad(
                    "plain http is allowed only to a loopback address (127.0.0.1, ::1, localhost)",
                ))
            }
            _ => return Err(bad("it must start with https://")),
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The URL text (no trailing `/`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether requests go over TLS.
    pub fn is_https(&self) -> bool {
        self.0.to_ascii_lowercase().starts_with("https://")
    }

    /// `GET` path of a definition.
    pub fn definition(&self, config_hash: &[u8; 32]) -> String {
        format!("{}/v1/definition/0x{}", self.0, hex::encode(config_hash))
    }

    /// `GET` path of one page of an operator's definitions.
    pub fn operator_page(&self, address: &[u8; 20], page: u32) -> String {
        format!(
            "{}/v1/definition/operator/{}?page={page}&limit={PAGE_LIMIT}",
            self.0,
            eip55_checksum(address)
        )
    }

    /// `POST` path of the terms acceptance.
    pub fn terms(&self) -> String {
        format!("{}/v1/termsAndConditions", self.0)
    }

    /// `POST` path of a lock.
    pub fn lock(&self) -> String {
        format!("{}/v1/lock", self.0)
    }
}

fn host_of(authority: &str) -> &str {
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or_default();
    }
    authority.split(':').next().unwrap_or_default()
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// One page of an operator's definitions, each kept as raw JSON for the checker.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorPage {
    /// The definitions, as JSON texts.
    pub definitions: Vec<Vec<u8>>,
    /// Whether another page follows (absent counts as no).
    pub has_next_page: bool,
}

/// Parses an operator page.
pub fn parse_operator_page(body: &[u8]) -> Result<OperatorPage, String> {
    #[derive(Deserialize)]
    struct Raw {
        #[serde(default)]
        cluster_definitions: Vec<serde_json::Value>,
        #[serde(default)]
        has_next_page: Option<bool>,
    }
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("not an operator page: {e}"))?;
    if !value.is_object() {
        return Err("not an operator page: expected a JSON object".to_owned());
    }
    let raw: Raw =
        serde_json::from_value(value).map_err(|e| format!("not an operator page: {e}"))?;
    let definitions = raw
        .cluster_definitions
        .iter()
        .map(|d| serde_json::to_vec(d).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    Ok(OperatorPage {
        definitions,
        has_next_page: raw.has_next_page.unwrap_or(false),
    })
}

/// A signed request: its JSON body and its `Authorization` header value. Only public data
/// and signatures: nothing secret leaves the box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    /// The JSON body.
    pub body: Vec<u8>,
    /// `Bearer 0x…`.
    pub authorization: String,
}

/// The invite acceptance of the operator whose wallet is `key` (a self-operated box: the ENR
/// key is the operator's key), for `enr`, a definition of `version` on `fork_version`.
pub fn acceptance(
    key: &K1SecretKey,
    enr: &str,
    version: &str,
    fork_version: &[u8; 4],
    config_hash: &[u8; 32],
) -> Result<SignedRequest, dkgd_formats::network::NetworkError> {
    let chain_id = eip712::chain_id(fork_version)?;
    let config_sig = key.sign_digest(&eip712::operator_config_hash_digest(
        version,
        chain_id,
        config_hash,
    ));
    let enr_sig = key.sign_digest(&eip712::enr_digest(chain_id, enr));
    let body = serde_json::json!({
        "enr": enr,
        "version": version,
        "address": eip55_checksum(&key.public_key().eth_address()),
        "enr_signature": format!("0x{}", hex::encode(enr_sig)),
        "fork_version": format!("0x{}", hex::encode(fork_version)),
    });
    Ok(SignedRequest {
        body: body.to_string().into_bytes(),
        authorization: format!("Bearer 0x{}", hex::encode(config_sig)),
    })
}

/// The terms-and-conditions acceptance by `key`.
pub fn terms_acceptance(key: &K1SecretKey) -> SignedRequest {
    let sig = key.sign_digest(&eip712::terms_and_conditions_digest(
        eip712::TERMS_AND_CONDITIONS_HASH,
        TERMS_VERSION,
    ));
    let body = serde_json::json!({
        "address": eip55_checksum(&key.public_key().eth_address()),
        "version": TERMS_VERSION,
        "terms_and_conditions_hash": eip712::TERMS_AND_CONDITIONS_HASH,
    });
    SignedRequest {
        body: body.to_string().into_bytes(),
        authorization: format!("Bearer 0x{}", hex::encode(sig)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert!(ApiUrl::parse("https://api.obol.tech").is_ok());
        assert_eq!(
            ApiUrl::parse("https://api.obol.tech/").map(|u| u.as_str().to_owned()),
            Ok("https://api.obol.tech".to_owned())
        );
        assert!(ApiUrl::parse("http://127.0.0.1:8080").is_ok());
        assert!(ApiUrl::parse("http://[::1]:8080").is_ok());
        assert!(ApiUrl::parse("http://localhost:1").is_ok());
        for bad in [
            "http://api.obol.tech",
            "http://10.0.0.1",
            "ftp://x",
            "api.obol.tech",
            "https://",
            "https://u:p@api.obol.tech",
            "https://api.obol.tech/?x=1",
        ] {
            assert!(ApiUrl::parse(bad).is_err(), "{bad}");
        }
        let u = ApiUrl::parse("https://api.obol.tech").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            u.definition(&[0xab; 32]),
            format!("https://api.obol.tech/v1/definition/0x{}", "ab".repeat(32))
        );
        assert!(u.operator_page(&[0x11; 20], 3).ends_with(
            "/v1/definition/operator/0x1111111111111111111111111111111111111111?page=3&limit=10"
        ));
    }

    #[test]
    fn pages() {
        let p = parse_operator_page(
            br#"{"cluster_definitions":[{"a":1},{"b":2}],"has_next_page":true}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.definitions.len(), 2);
        assert!(p.has_next_page);
        let p =
            parse_operator_page(br#"{"cluster_definitions":[]}"#).unwrap_or_else(|e| panic!("{e}"));
        assert!(!p.has_next_page);
        assert!(parse_operator_page(b"[]").is_err());
    }

    #[test]
    fn acceptance_signatures_recover_to_the_operator() {
        let key = K1SecretKey::from_bytes(&[7; 32]).unwrap_or_else(|e| panic!("{e}"));
        let fork = dkgd_formats::network::HOODI.genesis_fork_version;
        let req = acceptance(&key, "enr:-abc", "v1.10.0", &fork, &[1; 32])
            .unwrap_or_else(|e| panic!("{e}"));
        let body: serde_json::Value =
            serde_json::from_slice(&req.body).unwrap_or_else(|e| panic!("{e}"));
        let addr = key.public_key().eth_address();
        let chain = dkgd_formats::network::HOODI.chain_id;
        let enr_sig = hex::decode(
            body["enr_signature"]
                .as_str()
                .unwrap_or_default()
                .trim_start_matches("0x"),
        )
        .unwrap_or_default();
        assert!(
            eip712::check_signature(&eip712::enr_digest(chain, "enr:-abc"), &addr, &enr_sig)
                .is_valid()
        );
        let cfg =
            hex::decode(req.authorization.trim_start_matches("Bearer 0x")).unwrap_or_default();
        let digest = eip712::operator_config_hash_digest("v1.10.0", chain, &[1; 32]);
        assert!(eip712::check_signature(&digest, &addr, &cfg).is_valid());
        assert_eq!(body["fork_version"], "0x10000910");
        let t = terms_acceptance(&key);
        assert!(t.authorization.starts_with("Bearer 0x"));
        assert_eq!(t.authorization.len(), "Bearer 0x".len() + 130);
    }
}
