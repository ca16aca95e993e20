//! Small file systems for disk-full tests: a tmpfs mounted for one test and unmounted on drop
//! (needs root; tests skip loudly elsewhere), and filling one up.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A tmpfs mounted for one test, unmounted on drop.
pub struct SmallFs(PathBuf);

impl SmallFs {
    /// Mounts a tmpfs of `size` (e.g. `64k`, mode 0700) at `at`; `None`, after saying so on
    /// stderr, where mounting is not allowed.
    pub fn mount(at: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(at).expect("mount point");
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|st| st.success());
        if !ok {
            eprintln!(
                "SKIPPED: cannot mount a tmpfs here (needs root); this disk-full case is untested"
            );
            return None;
        }
        Some(Self(at.to_path_buf()))
    }

    /// Fills the file system with `name` until it is full; returns the bytes written.
    pub fn fill(&self, name: &str) -> u64 {
        let mut f = std::fs::File::create(self.0.join(name)).expect("filler");
        let chunk = [0u8; 4096];
        let mut written = 0u64;
        while f.write_all(&chunk).is_ok() {
            written += chunk.len() as u64;
        }
        // The last partial chunk, byte by byte.
        while f.write_all(&[0u8]).is_ok() {
            written += 1;
        }
        let _ = f.sync_all();
        written
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}
