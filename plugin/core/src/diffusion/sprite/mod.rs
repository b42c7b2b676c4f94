//! The embedded sprite model: a small text-conditioned rectified-flow `UNet` that draws 16×16 RGBA
//! pixel-art item sprites on a CPU in about a second, shipped in the repo (`models/sprite/`, compiled
//! into the binary) so `sprout gen sprite "carrot"` works on a fresh machine with no download.
//!
//! - [`SpriteModel`]: weights + vocabulary + config, the prompt tokenizer and the sampler
//!   (Euler over the rectified-flow ODE from noise at t = 1 to the image at t = 0, with
//!   classifier-free guidance), deterministic per seed; each [`SamplerStep`] can estimate the
//!   finished sprite, which the backend turns into step previews when asked
//!   ([`ImageRequest::preview_every`]);
//! - [`SpriteBackend`]: the [`ImageBackend`] over it or over v2 ([`SpriteNet`]; a model folder's
//!   `config.json` says which), whose output goes through the finishing stage
//!   ([`finish::pixelate`]: palette quantisation and binary alpha);
//! - [`model`]: the network, a mirror of the trainer's `tools/sprite_model/python/model.py`;
//! - [`v2`]: the 32×32 model with cross-attention on frozen LLM token embeddings, a model folder
//!   (`models/sprite/v2`, not compiled in) that [`SpriteBackend::from_dir`] opens; it beats v1 on
//!   farm words and not yet on general concepts (`tools/sprite_model/README.md`).
//!
//! Trained with `tools/sprite_model` (data pipeline, `PyTorch` trainer, evaluation; see its README).

pub mod model;
pub mod v2;

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use image::RgbaImage;
use sha2::{Digest, Sha256};

use super::backend::{Error, ImageBackend, ImageEvent, ImageRequest, Native, Result};
use crate::content::ModelRef;
use crate::finish::{self, PixelArt};
use crate::rng::{NonZeroUniform, Rng};
pub use model::{SpriteConfig, SpriteUNet};

/// The shipped weights, compiled in.
pub const EMBEDDED_WEIGHTS: &[u8] =
    include_bytes!("../../../../../models/sprite/sprite.safetensors");
/// The shipped caption vocabulary: one word per line, the line number is the id; line 0 is the
/// null (unconditional) token.
pub const EMBEDDED_VOCAB: &str = include_str!("../../../../../models/sprite/vocab.txt");
/// The shipped model's configuration.
pub const EMBEDDED_CONFIG: &str = include_str!("../../../../../models/sprite/config.json");

/// The side of the square the shipped model draws.
pub const NATIVE_SIZE: u32 = 16;
/// The embedded model's id in provenance.
pub const MODEL_ID: &str = "sprout-sprite";
/// The v2 model's id in provenance.
pub const MODEL_ID_V2: &str = "sprout-sprite-v2";
/// Default sampler steps for sprites.
pub const DEFAULT_STEPS: usize = 20;
/// Default sampler steps for the v2 model: its samples at 10 steps look as at 20 (contact sheets
/// side by side) and score the same with the evaluation's classifier, in half the time.
pub const DEFAULT_STEPS_V2: usize = 10;
/// Default classifier-free guidance scale for sprites.
pub const DEFAULT_GUIDANCE: f64 = 3.0;

/// Splits a prompt into caption words: lowercase ASCII alphanumeric runs (the trainer's rule).
pub fn words(text: &str) -> Vec<String> {
    text.to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Standard normal noise from a seed: Sprout's [`Rng`] + Box–Muller (first uniform in `(0, 1]`),
/// independent of any tensor library, so a seed draws the same sprite on every machine and version.
pub fn seeded_noise(seed: u64, len: usize) -> Vec<f32> {
    Rng::new(seed).normals(len, NonZeroUniform::UpToOne)
}

/// Sampler settings: Euler steps over the rectified-flow ODE from `t_start` (1 = pure noise; less
/// for img2img) to 0, with classifier-free guidance `guidance` (1 = none).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// Equal Euler steps.
    pub steps: usize,
    /// Guidance scale: `v = v_uncond + guidance * (v_cond - v_uncond)`.
    pub guidance: f64,
    /// Where the trajectory starts.
    pub t_start: f64,
}

/// One sampler step, as [`SpriteModel::sample`] reports it: the state before the step's Euler
/// update, from which [`estimate`](Self::estimate) predicts the finished sample on demand.
#[derive(Debug, Clone, Copy)]
pub struct SamplerStep<'a> {
    /// Steps done, from 1.
    pub step: usize,
    /// Steps in all.
    pub total: usize,
    x: &'a Tensor,
    v: &'a Tensor,
    t: f64,
}

impl SamplerStep<'_> {
    /// The current estimate of the clean sample, `x_t − t·v` (the rectified flow's straight line
    /// followed to t = 0), premultiplied RGBA in [-1, 1] like [`SpriteModel::sample`]'s output.
    /// At the last step it is that output. One tensor operation; nothing is computed until asked.
    pub fn estimate(&self) -> Result<Tensor> {
        Ok((self.x - (self.v * self.t)?)?)
    }
}

/// Weights, vocabulary and config of a sprite model, ready to sample.
pub struct SpriteModel {
    unet: SpriteUNet,
    vocab: Vec<String>,
    device: Device,
    sha256: String,
}

impl core::fmt::Debug for SpriteModel {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SpriteModel")
            .field("config", self.unet.config())
            .field("vocab", &self.vocab.len())
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

impl SpriteModel {
    /// The model compiled into the binary (`models/sprite/`).
    pub fn embedded() -> Result<Self> {
        Self::from_parts(
            EMBEDDED_WEIGHTS,
            EMBEDDED_VOCAB,
            EMBEDDED_CONFIG,
            Path::new("models/sprite"),
        )
    }

    /// A model from a folder holding `sprite.safetensors`, `vocab.txt` and `config.json`.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|source| Error::Io { path, source })
        };
        let weights = read("sprite.safetensors")?;
        let text = |bytes: Vec<u8>, name: &str| {
            String::from_utf8(bytes).map_err(|e| Error::Model {
                path: dir.join(name),
                message: e.to_string(),
            })
        };
        let vocab = text(read("vocab.txt")?, "vocab.txt")?;
        let config = text(read("config.json")?, "config.json")?;
        Self::from_parts(&weights, &vocab, &config, dir)
    }

    fn from_parts(weights: &[u8], vocab: &str, config: &str, origin: &Path) -> Result<Self> {
        let bad = |message: String| Error::Model {
            path: origin.to_path_buf(),
            message,
        };
        let cfg: SpriteConfig =
            serde_json::from_str(config).map_err(|e| bad(format!("config.json: {e}")))?;
        let vocab: Vec<String> = vocab.lines().map(str::to_owned).collect();
        if vocab.len() != cfg.vocab_size {
            return Err(bad(format!(
                "vocab.txt has {} words, the weights {}",
                vocab.len(),
                cfg.vocab_size
            )));
        }
        let device = Device::Cpu;
        let vb = VarBuilder::from_slice_safetensors(weights, SpriteUNet::DTYPE, &device)?;
        let unet = SpriteUNet::new(cfg, vb)?;
        let sha256 = format!("{:x}", Sha256::digest(weights));
        Ok(Self {
            unet,
            vocab,
            device,
            sha256,
        })
    }

    /// The network's configuration.
    pub fn config(&self) -> &SpriteConfig {
        self.unet.config()
    }

    /// SHA-256 of the weights file, for provenance.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The caption vocabulary (id = index).
    pub fn vocab(&self) -> &[String] {
        &self.vocab
    }

    /// Prompt to word ids: words outside the vocabulary are dropped, at most `max_tokens` kept.
    pub fn tokenize(&self, prompt: &str) -> Vec<u32> {
        words(prompt)
            .iter()
            .filter_map(|w| self.vocab.iter().skip(1).position(|v| v == w))
            .map(|i| (i + 1) as u32)
            .take(self.config().max_tokens)
            .collect()
    }

    /// Words of `prompt` the model does not know (they are ignored when sampling).
    pub fn unknown_words(&self, prompt: &str) -> Vec<String> {
        words(prompt)
            .into_iter()
            .filter(|w| !self.vocab.iter().skip(1).any(|v| v == w))
            .collect()
    }

    /// Runs the sampler from `noise` `(B, 4, S, S)` for captions `cond` (and `uncond` for the
    /// guidance branch: empty rows are the null caption) with the [`Sampling`] settings, calling
    /// `on_step` once per step (an error from it stops the sampler). Returns premultiplied RGBA in
    /// [-1, 1] (unclamped).
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
        let rows: Vec<Vec<u32>> = cond.iter().chain(uncond).cloned().collect();
        let emb = self.unet.condition(&rows, &self.device)?;
        let mut x = noise.clone();
        for i in 0..steps {
            let t = t_start * (1.0 - i as f64 / steps as f64);
            let t_next = t_start * (1.0 - (i + 1) as f64 / steps as f64);
            let time = self
                .unet
                .time_features(&vec![t as f32; 2 * b], &self.device)?;
            let v = self
                .unet
                .forward(&Tensor::cat(&[&x, &x], 0)?, &time, &emb)?;
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

    /// Draws one raw sprite (before finishing): `S`×`S` straight-alpha RGBA.
    pub fn generate(
        &self,
        req: &ImageRequest,
        on_step: &mut dyn FnMut(SamplerStep<'_>) -> Result<()>,
    ) -> Result<RgbaImage> {
        let s = self.config().size;
        let n = 4 * s * s;
        let noise = Tensor::from_vec(seeded_noise(req.seed, n), (1, 4, s, s), &self.device)?;
        let (start, t_start) = match &req.init {
            Some(init) => {
                let small = finish::pixel::downscale_area(&init.image, s as u32, s as u32)
                    .map_err(|e| Error::InvalidRequest(format!("init image: {e}")))?;
                let x0 = image_to_tensor(&small, &self.device)?;
                let t = init.strength.clamp(0.0, 1.0);
                ((((x0 * (1.0 - t))? + (&noise * t)?)?), t)
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
        let x = self.sample(&start, &cond, &uncond, sampling, on_step)?;
        tensor_to_image(&x)
    }
}

/// Straight-alpha RGBA image to a premultiplied `(1, 4, H, W)` tensor in [-1, 1].
pub fn image_to_tensor(img: &RgbaImage, device: &Device) -> Result<Tensor> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut data = vec![0f32; 4 * w * h];
    for (i, p) in img.pixels().enumerate() {
        let a = f32::from(p[3]) / 255.0;
        for c in 0..3 {
            data[c * w * h + i] = (f32::from(p[c]) / 255.0 * a) * 2.0 - 1.0;
        }
        data[3 * w * h + i] = a * 2.0 - 1.0;
    }
    Ok(Tensor::from_vec(data, (1, 4, h, w), device)?)
}

/// The first image of a premultiplied `(B, 4, H, W)` tensor in [-1, 1] to straight-alpha RGBA.
pub fn tensor_to_image(x: &Tensor) -> Result<RgbaImage> {
    let (_, _, h, w) = x.dims4()?;
    let x = ((x.get(0)?.clamp(-1f32, 1f32)? + 1.0)? * 0.5)?.to_dtype(DType::F32)?;
    let planes = x.flatten_from(1)?.to_vec2::<f32>()?;
    let mut img = RgbaImage::new(w as u32, h as u32);
    for (i, p) in img.pixels_mut().enumerate() {
        let a = planes[3][i];
        for c in 0..3 {
            let straight = if a > 1e-4 { planes[c][i] / a } else { 0.0 };
            p[c] = (straight.clamp(0.0, 1.0) * 255.0).round() as u8;
        }
        p[3] = (a * 255.0).round() as u8;
    }
    Ok(img)
}

/// The network a [`SpriteBackend`] samples.
#[derive(Debug)]
pub enum SpriteNet {
    /// The shipped model ([`SpriteModel`]): 16×16, learned caption words.
    V1(Box<SpriteModel>),
    /// The v2 model ([`v2::SpriteModel2`]): 32×32 (16×16 by box filter), cross-attention on frozen
    /// LLM token embeddings.
    V2(Box<v2::SpriteModel2>),
}

impl SpriteNet {
    /// The largest square the network draws without scaling.
    pub fn size(&self) -> u32 {
        match self {
            Self::V1(m) => m.config().size as u32,
            Self::V2(m) => m.config().size as u32,
        }
    }

    /// The squares it draws natively, largest first: v1 its one size, v2 32 and 16.
    fn draw_sizes(&self) -> Vec<u32> {
        match self {
            Self::V1(_) => vec![self.size()],
            Self::V2(_) => vec![self.size(), self.size() / 2],
        }
    }

    /// Sampler steps when a request does not choose.
    pub fn default_steps(&self) -> usize {
        match self {
            Self::V1(_) => DEFAULT_STEPS,
            Self::V2(_) => DEFAULT_STEPS_V2,
        }
    }

    /// SHA-256 of the weights file.
    pub fn sha256(&self) -> &str {
        match self {
            Self::V1(m) => m.sha256(),
            Self::V2(m) => m.sha256(),
        }
    }

    /// Its id in provenance.
    pub fn model_id(&self) -> &'static str {
        match self {
            Self::V1(_) => MODEL_ID,
            Self::V2(_) => MODEL_ID_V2,
        }
    }

    fn generate(
        &self,
        req: &ImageRequest,
        on_step: &mut dyn FnMut(SamplerStep<'_>) -> Result<()>,
    ) -> Result<RgbaImage> {
        match self {
            Self::V1(m) => m.generate(req, on_step),
            Self::V2(m) => m.generate(req, on_step),
        }
    }
}

/// A sprite model as an [`ImageBackend`]: sample at the largest size the network draws that
/// divides the request (v1: 16; v2: 32, else 16), finish ([`finish::pixelate`]: palette
/// quantisation, binary alpha), then scale up by an integer factor (nearest neighbour) when the
/// request asks for a larger square.
pub struct SpriteBackend {
    net: SpriteNet,
    /// The finishing step (its grid is set to the size drawn); `None` returns the raw sample.
    pub finish: Option<PixelArt>,
}

impl core::fmt::Debug for SpriteBackend {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SpriteBackend")
            .field("net", &self.net)
            .field("finish", &self.finish)
            .finish()
    }
}

impl SpriteBackend {
    /// The embedded model with the default finishing: 16 colours chosen from the sprite, alpha
    /// thresholded at 50%.
    pub fn embedded() -> Result<Self> {
        Ok(Self::new(SpriteModel::embedded()?))
    }

    /// Over a loaded v1 model, default finishing.
    pub fn new(model: SpriteModel) -> Self {
        Self::over(SpriteNet::V1(Box::new(model)))
    }

    /// Over either network, default finishing.
    pub fn over(net: SpriteNet) -> Self {
        let s = net.size();
        Self {
            net,
            finish: Some(PixelArt::new(s, s)),
        }
    }

    /// Over the model in `dir`, v1 or v2 by its `config.json` (a v2 config names `embed_dim`, the
    /// width of its frozen token table), default finishing.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let path = dir.join("config.json");
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let config: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Model {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let net = if config.get("embed_dim").is_some() {
            SpriteNet::V2(Box::new(v2::SpriteModel2::from_dir(dir)?))
        } else {
            SpriteNet::V1(Box::new(SpriteModel::from_dir(dir)?))
        };
        Ok(Self::over(net))
    }

    /// The network.
    pub fn net(&self) -> &SpriteNet {
        &self.net
    }

    /// Where a model folder for [`from_dir`](Self::from_dir) is found in a checkout.
    pub fn repo_dir(root: &Path) -> PathBuf {
        root.join("models").join("sprite")
    }

    /// The model folders for [`from_dir`](Self::from_dir) directly below `dir` (a checkout's
    /// [`repo_dir`](Self::repo_dir) holds `v2/`): those with a `config.json` and a
    /// `sprite.safetensors`, sorted by name. A missing or unreadable `dir` has none.
    pub fn folders_in(dir: &Path) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| Some(e.ok()?.path()))
            .filter(|p| p.join("config.json").is_file() && p.join("sprite.safetensors").is_file())
            .collect();
        found.sort();
        found
    }
}

impl ImageBackend for SpriteBackend {
    fn describe(&self) -> String {
        format!("{} {} (cpu)", self.net.model_id(), &self.net.sha256()[..12])
    }

    fn native(&self) -> Native {
        Native {
            size: self.net.size(),
            steps: self.net.default_steps(),
            guidance: DEFAULT_GUIDANCE,
        }
    }

    fn model_ref(&self) -> Option<ModelRef> {
        Some(ModelRef {
            id: self.net.model_id().to_owned(),
            sha256: self.net.sha256().to_owned(),
        })
    }

    fn generate(
        &mut self,
        req: &ImageRequest,
        on_event: &mut dyn FnMut(ImageEvent<'_>),
    ) -> Result<RgbaImage> {
        req.validate()?;
        let sizes = self.net.draw_sizes();
        let drawn = sizes
            .iter()
            .copied()
            .find(|&s| req.width == req.height && req.width.is_multiple_of(s));
        let Some(drawn) = drawn else {
            let list = sizes
                .iter()
                .map(|s| format!("{s}×{s}"))
                .collect::<Vec<_>>()
                .join(" or ");
            return Err(Error::InvalidRequest(format!(
                "the sprite model draws {list}: ask for a square multiple of {}, not {}×{}",
                sizes[sizes.len() - 1],
                req.width,
                req.height
            )));
        };
        let at_size = ImageRequest {
            width: drawn,
            height: drawn,
            ..req.clone()
        };
        let raw = self.net.generate(&at_size, &mut |st| {
            req.check_cancelled()?;
            let preview = if req.preview_due(st.step, st.total) {
                Some(sized(
                    tensor_to_image(&st.estimate()?)?,
                    req.width,
                    req.height,
                ))
            } else {
                None
            };
            on_event(ImageEvent::Step {
                step: st.step,
                total: st.total,
                preview: preview.as_ref(),
            });
            Ok(())
        })?;
        let finished = match &self.finish {
            Some(opts) => {
                let opts = PixelArt {
                    width: drawn,
                    height: drawn,
                    ..opts.clone()
                };
                finish::pixelate(&raw, &opts).map_err(|e| Error::Backend {
                    backend: self.describe(),
                    message: format!("finishing: {e}"),
                })?
            }
            None => raw,
        };
        Ok(sized(finished, req.width, req.height))
    }
}

/// `img` at `width` × `height`, scaled with nearest neighbour (pixels stay crisp) if it is not.
fn sized(img: RgbaImage, width: u32, height: u32) -> RgbaImage {
    if img.dimensions() == (width, height) {
        img
    } else {
        image::imageops::resize(&img, width, height, image::imageops::FilterType::Nearest)
    }
}
