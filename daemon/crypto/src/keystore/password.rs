//! Keystore passwords: charon's random form and EIP-2335 normalisation.

use std::fmt;

use rand_core::CryptoRngCore;
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

/// A keystore password. Wiped on drop, printed as `[redacted]`, not `Clone`.
pub struct Password(Zeroizing<String>);

impl Password {
    /// Wraps a password (e.g. the content of a `keystore-N.txt` file, read verbatim).
    pub fn new(password: String) -> Self {
        Self(Zeroizing::new(password))
    }

    /// charon's password for a new keystore (formats.md §6): 16 random bytes as 32 lower-case
    /// hex characters, no newline.
    pub fn random<R: CryptoRngCore + ?Sized>(rng: &mut R) -> Self {
        let mut raw = Zeroizing::new([0u8; 16]);
        rng.fill_bytes(&mut raw[..]);
        Self(Zeroizing::new(hex::encode(&raw[..])))
    }

    /// The password text, e.g. to write `keystore-N.txt`. Sensitive.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// Which control characters normalisation removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Controls {
    /// EIP-2335: C0 (U+0000–U+001F), DEL (U+007F) and C1 (U+0080–U+009F).
    Eip2335,
    /// The Go library charon uses: C0 and DEL only; C1 stays.
    C0AndDelOnly,
}

/// EIP-2335 password processing: NFKD, then control codes stripped, then UTF-8.
pub(crate) fn normalise(password: &str, controls: Controls) -> Zeroizing<Vec<u8>> {
    let kept = password.nfkd().filter(|c| !is_stripped(*c, controls));
    let mut out = Zeroizing::new(Vec::with_capacity(password.len()));
    let mut buf = [0u8; 4];
    for c in kept {
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
    out
}

/// Whether the two normalisations of `password` differ (it holds a C1 control character).
pub(crate) fn has_c1(password: &str) -> bool {
    password.nfkd().any(is_c1)
}

fn is_c1(c: char) -> bool {
    ('\u{80}'..='\u{9f}').contains(&c)
}

fn is_stripped(c: char, controls: Controls) -> bool {
    c <= '\u{1f}' || c == '\u{7f}' || (controls == Controls::Eip2335 && is_c1(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn eip2335_example_password() {
        let pw = "𝔱𝔢𝔰𝔱𝔭𝔞𝔰𝔰𝔴𝔬𝔯𝔡🔑";
        assert_eq!(
            hex::encode(&*normalise(pw, Controls::Eip2335)),
            "7465737470617373776f7264f09f9491"
        );
    }

    #[test]
    fn control_characters() {
        let pw = "a\u{0}b\u{1f}c\u{7f}d\u{85}e f\n";
        assert_eq!(&*normalise(pw, Controls::Eip2335), b"abcde f");
        assert_eq!(
            &*normalise(pw, Controls::C0AndDelOnly),
            "abcd\u{85}e f".as_bytes()
        );
        assert!(has_c1(pw));
        assert!(!has_c1("plain"));
    }

    #[test]
    fn random_password_shape() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let p = Password::random(&mut rng);
        assert_eq!(p.expose_secret().len(), 32);
        assert!(p
            .expose_secret()
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(format!("{p:?}"), "Password([redacted])");
    }
}
