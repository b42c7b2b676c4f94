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

/// `sprout gen icon|crop|texture|prop`, run in a copy of the starter assets, write exactly the
/// files `sprout_core::art::make` makes for the same job (the function the game's editor calls:
/// `plugin/bevy/tests/generate.rs` checks the game's side against it the same way), byte for
/// byte, with the same provenance but for the time it was made.
#[test]
fn gen_art_commands_write_what_the_core_recipe_makes() {
    use sprout_core::art::{self, ArtJob, Recipe};
    use sprout_core::content::{ContentSet, Id, Provenance};
    use sprout_core::diffusion::sprite::SpriteBackend;

    let dir = tempfile::tempdir().unwrap();
    let assets = dir.path().join("assets");
    sprout_core::fs::copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets"),
        &assets,
    )
    .unwrap();
    let id = |s: &str| Id::new(s).unwrap();
    let cases: Vec<(Vec<&str>, ArtJob)> = vec![
        (
            vec!["icon", "--item", "fieldstone", "honey jar", "--seed", "5"],
            ArtJob::new(
                Recipe::ItemIcon {
                    item: id("fieldstone"),
                },
                "honey jar",
            )
            .with_seed(5),
        ),
        (
            vec!["crop", "--crop", "snap_pea", "--seed", "4"],
            ArtJob::new(
                Recipe::CropStages {
                    crop: id("snap_pea"),
                },
                "snap pea",
            )
            .with_seed(4),
        ),
        (
            vec![
                "texture",
                "green grass leaf",
                "--backend",
                "sprite",
                "--seamless",
                "--seed",
                "6",
                "--out",
                "textures/meadow.png",
            ],
            ArtJob::new(
                Recipe::Texture {
                    out: "textures/meadow.png".into(),
                    from: None,
                    seamless: true,
                    ground: None,
                },
                "green grass leaf",
            )
            .with_seed(6),
        ),
        (
            vec![
                "prop",
                "--from",
                "sprites/items/fieldstone.png",
                "--out",
                "props/stone.glb",
            ],
            ArtJob::new(
                Recipe::Prop {
                    out: "props/stone.glb".into(),
                    from: "sprites/items/fieldstone.png".into(),
                    depth: 2,
                    pixel_size: 1.0 / 16.0,
                    relief: false,
                },
                "",
            ),
        ),
    ];
    for (args, job) in cases {
        let job = job.with_palette("farm32");
        // The same state for the CLI and the direct call: the assets as they are now.
        let (content, problems) = ContentSet::load_dir(&assets);
        assert!(problems.is_empty(), "{problems:?}");
        let mut sprite = SpriteBackend::embedded().unwrap();
        sprite.finish = None;
        let palettes = assets.join("palettes");
        let cx = art::Context {
            root: &assets,
            palettes: &palettes,
            content: &content,
            cancel: Default::default(),
            previews: 0,
        };
        let backend: Option<&mut dyn sprout_core::diffusion::ImageBackend> =
            job.recipe.needs_backend().then_some(&mut sprite as _);
        let made = art::make(&job, &cx, backend, &mut |_| {}).unwrap();

        let mut cmd = sprout();
        cmd.current_dir(&assets)
            .arg("gen")
            .args(&args)
            .args(["--palette", "farm32"]);
        if matches!(args[0], "icon" | "crop") {
            cmd.args(["--assets", "."]);
        } else if args[0] == "texture" {
            cmd.args(["--root", ".."]);
        }
        if args[0] == "prop" {
            // A prop draws nothing: no palette to take.
            cmd = sprout();
            cmd.current_dir(&assets).arg("gen").args(&args);
        }
        run(&mut cmd);
        assert!(!made.files.is_empty());
        for file in &made.files {
            let path = assets.join(&file.path);
            let bytes = std::fs::read(&path).unwrap();
            assert!(bytes == file.bytes, "{}: {args:?}", path.display());
            let text = std::fs::read_to_string(sidecar_path(&path)).unwrap();
            let mut prov: Provenance = sprout_core::format::parse(&text).unwrap();
            prov.created.clone_from(&file.provenance.created);
            assert_eq!(prov, file.provenance, "{}", path.display());
            assert_eq!(prov.generator, format!("sprout art {}", job.recipe.name()));
        }
    }
}
