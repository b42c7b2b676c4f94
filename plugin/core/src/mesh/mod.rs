//! 3D props as binary glTF (`.glb`): meshes made from images, written without a glTF library.
//!
//! - [`voxel`]: a sprite extruded into voxels, one voxel per opaque pixel, meshed greedily
//!   (coplanar faces of one colour merge into one quad) with per-vertex colours;
//! - [`relief`](mod@relief): an image as a heightfield (brightness is height) textured with itself, and a
//!   flat textured ground tile;
//! - [`glb`]: the writer: one mesh, one PBR material (vertex colours or an embedded PNG texture,
//!   nearest-neighbour sampling for pixel art), one node, one scene.
//!
//! Every file written here passes the Khronos glTF validator with zero errors (the tests run it
//! when node is available; see `scripts/gltf-validate.mjs`). Units are metres, +Y up, the front of
//! a prop faces +Z.

pub mod glb;
pub mod relief;
pub mod voxel;

pub use glb::{AlphaMode, Material, write_glb};
pub use relief::{ground_tile, relief};
pub use voxel::{Voxels, extrude_sprite};

/// Errors of the mesh builders.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Nothing to build: the sprite has no opaque pixel, a size is zero...
    #[error("{0}")]
    Empty(String),
    /// A texture could not be encoded.
    #[error("texture: {0}")]
    Texture(#[from] image::ImageError),
    /// The mesh is too large for 32-bit indices.
    #[error("mesh too large: {0} vertices")]
    TooLarge(usize),
}

/// Result with the mesh [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// A triangle mesh: flat arrays, three indices per triangle, counter-clockwise front faces.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mesh {
    /// Vertex positions, metres.
    pub positions: Vec<[f32; 3]>,
    /// Unit vertex normals.
    pub normals: Vec<[f32; 3]>,
    /// Linear RGBA vertex colours (empty: none).
    pub colors: Vec<[f32; 4]>,
    /// Texture coordinates (empty: none).
    pub uvs: Vec<[f32; 2]>,
    /// Triangle corner indices.
    pub indices: Vec<u32>,
}

impl Mesh {
    /// Number of triangles.
    pub fn triangles(&self) -> usize {
        self.indices.len() / 3
    }

    /// Smallest and largest corner of the bounding box.
    pub fn bounds(&self) -> ([f32; 3], [f32; 3]) {
        let mut min = [f32::INFINITY; 3];
        let mut max = [f32::NEG_INFINITY; 3];
        for p in &self.positions {
            for k in 0..3 {
                min[k] = min[k].min(p[k]);
                max[k] = max[k].max(p[k]);
            }
        }
        (min, max)
    }
}

/// An sRGB channel (`0..=255`) as a linear value (`0.0..=1.0`), as glTF vertex colours are.
pub fn srgb_to_linear(c: u8) -> f32 {
    let c = f32::from(c) / 255.0;
    if c <= 0.040_45 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgba, RgbaImage};
    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// A 16×16 two-colour "mushroom" with a hole, like a generated prop sprite.
    fn sprite() -> RgbaImage {
        RgbaImage::from_fn(16, 16, |x, y| {
            let (dx, dy) = (x as f32 - 7.5, y as f32 - 6.0);
            if y < 8 && dx * dx + dy * dy * 2.0 < 40.0 {
                if (x + y) % 5 == 0 {
                    Rgba([250, 240, 220, 255])
                } else {
                    Rgba([200, 40, 40, 255])
                }
            } else if (6..10).contains(&x) && (8..15).contains(&y) && !(x == 7 && y == 11) {
                Rgba([230, 210, 170, 255])
            } else {
                Rgba([0, 0, 0, 0])
            }
        })
    }

    /// The three kinds of prop this module writes, as (name, bytes).
    fn props() -> Vec<(&'static str, Vec<u8>)> {
        let prop = extrude_sprite(&sprite(), 2, 1.0 / 16.0).unwrap();
        let (rel, rel_mat) = relief(&sprite(), 1.0, 0.2, 64).unwrap();
        let tile = RgbaImage::from_fn(8, 8, |x, y| {
            Rgba([60 + (x * 9) as u8, 120 + (y * 7) as u8, 50, 255])
        });
        let (ground, ground_mat) = ground_tile(&tile, 4.0, 4.0, 4).unwrap();
        vec![
            (
                "prop",
                write_glb(&prop, &Material::matte("prop"), "prop", "sprout test").unwrap(),
            ),
            (
                "relief",
                write_glb(&rel, &rel_mat, "relief", "sprout test").unwrap(),
            ),
            (
                "ground",
                write_glb(&ground, &ground_mat, "ground", "sprout test").unwrap(),
            ),
        ]
    }

    #[test]
    fn glb_files_are_well_formed() {
        for (name, bytes) in props() {
            assert_eq!(&bytes[0..4], b"glTF");
            assert_eq!(
                u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize,
                bytes.len()
            );
            let json_len = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
            assert_eq!(json_len % 4, 0);
            assert_eq!(&bytes[20 + json_len + 4..20 + json_len + 8], b"BIN\0");
            let doc = glb::read_glb_json(&bytes).unwrap();
            assert_eq!(doc["asset"]["version"], "2.0");
            assert_eq!(doc["meshes"][0]["name"], name);
            let accessors = doc["accessors"].as_array().unwrap();
            assert!(accessors[0]["min"].is_array() && accessors[0]["max"].is_array());
        }
    }

    /// Bevy loads `.glb` files with the `gltf` crate (`bevy_gltf`'s parser): each prop parses, and
    /// its accessors read back exactly the mesh that was written, as Bevy's loader reads them.
    #[test]
    fn the_gltf_crate_bevy_uses_reads_every_prop_back() {
        let prop = extrude_sprite(&sprite(), 2, 1.0 / 16.0).unwrap();
        for (name, bytes) in props() {
            let g = gltf::Gltf::from_slice(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            let blob = g.blob.as_deref();
            let mesh = g.meshes().next().unwrap();
            assert_eq!(mesh.name(), Some(name));
            let prim = mesh.primitives().next().unwrap();
            let reader = prim.reader(|b| (b.index() == 0).then_some(blob).flatten());
            let positions: Vec<[f32; 3]> = reader.read_positions().unwrap().collect();
            let normals = reader.read_normals().unwrap().count();
            let indices: Vec<u32> = reader.read_indices().unwrap().into_u32().collect();
            assert_eq!(normals, positions.len());
            assert!(indices.iter().all(|&i| (i as usize) < positions.len()));
            let textured = prim
                .material()
                .pbr_metallic_roughness()
                .base_color_texture();
            if name == "prop" {
                assert_eq!(positions, prop.positions);
                assert_eq!(indices, prop.indices);
                assert_eq!(
                    reader.read_colors(0).unwrap().into_rgba_f32().count(),
                    positions.len()
                );
                assert!(textured.is_none());
            } else {
                assert_eq!(
                    reader.read_tex_coords(0).unwrap().into_f32().count(),
                    positions.len()
                );
                let texture = textured.unwrap().texture();
                assert!(matches!(
                    texture.source().source(),
                    gltf::image::Source::View {
                        mime_type: "image/png",
                        ..
                    }
                ));
                assert_eq!(
                    texture.sampler().mag_filter(),
                    Some(gltf::texture::MagFilter::Nearest)
                );
            }
        }
    }

    /// Runs `scripts/gltf-validate.mjs` on every prop kind: zero errors required. Skipped when node
    /// or the validator is missing, unless `SPROUT_REQUIRE_GLTF_VALIDATOR` is set (scripts/test
    /// installs both and sets it).
    #[test]
    fn every_glb_passes_the_khronos_validator() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/gltf-validate.mjs");
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<PathBuf> = props()
            .into_iter()
            .map(|(name, bytes)| {
                let path = dir.path().join(format!("{name}.glb"));
                std::fs::write(&path, bytes).unwrap();
                path
            })
            .collect();
        let required = std::env::var_os("SPROUT_REQUIRE_GLTF_VALIDATOR").is_some();
        let out = match Command::new("node").arg(&script).args(&files).output() {
            Ok(out) => out,
            Err(e) if !required => {
                eprintln!("skipped: node is not available ({e})");
                return;
            }
            Err(e) => panic!("node is required but not available: {e}"),
        };
        if out.status.code() == Some(2) && !required {
            eprintln!("skipped: {}", String::from_utf8_lossy(&out.stderr));
            return;
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let reports: Vec<serde_json::Value> = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            reports.len(),
            files.len(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for r in &reports {
            assert_eq!(r["numErrors"], 0, "{r:#}");
            eprintln!(
                "{}: {} errors, {} warnings, {} infos",
                r["file"], r["numErrors"], r["numWarnings"], r["numInfos"]
            );
        }
        assert!(out.status.success());
    }
}
