//! Step previews through the [`ImageBackend`] trait: the embedded sprite model (its estimate of the
//! finished sprite) and Stable Diffusion on the tiny random-weight checkpoint (the linear
//! latent-to-RGB map of the predicted clean latents) send them at the requested cadence, at the
//! request's size, and none when none are asked for; asking for them does not change the result.

use candle_core::Device;
use sprout_core::diffusion::sd::{SdBackend, SdConfig, SdModel, write_tiny_checkpoint};
use sprout_core::diffusion::sprite::SpriteBackend;
use sprout_core::diffusion::{ImageBackend, ImageEvent, ImageRequest, RgbaImage};

/// Runs `req`; returns the image and every preview with its step.
fn run(backend: &mut dyn ImageBackend, req: &ImageRequest) -> (RgbaImage, Vec<(usize, RgbaImage)>) {
    let mut previews = Vec::new();
    let mut steps = 0;
    let image = backend
        .generate(req, &mut |e| {
            let ImageEvent::Step { step, preview, .. } = e else {
                return;
            };
            steps += 1;
            if let Some(p) = preview {
                previews.push((step, p.clone()));
            }
        })
        .expect("generate");
    assert!(steps > 0, "no step events");
    (image, previews)
}

fn steps_of(previews: &[(usize, RgbaImage)]) -> Vec<usize> {
    previews.iter().map(|p| p.0).collect()
}

#[test]
fn sprite_previews_arrive_every_k_steps_and_end_on_the_image() {
    let mut backend = SpriteBackend::embedded().expect("embedded model");
    backend.finish = None;
    let req = ImageRequest::new("carrot")
        .with_size(16, 16)
        .with_steps(20)
        .with_guidance(3.0)
        .with_seed(4);

    let (plain, none) = run(&mut backend, &req);
    assert!(none.is_empty(), "previews without asking");

    let (image, previews) = run(&mut backend, &req.clone().with_previews(6));
    assert_eq!(steps_of(&previews), [6, 12, 18, 20]);
    assert_eq!(image, plain, "previews do not change the sprite");
    for (step, p) in &previews {
        assert_eq!(p.dimensions(), (16, 16), "step {step}");
    }
    let last = &previews.last().expect("a last preview").1;
    assert_eq!(last, &image, "the last estimate is the sprite");
    assert_ne!(previews[0].1, image, "early estimates are rougher");

    // Previews come at the request's size, as the image does (nearest ×2 here).
    let big = req.clone().with_size(32, 32).with_previews(10);
    let (image, previews) = run(&mut backend, &big);
    assert_eq!(steps_of(&previews), [10, 20]);
    assert_eq!(previews[1].1.dimensions(), (32, 32));
    assert_eq!(previews[1].1, image);
}

#[test]
fn finished_sprites_end_close_to_their_last_preview() {
    // With the default finishing (palette, binary alpha) the last preview is the raw sample: the
    // silhouette is the same up to the alpha threshold's edge pixels.
    let mut backend = SpriteBackend::embedded().expect("embedded model");
    let req = ImageRequest::new("tomato")
        .with_size(16, 16)
        .with_steps(20)
        .with_guidance(3.0)
        .with_seed(9)
        .with_previews(20);
    let (image, previews) = run(&mut backend, &req);
    assert_eq!(steps_of(&previews), [20]);
    let last = &previews[0].1;
    let differ = image
        .pixels()
        .zip(last.pixels())
        .filter(|(a, b)| (a[3] >= 128) != (b[3] >= 128))
        .count();
    assert!(differ <= 2, "{differ} of 256 pixels change opacity");
}

#[test]
fn stable_diffusion_previews_come_from_the_latents_at_the_image_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_tiny_checkpoint(dir.path()).expect("tiny checkpoint");
    let model = SdModel::load(SdConfig::tiny(), dir.path(), Device::Cpu).expect("load");
    let mut sd = SdBackend::new(model);
    let req = ImageRequest::new("a red turnip")
        .with_size(32, 24)
        .with_steps(5)
        .with_seed(2);

    let (plain, none) = run(&mut sd, &req);
    assert!(none.is_empty(), "previews without asking");

    let (image, previews) = run(&mut sd, &req.clone().with_previews(2));
    assert_eq!(steps_of(&previews), [2, 4, 5]);
    assert_eq!(image, plain, "previews do not change the image");
    for (step, p) in &previews {
        assert_eq!(p.dimensions(), (32, 24), "step {step}");
        assert!(p.pixels().all(|px| px[3] == 255));
        // Nearest ×8 from the 4×3 latents: every 8×8 block is one colour.
        for (x, y, px) in p.enumerate_pixels() {
            assert_eq!(px, p.get_pixel(x & !7, y & !7), "step {step} at ({x},{y})");
        }
    }
    assert_ne!(previews[0].1, previews[2].1, "the estimate moves");

    // img2img counts its previews over the steps it runs.
    let init = RgbaImage::from_pixel(32, 24, [200, 120, 40, 255].into());
    let half = req
        .clone()
        .with_steps(4)
        .with_init(init, 0.5)
        .with_previews(1);
    let (_, previews) = run(&mut sd, &half);
    assert_eq!(steps_of(&previews), [1, 2]);
}
