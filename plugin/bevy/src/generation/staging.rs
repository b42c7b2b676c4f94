//! Staged results: each job writes into its own folder, a mirror of the asset folder's layout.
//! Accept copies the files into the assets atomically, in order; reject deletes the folder.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use bevy::prelude::*;
use sprout_core::content::AssetKind;
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
    #[cfg(test)]
    pub(crate) fn write(
        &mut self,
        rel: &Path,
        bytes: &[u8],
        sidecar: Option<&[u8]>,
    ) -> sprout_core::Result<()> {
        if let Some(s) = sidecar {
            let sidecar = sprout_core::content::provenance::sidecar_path(rel);
            write_atomic(&self.dir.join(&sidecar), s)?;
            self.files.push(sidecar);
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
    /// folder. Everything is read and checked before anything is written, so a staged folder that
    /// lost a file changes nothing, and neither does one that would put an image or a mesh under
    /// another kind's name (a PNG staged as `npcs/ghost.npc.ron` never replaces that file).
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
            refuse_wrong_kind(to, bytes)?;
        }
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

/// Binary kinds a job stages, by the bytes they start with, and the extension each must be
/// written under.
const KINDS: [(&[u8], AssetKind); 2] = [
    (b"\x89PNG\r\n\x1a\n", AssetKind::Image),
    (b"glTF", AssetKind::Mesh),
];

/// An error unless `bytes`, when they are an image or a mesh, go to a path of that kind.
fn refuse_wrong_kind(to: &Path, bytes: &[u8]) -> sprout_core::Result<()> {
    let Some((_, kind)) = KINDS.iter().find(|(magic, _)| bytes.starts_with(magic)) else {
        return Ok(());
    };
    if to.extension().is_some_and(|e| e == kind.extension()) {
        return Ok(());
    }
    let what = match kind {
        AssetKind::Mesh => "a glTF mesh",
        _ => "a PNG image",
    };
    let replace = if to.exists() {
        "would replace that file"
    } else {
        "would be written there"
    };
    Err(sprout_core::Error::Io {
        path: to.to_owned(),
        source: std::io::Error::other(format!(
            "{what} {replace}; it must go to a `.{}` path, so nothing was accepted",
            kind.extension()
        )),
    })
}

/// Accept moves the staged files into the asset folder; reject deletes them. Accepting takes the
/// project's lock (`sprout_core::fs::ProjectLock`): while a `sprout batch` or `sprout gen` writes
/// the same folder, the accept waits (the job stays staged, nothing is lost) and is done on the
/// first frame the lock is free.
pub(super) fn decide(
    mut accepts: MessageReader<AcceptGenerated>,
    mut rejects: MessageReader<RejectGenerated>,
    mut jobs: ResMut<Generations>,
    settings: Res<SproutSettings>,
    generator: Res<super::GeneratorSettings>,
    mut waiting: Local<Vec<JobId>>,
    mut updates: MessageWriter<GenerationUpdate>,
) {
    let asked: Vec<JobId> = accepts.read().map(|AcceptGenerated(job)| *job).collect();
    for job in asked {
        if !waiting.contains(&job) {
            waiting.push(job);
        }
    }
    if !waiting.is_empty() {
        let lock = match sprout_core::fs::ProjectLock::try_acquire(
            &generator.state_dir,
            "the editor (Accept)",
        ) {
            Ok(lock) => Some(lock),
            Err(e) => {
                if waiting
                    .iter()
                    .any(|j| !jobs.records.get(j).is_some_and(|j| j.waiting_for_lock))
                {
                    warn!("accept waits: {e}");
                }
                for j in waiting.iter() {
                    if let Some(j) = jobs.records.get_mut(j) {
                        j.waiting_for_lock = true;
                    }
                }
                None
            }
        };
        if let Some(_lock) = lock {
            for job in std::mem::take(&mut *waiting) {
                accept(job, &mut jobs, &settings, &mut updates);
            }
        }
    }
    for RejectGenerated(job) in rejects.read() {
        waiting.retain(|j| j != job);
        let Some(j) = jobs.records.get(job) else {
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

/// Moves one staged job's files into the assets (the caller holds the project lock).
fn accept(
    job: JobId,
    jobs: &mut Generations,
    settings: &SproutSettings,
    updates: &mut MessageWriter<GenerationUpdate>,
) {
    let job = &job;
    {
        let Some(j) = jobs.records.get_mut(job) else {
            return;
        };
        j.waiting_for_lock = false;
        let (Some(staged), JobStatus::Staged) = (&j.staged, &j.status) else {
            return;
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
        super::apply(jobs, &update);
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

    #[test]
    fn an_image_is_never_accepted_over_a_file_of_another_kind() {
        let tmp = tempfile::tempdir().unwrap();
        let assets = tmp.path().join("assets");
        let npc = assets.join("npcs/ghost.npc.ron");
        std::fs::create_dir_all(npc.parent().unwrap()).unwrap();
        std::fs::write(&npc, "Character(id: \"ghost\")").unwrap();
        let png = sprout_core::placeholder::encode_png(1, 1, &[255, 0, 255, 255]).unwrap();

        // An item icon named `npcs/ghost.npc.ron`: a PNG staged under a content file's name.
        let mut staged = StagedFiles::for_job(&tmp.path().join("staging"), JobId(9));
        staged
            .write(Path::new("npcs/ghost.npc.ron"), &png, Some(b"prov"))
            .unwrap();
        let err = staged.accept(&assets).unwrap_err().to_string();
        assert!(
            err.contains("ghost.npc.ron") && err.contains(".png"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(&npc).unwrap(),
            "Character(id: \"ghost\")",
            "the content file is untouched"
        );
        assert!(
            !assets.join("npcs/ghost.npc.ron.prov.ron").exists(),
            "nothing was copied"
        );

        // The same image to a `.png` path is accepted; text to a `.ron` path as before.
        let mut staged = StagedFiles::for_job(&tmp.path().join("staging"), JobId(10));
        staged
            .write(Path::new("sprites/items/ghost.png"), &png, Some(b"prov"))
            .unwrap();
        staged
            .write(Path::new("npcs/ghost.npc.ron"), b"Character()", None)
            .unwrap();
        staged.accept(&assets).unwrap();
        assert_eq!(
            std::fs::read(assets.join("sprites/items/ghost.png")).unwrap(),
            png
        );
    }
}
