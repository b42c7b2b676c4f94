//! Staged results: each job writes into its own folder, a mirror of the asset folder's layout.
//! Accept copies the files into the assets atomically, in order; reject deletes the folder.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use bevy::prelude::*;
use sprout_core::content::provenance::sidecar_path;
use sprout_core::fs::write_atomic;

use super::{AcceptGenerated, GenerationUpdate, Generations, JobId, JobStatus, RejectGenerated};
use crate::SproutSettings;

/// A job's staged files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedFiles {
    /// The job's staging folder (it mirrors the asset folder's layout).
    pub dir: PathBuf,
    /// The files, relative to `dir` and to the asset folder, in the order accept moves them:
    /// art and sidecars first, the main file last.
    pub files: Vec<PathBuf>,
}

impl StagedFiles {
    /// A fresh, empty staging folder for `job` below `staging_dir` (the name carries the time,
    /// so jobs of different runs never share a folder).
    pub(crate) fn for_job(staging_dir: &Path, job: JobId) -> Self {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        Self {
            dir: staging_dir.join(format!("{millis}-job{}", job.0)),
            files: Vec::new(),
        }
    }

    /// Writes `bytes` as the staged `rel` (atomically) and records it, with its sidecar when
    /// `sidecar` is given (the sidecar is recorded first).
    pub(crate) fn write(
        &mut self,
        rel: &Path,
        bytes: &[u8],
        sidecar: Option<&[u8]>,
    ) -> sprout_core::Result<()> {
        if let Some(s) = sidecar {
            write_atomic(&self.dir.join(sidecar_path(rel)), s)?;
            self.files.push(sidecar_path(rel));
        }
        write_atomic(&self.dir.join(rel), bytes)?;
        self.files.push(rel.to_owned());
        Ok(())
    }

    /// The staged copy of the main file (the last one).
    pub fn main(&self) -> Option<PathBuf> {
        self.files.last().map(|f| self.dir.join(f))
    }

    /// Copies every staged file into `asset_dir` atomically, in order, then deletes the staging
    /// folder. Everything is read before anything is written, so a staged folder that lost a
    /// file changes nothing.
    pub fn accept(&self, asset_dir: &Path) -> sprout_core::Result<PathBuf> {
        let mut contents = Vec::with_capacity(self.files.len());
        for rel in &self.files {
            let from = self.dir.join(rel);
            let bytes = std::fs::read(&from).map_err(|source| sprout_core::Error::Io {
                path: from.clone(),
                source,
            })?;
            contents.push((asset_dir.join(rel), bytes));
        }
        let Some((main, _)) = contents.last().cloned() else {
            return Err(sprout_core::Error::Io {
                path: self.dir.clone(),
                source: std::io::Error::other("nothing was staged"),
            });
        };
        for (to, bytes) in &contents {
            write_atomic(to, bytes)?;
        }
        self.discard();
        Ok(main)
    }

    /// Deletes the staging folder.
    pub fn discard(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Accept moves the staged files into the asset folder; reject deletes them.
pub(super) fn decide(
    mut accepts: MessageReader<AcceptGenerated>,
    mut rejects: MessageReader<RejectGenerated>,
    mut jobs: ResMut<Generations>,
    settings: Res<SproutSettings>,
    mut updates: MessageWriter<GenerationUpdate>,
) {
    for AcceptGenerated(job) in accepts.read() {
        let Some(j) = jobs.jobs.get(job) else {
            continue;
        };
        let (Some(staged), JobStatus::Staged) = (&j.staged, &j.status) else {
            continue;
        };
        let update = match staged.accept(&settings.asset_dir) {
            Ok(path) => {
                info!("accepted {}", path.display());
                GenerationUpdate::Accepted { job: *job, path }
            }
            Err(e) => GenerationUpdate::Failed {
                job: *job,
                error: format!("accept failed: {e}"),
            },
        };
        super::apply(&mut jobs, &update);
        updates.write(update);
    }
    for RejectGenerated(job) in rejects.read() {
        let Some(j) = jobs.jobs.get(job) else {
            continue;
        };
        if let Some(staged) = &j.staged {
            staged.discard();
        }
        let update = GenerationUpdate::Rejected { job: *job };
        super::apply(&mut jobs, &update);
        updates.write(update);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_copies_in_order_and_removes_the_staging_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let assets = tmp.path().join("assets");
        let mut staged = StagedFiles::for_job(&tmp.path().join("staging"), JobId(7));
        staged
            .write(Path::new("sprites/items/x.png"), b"png", Some(b"prov"))
            .unwrap();
        staged
            .write(
                Path::new("items/x.item.ron"),
                b"(id: \"x\")",
                Some(b"prov2"),
            )
            .unwrap();
        assert_eq!(
            staged.files,
            [
                "sprites/items/x.png.prov.ron",
                "sprites/items/x.png",
                "items/x.item.ron.prov.ron",
                "items/x.item.ron"
            ]
            .map(PathBuf::from)
        );
        assert!(!staged.dir.starts_with(&assets));
        let main = staged.accept(&assets).unwrap();
        assert_eq!(main, assets.join("items/x.item.ron"));
        assert_eq!(std::fs::read(&main).unwrap(), b"(id: \"x\")");
        assert_eq!(
            std::fs::read(assets.join("sprites/items/x.png.prov.ron")).unwrap(),
            b"prov"
        );
        assert!(!staged.dir.exists());
    }

    #[test]
    fn a_staged_folder_missing_a_file_changes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let assets = tmp.path().join("assets");
        let mut staged = StagedFiles::for_job(&tmp.path().join("staging"), JobId(8));
        staged.write(Path::new("a.png"), b"a", None).unwrap();
        staged.write(Path::new("b.ron"), b"b", None).unwrap();
        std::fs::remove_file(staged.dir.join("b.ron")).unwrap();
        assert!(staged.accept(&assets).is_err());
        assert!(!assets.join("a.png").exists(), "nothing was copied");
    }
}
