//! Files in and out of the image commands (`sprout gen` images and props, `sprout finish`):
//! pictures read together with their bytes (hashed into the provenance), and outputs written
//! atomically with their provenance sidecar (`<file>.prov.ron`); PNGs also carry their parameters
//! in `tEXt` chunks.

use std::path::Path;

use anyhow::Context;
use image::RgbaImage;
use sprout_core::finish::Generated;

/// Reads and decodes the picture at `path`; returns it as RGBA with the file's bytes (the art
/// recipes' reader: its errors name the file).
pub fn read_image(path: &Path) -> anyhow::Result<(RgbaImage, Vec<u8>)> {
    Ok(sprout_core::art::make::read_image(path)?)
}

/// Writes `image` to `path` as a PNG carrying `generated`'s parameters, and its sidecar.
pub fn write_png(generated: &Generated, path: &Path, image: &RgbaImage) -> anyhow::Result<()> {
    generated
        .write_png(path, image)
        .with_context(|| format!("writing {}", path.display()))
}

/// Writes `bytes` (a `.glb`, an atlas layout...) to `path`, and its sidecar.
pub fn write_bytes(generated: &Generated, path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    generated
        .write_bytes(path, bytes)
        .with_context(|| format!("writing {}", path.display()))
}
