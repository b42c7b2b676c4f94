//! Palette mapping that keeps shading: a sprite's light, mid and dark tones land on distinct
//! steps of the palette's matching colour ramp instead of collapsing into the one nearest colour.
//!
//! Nearest-colour quantisation to a small game palette maps every red of a shaded tomato to the
//! same palette red: the shading is gone. [`map_to_ramps`] instead
//!
//! 1. splits the sprite's opaque pixels into *regions* by hue (greys apart), from a histogram of
//!    `OKLab` hue: runs of occupied hue bins (smoothed over ±10°), a run wider than 60° split at
//!    its emptiest bin;
//! 2. gathers each region's *ramp*: the palette colours of that hue (within 40°, widening when
//!    the palette has too few) and at least half its chroma (less for darker steps), plus the
//!    palette's greys darker or lighter than all of them (ink and highlight ends), sorted by
//!    lightness, steps closer than 0.03 in lightness merged;
//! 3. splits the region's pixels into lightness *bands* (exact 1-D k-means; one band per 0.08 of
//!    lightness the region spans, at most [`MAX_STEPS`], at least three pixels a band, no more
//!    than the ramp has steps in that span unless that leaves fewer than three; a main region
//!    with any shading at all keeps at least three);
//! 4. gives the bands strictly increasing ramp steps, the choice that costs least in colour
//!    error (dynamic programming), so a band never maps darker than a darker band.
//!
//! Within a region the result is monotone in lightness; a flat-coloured region stays one colour,
//! and an image already in the palette maps to itself when no region uses more than
//! [`MAX_STEPS`] steps. [`ramp_outline`] outlines a sprite in the darkest step of its ramp.
//! Everything is deterministic: fixed iteration orders, ties to the lower index.
//!
//! The mapping is per pixel and monotone, so it amplifies whatever lightness variation the
//! sprite has: faint, noisy shading comes out as mottled steps rather than smooth light-to-dark
//! bands.

mod bands;
mod regions;

use bands::Bands;
use regions::*;

use image::{Rgba, RgbaImage};

use super::palette::Palette;
use super::rgb;

/// At most this many steps of one ramp per region.
pub const MAX_STEPS: usize = 5;
/// `OKLab` chroma under which a colour counts as grey.
const NEUTRAL: f32 = 0.035;
/// Chroma under which a palette colour may serve a grey region.
const GREY_RAMP: [f32; 3] = [0.05, 0.1, f32::INFINITY];
/// Lightness (`OKLab` `L`, `0..=1`) a region must span for each step past the first.
const BAND: f32 = 0.08;
/// A region holding at least 1/`MAIN_SHARE` of the sprite's pixels is one of its main regions.
const MAIN_SHARE: usize = 4;
/// The lightness span (5th to 95th percentile) from which a main region counts as shaded.
const MIN_SHADING: f32 = 0.03;
/// A band needs at least this many pixels.
const MIN_BAND_PIXELS: usize = 3;
/// Hue histogram bins (5° each).
const BINS: usize = 72;
/// Hue bins either side summed into each bin before finding runs (±10°).
const SMOOTH: usize = 2;
/// The widest hue run one region may span, in bins (60°, of which 20° is smoothing: regions
/// of different hues, an apple's red body and yellow flecks, keep their own ramps).
const MAX_SPAN: usize = 12;
/// Hue windows (degrees either side) tried in turn when gathering a region's ramp, until one
/// holds at least two colours.
const WINDOWS: [f32; 4] = [40.0, 60.0, 90.0, 180.0];
/// A ramp's colours have at least this fraction of the region's mean chroma, scaled down for
/// colours darker than the region's mean (a saturated red's ramp holds no browns, a blue's
/// holds its dark navy).
const MIN_CHROMA: f32 = 0.5;
/// Two ramp steps closer than this in lightness are one step (the one nearer the region's hue
/// and chroma is kept).
const MIN_STEP: f32 = 0.03;
/// Weight of the colour (a, b) error against the lightness error when choosing steps.
const CHROMA_WEIGHT: f32 = 2.0;
/// Lightness levels per unit when splitting a region into bands.
const LEVELS: f32 = 1024.0;
/// Alpha from which a pixel counts as part of the sprite, for [`ramp_outline`].
const SOLID: u8 = 128;

/// A colour in `OKLab` (`l` in `0..=1`; `a`, `b` about `-0.4..=0.4`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Lab {
    pub(crate) l: f32,
    pub(crate) a: f32,
    pub(crate) b: f32,
}

impl Lab {
    fn chroma(self) -> f32 {
        self.a.hypot(self.b)
    }

    /// Hue in degrees, `0..360`.
    fn hue(self) -> f32 {
        self.b.atan2(self.a).to_degrees().rem_euclid(360.0)
    }

    /// The step-choosing cost: squared lightness error plus weighted squared colour error.
    fn cost(self, other: Self) -> f32 {
        let (dl, da, db) = (self.l - other.l, self.a - other.a, self.b - other.b);
        dl * dl + CHROMA_WEIGHT * (da * da + db * db)
    }
}

/// An sRGB colour in `OKLab`.
pub(crate) fn oklab(c: [u8; 3]) -> Lab {
    let lin = |v: u8| {
        let v = f32::from(v) / 255.0;
        if v <= 0.040_45 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    let (r, g, b) = (lin(c[0]), lin(c[1]), lin(c[2]));
    let l = (0.412_221_46 * r + 0.536_332_55 * g + 0.051_445_995 * b).cbrt();
    let m = (0.211_903_5 * r + 0.680_699_5 * g + 0.107_396_96 * b).cbrt();
    let s = (0.088_302_46 * r + 0.281_718_85 * g + 0.629_978_7 * b).cbrt();
    Lab {
        l: 0.210_454_26 * l + 0.793_617_8 * m - 0.004_072_047 * s,
        a: 1.977_998_5 * l - 2.428_592_2 * m + 0.450_593_7 * s,
        b: 0.025_904_037 * l + 0.782_771_77 * m - 0.808_675_77 * s,
    }
}

/// Perceptual lightness of an sRGB colour: `OKLab` `L`, `0` (black) to `1` (white). The order
/// [`map_to_ramps`] keeps.
pub fn lightness(c: [u8; 3]) -> f32 {
    oklab(c).l
}

/// Maps the pixels of `image` with alpha at or above `alpha_threshold` to `palette`, keeping
/// each hue region's shading as distinct ramp steps (see the [module docs](self)); the others
/// become transparent (RGB 0). Alpha becomes 0 or 255.
pub fn map_to_ramps(image: &RgbaImage, palette: &Palette, alpha_threshold: u8) -> RgbaImage {
    let (w, h) = image.dimensions();
    let opaque: Vec<usize> = image
        .pixels()
        .enumerate()
        .filter(|(_, p)| p[3] >= alpha_threshold)
        .map(|(i, _)| i)
        .collect();
    let colors: Vec<[u8; 3]> = opaque
        .iter()
        .map(|&i| rgb(*image.get_pixel(i as u32 % w, i as u32 / w)))
        .collect();
    let mapped = map_colors(&colors, palette);
    let mut out = RgbaImage::new(w, h);
    for (&i, c) in opaque.iter().zip(mapped) {
        out.put_pixel(i as u32 % w, i as u32 / w, Rgba([c[0], c[1], c[2], 255]));
    }
    out
}

/// Maps a list of colours (the opaque pixels of one picture) to `palette`, region by region.
fn map_colors(colors: &[[u8; 3]], palette: &Palette) -> Vec<[u8; 3]> {
    if palette.colors.is_empty() {
        return colors.to_vec();
    }
    let labs: Vec<Lab> = colors.iter().map(|&c| oklab(c)).collect();
    let steps = PaletteLab::new(palette);
    let mut out = vec![[0u8; 3]; colors.len()];
    for region in regions(&labs) {
        let ramp = steps.ramp(&region.stats(&labs));
        let lightness: Vec<f32> = region.members.iter().map(|&i| labs[i].l).collect();
        let ramp_lightness: Vec<f32> = ramp.iter().map(|&i| steps.labs[i].l).collect();
        let main = region.members.len() * MAIN_SHARE >= colors.len();
        let bands = Bands::split(&lightness, wanted_steps(&lightness, &ramp_lightness, main));
        let chosen = bands.choose_steps(&region.members, &labs, &ramp, &steps);
        for (&member, &band) in region.members.iter().zip(&bands.of) {
            out[member] = palette.colors[ramp[chosen[band]]];
        }
    }
    out
}

/// How many steps a region of these lightnesses should keep, given its `ramp` (palette
/// lightnesses, darkest first): one per [`BAND`] of lightness it spans (5th to 95th
/// percentile), at most [`MAX_STEPS`], at least [`MIN_BAND_PIXELS`] pixels each, never more than
/// its distinct lightnesses; no more than the ramp has between its darkest and lightest pixel
/// (widened by half a band each way) unless that leaves fewer than three, so that the ramp's
/// far ends (ink, white) are reached for only when the shading needs them. A `main` region (a
/// quarter of the sprite or more) that is shaded at all (spans [`MIN_SHADING`]) keeps at least
/// light, mid and dark: a sprite drawn with faint shading comes out with a readable ramp.
fn wanted_steps(lightness: &[f32], ramp: &[f32], main: bool) -> usize {
    let mut sorted = lightness.to_vec();
    sorted.sort_by(f32::total_cmp);
    let n = sorted.len();
    if n == 0 || ramp.is_empty() {
        return 1;
    }
    let (lo, hi) = (sorted[(n - 1) / 20], sorted[(n - 1) * 19 / 20]);
    let mut distinct = sorted.clone();
    distinct.dedup();
    let mut wanted = 1 + ((hi - lo) / BAND) as usize;
    if main && hi - lo >= MIN_SHADING {
        wanted = wanted.max(3);
    }
    let wanted = wanted
        .min(MAX_STEPS)
        .min((n / MIN_BAND_PIXELS).max(1))
        .min(distinct.len());
    let (darkest, lightest) = (sorted[0], sorted[n - 1]);
    let within = ramp
        .iter()
        .filter(|&&l| l >= darkest - BAND / 2.0 && l <= lightest + BAND / 2.0)
        .count();
    wanted.min(within.max(wanted.min(3))).min(ramp.len())
}

/// Draws a `thickness`-pixel outline round the opaque pixels of `image` (alpha at least 128;
/// 4-connected growth, as [`outline`](super::outline()) draws) in the darkest step of the
/// sprite's ramp: with a `palette`, the step of its main region's ramp (the region with the
/// most pixels) just darker than the darkest colour the sprite uses, that colour itself when
/// the ramp has none darker; without a palette, that darkest colour. Only transparent pixels
/// are painted.
pub fn ramp_outline(image: &RgbaImage, palette: Option<&Palette>, thickness: u32) -> RgbaImage {
    let colors: Vec<[u8; 3]> = image
        .pixels()
        .filter(|p| p[3] >= SOLID)
        .map(|p| rgb(*p))
        .collect();
    let labs: Vec<Lab> = colors.iter().map(|&c| oklab(c)).collect();
    let Some(darkest) = (0..colors.len()).min_by(|&x, &y| {
        labs[x]
            .l
            .total_cmp(&labs[y].l)
            .then_with(|| colors[x].cmp(&colors[y]))
    }) else {
        return image.clone();
    };
    let mut ink = colors[darkest];
    if let Some(palette) = palette.filter(|p| !p.colors.is_empty()) {
        let steps = PaletteLab::new(palette);
        let main = regions(&labs)
            .into_iter()
            .enumerate()
            .max_by_key(|(k, r)| (r.members.len(), core::cmp::Reverse(*k)))
            .map(|(_, r)| r);
        if let Some(main) = main {
            let ramp = steps.ramp(&main.stats(&labs));
            let below = ramp
                .iter()
                .rev()
                .find(|&&i| steps.labs[i].l < labs[darkest].l - MIN_STEP / 2.0);
            if let Some(&i) = below {
                ink = palette.colors[i];
            }
        }
    }
    super::outline::outline(image, [ink[0], ink[1], ink[2], 255], thickness)
}

#[cfg(test)]
mod tests;
