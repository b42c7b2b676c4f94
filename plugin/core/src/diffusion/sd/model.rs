//! A loaded Stable Diffusion model: the diffusers-layout weights read into candle's `UNet`, VAE
//! and CLIP text encoders, the prompt encoding and the conversions between images and tensors.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_core::{IndexOp, Module};
use candle_nn::VarBuilder;
use candle_transformers::models::clip::text_model::ClipTextTransformer;
use candle_transformers::models::stable_diffusion::clip as sd_clip;
use candle_transformers::models::stable_diffusion::unet_2d::UNet2DConditionModel;
use candle_transformers::models::stable_diffusion::vae::AutoEncoderKL;
use image::{Rgba, RgbaImage, imageops};

use crate::diffusion::backend::{Error, Result};

use super::config::*;

pub(super) enum TextModel {
    Sd(sd_clip::ClipTextTransformer),
    Custom(ClipTextTransformer),
}

impl TextModel {
    pub(super) fn forward(&self, ids: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Self::Sd(m) => m.forward(ids),
            Self::Custom(m) => m.forward_with_mask(ids, usize::MAX),
        }
    }
}

pub(super) struct TextEncoder {
    pub(super) model: TextModel,
    pub(super) tokenizer: tokenizers::Tokenizer,
    pub(super) pad_id: u32,
}

/// A loaded Stable Diffusion model.
pub struct SdModel {
    pub(super) config: SdConfig,
    pub(super) unet: UNet2DConditionModel,
    pub(super) vae: AutoEncoderKL,
    pub(super) text: Vec<TextEncoder>,
    pub(super) device: Device,
    pub(super) dtype: DType,
    pub(super) dir: PathBuf,
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

pub(super) fn model_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Model {
        path: path.to_owned(),
        message: message.into(),
    }
}

pub(super) fn safetensors_vb(
    path: &Path,
    dtype: DType,
    device: &Device,
) -> Result<VarBuilder<'static>> {
    if !path.is_file() {
        return Err(model_err(path, "missing"));
    }
    let tensors =
        candle_core::safetensors::load(path, device).map_err(|e| model_err(path, e.to_string()))?;
    Ok(VarBuilder::from_tensors(tensors, dtype, device))
}

impl SdModel {
    /// Loads the model in `dir` (diffusers layout, see the [module docs](super)) on `device`, in
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

    /// True when `dir` holds every file [`SdModel::load`] reads for `version` (`UNet`, VAE, each
    /// text encoder and its tokenizer).
    pub fn is_complete(version: SdVersion, dir: &Path) -> bool {
        let n = SdConfig::for_version(version).text_encoders.len();
        [UNET_FILE, VAE_FILE].iter().all(|f| dir.join(f).is_file())
            && (0..n).all(|i| {
                let (enc, tok) = text_dirs(i);
                dir.join(enc).join("model.safetensors").is_file()
                    && dir.join(tok).join("tokenizer.json").is_file()
            })
    }

    /// The local folder holding a complete copy of `version`, without downloading anything:
    /// `$SPROUT_SD_DIR` when it is complete, else the Hugging Face cache (`$HF_HOME`) where an
    /// earlier [`SdModel::fetch`] left it. `None` means Stable Diffusion is not on this machine,
    /// so callers pick the embedded sprite model instead of reaching for the hub.
    pub fn local(version: SdVersion) -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("SPROUT_SD_DIR").map(PathBuf::from) {
            return Self::is_complete(version, &dir).then_some(dir);
        }
        Self::cached(version)
    }

    #[cfg(feature = "hf-hub")]
    fn cached(version: SdVersion) -> Option<PathBuf> {
        let unet = hf_hub::Cache::from_env()
            .model(version.repo()?.to_owned())
            .get(UNET_FILE)?;
        let dir = unet.parent()?.parent()?.to_owned();
        Self::is_complete(version, &dir).then_some(dir)
    }

    #[cfg(not(feature = "hf-hub"))]
    fn cached(_version: SdVersion) -> Option<PathBuf> {
        None
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
            .map_err(|e| Error::Backend {
                backend: version.name().into(),
                message: format!("starting the download runtime: {e}"),
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

    pub(super) fn encode_prompt(&self, prompt: &str) -> Result<Tensor> {
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

    pub(super) fn image_to_tensor(&self, image: &RgbaImage, w: u32, h: u32) -> Result<Tensor> {
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

    pub(super) fn tensor_to_image(&self, t: &Tensor) -> Result<RgbaImage> {
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
}

/// Makes the VAE posterior's log-variance (the second half of `quant_conv`'s outputs) constant and
/// very negative, so `sample()` returns the mean: encoding becomes deterministic.
pub(super) fn pin_posterior_logvar(
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
