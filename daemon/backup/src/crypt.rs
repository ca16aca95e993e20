//! The age layer: encrypting a bundle to the owner's X25519 public keys (or a passphrase,
//! age's scrypt recipient), decrypting it with an identity file (or the passphrase), and
//! reading the header without any secret. Files are standard age v1
//! (<https://age-encryption.org/v1>): `age -d -i key.txt backup.age | tar x` opens them.

use crate::error::Error;
use crate::MAX_BUNDLE_BYTES;
use age::secrecy::SecretString;
use age::x25519;
use dkgd_crypto::secret::SecretVec;
use std::io::{self, Read, Write};
use std::path::Path;
use std::str::FromStr;
use zeroize::Zeroizing;

/// A passphrase (zeroized on drop by `secrecy`), with an optional scrypt work factor
/// (`log2 N`) for encryption; `None` lets age pick about one second on this machine.
pub struct Passphrase {
    secret: SecretString,
    work_factor: Option<u8>,
}

impl Passphrase {
    /// Takes `text` (e.g. a line read from the terminal); it is wiped when dropped.
    pub fn new(text: Zeroizing<String>) -> Self {
        let secret = SecretString::from(text.as_str().to_owned());
        Self {
            secret,
            work_factor: None,
        }
    }

    /// Sets scrypt's work factor (`N = 2^log_n`, 1 ≤ log_n ≤ 30) for encryption; tests use
    /// a low one.
    pub fn with_work_factor(mut self, log_n: u8) -> Self {
        self.work_factor = Some(log_n.clamp(1, 30));
        self
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase([redacted])")
    }
}

/// Whom a backup is encrypted to.
#[derive(Debug)]
pub enum Seal {
    /// age X25519 public keys (`age1…`): the owner keeps the identities, the box never does.
    Recipients(Vec<x25519::Recipient>),
    /// A passphrase (age's scrypt recipient).
    Passphrase(Passphrase),
}

/// How to open a backup.
pub enum Unlock {
    /// age X25519 identities (`AGE-SECRET-KEY-1…`).
    Identities(Vec<x25519::Identity>),
    /// The passphrase given at export.
    Passphrase(Passphrase),
}

impl std::fmt::Debug for Unlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Identities(v) => write!(f, "Unlock::Identities({} [redacted])", v.len()),
            Self::Passphrase(_) => f.write_str("Unlock::Passphrase([redacted])"),
        }
    }
}

/// Parses recipients: each item may itself be a comma- or whitespace-separated list
/// (`DKGD_BACKUP_RECIPIENTS` / `backup_recipients`). Empty items are ignored.
pub fn parse_recipients<S: AsRef<str>>(
    items: impl IntoIterator<Item = S>,
) -> Result<Vec<x25519::Recipient>, Error> {
    let mut out = Vec::new();
    for item in items {
        for word in item
            .as_ref()
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|w| !w.is_empty())
        {
            let r = x25519::Recipient::from_str(word).map_err(|why| Error::BadRecipient {
                given: word.chars().take(80).collect(),
                why,
            })?;
            if !out.contains(&r) {
                out.push(r);
            }
        }
    }
    Ok(out)
}

/// Parses an age identity file: `AGE-SECRET-KEY-1…` lines, blank lines and `#` comments.
/// Errors name the line, never its content.
pub fn parse_identities(text: &[u8], file: &Path) -> Result<Vec<x25519::Identity>, Error> {
    let mut out = Vec::new();
    for (i, line) in text.split(|b| *b == b'\n').enumerate() {
        let bad = || Error::BadIdentity {
            file: file.to_path_buf(),
            line: i + 1,
        };
        let line = line.trim_ascii();
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        let s = std::str::from_utf8(line).map_err(|_| bad())?;
        out.push(x25519::Identity::from_str(s).map_err(|_| bad())?);
    }
    if out.is_empty() {
        return Err(Error::BadIdentity {
            file: file.to_path_buf(),
            line: 0,
        });
    }
    Ok(out)
}

/// A fresh identity for owners without age: the secret line and its public key.
pub struct NewIdentity {
    /// `AGE-SECRET-KEY-1…`: give it to the owner once, never store it on the box.
    pub secret: SecretString,
    /// `age1…`: the recipient to configure on the box.
    pub recipient: String,
}

/// Generates a new X25519 identity (OS randomness).
pub fn generate_identity() -> NewIdentity {
    let id = x25519::Identity::generate();
    NewIdentity {
        secret: id.to_string(),
        recipient: id.to_public().to_string(),
    }
}

/// Encrypts `plain` (a bundle archive) into an age file.
pub fn encrypt(plain: &SecretVec, to: Seal) -> Result<Vec<u8>, Error> {
    let encryptor = match to {
        Seal::Recipients(r) if r.is_empty() => return Err(Error::NoRecipient),
        Seal::Recipients(r) => age::Encryptor::with_recipients(r.iter().map(|r| r as _))
            .map_err(|_| Error::Internal("age refused a set of X25519 recipients"))?,
        Seal::Passphrase(p) => {
            let mut r = age::scrypt::Recipient::new(p.secret);
            if let Some(n) = p.work_factor {
                r.set_work_factor(n);
            }
            age::Encryptor::with_recipients(std::iter::once(&r as _))
                .map_err(|_| Error::Internal("age refused a passphrase recipient"))?
        }
    };
    // 16 bytes of tag per 64 KiB chunk, plus the header.
    let mut out = Vec::with_capacity(plain.len() + plain.len() / 4096 + 4096);
    let io_err = |_: io::Error| Error::Internal("writing to an in-memory age stream failed");
    let mut w = encryptor.wrap_output(&mut out).map_err(io_err)?;
    w.write_all(plain.expose_secret()).map_err(io_err)?;
    w.finish().map_err(io_err)?;
    Ok(out)
}

/// Decrypts an age file (`file` names it in errors). Wrong identities, a wrong passphrase,
/// flipped bytes and truncation each get their own error; nothing is returned unless every
/// chunk authenticated.
pub fn decrypt(cipher: &[u8], with: Unlock, file: &Path) -> Result<SecretVec, Error> {
    let decryptor = open_header(cipher, file)?;
    let scrypt = decryptor.is_scrypt();
    let reader = match with {
        Unlock::Identities(_) if scrypt => {
            return Err(Error::WrongUnlock {
                file: file.to_path_buf(),
                why: "this backup is encrypted to a passphrase",
            })
        }
        Unlock::Passphrase(_) if !scrypt => {
            return Err(Error::WrongUnlock {
                file: file.to_path_buf(),
                why: "this backup is encrypted to age public keys, not a passphrase",
            })
        }
        Unlock::Identities(ids) => decryptor.decrypt(ids.iter().map(|i| i as _)),
        Unlock::Passphrase(p) => {
            let id = age::scrypt::Identity::new(p.secret);
            decryptor.decrypt(std::iter::once(&id as _))
        }
    }
    .map_err(|e| unwrap_error(e, scrypt, file))?;
    let mut plain = Zeroizing::new(Vec::with_capacity(cipher.len()));
    reader
        .take(MAX_BUNDLE_BYTES as u64 + 1)
        .read_to_end(&mut plain)
        .map_err(|e| Error::Damaged {
            file: file.to_path_buf(),
            why: if e.kind() == io::ErrorKind::UnexpectedEof {
                "the file ends early"
            } else {
                "a part of the file fails authentication"
            },
        })?;
    if plain.len() > MAX_BUNDLE_BYTES {
        return Err(Error::TooLarge {
            path: file.to_path_buf(),
            bytes: plain.len() as u64,
            limit: MAX_BUNDLE_BYTES as u64,
            what: "a backup's contents",
        });
    }
    Ok(SecretVec::new(std::mem::take(&mut *plain)))
}

fn open_header<'a>(cipher: &'a [u8], file: &Path) -> Result<age::Decryptor<&'a [u8]>, Error> {
    age::Decryptor::new_buffered(cipher).map_err(|e| match e {
        age::DecryptError::UnknownFormat => Error::NotABackup {
            file: file.to_path_buf(),
            why: "an age format version this dkgd does not know",
        },
        age::DecryptError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof && is_age(cipher) => {
            Error::Damaged {
                file: file.to_path_buf(),
                why: "the file ends inside its header",
            }
        }
        _ if is_age(cipher) => Error::Damaged {
            file: file.to_path_buf(),
            why: "the age header is malformed",
        },
        _ => Error::NotABackup {
            file: file.to_path_buf(),
            why: "no age header (a backup starts with age-encryption.org/v1)",
        },
    })
}

fn is_age(bytes: &[u8]) -> bool {
    bytes.starts_with(b"age-encryption.org/")
}

fn unwrap_error(e: age::DecryptError, scrypt: bool, file: &Path) -> Error {
    let file = file.to_path_buf();
    match e {
        age::DecryptError::NoMatchingKeys => Error::NoMatchingIdentity { file },
        age::DecryptError::DecryptionFailed | age::DecryptError::KeyDecryptionFailed if scrypt => {
            Error::WrongPassphrase { file }
        }
        age::DecryptError::ExcessiveWork { .. } => Error::Damaged {
            file,
            why: "its passphrase work factor is far above what this machine accepts",
        },
        age::DecryptError::InvalidMac => Error::Damaged {
            file,
            why: "the header's MAC does not verify",
        },
        _ => Error::Damaged {
            file,
            why: "the age header does not verify",
        },
    }
}

/// What the header of a backup says, read without any secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderInfo {
    /// Number of X25519 recipient stanzas.
    pub x25519_recipients: usize,
    /// Whether it is encrypted to a passphrase.
    pub passphrase: bool,
    /// Stanzas of other types (plugins, SSH keys): not made by dkgd.
    pub other_recipients: usize,
    /// Size of the file in bytes.
    pub bytes: u64,
}

/// Checks that `cipher` is a well-formed age file and describes its header.
pub fn inspect(cipher: &[u8], file: &Path) -> Result<HeaderInfo, Error> {
    let d = open_header(cipher, file)?;
    let mut info = HeaderInfo {
        x25519_recipients: 0,
        passphrase: d.is_scrypt(),
        other_recipients: 0,
        bytes: cipher.len() as u64,
    };
    for line in cipher.split(|b| *b == b'\n') {
        if line.starts_with(b"---") {
            break;
        }
        if let Some(stanza) = line.strip_prefix(b"-> ") {
            if stanza.starts_with(b"X25519 ") {
                info.x25519_recipients += 1;
            } else if !stanza.starts_with(b"scrypt ") {
                info.other_recipients += 1;
            }
        }
    }
    Ok(info)
}
