//! The bodies of dkgd's fuzz targets, one function per target, taking the fuzzer's bytes.
//! Every function must return normally for every input; a panic is a finding.
//!
//! ```text
//!  daemon/fuzz/fuzz_targets/<name>.rs ──libFuzzer (nightly, instrumented)──▶ dkgd_fuzzing::<name>(data)
//!  daemon/fuzz/corpus/<name>/*        ──tests/corpus.rs (stable, CI)───────▶ dkgd_fuzzing::<name>(data)
//! ```
//!
//! | group | targets | what faces the input |
//! |---|---|---|
//! | [`files`] | `definition`, `lock`, `enr`, `deposit_file`, `backup_bundle` | the file parsers and verifiers |
//! | [`wire`] | `frame_decoder`, `frost`, `parsigex`, `node_sig`, `bcast` | one peer message's decoder |
//! | [`node`] | `ceremony_frames`, `cluster` | the ceremony state machine: one node fed raw frames; four nodes, one sender's frames changed |
//! | [`local`] | `pairing_code`, `obol_api`, `status_request` | what an owner types, the Obol API answers, a socket client sends |

pub mod files;
pub mod local;
pub mod node;
pub mod wire;

pub use files::{backup_bundle, definition, deposit_file, enr, lock};
pub use local::{obol_api, pairing_code, status_request};
pub use node::{ceremony_frames, cluster};
pub use wire::{bcast, frame_decoder, frost, node_sig, parsigex};

/// A fuzz target: takes any bytes, panics only on a finding.
pub type Target = fn(&[u8]);

/// Every target by name (the name of its libFuzzer binary and corpus directory).
pub const TARGETS: &[(&str, Target)] = &[
    ("definition", files::definition),
    ("lock", files::lock),
    ("enr", files::enr),
    ("deposit_file", files::deposit_file),
    ("backup_bundle", files::backup_bundle),
    ("frame_decoder", wire::frame_decoder),
    ("frost", wire::frost),
    ("parsigex", wire::parsigex),
    ("node_sig", wire::node_sig),
    ("bcast", wire::bcast),
    ("ceremony_frames", node::ceremony_frames),
    ("cluster", node::cluster),
    ("pairing_code", local::pairing_code),
    ("obol_api", local::obol_api),
    ("status_request", local::status_request),
];

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Splits `data` into a leading selector byte and the rest (`0` and nothing for empty input).
fn split(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((s, rest)) => (*s, rest),
        None => (0, data),
    }
}
