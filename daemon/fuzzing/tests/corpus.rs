//! The fuzz corpora as ordinary tests (issue 12 §7), on stable: every input kept under
//! `daemon/fuzz/corpus/<target>/` (found by libFuzzer runs and minimised) goes through its
//! target again, and the file-parser targets also get charon's and obol-sdk's golden files
//! from `../shared/vectors`. A panic names the target and the input file.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus")
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn replay(target: &str, inputs: &[PathBuf]) {
    let run = dkgd_fuzzing::target(target).unwrap();
    for path in inputs {
        let data = std::fs::read(path).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{target}: {} panics", path.display());
    }
}

/// Every target has a corpus directory with inputs in it, and every directory is a target.
#[test]
fn every_target_has_a_kept_corpus() {
    for (name, _) in dkgd_fuzzing::TARGETS {
        let n = files_in(&corpus_root().join(name)).len();
        assert!(n > 0, "daemon/fuzz/corpus/{name} is empty or missing");
    }
    for dir in std::fs::read_dir(corpus_root()).unwrap() {
        let name = dir.unwrap().file_name().into_string().unwrap();
        assert!(
            dkgd_fuzzing::target(&name).is_some(),
            "daemon/fuzz/corpus/{name} belongs to no target"
        );
    }
}

macro_rules! corpus_tests {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            let target = stringify!($name);
            let inputs = files_in(&corpus_root().join(target));
            replay(target, &inputs);
            eprintln!("{target}: {} inputs", inputs.len());
        }
    )*};
}

corpus_tests!(
    definition,
    lock,
    enr,
    deposit_file,
    backup_bundle,
    frame_decoder,
    frost,
    parsigex,
    node_sig,
    bcast,
    ceremony_frames,
    cluster,
    pairing_code,
    obol_api,
    status_request,
);

/// The golden files of `../shared/vectors` through the file-parser targets (read in place,
/// never copied into the repository).
#[test]
fn shared_vectors_through_the_file_targets() {
    let root = dkgd_testkit::vectors_dir();
    let mut json = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e == "json" || e == "golden")
            {
                json.push(path);
            }
        }
    }
    json.sort();
    assert!(json.len() > 20, "only {} vector files found", json.len());
    for target in ["definition", "lock", "deposit_file"] {
        replay(target, &json);
    }
    eprintln!(
        "{} vector files through definition, lock, deposit_file",
        json.len()
    );
}
