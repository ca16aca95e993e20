//! The data dir as the driver's [`ArtifactWriter`]: dkgd-store's two-phase commit (stage,
//! then publish or withhold), keeping the typed store error of a failed staging so that the
//! exit code follows the one store-error mapping (ENOSPC at commit is 73, not 1).

use dkgd_node::driver::ArtifactWriter;
use dkgd_store::commit::{self, Artifacts, KeystoreArtifact};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Writes one node's artifacts into its data dir.
pub(super) struct DataDirWriter {
    dir: PathBuf,
    /// Why staging failed, typed.
    failure: Mutex<Option<dkgd_store::Error>>,
}

impl DataDirWriter {
    pub(super) fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            failure: Mutex::new(None),
        }
    }

    /// The store error that failed our staging, if one did.
    pub(super) fn take_failure(&self) -> Option<dkgd_store::Error> {
        self.failure.lock().ok().and_then(|mut f| f.take())
    }

    fn keep(&self, e: dkgd_store::Error) -> String {
        // The whole chain: "No space left on device" must reach the operator.
        let text = crate::exit::chain(&e);
        if let Ok(mut f) = self.failure.lock() {
            *f = Some(e);
        }
        text
    }
}

impl ArtifactWriter for DataDirWriter {
    fn stage(&self, a: &dkgd_ceremony::Artifacts) -> Result<(), String> {
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
        commit::stage(&self.dir, &artifacts).map_err(|e| self.keep(e))
    }

    fn publish(&self) -> Result<(), String> {
        commit::publish(&self.dir)
            .map(|_| ())
            .map_err(|e| self.keep(e))
    }

    fn withhold(&self) -> Result<Option<PathBuf>, String> {
        commit::withhold(&self.dir).map_err(|e| crate::exit::chain(&e))
    }
}
