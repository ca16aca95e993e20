//! Test support for the dkgd workspace (never shipped).
//!
//! * Locates the shared golden vectors in `../shared/vectors` beside the checkout (or in
//!   `$DKGD_VECTORS`). A missing directory is a hard failure, never a silent skip: tests that
//!   cannot see the vectors must not pass.
//! * Reads vector files and lists directories in a stable order, with panics that name the file.
//!
//! It depends on no dkgd crate so that every crate can use it as a dev-dependency.

use std::path::{Path, PathBuf};

/// The workspace root (the directory holding the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    // This crate lives in `<root>/daemon/testkit`.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .expect("invariant: testkit sits two levels below the workspace root")
}

/// The shared vectors directory: `$DKGD_VECTORS` if set, else `<root>/../shared/vectors`.
///
/// # Panics
/// If the directory does not exist: the vectors are part of the test contract.
pub fn vectors_dir() -> PathBuf {
    let dir = match std::env::var_os("DKGD_VECTORS") {
        Some(p) => PathBuf::from(p),
        None => workspace_root().join("..").join("shared").join("vectors"),
    };
    assert!(
        dir.is_dir(),
        "shared vectors not found at {} (CI places ../shared beside the checkout; or set DKGD_VECTORS)",
        dir.display()
    );
    dir
}

/// Path of a vector file, relative to the vectors directory (e.g. `charon/cluster/testdata/x.json`).
///
/// # Panics
/// If the file does not exist.
pub fn vector_path(rel: &str) -> PathBuf {
    let p = vectors_dir().join(rel);
    assert!(p.is_file(), "vector file missing: {}", p.display());
    p
}

/// Reads a vector file as bytes.
///
/// # Panics
/// If the file cannot be read; the message names it.
pub fn read_vector(rel: &str) -> Vec<u8> {
    let p = vector_path(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// Reads a vector file as UTF-8 text.
///
/// # Panics
/// If the file cannot be read or is not UTF-8.
pub fn read_vector_str(rel: &str) -> String {
    String::from_utf8(read_vector(rel)).unwrap_or_else(|e| panic!("{rel} is not UTF-8: {e}"))
}

/// All files (not directories) under `rel` whose name ends with `suffix`, as paths relative to
/// the vectors directory, sorted.
///
/// # Panics
/// If `rel` is not a directory or is empty of matches.
pub fn list_vectors(rel: &str, suffix: &str) -> Vec<String> {
    let dir = vectors_dir().join(rel);
    let mut out: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(suffix))
        .map(|n| format!("{}/{n}", rel.trim_end_matches('/')))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no *{suffix} files in {}", dir.display());
    out
}

/// Decodes hex (with or without `0x`), panicking with the value on error. For test literals.
///
/// # Panics
/// If `s` is not valid hex.
pub fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s.trim_start_matches("0x")).unwrap_or_else(|e| panic!("bad hex literal {s}: {e}"))
}

/// A copy of `bytes` with bit 0 of byte `at` flipped (for tamper tests).
///
/// # Panics
/// If `at` is out of range.
pub fn flip_byte(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut v = bytes.to_vec();
    v[at] ^= 0x01;
    v
}

/// Parses JSON test data, naming the file on failure.
///
/// # Panics
/// If the bytes are not JSON.
pub fn parse_json(rel: &str) -> serde_json::Value {
    serde_json::from_slice(&read_vector(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The vectors' hand-derived values file (`charon/vectors.md`).
pub const VECTORS_MD: &str = "charon/vectors.md";

/// The text of the `## heading` section of `charon/vectors.md` (up to the next `## `).
///
/// # Panics
/// If the section does not exist.
pub fn md_section(heading: &str) -> String {
    let text = read_vector_str(VECTORS_MD);
    let start = text
        .find(&format!("## {heading}"))
        .unwrap_or_else(|| panic!("{VECTORS_MD}: no section {heading:?}"));
    let rest = &text[start + 3..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    rest[..end].to_string()
}

/// The first back-quoted value after `label` in `section`.
///
/// # Panics
/// If the label or the back-quotes are missing.
pub fn md_value_after(section: &str, label: &str) -> String {
    let at = section
        .find(label)
        .unwrap_or_else(|| panic!("{VECTORS_MD}: label {label:?} not found"));
    let rest = &section[at + label.len()..];
    let a = rest.find('`').expect("opening back-quote") + 1;
    let b = a + rest[a..].find('`').expect("closing back-quote");
    rest[a..b].to_string()
}

/// The integer following `label` in `section` (e.g. `gas_limit 30000000,`).
///
/// # Panics
/// If the label is missing or not followed by digits.
pub fn md_number_after(section: &str, label: &str) -> u64 {
    let at = section.find(label).expect(label) + label.len();
    section[at..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .expect(label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_shared_vectors() {
        let files = list_vectors("charon/cluster/testdata", ".json");
        assert_eq!(files.len(), 24, "{files:?}");
        assert!(read_vector("charon/eth2util/keystore/testdata/keystore-scrypt.txt").len() == 32);
    }

    #[test]
    fn flip_changes_exactly_one_byte() {
        let a = b"abc".to_vec();
        let b = flip_byte(&a, 1);
        assert_eq!(a.iter().zip(&b).filter(|(x, y)| x != y).count(), 1);
    }
}
