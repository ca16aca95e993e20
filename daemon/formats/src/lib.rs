//! dkgd-formats: charon's on-disk and signed formats (spec: `shared/spec/formats.md`).
//!
//! Bytes in, bytes out: no file or network I/O happens here. Parsing is lenient where charon
//! is (unknown keys ignored, keys matched case-insensitively), writing is byte-exact to charon.
//!
//! ```text
//!  JSON bytes ──parse──▶ Definition / Lock ──hash (ssz)──▶ config/definition/lock hash
//!                              │                                │
//!                              └──── verify (eip712, enr, bls, k1) ◀┘
//! ```

pub mod definition;
pub mod deposit;
pub mod eip712;
pub mod enr;
pub mod error;
pub mod json;
pub mod lock;
pub mod network;
pub mod pairing;
pub mod signing;
pub mod ssz;
pub mod verify;
