//! End-to-end tests of `sprout finish sheet|growth|outline|shadow` and `sprout gen sprite
//! --outline --shadow` through the real binary, on small fixture PNGs: frame placement from the
//! atlas RON, outline pixels round the silhouette and not inside, strip sizes, PNG text chunks and
//! provenance sidecars.

use std::path::{Path, PathBuf};
use std::process::Command;

use image::{Rgba, RgbaImage};
use sprout_core::content::Provenance;
use sprout_core::content::provenance::{sha256_hex, sidecar_path};
use sprout_core::finish::AtlasLayout;
use sprout_core::finish::save::read_png_text;
use sprout_core::format::parse;

const INK: Rgba<u8> = Rgba([0x1b, 0x1b, 0x1b, 255]);

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

/// A `w`×`h` frame: transparent, with an opaque block of `shade` inside a 2-pixel margin.
fn frame(dir: &Path, name: &str, w: u32, h: u32, shade: u8) -> PathBuf {
    let path = dir.join(name);
    RgbaImage::from_fn(w, h, |x, y| {
        if (2..w - 2).contains(&x) && (2..h - 2).contains(&y) {
            Rgba([shade, 200, 255 - shade, 255])
        } else {
            Rgba([0, 0, 0, 0])
        }
    })
    .save(&path)
    .unwrap();
    path
}

fn open(path: &Path) -> RgbaImage {
    image::open(path).unwrap().to_rgba8()
}

fn layout(path: &Path) -> AtlasLayout {
    parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn provenance(path: &Path) -> Provenance {
    let sidecar = sidecar_path(path);
    assert!(sidecar.is_file(), "no sidecar for {}", path.display());
    let prov: Provenance = parse(&std::fs::read_to_string(sidecar).unwrap()).unwrap();
    assert_eq!(
        prov.output_sha256,
        sha256_hex(&std::fs::read(path).unwrap())
    );
    prov
}

fn cut(sheet: &RgbaImage, min: (u32, u32), max: (u32, u32)) -> RgbaImage {
    image::imageops::crop_imm(sheet, min.0, min.1, max.0 - min.0, max.1 - min.1).to_image()
}

#[test]
fn finish_sheet_packs_frames_where_the_atlas_layout_says() {
    let dir = tempfile::tempdir().unwrap();
    let frames: Vec<PathBuf> = (0..5)
        .map(|i| frame(dir.path(), &format!("walk_{i}.png"), 12, 16, 40 * i as u8))
        .collect();
    let out = dir.path().join("sheets/walk.png");
    run(sprout()
        .args(["finish", "sheet"])
        .args(&frames)
        .args(["--columns", "2", "--padding", "1", "--out"])
        .arg(&out));

    let sheet = open(&out);
    let atlas = dir.path().join("sheets/walk.atlas.ron");
    let layout = layout(&atlas);
    assert_eq!(layout.size, sheet.dimensions());
    assert_eq!(layout.size, (2 * 12 + 1, 3 * 16 + 2));
    assert_eq!(layout.textures.len(), 5);
    for (i, rect) in layout.textures.iter().enumerate() {
        let (col, row) = (i as u32 % 2, i as u32 / 2);
        assert_eq!(rect.min, (col * 13, row * 17), "frame {i}");
        assert_eq!(rect.max, (col * 13 + 12, row * 17 + 16), "frame {i}");
        assert_eq!(
            cut(&sheet, rect.min, rect.max),
            open(&frames[i]),
            "frame {i}"
        );
    }
    assert_eq!(sheet.get_pixel(12, 5)[3], 0, "padding is transparent");

    let text = read_png_text(&std::fs::read(&out).unwrap()).unwrap();
    assert!(
        text.contains(&("columns".to_owned(), "2".to_owned()))
            && text.contains(&("layout".to_owned(), "walk.atlas.ron".to_owned())),
        "{text:?}"
    );
    let prov = provenance(&out);
    assert_eq!(prov.generator, "sprout finish sheet");
    assert_eq!(provenance(&atlas).generator, "sprout finish sheet");
}

#[test]
fn finish_growth_makes_a_strip_of_stages_ending_ripe() {
    let dir = tempfile::tempdir().unwrap();
    let ripe = frame(dir.path(), "kale_ripe.png", 16, 16, 90);
    let out = dir.path().join("kale_growth.png");
    run(sprout()
        .args(["finish", "growth"])
        .arg(&ripe)
        .args(["--stages", "3", "--out"])
        .arg(&out));

    let strip = open(&out);
    assert_eq!(
        strip.dimensions(),
        (3 * 16, 16),
        "strip width = stages × frame width"
    );
    let layout = layout(&dir.path().join("kale_growth.atlas.ron"));
    assert_eq!(layout.textures.len(), 3);
    let opaque: Vec<usize> = layout
        .textures
        .iter()
        .map(|r| {
            cut(&strip, r.min, r.max)
                .pixels()
                .filter(|p| p[3] > 0)
                .count()
        })
        .collect();
    assert!(opaque[0] < opaque[1] && opaque[1] < opaque[2], "{opaque:?}");
    let last = layout.textures[2];
    assert_eq!(
        cut(&strip, last.min, last.max),
        open(&ripe),
        "the last stage is ripe"
    );
    let prov = provenance(&out);
    assert_eq!(prov.parameters["stages"], "3");
}

/// Asserts `out` is `src` with a 1-pixel 4-connected ring of `INK` round its opaque pixels.
fn assert_outlined(src: &RgbaImage, out: &RgbaImage) {
    assert_eq!(src.dimensions(), out.dimensions());
    let (w, h) = src.dimensions();
    let solid = |x: i64, y: i64| {
        x >= 0
            && y >= 0
            && x < i64::from(w)
            && y < i64::from(h)
            && src.get_pixel(x as u32, y as u32)[3] >= 128
    };
    let mut ring = 0;
    for (x, y, p) in out.enumerate_pixels() {
        let (xi, yi) = (i64::from(x), i64::from(y));
        if solid(xi, yi) {
            assert_eq!(p, src.get_pixel(x, y), "inside untouched at ({x},{y})");
        } else if solid(xi - 1, yi) || solid(xi + 1, yi) || solid(xi, yi - 1) || solid(xi, yi + 1) {
            assert_eq!(*p, INK, "outline at ({x},{y})");
            ring += 1;
        } else {
            assert_eq!(p[3], 0, "nothing beyond the ring at ({x},{y})");
        }
    }
    assert!(ring > 0, "no outline at all");
}

#[test]
fn finish_outline_rings_the_silhouette_only() {
    let dir = tempfile::tempdir().unwrap();
    let src = frame(dir.path(), "stone.png", 12, 10, 120);
    let out = dir.path().join("stone_outlined.png");
    run(sprout()
        .args(["finish", "outline"])
        .arg(&src)
        .args(["--color", "#1b1b1b", "--out"])
        .arg(&out));
    let (src_img, out_img) = (open(&src), open(&out));
    assert_outlined(&src_img, &out_img);
    // A 8×6 block's 4-connected ring: 2·8 + 2·6 pixels.
    assert_eq!(out_img.pixels().filter(|p| **p == INK).count(), 28);
    let prov = provenance(&out);
    assert_eq!(prov.parameters["color"], "#1b1b1bff");
    assert_eq!(prov.generator, "sprout finish outline");

    let bad = sprout()
        .args(["finish", "outline"])
        .arg(&src)
        .args(["--color", "#12", "--out"])
        .arg(dir.path().join("x.png"))
        .output()
        .unwrap();
    assert!(!bad.status.success(), "a malformed colour is refused");
}

#[test]
fn finish_shadow_falls_right_and_down() {
    let dir = tempfile::tempdir().unwrap();
    let src = frame(dir.path(), "crate.png", 10, 10, 60);
    let out = dir.path().join("crate_shadow.png");
    run(sprout()
        .args(["finish", "shadow"])
        .arg(&src)
        .arg("--out")
        .arg(&out));
    let img = open(&out);
    assert_eq!(
        img.get_pixel(8, 8),
        &Rgba([0, 0, 0, 0x66]),
        "shadow past the corner"
    );
    assert_eq!(
        img.get_pixel(4, 4),
        open(&src).get_pixel(4, 4),
        "sprite on top"
    );
    assert_eq!(img.get_pixel(1, 1)[3], 0);
    assert!(sidecar_path(&out).is_file());
}

#[test]
fn gen_sprite_outline_and_shadow_finish_the_sprite() {
    let dir = tempfile::tempdir().unwrap();
    let gen_sprite = |extra: &[&str], out: &Path| {
        run(sprout()
            .args(["gen", "sprite", "carrot", "--seed", "3", "--size", "16"])
            .args(extra)
            .arg("--out")
            .arg(out));
        open(out)
    };
    let plain = gen_sprite(&[], &dir.path().join("plain.png"));
    let outlined_path = dir.path().join("outlined.png");
    let outlined = gen_sprite(&["--outline", "#1b1b1b"], &outlined_path);
    assert_outlined(&plain, &outlined);
    let text = read_png_text(&std::fs::read(&outlined_path).unwrap()).unwrap();
    assert!(
        text.contains(&("outline".to_owned(), "#1b1b1bff".to_owned())),
        "{text:?}"
    );
    assert_eq!(
        provenance(&outlined_path).parameters["outline"],
        "#1b1b1bff"
    );

    let shadowed_path = dir.path().join("shadowed.png");
    let shadowed = gen_sprite(&["--shadow"], &shadowed_path);
    let shadow_px = shadowed
        .pixels()
        .filter(|p| **p == Rgba([0, 0, 0, 0x66]))
        .count();
    assert!(shadow_px > 0, "no shadow pixels");
    for (x, y, p) in plain.enumerate_pixels() {
        if p[3] == 255 {
            assert_eq!(shadowed.get_pixel(x, y), p, "sprite on top at ({x},{y})");
        }
    }
    assert!(provenance(&shadowed_path).parameters.contains_key("shadow"));
}
