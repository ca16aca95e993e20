//! The public face of an identity key: ENR text, libp2p peer ID, Ethereum address, QR code.

use crate::exit::{Code, Failure};
use dkgd_crypto::k1::{eip55_checksum, K1SecretKey};
use dkgd_formats::enr::Enr;

/// What an operator shares about a key (all public).
pub(super) struct Identity {
    /// `enr:-…`, byte-identical to charon's for the same key (formats.md §5.2).
    pub(super) enr: String,
    /// `16Uiu2HA…` (formats.md §5.3).
    pub(super) peer_id: String,
    /// EIP-55 checksummed `0x…` address of the key.
    pub(super) address: String,
}

impl Identity {
    /// Derives the ENR, peer ID and address of `key`, and re-parses the ENR as a self-check
    /// (its signature must verify and name the same key) before anything is written.
    pub(super) fn of(key: &K1SecretKey) -> Result<Self, Failure> {
        let enr = Enr::create(key);
        let text = enr.to_text().to_owned();
        let reparsed = Enr::parse(&text).map_err(|e| {
            Failure::new(
                Code::Failed,
                anyhow::Error::new(e).context("internal error: the ENR we built does not parse"),
                "this is a bug in dkgd; please report it",
            )
        })?;
        if reparsed.public_key() != key.public_key() {
            return Err(Failure::new(
                Code::Failed,
                anyhow::anyhow!("internal error: the ENR we built names a different key"),
                "this is a bug in dkgd; please report it",
            ));
        }
        Ok(Self {
            peer_id: enr.peer_id().to_string(),
            address: eip55_checksum(&key.public_key().eth_address()),
            enr: text,
        })
    }
}

/// The ENR as a terminal QR code (Unicode half blocks, two modules per character cell).
/// Drawn for the usual light-on-dark terminal: light modules are printed as blocks.
pub(crate) fn qr(text: &str) -> Result<String, Failure> {
    use qrcode::render::unicode::Dense1x2;
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::L)
        .map_err(|e| {
            Failure::new(
                Code::Failed,
                anyhow::anyhow!("cannot draw the ENR as a QR code: {e}"),
                "copy the ENR text instead",
            )
        })?;
    let mut out = code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build();
    out.push('\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_of_an_enr_fits_a_terminal() {
        let enr = format!("enr:-HW4Q{}", "A".repeat(150));
        let art = qr(&enr).unwrap();
        let width = art.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(width <= 80, "{width} columns");
        assert!(art.lines().count() <= 40);
    }
}
