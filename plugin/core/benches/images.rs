//! Image benchmark: the finishing ops per image size (pixel art, background removal, seamless
//! tiling, outline, voxel prop + glb), Stable Diffusion steps per second on the tiny
//! random-weight configuration (the real code path; real models are hundreds of times larger),
//! and, with feature `sprite`, the embedded sprite model; both without and with step previews.
//!
//! `cargo bench -p sprout_core --features sprite --bench images` (or `--features diffusion`
//! without the sprite model). Prints the median of several rounds per op.

use std::time::{Duration, Instant};

use image::{Rgba, RgbaImage};
use sprout_core::diffusion::sd::{SdBackend, SdConfig, SdModel, write_tiny_checkpoint};
use sprout_core::diffusion::{ImageBackend, ImageRequest};
use sprout_core::finish::{self, BackgroundRemoval, PaletteChoice, PixelArt};
use sprout_core::mesh::{self, Material};

const ROUNDS: usize = 5;

fn median(mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[ROUNDS / 2]
}

/// A generated-looking picture: a flat backdrop, a shaded disc, some texture.
fn picture(size: u32) -> RgbaImage {
    let c = size as f32 / 2.0;
    RgbaImage::from_fn(size, size, |x, y| {
        let (dx, dy) = (x as f32 - c, y as f32 - c);
        let r = (dx * dx + dy * dy).sqrt() / c;
        if r < 0.6 {
            let shade = (255.0 * (1.0 - r)) as u8;
            Rgba([shade, (x * 7 % 200) as u8, 60, 255])
        } else {
            Rgba([200, 220, 240, 255])
        }
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    println!("finishing ops, median of {ROUNDS} (ms per image)");
    println!("{:<34} {:>9} {:>9} {:>9}", "op", "64²", "256²", "512²");
    let sizes = [64u32, 256, 512];
    let pics: Vec<RgbaImage> = sizes.iter().map(|&s| picture(s)).collect();
    type Op = Box<dyn Fn(&RgbaImage)>;
    let ops: Vec<(&str, Op)> = vec![
        (
            "pixelate to 32², adaptive 16",
            Box::new(|img| {
                let opts = PixelArt {
                    palette: PaletteChoice::Adaptive(16),
                    ..PixelArt::new(32, 32)
                };
                std::hint::black_box(finish::pixelate(img, &opts).unwrap());
            }),
        ),
        (
            "remove background (border)",
            Box::new(|img| {
                std::hint::black_box(finish::remove_background(
                    img,
                    &BackgroundRemoval::default(),
                ));
            }),
        ),
        (
            "make seamless",
            Box::new(|img| {
                std::hint::black_box(finish::make_seamless(img));
            }),
        ),
        (
            "seam error",
            Box::new(|img| {
                std::hint::black_box(finish::seam_error(img));
            }),
        ),
        (
            "outline 1px",
            Box::new(|img| {
                std::hint::black_box(finish::outline(img, [20, 10, 30, 255], 1));
            }),
        ),
        (
            "voxel prop + glb (after bg removal)",
            Box::new(|img| {
                let sprite = finish::remove_background(img, &BackgroundRemoval::default());
                let m = mesh::extrude_sprite(&sprite, 2, 1.0 / 16.0).unwrap();
                std::hint::black_box(
                    mesh::write_glb(&m, &Material::matte("p"), "p", "bench").unwrap(),
                );
            }),
        ),
    ];
    for (name, op) in &ops {
        let times: Vec<f64> = pics.iter().map(|p| ms(median(|| op(p)))).collect();
        println!(
            "{name:<34} {:>9.2} {:>9.2} {:>9.2}",
            times[0], times[1], times[2]
        );
    }

    let dir = std::env::temp_dir().join(format!("sprout-bench-sd-tiny-{}", std::process::id()));
    write_tiny_checkpoint(&dir).unwrap();
    let model = SdModel::load(SdConfig::tiny(), &dir, candle_core::Device::Cpu).unwrap();
    let mut sd = SdBackend::new(model);
    println!("\nStable Diffusion, tiny config (CPU), 8 steps, median of {ROUNDS}");
    for (label, size, guidance, previews) in [
        ("64², guided", 64, 7.5, 0),
        ("64², unguided", 64, 0.0, 0),
        ("128², guided", 128, 7.5, 0),
        ("128², previews/1", 128, 7.5, 1),
    ] {
        let req = ImageRequest::new("a red turnip")
            .with_size(size, size)
            .with_steps(8)
            .with_guidance(guidance)
            .with_previews(previews);
        sd.generate(&req, &mut |_| {}).unwrap();
        let d = median(|| {
            std::hint::black_box(sd.generate(&req, &mut |_| {}).unwrap());
        });
        println!(
            "{label:<16} {:>8.1} ms/image {:>8.1} steps/s",
            ms(d),
            8.0 / d.as_secs_f64()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);

    #[cfg(feature = "sprite")]
    sprite_bench();
}

/// The embedded sprite model: one 16² sprite, 20 steps with guidance, raw (no finishing); then the
/// v2 model (`models/sprite/v2`) at 32² and 16² beside it, as a ratio to the embedded 16² sprite.
#[cfg(feature = "sprite")]
fn sprite_bench() {
    use sprout_core::diffusion::sprite::{
        DEFAULT_GUIDANCE, DEFAULT_STEPS, DEFAULT_STEPS_V2, SpriteBackend,
    };
    let mut backend = SpriteBackend::embedded().unwrap();
    backend.finish = None;
    println!("\nsprite model (CPU), 16², {DEFAULT_STEPS} steps, median of {ROUNDS}");
    let req = |size: u32, steps: usize, previews: usize| {
        ImageRequest::new("carrot")
            .with_size(size, size)
            .with_steps(steps)
            .with_guidance(DEFAULT_GUIDANCE)
            .with_previews(previews)
    };
    let time = |backend: &mut SpriteBackend, req: &ImageRequest| {
        backend.generate(req, &mut |_| {}).unwrap();
        median(|| {
            std::hint::black_box(backend.generate(req, &mut |_| {}).unwrap());
        })
    };
    let mut v1 = Duration::ZERO;
    for (label, previews) in [
        ("no previews", 0),
        ("previews every 5", 5),
        ("previews every step", 1),
    ] {
        let d = time(&mut backend, &req(16, DEFAULT_STEPS, previews));
        if previews == 0 {
            v1 = d;
        }
        println!("{label:<20} {:>8.2} ms/sprite", ms(d));
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/sprite/v2");
    let mut v2 = SpriteBackend::from_dir(&dir).unwrap();
    v2.finish = None;
    println!("v2 model (ratio to the embedded model's 16² sprite at {DEFAULT_STEPS} steps)");
    for (size, steps) in [
        (32, DEFAULT_STEPS_V2),
        (32, DEFAULT_STEPS),
        (16, DEFAULT_STEPS_V2),
    ] {
        let d = time(&mut v2, &req(size, steps, 0));
        println!(
            "v2 {size}², {steps} steps{:<6} {:>8.2} ms/sprite {:>6.2}×",
            "",
            ms(d),
            d.as_secs_f64() / v1.as_secs_f64()
        );
    }
}
