//! `sprite-data`: rasterizes the fetched icon sets into the training data of the sprite model.
//!
//! Writes, under `--out`: `sprites16.rgba` and `sprites32.rgba` (N straight-alpha RGBA images, row
//! major, back to back), `index.jsonl` (one caption record per image, same order) and `counts.json`
//! (per set: icons loaded, failed to render, dropped as near-duplicates, kept, held out).

use std::{collections::BTreeMap, io::Write, path::PathBuf};

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
    /// RMS distance (premultiplied, 16×16, in [0, 1]) under which two renditions with close
    /// perceptual hashes count as one.
    #[arg(long, default_value_t = 0.05)]
    dedupe: f32,
}

#[derive(Default, serde::Serialize)]
struct Count {
    loaded: usize,
    failed: usize,
    duplicates: usize,
    kept: usize,
    held_out: usize,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let icons = dataset::load(&args.data).context("loading icon sets")?;
    std::fs::create_dir_all(&args.out)?;
    let mut counts: BTreeMap<String, Count> = BTreeMap::new();
    let mut rendered: Vec<(dataset::Icon, Vec<u8>, Vec<u8>)> = Vec::new();
    for mut icon in icons {
        let c = counts.entry(icon.style.clone()).or_default();
        c.loaded += 1;
        match raster::rasterize(&icon.svg, &[16, 32]) {
            Ok(mut out) => {
                let b32 = out.pop().context("32")?;
                let b16 = out.pop().context("16")?;
                icon.colours = dataset::colour_words(&b32);
                rendered.push((icon, b16, b32));
            }
            Err(e) => {
                tracing::warn!("{} {}: {e}", icon.style, icon.name);
                c.failed += 1;
            }
        }
    }
    let dup = {
        let images: Vec<&[u8]> = rendered.iter().map(|r| r.1.as_slice()).collect();
        dataset::dedupe(&images, args.dedupe)
    };
    // A dropped rendition's name words become keywords of the one kept.
    for (j, d) in dup.iter().enumerate() {
        if let Some(i) = *d {
            let extra: Vec<String> = rendered[j].0.name_words.clone();
            let kept = &mut rendered[i].0;
            for w in extra {
                if !kept.name_words.contains(&w) && !kept.keywords.contains(&w) {
                    kept.keywords.push(w);
                }
            }
            if let Some(c) = counts.get_mut(&rendered[j].0.style) {
                c.duplicates += 1;
            }
        }
    }
    let mut kept: Vec<(dataset::Icon, Vec<u8>, Vec<u8>)> = rendered
        .into_iter()
        .zip(&dup)
        .filter(|(_, d)| d.is_none())
        .map(|(r, _)| r)
        .collect();
    let mut icons: Vec<dataset::Icon> = kept.iter().map(|r| r.0.clone()).collect();
    dataset::split(&mut icons);
    for (r, icon) in kept.iter_mut().zip(icons) {
        r.0 = icon;
    }
    let mut s16 = Vec::new();
    let mut s32 = Vec::new();
    let mut f = std::fs::File::create(args.out.join("index.jsonl"))?;
    for (icon, b16, b32) in &kept {
        s16.extend_from_slice(b16);
        s32.extend_from_slice(b32);
        writeln!(f, "{}", serde_json::to_string(icon)?)?;
        let c = counts.entry(icon.style.clone()).or_default();
        c.kept += 1;
        c.held_out += usize::from(icon.held_out);
    }
    std::fs::write(args.out.join("sprites16.rgba"), &s16)?;
    std::fs::write(args.out.join("sprites32.rgba"), &s32)?;
    std::fs::write(
        args.out.join("counts.json"),
        serde_json::to_string_pretty(&counts)?,
    )?;
    for (style, c) in &counts {
        tracing::info!(
            "{style}: {} loaded, {} failed, {} near-duplicates, {} kept ({} held out)",
            c.loaded,
            c.failed,
            c.duplicates,
            c.kept,
            c.held_out
        );
    }
    tracing::info!("{} images in {}", kept.len(), args.out.display());
    Ok(())
}
