//! dkgd-invite: joining a cluster from an invite.
//!
//! ```text
//!  pairing code (dkgd-formats::pairing) ──▶ ApiClient::definition ──▶ check::check_definition
//!        │                                        (HTTPS, bounded)         (sans-IO, untrusted input)
//!        └─ self-operated box: api::acceptance (EIP-712 signatures) ──▶ ApiClient::accept
//! ```
//!
//! [`check`] and [`api`] do no I/O; [`client`] is the only module that touches the network.

pub mod api;
pub mod check;
pub mod client;

pub use check::{check_definition, Checked, InviteError, OperatorState, OperatorView};
pub use client::{ApiClient, ApiError, Limits, Proxy};
