//! Tests of the Stable Diffusion backend on the tiny checkpoint.

use candle_core::{DType, Device, Tensor};
use image::{Rgba, RgbaImage};

use crate::diffusion::backend::ImageBackend;
use crate::diffusion::backend::{Error, ImageEvent, ImageRequest};

use super::config::*;
use super::model::*;
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
    let unet = candle_core::safetensors::load(dir.path().join(UNET_FILE), &Device::Cpu).unwrap();
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
