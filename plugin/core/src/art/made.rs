//! A made art job in memory: its files (bytes and provenance each), previews for a panel and a
//! note, written as a unit by [`Made::write`].

use std::path::{Path, PathBuf};

use image::RgbaImage;

use crate::content::Provenance;
use crate::content::provenance::{sidecar_path, write_with_sidecar};
use crate::format::to_ron;

use super::Result;

/// One file a job made.
#[derive(Debug, Clone, PartialEq)]
pub struct MadeFile {
    /// Where it goes, relative to the folder the job was made against (or absolute).
    pub path: PathBuf,
    /// Its bytes (PNG with `tEXt` parameters, or binary glTF).
    pub bytes: Vec<u8>,
    /// How it was made, for its `.prov.ron` sidecar.
    pub provenance: Provenance,
}

/// What an art job made.
#[derive(Debug, Clone, PartialEq)]
pub struct Made {
    /// The files, the main one last (a crop's ripe sprite after its stages; a texture after its
    /// ground tile).
    pub files: Vec<MadeFile>,
    /// Pictures to show, each with a label (a texture tiled 3×3, a prop's source sprite...).
    pub previews: Vec<(String, RgbaImage)>,
    /// What to say about it (colours, seam error, triangles...).
    pub note: String,
}

impl Made {
    /// The main file.
    pub fn main(&self) -> Option<&MadeFile> {
        self.files.last()
    }

    /// Writes every file under `root` (`root.join(path)`), each with its sidecar
    /// ([`write_with_sidecar`]: atomic, never half a pair), in order, so the main file lands
    /// last. Returns the paths written, sidecars included, relative as in [`MadeFile::path`].
    pub fn write(&self, root: &Path) -> Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        for file in &self.files {
            let sidecar = to_ron(&file.provenance).map_err(crate::Error::from)?;
            write_with_sidecar(&root.join(&file.path), &file.bytes, &sidecar)?;
            written.push(sidecar_path(&file.path));
            written.push(file.path.clone());
        }
        Ok(written)
    }
}
