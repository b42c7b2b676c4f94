//! The data pipeline on small SVG fixtures: rasterization, variant filtering, captions, the split.

use std::collections::BTreeSet;

use sprout_sprite_model::{dataset, raster};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

fn px(buf: &[u8], size: usize, x: usize, y: usize) -> [u8; 4] {
    let i = (y * size + x) * 4;
    [buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]
}

#[test]
fn full_square_is_opaque_red_at_both_sizes() {
    let out = raster::rasterize(&fixture("red_square.svg"), &[16, 32]).expect("raster");
    assert_eq!(out[0].len(), 16 * 16 * 4);
    assert_eq!(out[1].len(), 32 * 32 * 4);
    for (buf, size) in [(&out[0], 16), (&out[1], 32)] {
        for y in 0..size {
            for x in 0..size {
                assert_eq!(px(buf, size, x, y), [255, 0, 0, 255], "({x},{y}) at {size}");
            }
        }
    }
}

#[test]
fn left_half_is_opaque_and_right_half_transparent() {
    let out = raster::rasterize(&fixture("left_half.svg"), &[16]).expect("raster");
    for y in 0..16 {
        for x in 0..16 {
            let p = px(&out[0], 16, x, y);
            if x < 8 {
                assert_eq!(p, [0, 0, 255, 255], "({x},{y})");
            } else {
                assert_eq!(p[3], 0, "({x},{y}) alpha");
            }
        }
    }
}

#[test]
fn circle_has_transparent_corners_and_antialiased_edge() {
    let out = raster::rasterize(&fixture("circle.svg"), &[16]).expect("raster");
    let buf = &out[0];
    assert_eq!(px(buf, 16, 0, 0)[3], 0);
    assert_eq!(px(buf, 16, 15, 15)[3], 0);
    assert_eq!(px(buf, 16, 8, 8), [0, 255, 0, 255]);
    // Edge pixels carry partial coverage, with the colour demultiplied back to pure green.
    let partial: Vec<[u8; 4]> = (0..16)
        .flat_map(|y| (0..16).map(move |x| (x, y)))
        .map(|(x, y)| px(buf, 16, x, y))
        .filter(|p| p[3] > 0 && p[3] < 255)
        .collect();
    assert!(!partial.is_empty());
    assert!(
        partial
            .iter()
            .all(|p| p[0] == 0 && p[1] == 255 && p[2] == 0),
        "{partial:?}"
    );
}

#[test]
fn wide_icon_is_centred_with_its_alpha_kept() {
    let out = raster::rasterize(&fixture("wide.svg"), &[16]).expect("raster");
    let buf = &out[0];
    // 32x16 scaled into 16x16 -> 16x8 band in rows 4..12.
    assert_eq!(px(buf, 16, 8, 0)[3], 0);
    assert_eq!(px(buf, 16, 8, 15)[3], 0);
    let mid = px(buf, 16, 8, 8);
    assert!((127..=128).contains(&mid[3]), "{mid:?}");
    assert_eq!(&mid[..3], &[255, 255, 255]);
}

#[test]
fn bad_sizes_and_bad_svg_are_errors() {
    assert!(raster::rasterize(&fixture("red_square.svg"), &[0]).is_err());
    assert!(raster::rasterize(&fixture("red_square.svg"), &[24]).is_err());
    assert!(raster::rasterize("<svg", &[16]).is_err());
}

#[test]
fn skin_tone_and_flag_variants_are_dropped() {
    let names: BTreeSet<&str> = [
        "artist",
        "artist-dark",
        "artist-medium-light",
        "artist-light-skin-tone",
        "flag-albania",
        "flag-in-hole",
        "dark-sunglasses",
        "crescent-moon-light",
    ]
    .into_iter()
    .collect();
    let dropped: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| dataset::is_variant(n, &names))
        .collect();
    assert_eq!(
        dropped,
        [
            "artist-dark",
            "artist-light-skin-tone",
            "artist-medium-light",
            "flag-albania"
        ]
    );
}

#[test]
fn caption_words_are_lowercase_alphanumeric_runs() {
    assert_eq!(
        dataset::words("Ear-of_Corn :D 1st!"),
        ["ear", "of", "corn", "d", "1st"]
    );
    assert!(dataset::words(":) --").is_empty());
}

#[test]
fn split_is_deterministic_and_holds_out_one_rendition_per_chosen_concept() {
    let make = |style: &str, name: &str| dataset::Icon {
        style: style.to_owned(),
        name: name.to_owned(),
        name_words: dataset::words(name),
        keywords: Vec::new(),
        categories: Vec::new(),
        colours: Vec::new(),
        held_out: false,
        svg: String::new(),
    };
    let mut icons: Vec<dataset::Icon> = (0..200)
        .flat_map(|i| {
            let name = format!("thing-{i}");
            ["fluent", "noto", "twemoji"].map(|s| make(s, &name))
        })
        .chain([make("fluent", "lonely")])
        .collect();
    dataset::split(&mut icons);
    let first: Vec<bool> = icons.iter().map(|i| i.held_out).collect();
    dataset::split(&mut icons);
    assert_eq!(first, icons.iter().map(|i| i.held_out).collect::<Vec<_>>());
    for chunk in icons[..600].chunks(3) {
        assert!(chunk.iter().filter(|i| i.held_out).count() <= 1);
    }
    let held = icons.iter().filter(|i| i.held_out).count();
    assert!((25..=75).contains(&held), "{held} of 200 concepts held out");
    assert!(
        !icons[600].held_out,
        "a concept with one rendition stays in training"
    );
}

#[test]
fn colour_words_name_the_dominant_colours() {
    let px = |rgba: [u8; 4], n: usize| rgba.repeat(n);
    let red_green = [px([230, 20, 20, 255], 60), px([30, 200, 40, 255], 40)].concat();
    assert_eq!(dataset::colour_words(&red_green), ["red", "green"]);
    let mostly_clear = [px([0, 0, 0, 0], 90), px([250, 250, 250, 255], 10)].concat();
    assert_eq!(dataset::colour_words(&mostly_clear), ["white"]);
    assert!(dataset::colour_words(&px([0, 0, 0, 0], 16)).is_empty());
    assert_eq!(dataset::colour_words(&px([120, 70, 30, 255], 4)), ["brown"]);
}

#[test]
fn near_identical_renditions_are_deduplicated_and_distinct_ones_kept() {
    let circle = raster::rasterize(&fixture("circle.svg"), &[16])
        .expect("raster")
        .remove(0);
    let square = raster::rasterize(&fixture("red_square.svg"), &[16])
        .expect("raster")
        .remove(0);
    let mut nudged = circle.clone();
    nudged[8 * 16 * 4 + 8 * 4] = 10; // one channel of one pixel
    let images: Vec<&[u8]> = vec![&circle, &square, &nudged];
    assert_eq!(dataset::dedupe(&images, 0.05), [None, None, Some(0)]);
}
