//! The tiny test checkpoint: a random-weight folder of [`SdConfig::tiny`] in the diffusers
//! layout, for tests and benchmarks (hidden from the documented API).

use std::path::Path;

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use candle_transformers::models::clip::text_model::ClipTextTransformer;
use candle_transformers::models::stable_diffusion::unet_2d::UNet2DConditionModel;
use candle_transformers::models::stable_diffusion::vae::AutoEncoderKL;

use crate::diffusion::backend::{Error, Result};

use super::config::*;

/// The words of the tiny test tokenizer (after `<|startoftext|>`, `<|endoftext|>`, `<unk>`).
pub(super) const TINY_VOCAB: [&str; 24] = [
    "<|startoftext|>",
    "<|endoftext|>",
    "<unk>",
    "a",
    "an",
    "the",
    "of",
    "and",
    "pixel",
    "art",
    "sprite",
    "turnip",
    "carrot",
    "tree",
    "stone",
    "red",
    "green",
    "blue",
    "small",
    "farm",
    "fence",
    "grass",
    "tile",
    "blurry",
];

/// Writes a random-weight checkpoint of [`SdConfig::tiny`] into `dir` in the diffusers layout
/// (`unet/`, `vae/`, `text_encoder/` safetensors with the diffusers tensor names, built by
/// candle's own model constructors on a `VarMap`) and a word-level `tokenizer/tokenizer.json`
/// (lower-cased, whitespace-split words of a 24-entry vocabulary; unknown words map to `<unk>`).
/// For tests and benchmarks: the pictures are noise, but every code path of a real model runs.
pub fn write_tiny_checkpoint(dir: &Path) -> Result<()> {
    let cfg = SdConfig::tiny();
    let device = Device::Cpu;
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    let save = |varmap: &candle_nn::VarMap, rel: &str| -> Result<()> {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap_or(dir)).map_err(io(&path))?;
        varmap.save(&path)?;
        Ok(())
    };
    let varmap = candle_nn::VarMap::new();
    UNet2DConditionModel::new(
        VarBuilder::from_varmap(&varmap, DType::F32, &device),
        4,
        4,
        false,
        cfg.unet.clone(),
    )?;
    save(&varmap, UNET_FILE)?;
    let varmap = candle_nn::VarMap::new();
    AutoEncoderKL::new(
        VarBuilder::from_varmap(&varmap, DType::F32, &device),
        3,
        3,
        cfg.vae.clone(),
    )?;
    save(&varmap, VAE_FILE)?;
    let varmap = candle_nn::VarMap::new();
    if let Some(TextEncoderConfig::Custom(c)) = cfg.text_encoders.first() {
        ClipTextTransformer::new(
            VarBuilder::from_varmap(&varmap, DType::F32, &device).pp("text_model"),
            c,
        )?;
    }
    save(&varmap, "text_encoder/model.safetensors")?;
    let vocab: serde_json::Map<String, serde_json::Value> = TINY_VOCAB
        .iter()
        .enumerate()
        .map(|(i, w)| ((*w).to_owned(), serde_json::json!(i)))
        .collect();
    let tokenizer = serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [],
        "normalizer": { "type": "Lowercase" },
        "pre_tokenizer": { "type": "Whitespace" },
        "post_processor": null,
        "decoder": null,
        "model": { "type": "WordLevel", "vocab": vocab, "unk_token": "<unk>" },
    });
    let path = dir.join("tokenizer/tokenizer.json");
    std::fs::create_dir_all(path.parent().unwrap_or(dir)).map_err(io(&path))?;
    std::fs::write(
        &path,
        serde_json::to_vec_pretty(&tokenizer).unwrap_or_default(),
    )
    .map_err(io(&path))?;
    Ok(())
}
