//! End-to-end tests of `sprout gen prop|texture|sprite` through the real binary: outputs, PNG
//! text chunks, provenance sidecars, and Stable Diffusion on a tiny random-weight checkpoint.

use std::path::Path;
use std::process::Command;

use image::{Rgba, RgbaImage};
use sprout_core::content::provenance::sidecar_path;
use sprout_core::finish::save::read_png_text;

fn sprout() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sprout"))
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write_sprite(path: &Path) {
    let img = RgbaImage::from_fn(16, 16, |x, y| {
        if (4..12).contains(&x) && (2..15).contains(&y) {
            Rgba([(x * 20) as u8, 160, 40, 255])
        } else {
            Rgba([0, 0, 0, 0])
        }
    });
    img.save(path).unwrap();
}

#[test]
fn gen_prop_writes_a_glb_with_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let sprite = dir.path().join("turnip.png");
    write_sprite(&sprite);
    let out = dir.path().join("props/turnip.glb");
    run(sprout()
        .args(["gen", "prop", "--from"])
        .arg(&sprite)
        .arg("--out")
        .arg(&out));
    let glb = std::fs::read(&out).unwrap();
    assert_eq!(&glb[0..4], b"glTF");
    assert_eq!(
        u32::from_le_bytes(glb[8..12].try_into().unwrap()) as usize,
        glb.len()
    );
    let prov = std::fs::read_to_string(sidecar_path(&out)).unwrap();
    assert!(
        prov.contains("sprout art prop") && prov.contains("\"voxel\""),
        "{prov}"
    );
}

#[test]
fn gen_texture_seamless_makes_a_tile_that_wraps() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("gradient.png");
    RgbaImage::from_fn(48, 48, |x, y| {
        Rgba([(x * 5) as u8, (y * 5) as u8, 100, 255])
    })
    .save(&src)
    .unwrap();
    let out = dir.path().join("tile.png");
    run(sprout()
        .args(["gen", "texture", "--seamless", "--from"])
        .arg(&src)
        .arg("--out")
        .arg(&out));
    let bytes = std::fs::read(&out).unwrap();
    let tile = image::load_from_memory(&bytes).unwrap().to_rgba8();
    let before = sprout_core::finish::seam_error(&image::open(&src).unwrap().to_rgba8());
    let after = sprout_core::finish::seam_error(&tile);
    // The wrap step of a smooth gradient falls to about one ordinary pixel step.
    assert!(
        before.seam > 0.2 && after.seam < 0.01,
        "{before:?} -> {after:?}"
    );
    let text = read_png_text(&bytes).unwrap();
    assert!(text.iter().any(|(k, _)| k == "seamless"), "{text:?}");
    assert!(sidecar_path(&out).is_file());
}

#[test]
fn gen_sprite_on_a_tiny_sd_checkpoint_is_seed_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("sd-tiny");
    sprout_core::diffusion::sd::write_tiny_checkpoint(&model).unwrap();
    let sprite = |seed: &str, out: &Path| {
        run(sprout()
            .args([
                "gen",
                "sprite",
                "a red turnip",
                "--backend",
                "sd-tiny",
                "--steps",
                "2",
                "--size",
                "16",
                "--seed",
                seed,
                "--model",
            ])
            .arg(&model)
            .arg("--out")
            .arg(out));
        image::open(out).unwrap().to_rgba8()
    };
    let a = sprite("5", &dir.path().join("a.png"));
    let b = sprite("5", &dir.path().join("b.png"));
    assert_eq!(a.dimensions(), (16, 16));
    assert_eq!(a, b, "same seed, same sprite");
    let text = read_png_text(&std::fs::read(dir.path().join("a.png")).unwrap()).unwrap();
    assert!(
        text.contains(&("prompt".to_owned(), "a red turnip".to_owned())),
        "{text:?}"
    );
    assert!(
        text.contains(&("seed".to_owned(), "5".to_owned())),
        "{text:?}"
    );
}
