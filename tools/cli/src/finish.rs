//! `sprout finish sheet|growth|outline|shadow`: the finishing steps on existing PNGs (sprite
//! sheets with their atlas layout, crop growth strips, outlines, drop shadows), and the sprite
//! look options (`--outline`, `--shadow`) `sprout gen sprite` shares with them.
//!
//! Every output is written atomically with a provenance sidecar that hashes its input pictures;
//! PNGs carry their parameters in `tEXt` chunks. A sheet or strip `NAME.png` comes with its
//! layout `NAME.atlas.ron`, in the shape of Bevy's `TextureAtlasLayout`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, Subcommand};
use image::RgbaImage;
use sprout_core::finish::{
    Generated, SpriteSheet, drop_shadow, growth_stages, outline, parse_rgba,
};

use sprout_core::art::job::{SHADOW, hex};

use crate::files::{read_image, write_bytes, write_png};

/// Where the drop shadow falls: pixels right and down from the sprite.
pub const SHADOW_OFFSET: (i32, i32) = (SHADOW.0, SHADOW.1);
/// The drop shadow's colour: black at 40% opacity (`#00000066`).
pub const SHADOW_COLOR: [u8; 4] = SHADOW.2;

/// Finishing commands on existing PNGs.
#[derive(Debug, Subcommand)]
pub enum Finish {
    /// Pack frames into a sprite sheet: `--out walk.png` writes walk.png and its layout
    /// walk.atlas.ron.
    Sheet {
        /// The frames (PNG), in order; smaller frames stand bottom-centre in their cell.
        #[arg(required = true)]
        frames: Vec<PathBuf>,
        /// Cells per row (default: all frames in one row).
        #[arg(long)]
        columns: Option<u32>,
        /// Transparent pixels between cells.
        #[arg(long, default_value_t = 0)]
        padding: u32,
        /// The sheet PNG to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Growth stages of a crop from its ripe sprite, as one strip from seedling to ripe:
    /// `--out kale.png` writes kale.png and its layout kale.atlas.ron.
    Growth {
        /// The ripe sprite (PNG with alpha).
        ripe: PathBuf,
        /// Stages, from seedling to ripe.
        #[arg(long, default_value_t = 4)]
        stages: usize,
        /// The strip PNG to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Draw an outline round a sprite's opaque pixels (into its transparent margin).
    Outline {
        /// The sprite (PNG with alpha).
        input: PathBuf,
        /// The outline colour, `#rrggbb` or `#rrggbbaa`.
        #[arg(long, value_parser = color)]
        color: [u8; 4],
        /// Pixels thick.
        #[arg(long, default_value_t = 1)]
        thickness: u32,
        /// The PNG to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Put a drop shadow under a sprite (into its transparent margin).
    Shadow {
        /// The sprite (PNG with alpha).
        input: PathBuf,
        /// The shadow colour, `#rrggbbaa` (alpha is its opacity); default `#00000066`.
        #[arg(long, value_parser = color)]
        color: Option<[u8; 4]>,
        /// Pixels right of the sprite.
        #[arg(long, default_value_t = SHADOW_OFFSET.0, allow_negative_numbers = true)]
        dx: i32,
        /// Pixels down from the sprite.
        #[arg(long, default_value_t = SHADOW_OFFSET.1, allow_negative_numbers = true)]
        dy: i32,
        /// The PNG to write.
        #[arg(long)]
        out: PathBuf,
    },
}

/// The sprite look options of `sprout gen sprite`, applied after the pixel-art reduction.
#[derive(Debug, Clone, Args)]
pub struct SpriteLook {
    /// Outline the sprite, 1 pixel, in this colour (`#rrggbb` or `#rrggbbaa`).
    #[arg(long, value_parser = color)]
    outline: Option<[u8; 4]>,
    /// Add a drop shadow (black at 40%, one pixel right and down).
    #[arg(long)]
    shadow: bool,
}

impl SpriteLook {
    /// The look these options ask for.
    pub fn look(&self) -> sprout_core::art::Look {
        sprout_core::art::Look {
            outline: self.outline,
            shadow: self.shadow,
        }
    }
}

/// Parses a colour argument.
fn color(text: &str) -> Result<[u8; 4], String> {
    parse_rgba(text).map_err(|e| e.to_string())
}

/// The atlas layout file of a sheet: `sheet.png` -> `sheet.atlas.ron`.
pub fn atlas_path(sheet: &Path) -> PathBuf {
    sheet.with_extension("atlas.ron")
}

/// Runs one `sprout finish` command.
pub fn run(command: Finish) -> anyhow::Result<ExitCode> {
    match command {
        Finish::Sheet {
            frames,
            columns,
            padding,
            out,
        } => sheet(&frames, columns, padding, &out),
        Finish::Growth { ripe, stages, out } => growth(&ripe, stages, &out),
        Finish::Outline {
            input,
            color,
            thickness,
            out,
        } => {
            if thickness == 0 {
                bail!("--thickness must be at least 1");
            }
            let params = BTreeMap::from([
                ("color".to_owned(), hex(color)),
                ("thickness".to_owned(), thickness.to_string()),
            ]);
            one_image("outline", &input, params, &out, |img| {
                outline(img, color, thickness)
            })
        }
        Finish::Shadow {
            input,
            color,
            dx,
            dy,
            out,
        } => {
            let color = color.unwrap_or(SHADOW_COLOR);
            let params = BTreeMap::from([
                ("color".to_owned(), hex(color)),
                ("offset".to_owned(), format!("{dx},{dy}")),
            ]);
            one_image("shadow", &input, params, &out, |img| {
                drop_shadow(img, dx, dy, color)
            })
        }
    }
}

/// Reads `input`, applies `op`, writes `out` with provenance.
fn one_image(
    name: &str,
    input: &Path,
    mut params: BTreeMap<String, String>,
    out: &Path,
    op: impl Fn(&RgbaImage) -> RgbaImage,
) -> anyhow::Result<ExitCode> {
    let (img, bytes) = read_image(input)?;
    params.insert("from".into(), input.display().to_string());
    let generated = Generated {
        generator: format!("sprout finish {name}"),
        seed: 0,
        model: None,
        parameters: params,
        input_bytes: vec![bytes],
    };
    let result = op(&img);
    write_png(&generated, out, &result)?;
    eprintln!("wrote {} ({}x{})", out.display(), img.width(), img.height());
    Ok(ExitCode::SUCCESS)
}

fn sheet(
    paths: &[PathBuf],
    columns: Option<u32>,
    padding: u32,
    out: &Path,
) -> anyhow::Result<ExitCode> {
    let mut frames = Vec::with_capacity(paths.len());
    let mut inputs = Vec::with_capacity(paths.len());
    for path in paths {
        let (img, bytes) = read_image(path)?;
        frames.push(img);
        inputs.push(bytes);
    }
    let columns = columns.unwrap_or(frames.len() as u32);
    let sheet = SpriteSheet::pack(&frames, columns, padding)?;
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let params = BTreeMap::from([
        ("frames".to_owned(), names.join(", ")),
        ("columns".to_owned(), columns.to_string()),
        ("padding".to_owned(), padding.to_string()),
    ]);
    write_sheet("sheet", &sheet, params, inputs, out)
}

fn growth(ripe: &Path, stages: usize, out: &Path) -> anyhow::Result<ExitCode> {
    let (img, bytes) = read_image(ripe)?;
    let frames = growth_stages(&img, stages)?;
    let sheet = SpriteSheet::pack(&frames, frames.len() as u32, 0)?;
    let params = BTreeMap::from([
        ("from".to_owned(), ripe.display().to_string()),
        ("stages".to_owned(), stages.to_string()),
    ]);
    write_sheet("growth", &sheet, params, vec![bytes], out)
}

/// Writes a sheet's PNG at `out` and its layout next to it, both with provenance.
fn write_sheet(
    name: &str,
    sheet: &SpriteSheet,
    mut params: BTreeMap<String, String>,
    inputs: Vec<Vec<u8>>,
    out: &Path,
) -> anyhow::Result<ExitCode> {
    let layout_path = atlas_path(out);
    let layout_name = layout_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    params.insert("layout".into(), layout_name);
    let generated = Generated {
        generator: format!("sprout finish {name}"),
        seed: 0,
        model: None,
        parameters: params,
        input_bytes: inputs,
    };
    write_png(&generated, out, &sheet.image)?;
    write_bytes(&generated, &layout_path, sheet.layout.to_ron()?.as_bytes())?;
    let (w, h) = sheet.layout.size;
    eprintln!(
        "wrote {} ({w}x{h}, {} frames) and {}",
        out.display(),
        sheet.layout.textures.len(),
        layout_path.display()
    );
    Ok(ExitCode::SUCCESS)
}
