//! dkgd-crypto: the cryptographic primitives of dkgd.
//!
//! Pure computation: no file, network or clock access; randomness always arrives as an
//! argument (`rand_core::CryptoRngCore`) so every operation is reproducible from a seed.
//! Secret material lives only in the zeroizing types of this crate, which cannot be cloned,
//! compared with `==`, serialised or printed.

pub mod bls;
pub mod frost;
pub mod k1;
pub mod keystore;
pub mod secret;
pub mod selftest;
