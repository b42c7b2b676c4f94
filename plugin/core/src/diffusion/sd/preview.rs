//! Step previews without the VAE: a fixed linear latent-to-RGB map at latent resolution,
//! scaled up to the image's size.

use candle_core::IndexOp;
use candle_core::{DType, Tensor};
use image::{Rgba, RgbaImage};

use crate::diffusion::backend::{Error, Result};

use super::config::*;

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
