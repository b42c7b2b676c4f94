//! The model cache: fetch models ahead of time, check their hashes, find them at load time.
//!
//! Models live in one folder: `$SPROUT_MODEL_DIR`, else `$XDG_CACHE_HOME/sprout/models`, else
//! `~/.cache/sprout/models`. Every fetch reports progress, writes to a temporary file, checks
//! size and sha256 while copying, and only then renames the file into place, so a file in the
//! cache under its registry name is whole unless something outside Sprout changed it.
//!
//! This file holds the cache's API (locate, ensure, pull, verify); `fetch.rs` where a model comes
//! from (a path, pip wheels, the hub), `hashing.rs` the size and sha256 checks on the way in.

use std::path::{Path, PathBuf};

use super::registry::{ModelEntry, ModelRegistry, ModelSource};
use super::{Error, Result};

/// Environment variable that overrides the model folder.
pub const MODEL_DIR_ENV: &str = "SPROUT_MODEL_DIR";

/// What a pull or a verification is doing, for progress bars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullProgress {
    /// A step with no byte count started (`pip download`, a hub request).
    Step {
        /// What is happening, for a person.
        message: String,
    },
    /// Bytes copied or hashed so far, out of `total`.
    Bytes {
        /// Done so far.
        done: u64,
        /// Expected in all.
        total: u64,
    },
    /// Finished: the file is at `path` with the right hash.
    Done {
        /// The verified file.
        path: PathBuf,
    },
}

/// Finds, fetches and verifies the registry's models.
#[derive(Debug, Clone)]
pub struct ModelManager {
    registry: ModelRegistry,
    dir: PathBuf,
    python: String,
}

impl ModelManager {
    /// A manager over the built-in registry and the default cache folder.
    pub fn new() -> Self {
        Self::with(ModelRegistry::builtin(), default_model_dir())
    }

    /// A manager over `registry`, caching in `dir`.
    pub fn with(registry: ModelRegistry, dir: impl Into<PathBuf>) -> Self {
        Self {
            registry,
            dir: dir.into(),
            python: std::env::var("SPROUT_PYTHON").unwrap_or_else(|_| "python3".into()),
        }
    }

    /// The registry.
    pub fn registry(&self) -> &ModelRegistry {
        &self.registry
    }

    /// The cache folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the model's file is (or would be, once pulled).
    pub fn path_of(&self, entry: &ModelEntry) -> PathBuf {
        match &entry.source {
            ModelSource::Path(p) => p.clone(),
            _ => self.dir.join(&entry.file),
        }
    }

    /// Whether the model's file is present with the right size (the hash is checked by
    /// [`verify`](Self::verify) and by every pull).
    pub fn is_present(&self, entry: &ModelEntry) -> bool {
        std::fs::metadata(self.path_of(entry)).is_ok_and(|m| m.len() == entry.size)
    }

    /// The path of a model that is present, or [`Error::NotDownloaded`] saying what to run.
    /// Never touches the network. A file of the wrong size gives [`Error::SizeMismatch`].
    pub fn locate(&self, id: Option<&str>) -> Result<(ModelEntry, PathBuf)> {
        let entry = self.registry.get(id)?.clone();
        let path = self.path_of(&entry);
        match std::fs::metadata(&path) {
            Err(_) => Err(Error::NotDownloaded {
                id: entry.id.clone(),
                path,
            }),
            Ok(m) if m.len() != entry.size => Err(Error::SizeMismatch {
                id: entry.id.clone(),
                path,
                expected: entry.size,
                actual: m.len(),
            }),
            Ok(_) => Ok((entry, path)),
        }
    }

    /// The path of the model, pulling it first when it is missing. Safe to call from several
    /// threads or processes at once: one pulls, the others wait for it and use its file.
    pub fn ensure(
        &self,
        id: Option<&str>,
        progress: &mut dyn FnMut(PullProgress),
    ) -> Result<(ModelEntry, PathBuf)> {
        match self.locate(id) {
            Err(Error::NotDownloaded { .. }) => {
                let entry = self.registry.get(id)?.clone();
                let _lock = self.pull_lock(&entry, progress)?;
                // Another pull may have finished while this one waited.
                if let Ok(found) = self.locate(Some(&entry.id)) {
                    progress(PullProgress::Done {
                        path: found.1.clone(),
                    });
                    return Ok(found);
                }
                let path = self.pull_locked(&entry, progress)?;
                Ok((entry, path))
            }
            other => other,
        }
    }

    /// Fetches the model into the cache (again, if it is there already), checking size and
    /// sha256 on the way. Returns the file's path. A pull of the same model by another thread or
    /// process is waited for, never raced: both would write the same file.
    pub fn pull(
        &self,
        entry: &ModelEntry,
        progress: &mut dyn FnMut(PullProgress),
    ) -> Result<PathBuf> {
        let _lock = self.pull_lock(entry, progress)?;
        self.pull_locked(entry, progress)
    }

    /// The lock on pulls of `entry` (an OS file lock on `.{id}.lock` in the cache folder, gone
    /// with the process that holds it), waiting for a pull under way to finish.
    fn pull_lock(
        &self,
        entry: &ModelEntry,
        progress: &mut dyn FnMut(PullProgress),
    ) -> Result<std::fs::File> {
        std::fs::create_dir_all(&self.dir).map_err(Error::io(&self.dir))?;
        let path = self.dir.join(format!(".{}.lock", entry.id));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(Error::io(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                progress(PullProgress::Step {
                    message: format!(
                        "waiting for another pull of {} to finish ({})",
                        entry.id,
                        path.display()
                    ),
                });
                file.lock().map_err(Error::io(&path))?;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path)(e)),
        }
        Ok(file)
    }

    /// Recomputes the sha256 of a model's file and compares it with the registry.
    pub fn verify(
        &self,
        entry: &ModelEntry,
        progress: &mut dyn FnMut(PullProgress),
    ) -> Result<PathBuf> {
        let path = self.path_of(entry);
        if !path.exists() {
            return Err(Error::NotDownloaded {
                id: entry.id.clone(),
                path,
            });
        }
        self.verify_file(entry, &path, progress)?;
        Ok(path)
    }
}

impl Default for ModelManager {
    fn default() -> Self {
        Self::new()
    }
}

/// The model folder: `$SPROUT_MODEL_DIR`, else `$XDG_CACHE_HOME/sprout/models`, else
/// `~/.cache/sprout/models` (`./.sprout-models` when there is no home).
pub fn default_model_dir() -> PathBuf {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = var(MODEL_DIR_ENV) {
        return d;
    }
    if let Some(d) = var("XDG_CACHE_HOME") {
        return d.join("sprout").join("models");
    }
    if let Some(h) = var("HOME").or_else(|| var("USERPROFILE")) {
        return h.join(".cache").join("sprout").join("models");
    }
    PathBuf::from(".sprout-models")
}

mod fetch;
mod hashing;

#[cfg(test)]
mod tests;
