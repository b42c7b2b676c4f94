//! Stable Diffusion on candle: SD 1.5, 2.1, SD-Turbo, SDXL and SDXL-Turbo from a diffusers-layout
//! folder, as an [`ImageBackend`] (txt2img and img2img), on the CPU by default (features `cuda`,
//! `metal` forwarded to candle).
//!
//! A model folder holds `unet/diffusion_pytorch_model.safetensors`,
//! `vae/diffusion_pytorch_model.safetensors`, `text_encoder/model.safetensors` and
//! `tokenizer/tokenizer.json` (plus `text_encoder_2/` and `tokenizer_2/` for SDXL): the diffusers
//! tensor names, and a CLIP tokenizer in the `tokenizers` JSON format (diffusers repositories ship
//! `vocab.json` + `merges.txt`; convert them once, or take `tokenizer.json` from the matching CLIP
//! repository). With feature `hf-hub`, `SdModel::fetch` downloads those files.
//!
//! Step previews ([`ImageRequest::preview_every`]) skip the VAE: the predicted clean latents go
//! through a fixed linear latent-to-RGB map ([`latent_preview`]) at latent resolution, scaled up
//! to the image's size.
//!
//! Determinism: the same request and seed give identical pixels on one machine. Noise comes from
//! Sprout's own seeded generator (candle cannot seed its CPU RNG), every scheduler is DDIM with
//! eta 0 (SD-Turbo and SDXL-Turbo use "trailing" timesteps instead of candle's ancestral Euler,
//! which draws unseeded noise), and img2img encodes the init image to the VAE posterior's mean (the
//! quant conv's log-variance rows are pinned so the posterior sample *is* the mean).
//!
//! [`SdConfig::tiny`] is a small (well under a million parameters) configuration for tests and benchmarks:
//! [`write_tiny_checkpoint`] writes a random-weight folder in exactly the layout above, and it runs
//! through the same [`SdModel::load`] path real weights take.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, IndexOp, Module, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::clip::text_model::{
    Activation, ClipTextConfig, ClipTextTransformer,
};
use candle_transformers::models::stable_diffusion::clip as sd_clip;
use candle_transformers::models::stable_diffusion::ddim::DDIMSchedulerConfig;
use candle_transformers::models::stable_diffusion::schedulers::{
    PredictionType, Scheduler, SchedulerConfig, TimestepSpacing,
};
use candle_transformers::models::stable_diffusion::unet_2d::{
    BlockConfig, UNet2DConditionModel, UNet2DConditionModelConfig,
};
use candle_transformers::models::stable_diffusion::vae::{AutoEncoderKL, AutoEncoderKLConfig};
use image::{Rgba, RgbaImage, imageops};

use crate::rng::{NonZeroUniform, Rng};

use super::backend::{Error, ImageBackend, ImageEvent, ImageRequest, Native, Result};

/// The Stable Diffusion versions Sprout knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdVersion {
    /// Stable Diffusion 1.5 (512², 768-wide CLIP).
    V1_5,
    /// Stable Diffusion 2.1 (768², v-prediction, `OpenCLIP`).
    V2_1,
    /// SD-Turbo: 2.1's architecture distilled for 1–4 steps without guidance (512²).
    Turbo,
    /// SDXL base 1.0 (1024², two text encoders).
    Xl,
    /// SDXL-Turbo (512², 1–4 steps without guidance).
    XlTurbo,
    /// The tiny random-weight test configuration ([`SdConfig::tiny`]).
    Tiny,
}

impl SdVersion {
    /// Its name on the command line (`sd-1.5`, `sd-2.1`, `sd-turbo`, `sdxl`, `sdxl-turbo`, `sd-tiny`).
    pub fn name(self) -> &'static str {
        match self {
            Self::V1_5 => "sd-1.5",
            Self::V2_1 => "sd-2.1",
            Self::Turbo => "sd-turbo",
            Self::Xl => "sdxl",
            Self::XlTurbo => "sdxl-turbo",
            Self::Tiny => "sd-tiny",
        }
    }

    /// Every version, for help texts and name lookups.
    pub const ALL: [Self; 6] = [
        Self::V1_5,
        Self::V2_1,
        Self::Turbo,
        Self::Xl,
        Self::XlTurbo,
        Self::Tiny,
    ];

    /// The version called `name` (see [`name`](Self::name)).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == name)
    }

    /// The Hugging Face repository of its weights.
    pub fn repo(self) -> Option<&'static str> {
        match self {
            Self::V1_5 => Some("stable-diffusion-v1-5/stable-diffusion-v1-5"),
            Self::V2_1 => Some("stabilityai/stable-diffusion-2-1"),
            Self::Turbo => Some("stabilityai/sd-turbo"),
            Self::Xl => Some("stabilityai/stable-diffusion-xl-base-1.0"),
            Self::XlTurbo => Some("stabilityai/sdxl-turbo"),
            Self::Tiny => None,
        }
    }
}

/// One text encoder: the CLIP flavour and its folder names.
#[derive(Debug, Clone)]
pub enum TextEncoderConfig {
    /// Candle's Stable Diffusion CLIP (the configurations of the released models).
    Sd(sd_clip::Config),
    /// Candle's general CLIP text model with public dimensions (tiny test models).
    Custom(ClipTextConfig),
}

/// Everything that shapes a Stable Diffusion model.
#[derive(Debug, Clone)]
pub struct SdConfig {
    /// Which version.
    pub version: SdVersion,
    /// The denoiser.
    pub unet: UNet2DConditionModelConfig,
    /// The autoencoder.
    pub vae: AutoEncoderKLConfig,
    /// Latents are the VAE's output times this.
    pub vae_scale: f64,
    /// The text encoders (two for SDXL: their outputs are concatenated).
    pub text_encoders: Vec<TextEncoderConfig>,
    /// Tokens per prompt (CLIP's context length).
    pub max_tokens: usize,
    /// The scheduler.
    pub scheduler: DDIMSchedulerConfig,
    /// Default size, steps and guidance.
    pub defaults: (u32, usize, f64),
}

fn bc(
    out_channels: usize,
    use_cross_attn: Option<usize>,
    attention_head_dim: usize,
) -> BlockConfig {
    BlockConfig {
        out_channels,
        use_cross_attn,
        attention_head_dim,
    }
}

fn unet(
    blocks: Vec<BlockConfig>,
    cross_attention_dim: usize,
    use_linear_projection: bool,
) -> UNet2DConditionModelConfig {
    UNet2DConditionModelConfig {
        blocks,
        center_input_sample: false,
        cross_attention_dim,
        downsample_padding: 1,
        flip_sin_to_cos: true,
        freq_shift: 0.,
        layers_per_block: 2,
        mid_block_scale_factor: 1.,
        norm_eps: 1e-5,
        norm_num_groups: 32,
        sliced_attention_size: None,
        use_linear_projection,
    }
}

fn sd_vae() -> AutoEncoderKLConfig {
    AutoEncoderKLConfig {
        block_out_channels: vec![128, 256, 512, 512],
        layers_per_block: 2,
        latent_channels: 4,
        norm_num_groups: 32,
        use_quant_conv: true,
        use_post_quant_conv: true,
    }
}

fn ddim(prediction_type: PredictionType, timestep_spacing: TimestepSpacing) -> DDIMSchedulerConfig {
    DDIMSchedulerConfig {
        prediction_type,
        timestep_spacing,
        eta: 0.0,
        ..Default::default()
    }
}

impl SdConfig {
    /// The configuration of a released version (the dimensions of its diffusers `config.json`
    /// files, as candle's `StableDiffusionConfig` has them).
    pub fn for_version(version: SdVersion) -> Self {
        use PredictionType::{Epsilon, VPrediction};
        use TimestepSpacing::{Leading, Trailing};
        let v1_blocks = vec![
            bc(320, Some(1), 8),
            bc(640, Some(1), 8),
            bc(1280, Some(1), 8),
            bc(1280, None, 8),
        ];
        let v2_blocks = vec![
            bc(320, Some(1), 5),
            bc(640, Some(1), 10),
            bc(1280, Some(1), 20),
            bc(1280, None, 20),
        ];
        let xl_blocks = vec![
            bc(320, None, 5),
            bc(640, Some(2), 10),
            bc(1280, Some(10), 20),
        ];
        let xl_text = vec![
            TextEncoderConfig::Sd(sd_clip::Config::sdxl()),
            TextEncoderConfig::Sd(sd_clip::Config::sdxl2()),
        ];
        match version {
            SdVersion::V1_5 => Self {
                version,
                unet: unet(v1_blocks, 768, false),
                vae: sd_vae(),
                vae_scale: 0.18215,
                text_encoders: vec![TextEncoderConfig::Sd(sd_clip::Config::v1_5())],
                max_tokens: 77,
                scheduler: ddim(Epsilon, Leading),
                defaults: (512, 30, 7.5),
            },
            SdVersion::V2_1 => Self {
                version,
                unet: unet(v2_blocks, 1024, true),
                vae: sd_vae(),
                vae_scale: 0.18215,
                text_encoders: vec![TextEncoderConfig::Sd(sd_clip::Config::v2_1())],
                max_tokens: 77,
                scheduler: ddim(VPrediction, Leading),
                defaults: (768, 30, 7.5),
            },
            SdVersion::Turbo => Self {
                version,
                unet: unet(v2_blocks, 1024, true),
                vae: sd_vae(),
                vae_scale: 0.18215,
                text_encoders: vec![TextEncoderConfig::Sd(sd_clip::Config::v2_1())],
                max_tokens: 77,
                scheduler: ddim(Epsilon, Trailing),
                defaults: (512, 1, 0.0),
            },
            SdVersion::Xl => Self {
                version,
                unet: unet(xl_blocks, 2048, true),
                vae: sd_vae(),
                vae_scale: 0.13025,
                text_encoders: xl_text,
                max_tokens: 77,
                scheduler: ddim(Epsilon, Leading),
                defaults: (1024, 30, 7.5),
            },
            SdVersion::XlTurbo => Self {
                version,
                unet: unet(xl_blocks, 2048, true),
                vae: sd_vae(),
                vae_scale: 0.13025,
                text_encoders: xl_text,
                max_tokens: 77,
                scheduler: ddim(Epsilon, Trailing),
                defaults: (512, 1, 0.0),
            },
            SdVersion::Tiny => Self::tiny(),
        }
    }

    /// A tiny configuration for tests and benchmarks: the real architecture (two `UNet` levels,
    /// cross-attention, a four-level VAE that downsamples by 8, a two-layer CLIP), small
    /// enough to run a step in milliseconds on a CPU.
    pub fn tiny() -> Self {
        Self {
            version: SdVersion::Tiny,
            unet: UNet2DConditionModelConfig {
                layers_per_block: 1,
                // 32 channels at least: some of candle's group norms have 32 groups built in.
                ..unet(vec![bc(32, Some(1), 2), bc(64, None, 4)], 32, false)
            },
            vae: AutoEncoderKLConfig {
                block_out_channels: vec![32, 32, 32, 32],
                layers_per_block: 1,
                latent_channels: 4,
                norm_num_groups: 32,
                use_quant_conv: true,
                use_post_quant_conv: true,
            },
            vae_scale: 0.18215,
            text_encoders: vec![TextEncoderConfig::Custom(ClipTextConfig {
                vocab_size: TINY_VOCAB.len(),
                embed_dim: 32,
                activation: Activation::QuickGelu,
                intermediate_size: 64,
                max_position_embeddings: 16,
                pad_with: None,
                num_hidden_layers: 2,
                num_attention_heads: 4,
                projection_dim: 32,
            })],
            max_tokens: 16,
            scheduler: ddim(PredictionType::Epsilon, TimestepSpacing::Leading),
            defaults: (64, 4, 7.5),
        }
    }

    /// Pixels per latent along each side (8 for every released model).
    pub fn vae_factor(&self) -> u32 {
        1 << (self.vae.block_out_channels.len().saturating_sub(1))
    }

    fn cross_attention_dim(&self) -> usize {
        self.unet.cross_attention_dim
    }
}

/// Folder names of the diffusers layout: (text encoder, tokenizer) for encoder `i`.
fn text_dirs(i: usize) -> (String, String) {
    if i == 0 {
        ("text_encoder".into(), "tokenizer".into())
    } else {
        (
            format!("text_encoder_{}", i + 1),
            format!("tokenizer_{}", i + 1),
        )
    }
}

const UNET_FILE: &str = "unet/diffusion_pytorch_model.safetensors";
const VAE_FILE: &str = "vae/diffusion_pytorch_model.safetensors";

enum TextModel {
    Sd(sd_clip::ClipTextTransformer),
    Custom(ClipTextTransformer),
}

impl TextModel {
    fn forward(&self, ids: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Self::Sd(m) => m.forward(ids),
            Self::Custom(m) => m.forward_with_mask(ids, usize::MAX),
        }
    }
}

struct TextEncoder {
    model: TextModel,
    tokenizer: tokenizers::Tokenizer,
    pad_id: u32,
}

/// A loaded Stable Diffusion model.
pub struct SdModel {
    config: SdConfig,
    unet: UNet2DConditionModel,
    vae: AutoEncoderKL,
    text: Vec<TextEncoder>,
    device: Device,
    dtype: DType,
    dir: PathBuf,
}

/// The device the features ask for: CUDA or Metal when built with them and present, else the CPU.
pub fn default_device() -> Device {
    #[cfg(feature = "cuda")]
    if let Ok(d) = Device::new_cuda(0) {
        return d;
    }
    #[cfg(feature = "metal")]
    if let Ok(d) = Device::new_metal(0) {
        return d;
    }
    Device::Cpu
}

fn model_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Model {
        path: path.to_owned(),
        message: message.into(),
    }
}

fn safetensors_vb(path: &Path, dtype: DType, device: &Device) -> Result<VarBuilder<'static>> {
    if !path.is_file() {
        return Err(model_err(path, "missing"));
    }
    let tensors =
        candle_core::safetensors::load(path, device).map_err(|e| model_err(path, e.to_string()))?;
    Ok(VarBuilder::from_tensors(tensors, dtype, device))
}

impl SdModel {
    /// Loads the model in `dir` (diffusers layout, see the [module docs](self)) on `device`, in
    /// f32 on the CPU and f16 on an accelerator.
    pub fn load(config: SdConfig, dir: &Path, device: Device) -> Result<Self> {
        let dtype = if device.is_cpu() {
            DType::F32
        } else {
            DType::F16
        };
        let unet_vb = safetensors_vb(&dir.join(UNET_FILE), dtype, &device)?;
        let unet = UNet2DConditionModel::new(unet_vb, 4, 4, false, config.unet.clone())
            .map_err(|e| model_err(&dir.join(UNET_FILE), e.to_string()))?;
        // The VAE, with the posterior's log-variance pinned low so that encoding is deterministic
        // (sample == mean); decoding is unaffected.
        let vae_path = dir.join(VAE_FILE);
        if !vae_path.is_file() {
            return Err(model_err(&vae_path, "missing"));
        }
        let mut vae_tensors = candle_core::safetensors::load(&vae_path, &device)
            .map_err(|e| model_err(&vae_path, e.to_string()))?;
        pin_posterior_logvar(&mut vae_tensors, config.vae.latent_channels)
            .map_err(|e| model_err(&vae_path, e.to_string()))?;
        let vae = AutoEncoderKL::new(
            VarBuilder::from_tensors(vae_tensors, dtype, &device),
            3,
            3,
            config.vae.clone(),
        )
        .map_err(|e| model_err(&vae_path, e.to_string()))?;
        let mut text = Vec::new();
        for (i, enc) in config.text_encoders.iter().enumerate() {
            let (enc_dir, tok_dir) = text_dirs(i);
            let weights = dir.join(&enc_dir).join("model.safetensors");
            let vb = safetensors_vb(&weights, dtype, &device)?;
            let model = match enc {
                TextEncoderConfig::Sd(c) => {
                    sd_clip::ClipTextTransformer::new(vb, c).map(TextModel::Sd)
                }
                TextEncoderConfig::Custom(c) => {
                    ClipTextTransformer::new(vb.pp("text_model"), c).map(TextModel::Custom)
                }
            }
            .map_err(|e| model_err(&weights, e.to_string()))?;
            let tok_path = dir.join(&tok_dir).join("tokenizer.json");
            let tokenizer = tokenizers::Tokenizer::from_file(&tok_path)
                .map_err(|e| model_err(&tok_path, e.to_string()))?;
            let pad_id = tokenizer
                .token_to_id("<|endoftext|>")
                .ok_or_else(|| model_err(&tok_path, "no <|endoftext|> token"))?;
            text.push(TextEncoder {
                model,
                tokenizer,
                pad_id,
            });
        }
        Ok(Self {
            config,
            unet,
            vae,
            text,
            device,
            dtype,
            dir: dir.to_owned(),
        })
    }

    /// Downloads the files of `version` from the Hugging Face hub into its cache and returns the
    /// folder. The tokenizer comes from the matching CLIP repository's `tokenizer.json`.
    #[cfg(all(feature = "hf-hub", feature = "diffusion"))]
    pub fn fetch(version: SdVersion) -> Result<PathBuf> {
        let Some(repo) = version.repo() else {
            return Err(Error::InvalidRequest(format!(
                "{} has no hub repository",
                version.name()
            )));
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| Error::Io {
                path: "<tokio runtime>".into(),
                source,
            })?;
        let hub = |repo: &str, file: &str| -> Result<PathBuf> {
            tracing::info!("downloading {file} from the Hugging Face hub ({repo})");
            rt.block_on(async {
                let api = hf_hub::api::tokio::ApiBuilder::from_env()
                    .with_progress(true)
                    .build()
                    .map_err(|e| e.to_string())?;
                api.model(repo.to_owned())
                    .get(file)
                    .await
                    .map_err(|e| e.to_string())
            })
            .map_err(|message| Error::Backend {
                backend: version.name().into(),
                message: format!("{repo}/{file}: {message}"),
            })
        };
        let unet = hub(repo, UNET_FILE)?;
        hub(repo, VAE_FILE)?;
        let n = SdConfig::for_version(version).text_encoders.len();
        let tokenizers = [
            "openai/clip-vit-base-patch32",
            "laion/CLIP-ViT-bigG-14-laion2B-39B-b160k",
        ];
        for i in 0..n {
            let (enc, _) = text_dirs(i);
            hub(repo, &format!("{enc}/model.safetensors"))?;
            let tok = hub(tokenizers[i.min(1)], "tokenizer.json")?;
            let root = unet
                .parent()
                .and_then(Path::parent)
                .unwrap_or(Path::new("."));
            let (_, tok_dir) = text_dirs(i);
            let target = root.join(tok_dir).join("tokenizer.json");
            if !target.exists() {
                std::fs::create_dir_all(target.parent().unwrap_or(root)).map_err(|source| {
                    Error::Io {
                        path: target.clone(),
                        source,
                    }
                })?;
                std::fs::copy(&tok, &target).map_err(|source| Error::Io {
                    path: target.clone(),
                    source,
                })?;
            }
        }
        Ok(unet
            .parent()
            .and_then(Path::parent)
            .unwrap_or(Path::new("."))
            .to_owned())
    }

    /// The configuration.
    pub fn config(&self) -> &SdConfig {
        &self.config
    }

    fn encode_prompt(&self, prompt: &str) -> Result<Tensor> {
        let mut parts = Vec::new();
        for enc in &self.text {
            let encoding = enc
                .tokenizer
                .encode(prompt, true)
                .map_err(|e| Error::InvalidRequest(e.to_string()))?;
            let mut ids = encoding.get_ids().to_vec();
            ids.truncate(self.config.max_tokens);
            ids.resize(self.config.max_tokens, enc.pad_id);
            let ids = Tensor::new(ids.as_slice(), &self.device)?.unsqueeze(0)?;
            parts.push(enc.model.forward(&ids)?);
        }
        let emb = Tensor::cat(&parts, candle_core::D::Minus1)?;
        let dim = emb.dim(candle_core::D::Minus1)?;
        if dim != self.config.cross_attention_dim() {
            return Err(model_err(
                &self.dir,
                format!(
                    "text embeddings are {dim} wide, the UNet wants {}",
                    self.config.cross_attention_dim()
                ),
            ));
        }
        Ok(emb.to_dtype(self.dtype)?)
    }

    fn image_to_tensor(&self, image: &RgbaImage, w: u32, h: u32) -> Result<Tensor> {
        let img = if image.dimensions() == (w, h) {
            image.clone()
        } else {
            imageops::resize(image, w, h, imageops::FilterType::Lanczos3)
        };
        let data: Vec<f32> = (0..3)
            .flat_map(|c| img.pixels().map(move |p| f32::from(p[c]) / 127.5 - 1.0))
            .collect();
        Ok(
            Tensor::from_vec(data, (1, 3, h as usize, w as usize), &self.device)?
                .to_dtype(self.dtype)?,
        )
    }

    fn tensor_to_image(&self, t: &Tensor) -> Result<RgbaImage> {
        let t = ((t.to_dtype(DType::F32)? / 2.0)? + 0.5)?.clamp(0f32, 1f32)?;
        let t = (t * 255.0)?.round()?.i(0)?.contiguous()?;
        let (_, h, w) = t.dims3()?;
        let data = t.flatten_all()?.to_vec1::<f32>()?;
        let plane = h * w;
        Ok(RgbaImage::from_fn(w as u32, h as u32, |x, y| {
            let i = y as usize * w + x as usize;
            Rgba([
                data[i] as u8,
                data[plane + i] as u8,
                data[2 * plane + i] as u8,
                255,
            ])
        }))
    }

    /// The clean latents the model predicts at timestep `t` from the noisy `latents` and its
    /// (guided) output `pred`: DDIM's "predicted x0", as the scheduler computes it inside `step`.
    fn predicted_x0(
        &self,
        scheduler: &dyn Scheduler,
        pred: &Tensor,
        t: usize,
        latents: &Tensor,
    ) -> Result<Tensor> {
        // √ᾱ_t through `add_noise` (√ᾱ·1 + √(1−ᾱ)·0): the scheduler's one public view of its
        // noise schedule, so this matches the schedule `step` uses, whatever its configuration.
        let one = Tensor::ones(1, DType::F64, &Device::Cpu)?;
        let sqrt_alpha = scheduler
            .add_noise(&one, one.zeros_like()?, t)?
            .to_vec1::<f64>()?[0];
        let sqrt_beta = (1.0 - sqrt_alpha * sqrt_alpha).max(0.0).sqrt();
        Ok(match self.config.scheduler.prediction_type {
            PredictionType::Epsilon => ((latents - (pred * sqrt_beta)?)? / sqrt_alpha)?,
            PredictionType::VPrediction => ((latents * sqrt_alpha)? - (pred * sqrt_beta)?)?,
            PredictionType::Sample => pred.clone(),
        })
    }

    /// Generates one image; see [`ImageBackend::generate`].
    pub fn generate(
        &self,
        req: &ImageRequest,
        on_event: &mut dyn FnMut(ImageEvent<'_>),
    ) -> Result<RgbaImage> {
        req.validate()?;
        let f = self.config.vae_factor();
        if !req.width.is_multiple_of(f) || !req.height.is_multiple_of(f) {
            return Err(Error::InvalidRequest(format!(
                "{}x{}: Stable Diffusion sizes are multiples of {f}",
                req.width, req.height
            )));
        }
        let guided = req.guidance > 1.0;
        let cond = self.encode_prompt(&req.prompt)?;
        let context = if guided {
            let uncond = self.encode_prompt(&req.negative_prompt)?;
            Tensor::cat(&[uncond, cond], 0)?
        } else {
            cond
        };
        let mut scheduler = self.config.scheduler.build(req.steps)?;
        let timesteps = scheduler.timesteps().to_vec();
        let (lh, lw) = ((req.height / f) as usize, (req.width / f) as usize);
        let shape = (1, self.config.vae.latent_channels, lh, lw);
        let noise = seeded_normal(req.seed, shape, &self.device)?.to_dtype(self.dtype)?;
        let (mut latents, start) = match &req.init {
            Some(init) => {
                let start =
                    req.steps - ((req.steps as f64 * init.strength) as usize).min(req.steps);
                let pixels = self.image_to_tensor(&init.image, req.width, req.height)?;
                let encoded = (self.vae.encode(&pixels)?.sample()? * self.config.vae_scale)?;
                let latents = match timesteps.get(start) {
                    Some(&t) => scheduler.add_noise(&encoded, noise, t)?,
                    None => encoded,
                };
                (latents, start)
            }
            None => ((noise * scheduler.init_noise_sigma())?, 0),
        };
        let total = timesteps.len() - start;
        for (i, &t) in timesteps.iter().enumerate().skip(start) {
            req.check_cancelled()?;
            let input = if guided {
                Tensor::cat(&[&latents, &latents], 0)?
            } else {
                latents.clone()
            };
            let input = scheduler.scale_model_input(input, t)?;
            let pred = self.unet.forward(&input, t as f64, &context)?;
            let pred = if guided {
                let chunks = pred.chunk(2, 0)?;
                let (uncond, cond) = (&chunks[0], &chunks[1]);
                (uncond + ((cond - uncond)? * req.guidance)?)?
            } else {
                pred
            };
            let step = i + 1 - start;
            let preview = if req.preview_due(step, total) {
                let x0 = self.predicted_x0(scheduler.as_ref(), &pred, t, &latents)?;
                let (factors, bias) = self.config.version.latent_rgb();
                Some(latent_preview(&x0, factors, bias, f)?)
            } else {
                None
            };
            latents = scheduler.step(&pred, t, &latents)?;
            on_event(ImageEvent::Step {
                step,
                total,
                preview: preview.as_ref(),
            });
        }
        req.check_cancelled()?;
        let decoded = self.vae.decode(&(latents / self.config.vae_scale)?)?;
        self.tensor_to_image(&decoded)
    }
}

/// Latent-to-RGB factors of the Stable Diffusion 1.x/2.x VAE (SD-Turbo and the tiny test model
/// share it): row `c` is latent channel `c`'s contribution to (R, G, B). A least-squares linear fit
/// of decoded pixels on latents, as published for `ComfyUI`'s "latent2rgb" previewer
/// (`comfy/latent_formats.py`, class `SD15`); it applies to the scaled latents the `UNet` sees and
/// gives RGB in about [-1, 1].
pub const SD_LATENT_RGB_FACTORS: [[f32; 3]; 4] = [
    [0.3512, 0.2297, 0.3227],
    [0.3250, 0.4974, 0.2350],
    [-0.2829, 0.1762, 0.2721],
    [-0.2120, -0.2616, -0.7177],
];
/// The bias of [`SD_LATENT_RGB_FACTORS`]: none (`ComfyUI`'s `SD15` has no bias).
pub const SD_LATENT_RGB_BIAS: [f32; 3] = [0.0, 0.0, 0.0];
/// Latent-to-RGB factors of the SDXL VAE, from the same source (class `SDXL`).
pub const SDXL_LATENT_RGB_FACTORS: [[f32; 3]; 4] = [
    [0.3651, 0.4232, 0.4341],
    [-0.2533, -0.0042, 0.1068],
    [0.1076, 0.1111, -0.0362],
    [-0.3165, -0.2492, -0.2188],
];
/// The bias of [`SDXL_LATENT_RGB_FACTORS`] (`ComfyUI`'s `SDXL.latent_rgb_factors_bias`).
pub const SDXL_LATENT_RGB_BIAS: [f32; 3] = [0.1084, -0.0175, -0.0011];

impl SdVersion {
    /// The latent-to-RGB approximation of its VAE: factors and bias for [`latent_preview`].
    pub fn latent_rgb(self) -> (&'static [[f32; 3]; 4], [f32; 3]) {
        match self {
            Self::Xl | Self::XlTurbo => (&SDXL_LATENT_RGB_FACTORS, SDXL_LATENT_RGB_BIAS),
            Self::V1_5 | Self::V2_1 | Self::Turbo | Self::Tiny => {
                (&SD_LATENT_RGB_FACTORS, SD_LATENT_RGB_BIAS)
            }
        }
    }
}

/// A cheap preview of (scaled) latents `(1, 4, h, w)` without the VAE: per latent pixel,
/// `rgb = latent · factors + bias` (about [-1, 1]) mapped to `0..=255`, opaque, and scaled up
/// `scale` times with nearest neighbour (8 gives the decoded image's size). A few multiply-adds
/// per latent pixel, against a full VAE decode.
pub fn latent_preview(
    latents: &Tensor,
    factors: &[[f32; 3]; 4],
    bias: [f32; 3],
    scale: u32,
) -> Result<RgbaImage> {
    let (_, channels, h, w) = latents.dims4()?;
    if channels != factors.len() {
        return Err(Error::InvalidRequest(format!(
            "latent preview: {channels} latent channels, the factors have {}",
            factors.len()
        )));
    }
    let data = latents
        .i(0)?
        .to_dtype(DType::F32)?
        .flatten_all()?
        .to_vec1::<f32>()?;
    let plane = h * w;
    let small: Vec<Rgba<u8>> = (0..plane)
        .map(|i| {
            let mut rgb = bias;
            for (c, row) in factors.iter().enumerate() {
                for (out, k) in rgb.iter_mut().zip(row) {
                    *out += data[c * plane + i] * k;
                }
            }
            let byte = |v: f32| (((v + 1.0) / 2.0).clamp(0.0, 1.0) * 255.0).round() as u8;
            Rgba([byte(rgb[0]), byte(rgb[1]), byte(rgb[2]), 255])
        })
        .collect();
    let scale = scale.max(1);
    Ok(RgbaImage::from_fn(
        w as u32 * scale,
        h as u32 * scale,
        |x, y| small[(y / scale) as usize * w + (x / scale) as usize],
    ))
}

/// Makes the VAE posterior's log-variance (the second half of `quant_conv`'s outputs) constant and
/// very negative, so `sample()` returns the mean: encoding becomes deterministic.
fn pin_posterior_logvar(
    tensors: &mut HashMap<String, Tensor>,
    latent_channels: usize,
) -> candle_core::Result<()> {
    let (Some(w), Some(b)) = (
        tensors.get("quant_conv.weight"),
        tensors.get("quant_conv.bias"),
    ) else {
        return Ok(());
    };
    let (w, b) = (w.to_dtype(DType::F32)?, b.to_dtype(DType::F32)?);
    let c = latent_channels;
    let w = Tensor::cat(&[w.narrow(0, 0, c)?, w.narrow(0, c, c)?.zeros_like()?], 0)?;
    let b = Tensor::cat(
        &[
            b.narrow(0, 0, c)?,
            (b.narrow(0, c, c)?.zeros_like()? - 60.0)?,
        ],
        0,
    )?;
    tensors.insert("quant_conv.weight".into(), w);
    tensors.insert("quant_conv.bias".into(), b);
    Ok(())
}

/// Standard normal noise from Sprout's seeded [`Rng`] (Box–Muller, first uniform in `(0, 1)`),
/// the same on every machine for the same seed.
pub fn seeded_normal(
    seed: u64,
    shape: (usize, usize, usize, usize),
    device: &Device,
) -> candle_core::Result<Tensor> {
    let n = shape.0 * shape.1 * shape.2 * shape.3;
    let data = Rng::new(seed ^ 0x5eed_5eed_5eed_5eed).normals(n, NonZeroUniform::Open);
    Tensor::from_vec(data, shape, device)
}

/// Stable Diffusion as an [`ImageBackend`].
pub struct SdBackend {
    model: SdModel,
}

impl SdBackend {
    /// Wraps a loaded model.
    pub fn new(model: SdModel) -> Self {
        Self { model }
    }

    /// The model.
    pub fn model(&self) -> &SdModel {
        &self.model
    }
}

impl ImageBackend for SdBackend {
    fn native(&self) -> Native {
        let (size, steps, guidance) = self.model.config().defaults;
        Native {
            size,
            steps,
            guidance,
        }
    }

    fn describe(&self) -> String {
        let device = if self.model.device.is_cpu() {
            "cpu"
        } else {
            "gpu"
        };
        let dir = self
            .model
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!(
            "{} {dir} (candle, {device})",
            self.model.config.version.name()
        )
    }

    fn generate(
        &mut self,
        req: &ImageRequest,
        on_event: &mut dyn FnMut(ImageEvent<'_>),
    ) -> Result<RgbaImage> {
        self.model.generate(req, on_event)
    }
}

/// The words of the tiny test tokenizer (after `<|startoftext|>`, `<|endoftext|>`, `<unk>`).
const TINY_VOCAB: [&str; 24] = [
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> (tempfile::TempDir, SdBackend) {
        let dir = tempfile::tempdir().unwrap();
        write_tiny_checkpoint(dir.path()).unwrap();
        for f in [
            UNET_FILE,
            VAE_FILE,
            "text_encoder/model.safetensors",
            "tokenizer/tokenizer.json",
        ] {
            assert!(dir.path().join(f).is_file(), "{f}");
        }
        let model = SdModel::load(SdConfig::tiny(), dir.path(), Device::Cpu).unwrap();
        (dir, SdBackend::new(model))
    }

    #[test]
    fn tiny_checkpoints_use_the_diffusers_tensor_names() {
        let dir = tempfile::tempdir().unwrap();
        write_tiny_checkpoint(dir.path()).unwrap();
        let unet =
            candle_core::safetensors::load(dir.path().join(UNET_FILE), &Device::Cpu).unwrap();
        for name in [
            "conv_in.weight",
            "time_embedding.linear_1.weight",
            "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight",
            "up_blocks.1.resnets.0.conv1.weight",
            "conv_out.bias",
        ] {
            assert!(
                unet.contains_key(name),
                "{name}: {:?}",
                unet.keys().take(5).collect::<Vec<_>>()
            );
        }
        let vae = candle_core::safetensors::load(dir.path().join(VAE_FILE), &Device::Cpu).unwrap();
        assert!(
            vae.contains_key("encoder.conv_in.weight")
                && vae.contains_key("quant_conv.weight")
                && vae.contains_key("decoder.conv_out.bias")
        );
        let clip = candle_core::safetensors::load(
            dir.path().join("text_encoder/model.safetensors"),
            &Device::Cpu,
        )
        .unwrap();
        assert!(clip.contains_key("text_model.embeddings.token_embedding.weight"));
        assert!(clip.contains_key("text_model.encoder.layers.1.self_attn.q_proj.weight"));
        assert!(clip.contains_key("text_model.final_layer_norm.weight"));
    }

    #[test]
    fn txt2img_is_seed_deterministic_and_sized_as_asked() {
        let (_dir, mut sd) = tiny();
        let req = ImageRequest::new("a red turnip sprite")
            .with_size(64, 48)
            .with_steps(3)
            .with_seed(11);
        let mut steps = Vec::new();
        let a = sd.generate(&req, &mut |e| {
            let ImageEvent::Step { step, total, .. } = e;
            steps.push((step, total));
        });
        let a = a.unwrap();
        assert_eq!(a.dimensions(), (64, 48));
        assert_eq!(steps, [(1, 3), (2, 3), (3, 3)]);
        let b = sd.generate(&req, &mut |_| {}).unwrap();
        assert_eq!(a, b, "same seed, same pixels");
        let c = sd
            .generate(&req.clone().with_seed(12), &mut |_| {})
            .unwrap();
        assert_ne!(a, c, "another seed, another image");
        let unguided = sd
            .generate(&req.clone().with_guidance(0.0), &mut |_| {})
            .unwrap();
        assert_eq!(unguided.dimensions(), (64, 48));
        assert!(matches!(
            sd.generate(&req.clone().with_size(60, 48), &mut |_| {}),
            Err(Error::InvalidRequest(_))
        ));
    }

    #[test]
    fn img2img_starts_from_the_init_image_deterministically() {
        let (_dir, mut sd) = tiny();
        let init = RgbaImage::from_fn(32, 32, |x, y| Rgba([(x * 8) as u8, (y * 8) as u8, 90, 255]));
        let req = ImageRequest::new("a green tree")
            .with_size(64, 64)
            .with_steps(4)
            .with_seed(3)
            .with_init(init.clone(), 0.5);
        let mut steps = 0;
        let a = sd.generate(&req, &mut |_| steps += 1).unwrap();
        assert_eq!(a.dimensions(), (64, 64));
        assert_eq!(steps, 2, "strength 0.5 runs half the steps");
        assert_eq!(a, sd.generate(&req, &mut |_| {}).unwrap());
        let other_init = RgbaImage::from_pixel(32, 32, Rgba([250, 250, 250, 255]));
        let b = sd
            .generate(&req.clone().with_init(other_init, 0.5), &mut |_| {})
            .unwrap();
        assert_ne!(a, b, "the init image shapes the result");
    }

    #[test]
    fn cancelled_requests_stop() {
        let (_dir, mut sd) = tiny();
        let req = ImageRequest::new("a stone").with_size(32, 32).with_steps(5);
        let cancel = req.cancel.clone();
        let mut seen = 0;
        let r = sd.generate(&req, &mut |_| {
            seen += 1;
            cancel.cancel();
        });
        assert!(matches!(r, Err(Error::Cancelled)));
        assert_eq!(seen, 1);
    }

    #[test]
    fn latent_previews_are_the_linear_map_scaled_up() {
        // One latent pixel per channel set to 1 at (0, 0); (1, 0) all zero.
        let mut data = vec![0f32; 4 * 2];
        data[0] = 1.0; // channel 0
        data[2 * 2] = -1.0; // channel 2
        let latents = Tensor::from_vec(data, (1, 4, 1, 2), &Device::Cpu).unwrap();
        let img = latent_preview(&latents, &SD_LATENT_RGB_FACTORS, SD_LATENT_RGB_BIAS, 8).unwrap();
        assert_eq!(img.dimensions(), (16, 8));
        let rgb = |k: usize| SD_LATENT_RGB_FACTORS[0][k] - SD_LATENT_RGB_FACTORS[2][k];
        let byte = |v: f32| (((v + 1.0) / 2.0) * 255.0).round() as u8;
        let want = Rgba([byte(rgb(0)), byte(rgb(1)), byte(rgb(2)), 255]);
        assert_eq!(img.get_pixel(0, 0), &want);
        assert_eq!(
            img.get_pixel(7, 7),
            &want,
            "nearest ×8: one latent pixel, 8×8 pixels"
        );
        assert_eq!(
            img.get_pixel(8, 0),
            &Rgba([128, 128, 128, 255]),
            "zero latents are grey"
        );
        let (factors, bias) = SdVersion::XlTurbo.latent_rgb();
        assert_eq!(bias, SDXL_LATENT_RGB_BIAS);
        let xl = latent_preview(&latents, factors, bias, 1).unwrap();
        assert_eq!(xl.get_pixel(1, 0)[0], byte(SDXL_LATENT_RGB_BIAS[0]));
        let three = Tensor::zeros((1, 3, 2, 2), DType::F32, &Device::Cpu).unwrap();
        assert!(latent_preview(&three, factors, bias, 8).is_err());
    }

    #[test]
    fn versions_have_names_and_configs() {
        for v in SdVersion::ALL {
            assert_eq!(SdVersion::from_name(v.name()), Some(v));
            let c = SdConfig::for_version(v);
            assert_eq!(c.vae_factor(), 8);
        }
        assert_eq!(SdConfig::for_version(SdVersion::Xl).text_encoders.len(), 2);
        let (dir, _) = (tempfile::tempdir().unwrap(), ());
        assert!(matches!(
            SdModel::load(SdConfig::tiny(), dir.path(), Device::Cpu),
            Err(Error::Model { .. })
        ));
    }
}
