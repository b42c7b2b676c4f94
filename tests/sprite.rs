//! The embedded sprite model: the shipped weights load, sampling is deterministic per seed, the
//! candle inference matches the `PyTorch` trainer's stored reference output, and the backend's output
//! is a finished sprite (binary alpha, a small palette). The v2 model (`models/sprite/v2`, 32×32,
//! cross-attention on frozen LLM token embeddings): tokenizer and sampler match `PyTorch` too.

use std::path::Path;

use candle_core::{Device, Tensor};
use sha2::{Digest, Sha256};
use sprout_core::diffusion::sprite::v2::SpriteModel2;
use sprout_core::diffusion::sprite::{
    Sampling, SpriteBackend, SpriteModel, SpriteNet, seeded_noise,
};
use sprout_core::diffusion::{ImageBackend, ImageRequest};

const PARITY_TOLERANCE: f32 = 2e-3;

fn request(prompt: &str, seed: u64) -> ImageRequest {
    ImageRequest::new(prompt)
        .with_size(16, 16)
        .with_steps(20)
        .with_guidance(3.0)
        .with_seed(seed)
}

#[test]
fn candle_sampler_matches_the_pytorch_reference() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sprite");
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("parity.json")).expect("json"))
            .expect("parity.json");
    let tensors =
        candle_core::safetensors::load(dir.join("parity.safetensors"), &Device::Cpu).expect("load");
    let noise = &tensors["noise"];
    let expected = &tensors["expected"];
    let model = SpriteModel::embedded().expect("embedded model");

    let prompts: Vec<&str> = meta["prompts"]
        .as_array()
        .expect("prompts")
        .iter()
        .map(|p| p.as_str().expect("prompt"))
        .collect();
    let tokens: Vec<Vec<u32>> = prompts.iter().map(|p| model.tokenize(p)).collect();
    let reference: Vec<Vec<u32>> = serde_json::from_value(meta["tokens"].clone()).expect("tokens");
    assert_eq!(tokens, reference, "tokenizer differs from the trainer's");

    let steps = meta["steps"].as_u64().expect("steps") as usize;
    let guidance = meta["guidance"].as_f64().expect("guidance");
    let uncond = vec![Vec::new(); prompts.len()];
    let out = model
        .sample(
            noise,
            &tokens,
            &uncond,
            Sampling {
                steps,
                guidance,
                t_start: 1.0,
            },
            &mut |_| Ok(()),
        )
        .expect("sample");
    let diff = (out - expected)
        .expect("sub")
        .abs()
        .expect("abs")
        .flatten_all()
        .expect("flatten")
        .max(0)
        .expect("max")
        .to_scalar::<f32>()
        .expect("scalar");
    let range = expected
        .abs()
        .expect("abs")
        .flatten_all()
        .expect("flatten")
        .max(0)
        .expect("max")
        .to_scalar::<f32>()
        .expect("scalar");
    assert!(range > 0.1, "the reference output is degenerate ({range})");
    eprintln!("candle vs PyTorch: max abs diff {diff} (outputs up to {range})");
    assert!(diff < PARITY_TOLERANCE, "max abs diff {diff} vs PyTorch");
}

#[test]
fn sampling_is_deterministic_per_seed() {
    let mut backend = SpriteBackend::embedded().expect("embedded model");
    backend.finish = None;
    let a = backend
        .generate(&request("carrot", 7), &mut |_| {})
        .expect("a");
    let b = backend
        .generate(&request("carrot", 7), &mut |_| {})
        .expect("b");
    let c = backend
        .generate(&request("carrot", 8), &mut |_| {})
        .expect("c");
    assert_eq!((a.width(), a.height()), (16, 16));
    assert_eq!(a, b, "same seed, same pixels");
    assert_ne!(a, c, "another seed, another sprite");
}

#[test]
fn backend_output_is_finished_and_scaled() {
    let mut backend = SpriteBackend::embedded().expect("embedded model");
    let mut steps = Vec::new();
    let img = backend
        .generate(&request("tomato", 3).with_size(32, 32), &mut |e| {
            let sprout_core::diffusion::ImageEvent::Step { step, total, .. } = e else {
                return;
            };
            steps.push((step, total));
        })
        .expect("generate");
    assert_eq!(steps, (1..=20).map(|s| (s, 20)).collect::<Vec<_>>());
    assert_eq!((img.width(), img.height()), (32, 32));
    // Binary alpha, at most 16 colours, and each 2×2 block one colour (nearest-neighbour ×2).
    let mut colours = std::collections::BTreeSet::new();
    for (x, y, p) in img.enumerate_pixels() {
        assert!(p[3] == 0 || p[3] == 255, "alpha {} at ({x},{y})", p[3]);
        assert_eq!(p, img.get_pixel(x & !1, y & !1));
        if p[3] == 255 {
            colours.insert([p[0], p[1], p[2]]);
        }
    }
    assert!(colours.len() <= 16, "{} colours", colours.len());
    assert!(
        backend
            .generate(&request("tomato", 3).with_size(24, 24), &mut |_| {})
            .is_err(),
        "24 is not a multiple of 16"
    );
}

#[test]
fn unknown_words_are_reported_and_ignored() {
    let model = SpriteModel::embedded().expect("embedded model");
    assert!(!model.tokenize("carrot").is_empty());
    assert_eq!(model.unknown_words("Carrot qwzx"), ["qwzx"]);
    assert_eq!(model.tokenize("carrot qwzx"), model.tokenize("carrot"));
}

#[test]
fn seeded_noise_is_standard_normal_and_stable() {
    let n = seeded_noise(42, 100_000);
    let mean = n.iter().sum::<f32>() / n.len() as f32;
    let var = n.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n.len() as f32;
    assert!(
        mean.abs() < 0.02 && (var - 1.0).abs() < 0.03,
        "{mean} {var}"
    );
    assert_eq!(seeded_noise(42, 5), n[..5]);
    let t = Tensor::new(&n[..4], &Device::Cpu).expect("tensor");
    assert_eq!(t.dims(), [4]);
}

fn max_abs(t: &Tensor) -> f32 {
    t.abs()
        .expect("abs")
        .flatten_all()
        .expect("flatten")
        .max(0)
        .expect("max")
        .to_scalar::<f32>()
        .expect("scalar")
}

#[test]
fn v2_candle_sampler_matches_the_pytorch_reference() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("fixtures/sprite");
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("parity2.json")).expect("json"))
            .expect("parity2.json");
    let tensors = candle_core::safetensors::load(dir.join("parity2.safetensors"), &Device::Cpu)
        .expect("load");
    let model = SpriteModel2::from_dir(&root.join("../models/sprite/v2")).expect("v2 model");
    assert_eq!(
        model.config().step,
        meta["step"].as_u64(),
        "the fixture was made from other weights: rerun reference2.py"
    );
    let prompts: Vec<&str> = meta["prompts"]
        .as_array()
        .expect("prompts")
        .iter()
        .map(|p| p.as_str().expect("prompt"))
        .collect();
    let tokens: Vec<Vec<u32>> = prompts.iter().map(|p| model.tokenize(p)).collect();
    let reference: Vec<Vec<u32>> = serde_json::from_value(meta["tokens"].clone()).expect("tokens");
    assert_eq!(tokens, reference, "tokenizer differs from the trainer's");
    let sampling = Sampling {
        steps: meta["steps"].as_u64().expect("steps") as usize,
        guidance: meta["guidance"].as_f64().expect("guidance"),
        t_start: 1.0,
    };
    let uncond = vec![Vec::new(); prompts.len()];
    let out = model
        .sample(&tensors["noise"], &tokens, &uncond, sampling, &mut |_| {
            Ok(())
        })
        .expect("sample");
    let expected = &tensors["expected"];
    let diff = max_abs(&(out - expected).expect("sub"));
    let range = max_abs(expected);
    assert!(range > 0.1, "the reference output is degenerate ({range})");
    eprintln!("v2 candle vs PyTorch: max abs diff {diff} (outputs up to {range})");
    assert!(diff < PARITY_TOLERANCE, "max abs diff {diff} vs PyTorch");
}

#[test]
fn v2_draws_deterministic_sprites_at_32_and_16() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let model = SpriteModel2::from_dir(&root.join("../models/sprite/v2")).expect("v2 model");
    let req = |size: u32, seed: u64| {
        ImageRequest::new("carrot")
            .with_size(size, size)
            .with_steps(4)
            .with_guidance(3.0)
            .with_seed(seed)
    };
    let a = model.generate(&req(32, 5), &mut |_| Ok(())).expect("a");
    let b = model.generate(&req(32, 5), &mut |_| Ok(())).expect("b");
    let c = model.generate(&req(32, 6), &mut |_| Ok(())).expect("c");
    assert_eq!((a.width(), a.height()), (32, 32));
    assert_eq!(a, b, "same seed, same pixels");
    assert_ne!(a, c, "another seed, another sprite");
    let small = model.generate(&req(16, 5), &mut |_| Ok(())).expect("16");
    assert_eq!((small.width(), small.height()), (16, 16));
    assert!(model.generate(&req(24, 5), &mut |_| Ok(())).is_err());
}

#[test]
fn backend_opens_either_model_folder_and_draws_v2_at_its_sizes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let v1 = SpriteBackend::from_dir(&SpriteBackend::repo_dir(&root)).expect("v1 folder");
    assert!(matches!(v1.net(), SpriteNet::V1(_)));
    assert_eq!(v1.model_ref().expect("ref").id, "sprout-sprite");

    let mut v2 = SpriteBackend::from_dir(&root.join("models/sprite/v2")).expect("v2 folder");
    assert!(matches!(v2.net(), SpriteNet::V2(_)));
    assert_eq!(v2.native().size, 32);
    assert_eq!(v2.native().steps, 10);
    assert_eq!(v1.native().steps, 20);
    let model_ref = v2.model_ref().expect("ref");
    assert_eq!(model_ref.id, "sprout-sprite-v2");
    let weights = std::fs::read(root.join("models/sprite/v2/sprite.safetensors")).expect("weights");
    assert_eq!(model_ref.sha256, format!("{:x}", Sha256::digest(&weights)));

    let req = |size: u32| request("carrot", 5).with_size(size, size).with_steps(4);
    let opaque_colours = |img: &image::RgbaImage| {
        let mut colours = std::collections::BTreeSet::new();
        for p in img.pixels() {
            assert!(
                p[3] == 0 || p[3] == 255,
                "finished alpha is binary, not {}",
                p[3]
            );
            if p[3] == 255 {
                colours.insert([p[0], p[1], p[2]]);
            }
        }
        colours.len()
    };
    let at32 = v2.generate(&req(32), &mut |_| {}).expect("32");
    assert_eq!(at32.dimensions(), (32, 32));
    let n = opaque_colours(&at32);
    assert!((1..=16).contains(&n), "{n} colours at 32×32");
    // 64 is the 32×32 sprite scaled ×2 (each 2×2 block one pixel of it).
    let at64 = v2.generate(&req(64), &mut |_| {}).expect("64");
    assert_eq!(at64.dimensions(), (64, 64));
    for (x, y, p) in at64.enumerate_pixels() {
        assert_eq!(p, at32.get_pixel(x / 2, y / 2), "({x},{y})");
    }
    // 16 and 48 are drawn at 16×16 (the 32×32 sample box-filtered), 48 then scaled ×3.
    let at16 = v2.generate(&req(16), &mut |_| {}).expect("16");
    assert_eq!(at16.dimensions(), (16, 16));
    let at48 = v2.generate(&req(48), &mut |_| {}).expect("48");
    for (x, y, p) in at48.enumerate_pixels() {
        assert_eq!(p, at16.get_pixel(x / 3, y / 3), "({x},{y})");
    }
    let err = v2
        .generate(&req(24), &mut |_| {})
        .expect_err("24 is no multiple of 16");
    assert!(err.to_string().contains("32×32 or 16×16"), "{err}");
}
