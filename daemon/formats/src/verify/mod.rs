//! Verification of definitions and locks: every check charon performs on load, plus the ones
//! it skips (formats.md §2.5, §3.3–§3.5, §4, §7), reported one line per check.
//!
//! Pure: callers hand in parsed values and get a [`Report`]. A failed check is a result, not an
//! error; nothing here panics on bad data (random-signature test data reports "invalid").
//!
//! ```text
//! Definition ──▶ structure · config_hash · definition_hash · network · enr[i]
//!                · operator[i] config/enr signatures · creator signature
//! Lock       ──▶ the above · lock_hash · node_signatures[i] · signature_aggregate
//!                · public_shares[v] · builder_registration[v] · deposit_data[v][k]
//! ```

mod definition;
mod lock;

pub use definition::verify_definition;
pub use lock::verify_lock;

use serde::Serialize;
use std::fmt;

/// How one check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Verified and correct.
    Pass,
    /// Verified and wrong.
    Fail,
    /// Cannot be decided offline (e.g. an ERC-1271 contract signature needs an execution
    /// client). Never counted as a pass.
    Unverifiable,
    /// Does not apply to this file (e.g. unsigned operators, a version without the field).
    Skip,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Unverifiable => "UNVERIFIABLE",
            Status::Skip => "SKIP",
        })
    }
}

/// One check: what was checked, how it ended, and a one-line explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Check name with its subject, e.g. `node_signatures[2]` or `config_hash`.
    pub check: String,
    /// Outcome.
    pub status: Status,
    /// Human-readable detail: the value checked, or what is wrong and where.
    pub detail: String,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<12} {}: {}", self.status, self.check, self.detail)
    }
}

/// Counts per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Checks that passed.
    pub passed: usize,
    /// Checks that failed.
    pub failed: usize,
    /// Checks that cannot be decided offline.
    pub unverifiable: usize,
    /// Checks that do not apply.
    pub skipped: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} checks passed, {} failed, {} unverifiable offline, {} skipped",
            self.passed, self.failed, self.unverifiable, self.skipped
        )
    }
}

/// An ordered list of checks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The checks, in the order they ran.
    pub checks: Vec<Check>,
}

impl Report {
    /// Appends a check.
    pub fn push(&mut self, check: impl Into<String>, status: Status, detail: impl Into<String>) {
        self.checks.push(Check {
            check: check.into(),
            status,
            detail: detail.into(),
        });
    }

    /// Appends a pass.
    pub fn pass(&mut self, check: impl Into<String>, detail: impl Into<String>) {
        self.push(check, Status::Pass, detail);
    }

    /// Appends a failure.
    pub fn fail(&mut self, check: impl Into<String>, detail: impl Into<String>) {
        self.push(check, Status::Fail, detail);
    }

    /// Appends a skipped check.
    pub fn skip(&mut self, check: impl Into<String>, detail: impl Into<String>) {
        self.push(check, Status::Skip, detail);
    }

    /// Appends all checks of `other`.
    pub fn extend(&mut self, other: Report) {
        self.checks.extend(other.checks);
    }

    /// Counts per status.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.checks {
            match c.status {
                Status::Pass => s.passed += 1,
                Status::Fail => s.failed += 1,
                Status::Unverifiable => s.unverifiable += 1,
                Status::Skip => s.skipped += 1,
            }
        }
        s
    }

    /// The status of the first check whose name is `name` (for tests and callers that gate on
    /// one check).
    pub fn status_of(&self, name: &str) -> Option<Status> {
        self.checks
            .iter()
            .find(|c| c.check == name)
            .map(|c| c.status)
    }

    /// Whether every check passed or was skipped.
    pub fn all_passed(&self) -> bool {
        let s = self.summary();
        s.failed == 0 && s.unverifiable == 0
    }
}

/// `0x` + hex of a hash, shortened for one-line output.
pub(crate) fn short_hex(bytes: &[u8]) -> String {
    let h = hex::encode(bytes);
    if h.len() > 16 {
        format!("0x{}…{}", &h[..8], &h[h.len() - 4..])
    } else {
        format!("0x{h}")
    }
}
