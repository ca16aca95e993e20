//! File-system helpers every other module uses (a leaf: it imports only the error type):
//! error mapping for file creation, directory fsync, file-type checks.

use std::fs::{File, FileType};
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use crate::error::Error;

/// Maps an error from creating a file in `dir` to [`Error::NotWritable`] where it means that.
pub(crate) fn creation_error(op: &'static str, dir: &Path, path: &Path, e: io::Error) -> Error {
    let denied = matches!(e.raw_os_error(), Some(c) if c == nix::libc::EACCES
        || c == nix::libc::EPERM
        || c == nix::libc::EROFS);
    if denied {
        Error::NotWritable {
            dir: dir.to_path_buf(),
            uid: nix::unistd::geteuid().as_raw(),
            source: e,
        }
    } else {
        Error::io(op, path, e)
    }
}

/// fsyncs a directory so that entries created or renamed in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("fsyncing directory", dir, e))
}

/// Human description of a file type, for error messages.
pub(crate) fn describe(t: &FileType) -> &'static str {
    if t.is_dir() {
        "a directory"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_file() {
        "a regular file"
    } else if t.is_fifo() {
        "a named pipe"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

/// Returns `file` if it is a regular file, else [`Error::NotAFile`] naming `path`.
pub(crate) fn ensure_regular_file(
    file: std::fs::File,
    path: &Path,
) -> Result<std::fs::File, Error> {
    let meta = file
        .metadata()
        .map_err(|e| Error::io("inspecting", path, e))?;
    if !meta.is_file() {
        return Err(Error::NotAFile {
            path: path.to_path_buf(),
            found: describe(&meta.file_type()),
        });
    }
    Ok(file)
}
