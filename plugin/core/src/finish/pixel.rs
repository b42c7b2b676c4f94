//! Pixel-art reduction: area downscale to a target grid, then every pixel snapped to a palette:
//! to a fixed palette's ramps so shading survives ([`Mapping::Ramps`], the default), or to the
//! nearest colour, optionally with ordered (Bayer) dithering; alpha becomes binary, as pixel art
//! needs.

use image::{Rgba, RgbaImage};

use super::palette::Palette;
use super::ramp::map_to_ramps;
use super::{Error, Result, rgb};

/// Which colours the result may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaletteChoice {
    /// At most N colours chosen from the (downscaled) image by median cut.
    Adaptive(usize),
    /// Exactly the colours of this palette.
    Fixed(Palette),
}

/// How pixels find their colour in a [`PaletteChoice::Fixed`] palette.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mapping {
    /// Keep shading: each hue region's lightness bands on distinct steps of the palette's ramp
    /// for that hue ([`map_to_ramps`]). Without dithering only; with it, [`Mapping::Nearest`].
    #[default]
    Ramps,
    /// Each pixel to its nearest palette colour ([`quantize`]): a shaded sprite may collapse to
    /// one colour per hue.
    Nearest,
}

/// How to reduce an image to pixel art.
#[derive(Debug, Clone, PartialEq)]
pub struct PixelArt {
    /// Grid width: output pixels across.
    pub width: u32,
    /// Grid height: output pixels down.
    pub height: u32,
    /// The colours.
    pub palette: PaletteChoice,
    /// Ordered dithering strength (0: none; 1: a spread of about a quarter of the range).
    pub dither: f32,
    /// Alpha at or above this is opaque, below it transparent.
    pub alpha_threshold: u8,
    /// How a fixed palette is applied (adaptive palettes, chosen from the image's own colours,
    /// always map to the nearest).
    pub mapping: Mapping,
}

impl PixelArt {
    /// A `width`×`height` grid with an adaptive palette of 16 colours and no dithering.
    pub fn new(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            palette: PaletteChoice::Adaptive(16),
            dither: 0.0,
            alpha_threshold: 128,
            mapping: Mapping::Ramps,
        }
    }
}

/// Reduces `image` to pixel art: [`downscale_area`] to the grid, then [`map_to_ramps`] (a fixed
/// palette, [`Mapping::Ramps`], no dithering) or [`quantize`] to the palette.
pub fn pixelate(image: &RgbaImage, opts: &PixelArt) -> Result<RgbaImage> {
    let small = downscale_area(image, opts.width, opts.height)?;
    if let PaletteChoice::Fixed(p) = &opts.palette
        && opts.mapping == Mapping::Ramps
        && opts.dither <= 0.0
    {
        return Ok(map_to_ramps(&small, p, opts.alpha_threshold));
    }
    let palette = match &opts.palette {
        PaletteChoice::Adaptive(0) => {
            return Err(Error::Invalid(
                "an adaptive palette needs at least one colour".into(),
            ));
        }
        PaletteChoice::Adaptive(n) => Palette::median_cut(&small, *n),
        PaletteChoice::Fixed(p) => p.clone(),
    };
    Ok(quantize(
        &small,
        &palette,
        opts.dither,
        opts.alpha_threshold,
    ))
}

/// Downscales to `width`×`height` by area averaging: each output pixel is the alpha-weighted mean
/// of exactly the source area it covers (fractional edges weighted by coverage).
pub fn downscale_area(image: &RgbaImage, width: u32, height: u32) -> Result<RgbaImage> {
    if width == 0 || height == 0 || image.width() == 0 || image.height() == 0 {
        return Err(Error::Invalid(format!(
            "cannot scale {}x{} to {width}x{height}",
            image.width(),
            image.height()
        )));
    }
    let cols = coverage(image.width(), width);
    let rows = coverage(image.height(), height);
    let mut out = RgbaImage::new(width, height);
    for (oy, row) in rows.iter().enumerate() {
        for (ox, col) in cols.iter().enumerate() {
            let mut acc = [0f64; 4];
            let mut area = 0f64;
            for &(sy, wy) in row {
                for &(sx, wx) in col {
                    let p = image.get_pixel(sx, sy);
                    let w = wx * wy;
                    let a = f64::from(p[3]) * w;
                    for k in 0..3 {
                        acc[k] += f64::from(p[k]) * a;
                    }
                    acc[3] += a;
                    area += w;
                }
            }
            let px = if acc[3] > 0.0 {
                let c = |k: usize| (acc[k] / acc[3]).round().clamp(0.0, 255.0) as u8;
                Rgba([
                    c(0),
                    c(1),
                    c(2),
                    (acc[3] / area).round().clamp(0.0, 255.0) as u8,
                ])
            } else {
                Rgba([0, 0, 0, 0])
            };
            out.put_pixel(ox as u32, oy as u32, px);
        }
    }
    Ok(out)
}

/// For each of `to` output cells along an axis of `from` source pixels: (source index, weight).
fn coverage(from: u32, to: u32) -> Vec<Vec<(u32, f64)>> {
    let scale = f64::from(from) / f64::from(to);
    (0..to)
        .map(|o| {
            let start = f64::from(o) * scale;
            let end = start + scale;
            let first = start.floor() as u32;
            let last = (end.ceil() as u32).min(from);
            (first..last)
                .map(|s| {
                    let lo = f64::from(s).max(start);
                    let hi = f64::from(s + 1).min(end);
                    (s, (hi - lo).max(0.0))
                })
                .filter(|&(_, w)| w > 0.0)
                .collect()
        })
        .collect()
}

/// The 4×4 Bayer matrix, values `0..16`.
const BAYER4: [[u8; 4]; 4] = [[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]];

/// Snaps every pixel to its nearest palette colour, with ordered dithering of `dither` strength;
/// alpha becomes 0 or 255 (transparent pixels get RGB 0).
pub fn quantize(
    image: &RgbaImage,
    palette: &Palette,
    dither: f32,
    alpha_threshold: u8,
) -> RgbaImage {
    let spread = 64.0 * dither.max(0.0);
    RgbaImage::from_fn(image.width(), image.height(), |x, y| {
        let p = image.get_pixel(x, y);
        if p[3] < alpha_threshold {
            return Rgba([0, 0, 0, 0]);
        }
        let mut c = rgb(*p);
        if spread > 0.0 {
            let t = (f32::from(BAYER4[(y % 4) as usize][(x % 4) as usize]) + 0.5) / 16.0 - 0.5;
            c = c.map(|v| (f32::from(v) + t * spread).round().clamp(0.0, 255.0) as u8);
        }
        let q = palette.colors[palette.nearest(c)];
        Rgba([q[0], q[1], q[2], 255])
    })
}

/// The distinct colours of the opaque pixels of `image`.
pub fn distinct_colors(image: &RgbaImage) -> Vec<[u8; 3]> {
    let mut colors: Vec<[u8; 3]> = image
        .pixels()
        .filter(|p| p[3] > 0)
        .map(|p| rgb(*p))
        .collect();
    colors.sort_unstable();
    colors.dedup();
    colors
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// A smooth 64×64 gradient with a transparent left quarter: many colours, soft alpha edge.
    fn fixture() -> RgbaImage {
        RgbaImage::from_fn(64, 64, |x, y| {
            let a = if x < 16 { 0 } else { 255 };
            Rgba([(x * 4) as u8, (y * 4) as u8, 128, a])
        })
    }

    #[test]
    fn area_downscale_averages_exact_blocks() {
        let img = RgbaImage::from_fn(4, 2, |x, _| {
            if x % 2 == 0 {
                Rgba([0, 0, 0, 255])
            } else {
                Rgba([200, 100, 50, 255])
            }
        });
        let small = downscale_area(&img, 2, 1).unwrap();
        assert_eq!(small.get_pixel(0, 0), &Rgba([100, 50, 25, 255]));
        assert_eq!(small.get_pixel(1, 0), &Rgba([100, 50, 25, 255]));
        // 3 → 2 covers one and a half source pixels each.
        let img = RgbaImage::from_fn(3, 1, |x, _| Rgba([[0, 90, 180][x as usize], 0, 0, 255]));
        let small = downscale_area(&img, 2, 1).unwrap();
        assert_eq!(small.get_pixel(0, 0)[0], 30);
        assert_eq!(small.get_pixel(1, 0)[0], 150);
        // Transparent pixels do not darken their neighbours.
        let img = RgbaImage::from_fn(2, 1, |x, _| {
            if x == 0 {
                Rgba([0, 0, 0, 0])
            } else {
                Rgba([200, 200, 200, 255])
            }
        });
        assert_eq!(
            downscale_area(&img, 1, 1).unwrap().get_pixel(0, 0),
            &Rgba([200, 200, 200, 128])
        );
        assert!(downscale_area(&img, 0, 1).is_err());
    }

    #[test]
    fn adaptive_pixel_art_has_the_grid_size_at_most_n_colours_and_binary_alpha() {
        let out = pixelate(
            &fixture(),
            &PixelArt {
                palette: PaletteChoice::Adaptive(8),
                ..PixelArt::new(16, 16)
            },
        )
        .unwrap();
        assert_eq!(out.dimensions(), (16, 16));
        let colors = distinct_colors(&out);
        assert!((2..=8).contains(&colors.len()), "{} colours", colors.len());
        assert!(out.pixels().all(|p| p[3] == 0 || p[3] == 255));
        assert!((0..16).all(|y| (0..4).all(|x| out.get_pixel(x, y)[3] == 0)));
        assert!((0..16).all(|y| (4..16).all(|x| out.get_pixel(x, y)[3] == 255)));
    }

    #[test]
    fn fixed_palettes_are_used_exactly_and_dithering_mixes_neighbours() {
        let dir = Palette::dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
        let farm = Palette::named(&dir, "farm32").unwrap();
        let opts = PixelArt {
            palette: PaletteChoice::Fixed(farm.clone()),
            ..PixelArt::new(32, 32)
        };
        let plain = pixelate(&fixture(), &opts).unwrap();
        assert!(
            distinct_colors(&plain)
                .iter()
                .all(|c| farm.colors.contains(c))
        );
        let dithered = pixelate(
            &fixture(),
            &PixelArt {
                dither: 1.0,
                ..opts
            },
        )
        .unwrap();
        assert!(
            distinct_colors(&dithered)
                .iter()
                .all(|c| farm.colors.contains(c))
        );
        assert_ne!(plain, dithered);
        // A flat mid-tone between two palette colours dithers into both.
        let two = Palette {
            name: "bw".into(),
            colors: vec![[0, 0, 0], [255, 255, 255]],
        };
        let grey = RgbaImage::from_pixel(8, 8, Rgba([128, 128, 128, 255]));
        let d = quantize(&grey, &two, 4.0, 128);
        let whites = d.pixels().filter(|p| p[0] == 255).count();
        assert!((16..=48).contains(&whites), "{whites} white of 64");
        assert_eq!(
            quantize(&grey, &two, 0.0, 128)
                .pixels()
                .filter(|p| p[0] == 255)
                .count(),
            64
        );
    }
}
