//! Sampling: seeded noise, then DDIM steps with classifier-free guidance (txt2img, or img2img
//! from the init image's latents), with step previews and cancellation.

use candle_core::{DType, Device, Tensor};
use candle_transformers::models::stable_diffusion::schedulers::SchedulerConfig;
use candle_transformers::models::stable_diffusion::schedulers::{PredictionType, Scheduler};
use image::RgbaImage;

use crate::diffusion::backend::{Error, ImageEvent, ImageRequest, Result};
use crate::rng::{NonZeroUniform, Rng};

use super::model::*;
use super::preview::latent_preview;

impl SdModel {
    /// The clean latents the model predicts at timestep `t` from the noisy `latents` and its
    /// (guided) output `pred`: DDIM's "predicted x0", as the scheduler computes it inside `step`.
    pub(super) fn predicted_x0(
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

    /// Generates one image; see [`ImageBackend::generate`](super::super::ImageBackend::generate).
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
