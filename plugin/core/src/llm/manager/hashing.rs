//! Hashing on the way: a model's file is checked against the registry's size and sha256 while
//! it is read or copied, and a copy lands in the cache (temp file + rename) only when both match.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::Digest;

use super::{ModelManager, PullProgress};
use crate::llm::registry::ModelEntry;
use crate::llm::{Error, Result};

impl ModelManager {
    pub(super) fn verify_file(
        &self,
        entry: &ModelEntry,
        path: &Path,
        progress: &mut dyn FnMut(PullProgress),
    ) -> Result<()> {
        let len = std::fs::metadata(path).map_err(Error::io(path))?.len();
        if len != entry.size {
            return Err(Error::SizeMismatch {
                id: entry.id.clone(),
                path: path.to_owned(),
                expected: entry.size,
                actual: len,
            });
        }
        let mut f = std::fs::File::open(path).map_err(Error::io(path))?;
        let mut hasher = sha2::Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut done = 0u64;
        loop {
            let n = f.read(&mut buf).map_err(Error::io(path))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            done += n as u64;
            progress(PullProgress::Bytes { done, total: len });
        }
        let actual = hex(&hasher.finalize());
        if actual != entry.sha256.to_ascii_lowercase() {
            return Err(Error::HashMismatch {
                id: entry.id.clone(),
                path: path.to_owned(),
                expected: entry.sha256.clone(),
                actual,
            });
        }
        Ok(())
    }

    pub(super) fn start_copy(&self, entry: &ModelEntry, path: &Path) -> Result<HashingSink> {
        let dir = path.parent().unwrap_or(&self.dir);
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        let tmp = crate::fs::unique_temp_path(dir, &entry.file, "partial");
        let file = std::fs::File::create(&tmp).map_err(Error::io(&tmp))?;
        Ok(HashingSink {
            entry: entry.clone(),
            tmp,
            dest: path.to_owned(),
            file: Some(file),
            hasher: sha2::Sha256::new(),
            done: 0,
        })
    }
}

/// Writes to a temporary file while hashing; renames into place only when size and hash match.
pub(super) struct HashingSink {
    entry: ModelEntry,
    tmp: PathBuf,
    dest: PathBuf,
    file: Option<std::fs::File>,
    hasher: sha2::Sha256,
    done: u64,
}

impl HashingSink {
    pub(super) fn copy_from(
        &mut self,
        reader: &mut dyn Read,
        from: &Path,
        progress: &mut dyn FnMut(PullProgress),
    ) -> Result<()> {
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = reader.read(&mut buf).map_err(Error::io(from))?;
            if n == 0 {
                return Ok(());
            }
            self.hasher.update(&buf[..n]);
            file.write_all(&buf[..n]).map_err(Error::io(&self.tmp))?;
            self.done += n as u64;
            if self.done > self.entry.size {
                return Err(Error::SizeMismatch {
                    id: self.entry.id.clone(),
                    path: from.to_owned(),
                    expected: self.entry.size,
                    actual: self.done,
                });
            }
            progress(PullProgress::Bytes {
                done: self.done,
                total: self.entry.size,
            });
        }
    }

    pub(super) fn finish(mut self, _progress: &mut dyn FnMut(PullProgress)) -> Result<()> {
        let file = self.file.take();
        if let Some(f) = file {
            f.sync_all().map_err(Error::io(&self.tmp))?;
        }
        if self.done != self.entry.size {
            return Err(Error::SizeMismatch {
                id: self.entry.id.clone(),
                path: self.dest.clone(),
                expected: self.entry.size,
                actual: self.done,
            });
        }
        let actual = hex(&std::mem::take(&mut self.hasher).finalize());
        if actual != self.entry.sha256.to_ascii_lowercase() {
            return Err(Error::HashMismatch {
                id: self.entry.id.clone(),
                path: self.dest.clone(),
                expected: self.entry.sha256.clone(),
                actual,
            });
        }
        std::fs::rename(&self.tmp, &self.dest).map_err(Error::io(&self.dest))?;
        if let Some(dir) = self.dest.parent() {
            crate::fs::sync_dir(dir).map_err(Error::io(dir))?;
        }
        Ok(())
    }
}

impl Drop for HashingSink {
    fn drop(&mut self) {
        // Gone already after a successful rename; otherwise a failed pull leaves nothing behind.
        let _ = std::fs::remove_file(&self.tmp);
    }
}

/// A folder removed when this goes out of scope (a pull's work folder).
pub(super) struct RemoveOnDrop(pub(super) PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn hex(bytes: &[u8]) -> String {
    use core::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
