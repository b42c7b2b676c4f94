//! Golden tests of [`map_to_ramps`] on the fixtures in `tests/fixtures/finish/`: shaded sprites
//! keep their shading, flat ones stay flat, every colour is the palette's, lightness order holds.
//!
//! Each fixture `NAME.png` is drawn by [`fixture`] (except `tomato.png`, a raw sample of the
//! sprite model, stored as it came); `NAME.farm32.png` is its stored mapping to `farm32`. The
//! goldens are compared byte for byte on their decoded RGBA pixels (the PNG encoding itself may
//! change with the `image` crate). After a deliberate change to the mapping, regenerate them and
//! look at them before committing:
//!
//! ```text
//! SPROUT_BLESS=1 cargo test -p sprout_core --features image --lib finish::ramp
//! ```

use std::path::{Path, PathBuf};

use image::{Rgba, RgbaImage};
use proptest::prelude::*;

use super::*;
use crate::finish::pixel::{distinct_colors, quantize};

/// The drawn fixtures, and whether each is shaded (must keep at least three colours).
const DRAWN: [(&str, bool); 4] = [
    ("sphere", true),
    ("leaf", true),
    ("icon", false),
    ("soft", true),
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/finish")
}

fn farm32() -> Palette {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    Palette::named(&Palette::dir(&root), "farm32").expect("farm32")
}

fn bless() -> bool {
    std::env::var_os("SPROUT_BLESS").is_some_and(|v| v == "1")
}

fn read(name: &str) -> RgbaImage {
    let path = dir().join(name);
    image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (SPROUT_BLESS=1 writes it)", path.display()))
        .to_rgba8()
}

/// Writes a fixture through a temporary file, so tests running beside it never read half of it.
fn write(name: &str, img: &RgbaImage) {
    std::fs::create_dir_all(dir()).expect("fixture dir");
    let tmp = dir().join(format!(".{name}.{:?}.tmp", std::thread::current().id()));
    img.save_with_format(&tmp, image::ImageFormat::Png)
        .expect("write fixture");
    std::fs::rename(&tmp, dir().join(name)).expect("write fixture");
}

/// Shade of a unit normal lit from the upper left: wrapped diffuse (half Lambert, so the dark
/// side is a gradient too, as painted sprites have it) from 0.3, and a small specular.
fn lit(nx: f32, ny: f32, nz: f32) -> (f32, f32) {
    let (lx, ly, lz) = (-0.5f32, -0.6f32, 0.62f32);
    let norm = (lx * lx + ly * ly + lz * lz).sqrt();
    let d = (nx * lx + ny * ly + nz * lz) / norm;
    let wrap = 0.5 + 0.5 * d;
    (0.3 + 0.75 * wrap * wrap, d.max(0.0).powi(12))
}

fn shade(base: [f32; 3], (diffuse, spec): (f32, f32)) -> Rgba<u8> {
    let c = |k: usize| ((base[k] * diffuse + 90.0 * spec).round().clamp(0.0, 255.0)) as u8;
    Rgba([c(0), c(1), c(2), 255])
}

/// The drawn fixtures, 32×32: a shaded red sphere, a shaded green leaf with a darker midrib, a
/// flat orange disc, and a shaded blue disc with a soft (anti-aliased) alpha edge.
fn fixture(name: &str) -> RgbaImage {
    let clear = Rgba([0, 0, 0, 0]);
    match name {
        "sphere" => RgbaImage::from_fn(32, 32, |x, y| {
            let (dx, dy) = (
                (x as f32 + 0.5 - 16.0) / 12.0,
                (y as f32 + 0.5 - 16.0) / 12.0,
            );
            let r2 = dx * dx + dy * dy;
            if r2 > 1.0 {
                return clear;
            }
            shade([225.0, 52.0, 40.0], lit(dx, dy, (1.0 - r2).sqrt()))
        }),
        "leaf" => RgbaImage::from_fn(32, 32, |x, y| {
            // An ellipse along the diagonal, curved across its width.
            let (px, py) = (x as f32 + 0.5 - 16.0, y as f32 + 0.5 - 16.0);
            let (u, v) = ((px + py) / 2f32.sqrt(), (py - px) / 2f32.sqrt());
            let (eu, ev) = (u / 14.0, v / 6.0);
            if eu * eu + ev * ev > 1.0 {
                return clear;
            }
            // Domed like a half ellipsoid, flatter along its length.
            let (nu, nv) = (eu * 0.6, ev * 0.9);
            let (nx, ny) = ((nu - nv) / 2f32.sqrt(), (nu + nv) / 2f32.sqrt());
            let nz = (1.0 - nx * nx - ny * ny).max(0.0).sqrt();
            let (d, s) = lit(nx, ny, nz);
            let rib = if v.abs() < 0.7 { 0.7 } else { 1.0 };
            shade([70.0, 170.0, 60.0], (d * rib, s * 0.3))
        }),
        "icon" => RgbaImage::from_fn(32, 32, |x, y| {
            let (dx, dy) = (x as f32 + 0.5 - 16.0, y as f32 + 0.5 - 16.0);
            if dx * dx + dy * dy > 144.0 {
                clear
            } else {
                Rgba([233, 118, 42, 255])
            }
        }),
        "soft" => RgbaImage::from_fn(32, 32, |x, y| {
            let (dx, dy) = (
                (x as f32 + 0.5 - 16.0) / 13.0,
                (y as f32 + 0.5 - 16.0) / 13.0,
            );
            let r = (dx * dx + dy * dy).sqrt();
            // Alpha falls from 255 to 0 over the outer 2.5 pixels.
            let alpha = ((1.0 - r) * 13.0 / 2.5).clamp(0.0, 1.0);
            if alpha == 0.0 {
                return clear;
            }
            let (nx, ny) = (dx / r.max(1.0), dy / r.max(1.0));
            let nz = (1.0 - nx * nx - ny * ny).max(0.0).sqrt();
            let mut p = shade([60.0, 120.0, 215.0], lit(nx, ny, nz));
            p[3] = (alpha * 255.0).round() as u8;
            p
        }),
        other => panic!("no fixture {other}"),
    }
}

/// The stored fixtures: the drawn ones and the sprite model's raw tomato.
fn stored() -> Vec<(String, RgbaImage, bool)> {
    let mut all: Vec<(String, RgbaImage, bool)> = DRAWN
        .iter()
        .map(|&(name, shaded)| {
            let drawn = fixture(name);
            if bless() {
                write(&format!("{name}.png"), &drawn);
            }
            let stored = read(&format!("{name}.png"));
            assert_eq!(
                stored, drawn,
                "{name}.png differs from what fixture() draws"
            );
            (name.to_owned(), stored, shaded)
        })
        .collect();
    all.push(("tomato".into(), read("tomato.png"), true));
    all
}

#[test]
fn mappings_match_the_stored_goldens() {
    let farm = farm32();
    for (name, input, _) in stored() {
        let out = map_to_ramps(&input, &farm, 128);
        let golden = format!("{name}.farm32.png");
        if bless() {
            write(&golden, &out);
        }
        let want = read(&golden);
        assert_eq!(out.dimensions(), want.dimensions(), "{golden}");
        assert!(
            out.as_raw() == want.as_raw(),
            "{golden} differs from the mapping of {name}.png; if the change is meant, regenerate \
             with SPROUT_BLESS=1 and look at the result"
        );
    }
}

#[test]
fn shaded_sprites_keep_their_shading_and_flat_ones_stay_flat() {
    let farm = farm32();
    for (name, input, shaded) in stored() {
        let out = map_to_ramps(&input, &farm, 128);
        let ramps = distinct_colors(&out);
        let nearest = distinct_colors(&quantize(&input, &farm, 0.0, 128));
        assert!(
            ramps.iter().all(|c| farm.colors.contains(c)),
            "{name}: a colour outside the palette"
        );
        assert!(out.pixels().all(|p| p[3] == 0 || p[3] == 255), "{name}");
        if shaded {
            assert!(
                ramps.len() >= 3,
                "{name}: {} colours (nearest: {})",
                ramps.len(),
                nearest.len()
            );
            assert!(
                ramps.len() >= nearest.len(),
                "{name}: {} colours, nearest {}",
                ramps.len(),
                nearest.len()
            );
        } else {
            assert!((1..=2).contains(&ramps.len()), "{name}: {}", ramps.len());
        }
        // The same pixels stay opaque as with plain quantisation.
        for (a, b) in out.pixels().zip(quantize(&input, &farm, 0.0, 128).pixels()) {
            assert_eq!(a[3], b[3], "{name}");
        }
    }
}

/// Within each of the fixtures' regions (found as [`map_to_ramps`] finds them), a lighter input
/// pixel never maps darker than a darker one.
fn assert_monotone(name: &str, input: &RgbaImage, out: &RgbaImage) {
    let pairs: Vec<([u8; 3], [u8; 3])> = input
        .pixels()
        .zip(out.pixels())
        .filter(|(_, o)| o[3] == 255)
        .map(|(i, o)| (rgb(*i), rgb(*o)))
        .collect();
    let labs: Vec<Lab> = pairs.iter().map(|p| oklab(p.0)).collect();
    for region in regions(&labs) {
        let mut by_input: Vec<(f32, f32)> = region
            .members
            .iter()
            .map(|&i| (labs[i].l, lightness(pairs[i].1)))
            .collect();
        by_input.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.total_cmp(&y.1)));
        for w in by_input.windows(2) {
            assert!(
                w[0].0 == w[1].0 || w[0].1 <= w[1].1,
                "{name}: input {} -> {}, but lighter input {} -> {}",
                w[0].0,
                w[0].1,
                w[1].0,
                w[1].1
            );
        }
    }
}

#[test]
fn lightness_order_is_kept_within_regions() {
    let farm = farm32();
    for (name, input, _) in stored() {
        let out = map_to_ramps(&input, &farm, 128);
        assert_monotone(&name, &input, &out);
    }
    // The drawn sprites are one hue each: there the order holds across the whole sprite.
    for (name, _) in DRAWN {
        let input = fixture(name);
        let out = map_to_ramps(&input, &farm, 128);
        let labs: Vec<Lab> = input
            .pixels()
            .filter(|p| p[3] >= 128)
            .map(|p| oklab(rgb(*p)))
            .collect();
        assert_eq!(regions(&labs).len(), 1, "{name} is one region");
        assert_monotone(name, &input, &out);
    }
}

#[test]
fn a_sprite_already_in_the_palette_maps_to_itself() {
    let farm = farm32();
    for (name, input, _) in stored() {
        let once = map_to_ramps(&input, &farm, 128);
        assert_eq!(map_to_ramps(&once, &farm, 128), once, "{name}");
    }
}

#[test]
fn the_shaded_sphere_uses_the_red_ramp() {
    let out = map_to_ramps(&fixture("sphere"), &farm32(), 128);
    let colors = distinct_colors(&out);
    for red in [[0x7a, 0x1f, 0x2b], [0xb8, 0x34, 0x3a], [0xe4, 0x5f, 0x4a]] {
        assert!(
            colors.contains(&red),
            "{red:02x?} missing from {colors:02x?}"
        );
    }
}

#[test]
fn ramp_outlines_ring_the_sprite_in_a_darker_step_of_its_ramp() {
    let farm = farm32();
    let sprite = map_to_ramps(&fixture("sphere"), &farm, 128);
    let ring = |img: &RgbaImage| -> Vec<[u8; 3]> {
        img.pixels()
            .zip(sprite.pixels())
            .filter(|(o, s)| o[3] == 255 && s[3] == 0)
            .map(|(o, _)| rgb(*o))
            .collect()
    };
    let plain = ring(&crate::finish::outline(&sprite, [1, 2, 3, 255], 1));
    let inked = ring(&ramp_outline(&sprite, Some(&farm), 1));
    assert_eq!(inked.len(), plain.len(), "the same ring as outline()");
    let used = distinct_colors(&sprite);
    let darkest = used
        .iter()
        .copied()
        .min_by(|&a, &b| lightness(a).total_cmp(&lightness(b)))
        .expect("colours");
    let ink = inked[0];
    assert!(inked.iter().all(|&c| c == ink), "one ink colour");
    assert!(farm.colors.contains(&ink), "{ink:02x?}");
    assert!(
        lightness(ink) < lightness(darkest),
        "{ink:02x?} is not darker than {darkest:02x?}"
    );
    // Without a palette: the darkest colour the sprite uses.
    let own = ring(&ramp_outline(&sprite, None, 1));
    assert!(own.iter().all(|&c| c == darkest));
    // Thicker outlines grow further, the sprite itself untouched.
    let thick = ramp_outline(&sprite, Some(&farm), 2);
    assert!(ring(&thick).len() > inked.len());
    for (a, b) in thick.pixels().zip(sprite.pixels()) {
        if b[3] == 255 {
            assert_eq!(a, b);
        }
    }
    assert_eq!(
        ramp_outline(&RgbaImage::new(3, 3), Some(&farm), 1),
        RgbaImage::new(3, 3)
    );
}

#[test]
fn small_and_empty_inputs_work() {
    let farm = farm32();
    let empty = RgbaImage::new(4, 4);
    assert_eq!(map_to_ramps(&empty, &farm, 128), empty);
    let one = RgbaImage::from_pixel(1, 1, Rgba([10, 200, 10, 255]));
    let out = map_to_ramps(&one, &farm, 128);
    assert!(farm.colors.contains(&rgb(*out.get_pixel(0, 0))));
    let none = Palette {
        name: "none".into(),
        colors: Vec::new(),
    };
    assert_eq!(map_to_ramps(&one, &none, 128).dimensions(), (1, 1));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_picture_maps_into_the_palette_monotone_within_regions(
        pixels in proptest::collection::vec(any::<[u8; 4]>(), 64)
    ) {
        let farm = farm32();
        let img = RgbaImage::from_fn(8, 8, |x, y| Rgba(pixels[(y * 8 + x) as usize]));
        let out = map_to_ramps(&img, &farm, 128);
        for (i, o) in img.pixels().zip(out.pixels()) {
            prop_assert_eq!(o[3], if i[3] >= 128 { 255 } else { 0 });
            if o[3] == 255 {
                prop_assert!(farm.colors.contains(&rgb(*o)));
            }
        }
        assert_monotone("random", &img, &out);
        prop_assert_eq!(map_to_ramps(&img, &farm, 128), out);
    }
}
