//! The v2 sprite model in candle: a mirror of `tools/sprite_model/python/model2.py` (weight names
//! included) and `text.py` (the caption tokenizer).
//!
//! A 32×32 rectified-flow `UNet` with per-token cross-attention on a small transformer over frozen,
//! PCA-reduced `SmolLM2` token embeddings, so words the sprite data saw rarely still land near the
//! words the LLM put them beside. The text side ships as `tokens.txt` + `merges.txt` (the part of
//! `SmolLM2`'s byte-level BPE that lowercase ASCII words use) and `text.safetensors` (`embed`,
//! `[tokens, 128]`): no LLM download is needed. 16×16 sprites are the 32×32 sample box-filtered
//! down, as the training data's 16×16 renders are.

mod net;
mod tokenizer;

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use image::RgbaImage;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{SamplerStep, Sampling};
use crate::diffusion::backend::{Error, ImageRequest, Result};
use crate::finish;

pub use net::{Context, SpriteUNet2};
pub use tokenizer::WordTokenizer;
#[cfg(test)]
use tokenizer::pieces;

/// `config.json` of a v2 model.
#[derive(Debug, Clone, Deserialize)]
pub struct SpriteConfig2 {
    /// Width of the frozen token embeddings.
    pub embed_dim: usize,
    /// Channels at 32×32, 16×16 and 8×8.
    pub channels: [usize; 3],
    /// Width of the time + pooled-caption embedding.
    pub emb: usize,
    /// Width of the caption tokens the `UNet` attends to.
    pub ctx: usize,
    /// Transformer layers over the caption.
    pub text_layers: usize,
    /// Most caption tokens read from a prompt.
    pub max_tokens: usize,
    /// Width of the sinusoidal time features.
    pub time_dim: usize,
    /// Side of the square sprite the model draws.
    pub size: usize,
    /// Groups of every group norm.
    pub groups: usize,
    /// Attention heads.
    pub heads: usize,
    /// Training step of the weights, when the exporter recorded it.
    #[serde(default)]
    pub step: Option<u64>,
}

/// A loaded v2 model: network, frozen token table and tokenizer.
pub struct SpriteModel2 {
    unet: SpriteUNet2,
    table: Tensor,
    tokenizer: WordTokenizer,
    device: Device,
    sha256: String,
}

impl core::fmt::Debug for SpriteModel2 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SpriteModel2")
            .field("config", self.unet.config())
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

impl SpriteModel2 {
    /// A model folder holding `sprite.safetensors`, `config.json`, `text.safetensors`,
    /// `tokens.txt` and `merges.txt` (`models/sprite/v2`).
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|source| Error::Io { path, source })
        };
        let bad = |message: String| Error::Model {
            path: dir.to_path_buf(),
            message,
        };
        let text = |name: &str| -> Result<String> {
            String::from_utf8(read(name)?).map_err(|e| bad(format!("{name}: {e}")))
        };
        let cfg: SpriteConfig2 = serde_json::from_str(&text("config.json")?)
            .map_err(|e| bad(format!("config.json: {e}")))?;
        let device = Device::Cpu;
        let weights = read("sprite.safetensors")?;
        let vb = VarBuilder::from_slice_safetensors(&weights, DType::F32, &device)?;
        let unet = SpriteUNet2::new(cfg, vb)?;
        let sha256 = format!("{:x}", Sha256::digest(&weights));
        let text_weights = read("text.safetensors")?;
        let table = candle_core::safetensors::load_buffer(&text_weights, &device)?
            .remove("embed")
            .ok_or_else(|| bad("text.safetensors has no `embed`".to_owned()))?
            .to_dtype(DType::F32)?;
        let tokenizer = WordTokenizer::new(&text("tokens.txt")?, &text("merges.txt")?);
        Ok(Self {
            unet,
            table,
            tokenizer,
            device,
            sha256,
        })
    }

    /// SHA-256 of the weights file, for provenance.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The network's configuration.
    pub fn config(&self) -> &SpriteConfig2 {
        self.unet.config()
    }

    /// Prompt to token ids, at most `max_tokens`.
    pub fn tokenize(&self, prompt: &str) -> Vec<u32> {
        let mut ids = self.tokenizer.encode(prompt);
        ids.truncate(self.config().max_tokens);
        ids
    }

    fn embed(&self, ids: &[u32]) -> Result<Tensor> {
        if ids.is_empty() {
            return Ok(Tensor::zeros(
                (0, self.config().embed_dim),
                DType::F32,
                &self.device,
            )?);
        }
        let idx = Tensor::new(ids, &self.device)?;
        Ok(self.table.index_select(&idx, 0)?)
    }

    /// Runs the sampler from `noise` `(B, 4, S, S)` for token rows `cond` and `uncond` (the
    /// guidance branch; empty rows are the unconditional caption), as
    /// [`SpriteModel::sample`](super::SpriteModel::sample). Returns premultiplied RGBA in [-1, 1]
    /// (unclamped).
    pub fn sample(
        &self,
        noise: &Tensor,
        cond: &[Vec<u32>],
        uncond: &[Vec<u32>],
        sampling: Sampling,
        on_step: &mut dyn FnMut(SamplerStep<'_>) -> Result<()>,
    ) -> Result<Tensor> {
        let Sampling {
            steps,
            guidance,
            t_start,
        } = sampling;
        let b = noise.dim(0)?;
        let caps = cond
            .iter()
            .chain(uncond)
            .map(|ids| self.embed(ids))
            .collect::<Result<Vec<_>>>()?;
        let ctx = self.unet.encode_text(&caps)?;
        let mut x = noise.clone();
        for i in 0..steps {
            let t = t_start * (1.0 - i as f64 / steps as f64);
            let t_next = t_start * (1.0 - (i + 1) as f64 / steps as f64);
            let time = self
                .unet
                .time_features(&vec![t as f32; 2 * b], &self.device)?;
            let v = self
                .unet
                .forward(&Tensor::cat(&[&x, &x], 0)?, &time, &ctx)?;
            let vc = v.narrow(0, 0, b)?;
            let vu = v.narrow(0, b, b)?;
            let v = (&vu + ((vc - &vu)? * guidance)?)?;
            on_step(SamplerStep {
                step: i + 1,
                total: steps,
                x: &x,
                v: &v,
                t,
            })?;
            x = (x + (v * (t_next - t))?)?;
        }
        Ok(x)
    }
}

impl SpriteModel2 {
    /// Draws one raw sprite (before finishing), straight-alpha RGBA: `req.width` × `req.height` must
    /// be the model's size (32) or half of it (16: the sample box-filtered in premultiplied space).
    /// The noise comes from [`seeded_noise`](super::seeded_noise) of `req.seed`; an init image
    /// starts the trajectory at `req.init.strength` as v1 does.
    pub fn generate(
        &self,
        req: &ImageRequest,
        on_step: &mut dyn FnMut(SamplerStep<'_>) -> Result<()>,
    ) -> Result<RgbaImage> {
        let s = self.config().size;
        let out = req.width as usize;
        if req.width != req.height || (out != s && out * 2 != s) {
            return Err(Error::InvalidRequest(format!(
                "the v2 sprite model draws {s}×{s} or {h}×{h}, not {}×{}",
                req.width,
                req.height,
                h = s / 2
            )));
        }
        let noise = Tensor::from_vec(
            super::seeded_noise(req.seed, 4 * s * s),
            (1, 4, s, s),
            &self.device,
        )?;
        let (start, t_start) = match &req.init {
            Some(init) => {
                let small = finish::pixel::downscale_area(&init.image, s as u32, s as u32)
                    .map_err(|e| Error::InvalidRequest(format!("init image: {e}")))?;
                let x0 = super::image_to_tensor(&small, &self.device)?;
                let t = init.strength.clamp(0.0, 1.0);
                (((x0 * (1.0 - t))? + (&noise * t)?)?, t)
            }
            None => (noise, 1.0),
        };
        let cond = vec![self.tokenize(&req.prompt)];
        let uncond = vec![self.tokenize(&req.negative_prompt)];
        let sampling = Sampling {
            steps: req.steps,
            guidance: req.guidance,
            t_start,
        };
        let mut x = self.sample(&start, &cond, &uncond, sampling, on_step)?;
        if out != s {
            // Box filter in premultiplied space, after clamping to the valid range.
            x = x.clamp(-1f32, 1f32)?.avg_pool2d(2)?;
        }
        super::tensor_to_image(&x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_mark_a_leading_letter_run_and_split_digits() {
        assert_eq!(pieces("corn"), ["\u{120}corn"]);
        assert_eq!(pieces("1st"), ["1", "st"]);
        assert_eq!(pieces("icons8"), ["\u{120}icons", "8"]);
    }

    #[test]
    fn bpe_merges_by_rank() {
        let tok = WordTokenizer::new(
            "\u{120}\nc\no\nr\nn\n\u{120}c\nor\n\u{120}cor\n",
            "\u{120} c\no r\n\u{120}c or\n",
        );
        // Ġ c -> Ġc, o r -> or, Ġc or -> Ġcor; then n stays.
        assert_eq!(tok.encode("corn"), [7, 4]);
        assert!(
            tok.encode("zzz").is_empty(),
            "unknown symbols drop the piece"
        );
    }
}
