//! Input files (definitions) read with a cap: the size is checked before reading, and the read
//! itself stops one byte past the cap, so neither a huge file nor one growing meanwhile is
//! ever read whole (issue 12 §5).

use crate::exit::{Code, Failure};
use anyhow::anyhow;
use dkgd_formats::error::MAX_INPUT_BYTES;
use std::io::Read;
use std::path::Path;

/// Reads `path` (a definition, lock or deposit file) of at most [`MAX_INPUT_BYTES`]; anything
/// unreadable or larger is a usage error (exit 2) naming the file.
pub(crate) fn read_capped(path: &Path) -> Result<Vec<u8>, Failure> {
    read_at_most(path, MAX_INPUT_BYTES)
}

fn read_at_most(path: &Path, cap: usize) -> Result<Vec<u8>, Failure> {
    let cannot = |e: std::io::Error| {
        Failure::new(
            Code::Usage,
            anyhow!("cannot read {}: {e}", path.display()),
            "check the path and its permissions",
        )
    };
    let too_big = |len: u64| {
        Failure::new(
            Code::Usage,
            anyhow!(
                "{} is {len} bytes; definitions, locks and deposit files are at most {cap} bytes \
                 (it was not read)",
                path.display()
            ),
            "check that the path names the right file",
        )
    };
    let file = std::fs::File::open(path).map_err(cannot)?;
    let meta = file.metadata().map_err(cannot)?;
    let cap64 = u64::try_from(cap).unwrap_or(u64::MAX);
    if !meta.is_file() {
        return Err(Failure::new(
            Code::Usage,
            anyhow!("{} is not a regular file", path.display()),
            "pass the path of a file",
        ));
    }
    if meta.len() > cap64 {
        return Err(too_big(meta.len()));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(cap64.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() > cap {
        return Err(too_big(u64::try_from(bytes.len()).unwrap_or(u64::MAX)));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_up_to_the_cap_and_refuses_beyond() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = d.path().join("f");
        std::fs::write(&p, b"12345").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read_at_most(&p, 5).ok(), Some(b"12345".to_vec()));
        let e = read_at_most(&p, 4)
            .err()
            .map(|f| (f.code, f.error.to_string()));
        let (code, text) = e.unwrap_or_else(|| panic!("accepted"));
        assert_eq!(code, Code::Usage);
        assert!(
            text.contains("is 5 bytes") && text.contains("not read"),
            "{text}"
        );
        assert!(read_at_most(d.path(), 5).is_err(), "a directory");
        assert!(read_at_most(&d.path().join("missing"), 5).is_err());
    }
}
