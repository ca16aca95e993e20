//! The data dir as the driver's [`ArtifactWriter`]: dkgd-store's two-phase commit (stage,
//! then publish or withhold). A failed staging's store error travels typed inside the
//! ceremony's abort, so the exit code follows the one store-error mapping (ENOSPC at commit
//! is 73, not 1).

use dkgd_ceremony::LocalCause;
use dkgd_node::driver::ArtifactWriter;
use dkgd_store::commit::{self, Artifacts, KeystoreArtifact};
use std::path::{Path, PathBuf};

/// Writes one node's artifacts into its data dir.
pub(super) struct DataDirWriter {
    dir: PathBuf,
}

impl DataDirWriter {
    pub(super) fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }
}

impl ArtifactWriter for DataDirWriter {
    fn stage(&self, a: &dkgd_ceremony::Artifacts) -> Result<(), LocalCause> {
        let passwords: Vec<_> = a
            .keystores
            .iter()
            .map(|k| k.password.expose_secret().as_bytes())
            .collect();
        let artifacts = Artifacts {
            lock_json: &a.lock_json,
            deposit_files: a
                .deposit_files
                .iter()
                .map(|f| (f.name.as_str(), f.contents.as_slice()))
                .collect(),
            keystores: a
                .keystores
                .iter()
                .zip(&passwords)
                .map(|(k, pw)| KeystoreArtifact {
                    index: k.index.as_usize(),
                    json: &k.json,
                    password: pw,
                })
                .collect(),
        };
        commit::stage(&self.dir, &artifacts).map_err(LocalCause::from)
    }

    fn publish(&self) -> Result<(), LocalCause> {
        commit::publish(&self.dir)
            .map(|_| ())
            .map_err(LocalCause::from)
    }

    fn withhold(&self) -> Result<Option<PathBuf>, String> {
        commit::withhold(&self.dir).map_err(|e| crate::exit::chain(&e))
    }
}
