//! Encrypting many keystores on all cores (charon writes them with 10 workers; formats.md §6).

use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use super::{encrypt, pubkey_of, KdfStrength, KeystoreError, Password};

/// One encrypted keystore and its fresh random password (`keystore-N.json` / `.txt`).
#[derive(Debug)]
pub struct KeystoreFile {
    /// Keystore JSON, as written to `keystore-N.json`.
    pub json: Vec<u8>,
    /// Its password, as written to `keystore-N.txt` (no newline).
    pub password: Password,
}

/// Encrypts every secret with its own random password ([`Password::random`]), in parallel on
/// `available_parallelism` worker threads. Results are in input order.
///
/// Deterministic given `rng` and independent of the core count: one 32-byte seed per key is
/// drawn from `rng` up front, and key `i` is encrypted with a ChaCha20 RNG seeded from seed
/// `i`. Memory stays bounded: each worker holds one KDF state at a time. All secrets are
/// validated before any KDF work starts.
pub fn encrypt_all<S, R>(
    secrets: &[S],
    strength: KdfStrength,
    mainnet: bool,
    rng: &mut R,
) -> Result<Vec<KeystoreFile>, KeystoreError>
where
    S: Deref<Target = [u8; 32]> + Sync,
    R: CryptoRngCore + ?Sized,
{
    strength.iterations(mainnet)?;
    for (index, s) in secrets.iter().enumerate() {
        pubkey_of(s).map_err(|e| KeystoreError::Batch {
            index,
            source: Box::new(e),
        })?;
    }
    let seeds: Vec<Zeroizing<[u8; 32]>> = secrets
        .iter()
        .map(|_| {
            let mut s = Zeroizing::new([0u8; 32]);
            rng.fill_bytes(&mut s[..]);
            s
        })
        .collect();
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(secrets.len())
        .max(1);
    let next = AtomicUsize::new(0);

    let one = |i: usize| -> Result<KeystoreFile, KeystoreError> {
        let (Some(secret), Some(seed)) = (secrets.get(i), seeds.get(i)) else {
            return Err(KeystoreError::Internal("keystore batch index out of range"));
        };
        let mut rng = ChaCha20Rng::from_seed(**seed);
        let password = Password::random(&mut rng);
        let json = encrypt(secret, &password, strength, mainnet, &mut rng)?;
        Ok(KeystoreFile { json, password })
    };

    let mut done: Vec<(usize, Result<KeystoreFile, KeystoreError>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= secrets.len() {
                            return out;
                        }
                        out.push((i, one(i)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join().unwrap_or_else(|_| {
                    vec![(0, Err(KeystoreError::Internal("keystore worker panicked")))]
                })
            })
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    if done.len() != secrets.len() {
        return Err(KeystoreError::Internal("keystore worker lost results"));
    }
    done.into_iter()
        .map(|(index, r)| {
            r.map_err(|e| KeystoreError::Batch {
                index,
                source: Box::new(e),
            })
        })
        .collect()
}
