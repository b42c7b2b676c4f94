//! What shapes a Stable Diffusion model: the versions Sprout knows, their `UNet`, VAE, text
//! encoder and scheduler settings, and the diffusers folder layout.

use candle_transformers::models::clip::text_model::{Activation, ClipTextConfig};
use candle_transformers::models::stable_diffusion::clip as sd_clip;
use candle_transformers::models::stable_diffusion::ddim::DDIMSchedulerConfig;
use candle_transformers::models::stable_diffusion::schedulers::{PredictionType, TimestepSpacing};
use candle_transformers::models::stable_diffusion::unet_2d::{
    BlockConfig, UNet2DConditionModelConfig,
};
use candle_transformers::models::stable_diffusion::vae::AutoEncoderKLConfig;

use super::tiny::TINY_VOCAB;

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

pub(super) fn bc(
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

pub(super) fn unet(
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

pub(super) fn sd_vae() -> AutoEncoderKLConfig {
    AutoEncoderKLConfig {
        block_out_channels: vec![128, 256, 512, 512],
        layers_per_block: 2,
        latent_channels: 4,
        norm_num_groups: 32,
        use_quant_conv: true,
        use_post_quant_conv: true,
    }
}

pub(super) fn ddim(
    prediction_type: PredictionType,
    timestep_spacing: TimestepSpacing,
) -> DDIMSchedulerConfig {
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

    pub(super) fn cross_attention_dim(&self) -> usize {
        self.unet.cross_attention_dim
    }
}

/// Folder names of the diffusers layout: (text encoder, tokenizer) for encoder `i`.
pub(super) fn text_dirs(i: usize) -> (String, String) {
    if i == 0 {
        ("text_encoder".into(), "tokenizer".into())
    } else {
        (
            format!("text_encoder_{}", i + 1),
            format!("tokenizer_{}", i + 1),
        )
    }
}

pub(super) const UNET_FILE: &str = "unet/diffusion_pytorch_model.safetensors";
pub(super) const VAE_FILE: &str = "vae/diffusion_pytorch_model.safetensors";
