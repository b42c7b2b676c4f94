//! Stable Diffusion on candle: SD 1.5, 2.1, SD-Turbo, SDXL and SDXL-Turbo from a diffusers-layout
//! folder, as an [`ImageBackend`](super::ImageBackend) (txt2img and img2img), on the CPU by
//! default (features `cuda`, `metal` forwarded to candle).
//!
//! A model folder holds `unet/diffusion_pytorch_model.safetensors`,
//! `vae/diffusion_pytorch_model.safetensors`, `text_encoder/model.safetensors` and
//! `tokenizer/tokenizer.json` (plus `text_encoder_2/` and `tokenizer_2/` for SDXL): the diffusers
//! tensor names, and a CLIP tokenizer in the `tokenizers` JSON format (diffusers repositories ship
//! `vocab.json` + `merges.txt`; convert them once, or take `tokenizer.json` from the matching CLIP
//! repository). With feature `hf-hub`, `SdModel::fetch` downloads those files.
//!
//! Step previews ([`ImageRequest::preview_every`](super::ImageRequest::preview_every)) skip the
//! VAE: the predicted clean latents go through a fixed linear latent-to-RGB map
//! ([`latent_preview`]) at latent resolution, scaled up to the image's size.
//!
//! Determinism: the same request and seed give identical pixels on one machine. Noise comes from
//! Sprout's own seeded generator (candle cannot seed its CPU RNG), every scheduler is DDIM with
//! eta 0 (SD-Turbo and SDXL-Turbo use "trailing" timesteps instead of candle's ancestral Euler,
//! which draws unseeded noise), and img2img encodes the init image to the VAE posterior's mean (the
//! quant conv's log-variance rows are pinned so the posterior sample *is* the mean).
//!
//! [`SdConfig::tiny`] is a small (well under a million parameters) configuration for tests and
//! benchmarks: `write_tiny_checkpoint` (hidden from the docs) writes a random-weight folder in
//! exactly the layout above, and it runs through the same [`SdModel::load`] path real weights
//! take.
//!
//! Files, as in candle-transformers' `stable_diffusion/`: `config.rs` (versions, configurations,
//! folder layout), `model.rs` (loading, prompt encoding), `sample.rs` (noise and the DDIM loop),
//! `preview.rs` (latent previews), `backend.rs` ([`SdBackend`]) and `tiny.rs` (the test
//! checkpoint).

mod backend;
mod config;
mod model;
mod preview;
mod sample;
#[cfg(test)]
mod tests;
#[doc(hidden)]
pub mod tiny;

pub use backend::SdBackend;
pub use config::{SdConfig, SdVersion, TextEncoderConfig};
pub use model::{SdModel, default_device};
pub use preview::{
    SD_LATENT_RGB_BIAS, SD_LATENT_RGB_FACTORS, SDXL_LATENT_RGB_BIAS, SDXL_LATENT_RGB_FACTORS,
    latent_preview,
};
pub use sample::seeded_normal;
#[doc(hidden)]
pub use tiny::write_tiny_checkpoint;
