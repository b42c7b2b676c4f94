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

/// One hue region of a picture: the indices of its pixels.
#[derive(Debug, Clone, PartialEq)]
struct Region {
    members: Vec<usize>,
}

/// What a ramp is gathered for: the region's mean colour, its lightness range, and whether it
/// is grey.
#[derive(Debug, Clone, Copy)]
struct RegionStats {
    mean: Lab,
    /// The mean chroma of its pixels.
    chroma: f32,
    grey: bool,
}

impl Region {
    fn stats(&self, labs: &[Lab]) -> RegionStats {
        let n = self.members.len().max(1) as f32;
        let sum = self.members.iter().fold([0f32; 3], |s, &i| {
            [s[0] + labs[i].l, s[1] + labs[i].a, s[2] + labs[i].b]
        });
        let mean = Lab {
            l: sum[0] / n,
            a: sum[1] / n,
            b: sum[2] / n,
        };
        let chroma = self.members.iter().map(|&i| labs[i].chroma()).sum::<f32>() / n;
        let grey = self.members.iter().all(|&i| labs[i].chroma() < NEUTRAL);
        RegionStats { mean, chroma, grey }
    }
}

/// Splits colours into hue regions: the greys, then one region per run of occupied bins of the
/// hue histogram (bins whose ±10° neighbourhood holds at least 2% of the coloured pixels), runs
/// wider than [`MAX_SPAN`] split at their emptiest bin; a pixel in an unoccupied bin joins the
/// nearest run.
fn regions(labs: &[Lab]) -> Vec<Region> {
    let bin_of = |lab: Lab| (lab.hue() / (360.0 / BINS as f32)) as usize % BINS;
    let mut grey = Vec::new();
    let mut hist = [0usize; BINS];
    for (i, lab) in labs.iter().enumerate() {
        if lab.chroma() < NEUTRAL {
            grey.push(i);
        } else {
            hist[bin_of(*lab)] += 1;
        }
    }
    // Smoothed over ±SMOOTH bins, so that a sparse bin inside a hue-shifted gradient does not
    // cut it in two.
    let smooth: [usize; BINS] = core::array::from_fn(|b| {
        (0..=2 * SMOOTH)
            .map(|k| hist[(b + BINS + k - SMOOTH) % BINS])
            .sum()
    });
    let coloured = labs.len() - grey.len();
    let threshold = (coloured / 50).max(1);
    let mut occupied: Vec<bool> = smooth.iter().map(|&n| n >= threshold).collect();
    if !occupied.iter().any(|&o| o) {
        occupied = smooth.iter().map(|&n| n > 0).collect();
    }
    let runs = hue_runs(&smooth, &occupied);
    // Each bin's run: its own, or the nearest (circular distance, ties to the earlier run).
    let bin_run: Vec<usize> = (0..BINS)
        .map(|b| {
            let distance = |run: &Vec<usize>| {
                run.iter()
                    .map(|&r| {
                        let d = b.abs_diff(r);
                        d.min(BINS - d)
                    })
                    .min()
                    .unwrap_or(usize::MAX)
            };
            (0..runs.len())
                .min_by_key(|&k| (distance(&runs[k]), k))
                .unwrap_or(0)
        })
        .collect();
    let mut out: Vec<Region> = Vec::new();
    if !grey.is_empty() {
        out.push(Region { members: grey });
    }
    let first = out.len();
    out.extend((0..runs.len()).map(|_| Region {
        members: Vec::new(),
    }));
    for (i, lab) in labs.iter().enumerate() {
        if lab.chroma() >= NEUTRAL {
            out[first + bin_run[bin_of(*lab)]].members.push(i);
        }
    }
    out.retain(|r| !r.members.is_empty());
    out
}

/// The runs of occupied bins round the hue circle (each a list of bin indices in hue order),
/// those wider than [`MAX_SPAN`] split at their emptiest inner bin until none is.
fn hue_runs(hist: &[usize; BINS], occupied: &[bool]) -> Vec<Vec<usize>> {
    // Start the walk at an unoccupied bin, or, when every bin is occupied, at the emptiest.
    let start = (0..BINS)
        .find(|&b| !occupied[b])
        .unwrap_or_else(|| (0..BINS).min_by_key(|&b| (hist[b], b)).unwrap_or(0));
    let mut runs: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for k in 0..BINS {
        let b = (start + k) % BINS;
        if occupied[b] {
            current.push(b);
        } else if !current.is_empty() {
            runs.push(core::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    let mut out = Vec::new();
    while let Some(run) = runs.pop() {
        if run.len() <= MAX_SPAN {
            out.push(run);
            continue;
        }
        let cut = (1..run.len())
            .min_by_key(|&k| (hist[run[k]], k))
            .unwrap_or(run.len() / 2);
        let (left, right) = run.split_at(cut);
        runs.push(right.to_vec());
        runs.push(left.to_vec());
    }
    out.sort_by_key(|run| run.first().copied());
    out
}

/// A palette's colours in `OKLab`.
struct PaletteLab {
    labs: Vec<Lab>,
}

impl PaletteLab {
    fn new(palette: &Palette) -> Self {
        Self {
            labs: palette.colors.iter().map(|&c| oklab(c)).collect(),
        }
    }

    /// The ramp for a region: palette indices, darkest first (see the [module docs](self)).
    fn ramp(&self, region: &RegionStats) -> Vec<usize> {
        let all = 0..self.labs.len();
        let mut ramp: Vec<usize> = if region.grey {
            GREY_RAMP
                .iter()
                .map(|&c| all.clone().filter(|&i| self.labs[i].chroma() < c).collect())
                .find(|r: &Vec<usize>| !r.is_empty())
                .unwrap_or_default()
        } else {
            let hue = region.mean.hue();
            let near = |window: f32| -> Vec<usize> {
                all.clone()
                    .filter(|&i| {
                        let lab = self.labs[i];
                        let d = (lab.hue() - hue).abs();
                        // Darker steps may be duller, as ramps are.
                        let dim = (lab.l / region.mean.l.max(0.01)).min(1.0);
                        lab.chroma() >= NEUTRAL.max(region.chroma * MIN_CHROMA * dim)
                            && d.min(360.0 - d) <= window
                    })
                    .collect()
            };
            let mut ramp = WINDOWS
                .iter()
                .map(|&w| near(w))
                .find(|r| r.len() >= 2)
                .unwrap_or_else(|| near(180.0));
            if ramp.is_empty() {
                ramp = all.clone().collect();
            }
            // The palette's greys past either end: ink below, highlight above.
            let lo = ramp
                .iter()
                .map(|&i| self.labs[i].l)
                .fold(f32::MAX, f32::min);
            let hi = ramp
                .iter()
                .map(|&i| self.labs[i].l)
                .fold(f32::MIN, f32::max);
            ramp.extend(all.clone().filter(|&i| {
                let lab = self.labs[i];
                lab.chroma() < NEUTRAL && (lab.l < lo - MIN_STEP || lab.l > hi + MIN_STEP)
            }));
            ramp
        };
        if ramp.is_empty() {
            ramp = all.collect();
        }
        ramp.sort_by(|&x, &y| self.labs[x].l.total_cmp(&self.labs[y].l).then(x.cmp(&y)));
        // Merge steps of about the same lightness, keeping the one nearest the region's colour.
        let fit = |i: usize| {
            let lab = self.labs[i];
            let (da, db) = (lab.a - region.mean.a, lab.b - region.mean.b);
            da * da + db * db
        };
        let mut merged: Vec<usize> = Vec::with_capacity(ramp.len());
        for i in ramp {
            match merged.last_mut() {
                Some(last) if self.labs[i].l - self.labs[*last].l < MIN_STEP => {
                    if fit(i) < fit(*last) {
                        *last = i;
                    }
                }
                _ => merged.push(i),
            }
        }
        merged
    }
}

/// A region's pixels split into lightness bands, darkest band first.
#[derive(Debug, Clone, PartialEq)]
struct Bands {
    /// The band of each pixel.
    of: Vec<usize>,
    /// How many bands.
    count: usize,
}

impl Bands {
    /// The split of `lightness` into at most `k` bands (intervals of lightness) with the least
    /// sum of squared distances to their means: exact 1-D k-means by dynamic programming
    /// over the distinct lightnesses (rounded to 1/1024), ties to the earlier cut.
    fn split(lightness: &[f32], k: usize) -> Self {
        let key = |v: f32| (v * LEVELS).round() as i32;
        // Distinct levels, darkest first, with their pixel counts and lightness sums.
        let mut levels: Vec<(i32, f64, f64)> = Vec::new();
        let mut sorted = lightness.to_vec();
        sorted.sort_by(f32::total_cmp);
        for &v in &sorted {
            match levels.last_mut() {
                Some(last) if last.0 == key(v) => {
                    last.1 += 1.0;
                    last.2 += f64::from(v);
                }
                _ => levels.push((key(v), 1.0, f64::from(v))),
            }
        }
        let d = levels.len();
        let k = k.clamp(1, d.max(1));
        if d <= 1 {
            return Self {
                of: vec![0; lightness.len()],
                count: 1,
            };
        }
        // Prefix sums of count, sum and sum of squares (each level's pixels at its mean).
        let mut pre = vec![(0f64, 0f64, 0f64); d + 1];
        for (i, &(_, n, sum)) in levels.iter().enumerate() {
            let mean = sum / n;
            let p = pre[i];
            pre[i + 1] = (p.0 + n, p.1 + sum, p.2 + n * mean * mean);
        }
        // The squared error of levels a..b (exclusive) about their mean.
        let sse = |a: usize, b: usize| {
            let (n, s, q) = (
                pre[b].0 - pre[a].0,
                pre[b].1 - pre[a].1,
                pre[b].2 - pre[a].2,
            );
            (q - s * s / n).max(0.0)
        };
        // best[j][i]: least error of levels 0..i in j+1 bands; cut[j][i]: where the last begins.
        let mut best = vec![vec![f64::INFINITY; d + 1]; k];
        let mut cut = vec![vec![0usize; d + 1]; k];
        for (i, e) in best[0].iter_mut().enumerate().skip(1) {
            *e = sse(0, i);
        }
        for j in 1..k {
            for i in (j + 1)..=d {
                for t in j..i {
                    let e = best[j - 1][t] + sse(t, i);
                    if e < best[j][i] {
                        best[j][i] = e;
                        cut[j][i] = t;
                    }
                }
            }
        }
        // Level index -> band, from the last band back.
        let mut band_of_level = vec![0usize; d];
        let mut end = d;
        for j in (0..k).rev() {
            let start = if j == 0 { 0 } else { cut[j][end] };
            for b in &mut band_of_level[start..end] {
                *b = j;
            }
            end = start;
        }
        let of = lightness
            .iter()
            .map(|&v| {
                let i = levels.partition_point(|l| l.0 < key(v));
                band_of_level[i.min(d - 1)]
            })
            .collect();
        Self { of, count: k }
    }

    /// For each band, the index into `ramp` of its step: strictly increasing from band to band,
    /// the choice with the least pixel-weighted [`Lab::cost`] between each band's mean colour and
    /// its step (ties to the darker steps).
    fn choose_steps(
        &self,
        members: &[usize],
        labs: &[Lab],
        ramp: &[usize],
        palette: &PaletteLab,
    ) -> Vec<usize> {
        let k = self.count;
        let m = ramp.len();
        let mut sum = vec![[0f64; 3]; k];
        let mut weight = vec![0f64; k];
        for (&i, &band) in members.iter().zip(&self.of) {
            let lab = labs[i];
            sum[band][0] += f64::from(lab.l);
            sum[band][1] += f64::from(lab.a);
            sum[band][2] += f64::from(lab.b);
            weight[band] += 1.0;
        }
        let mean: Vec<Lab> = (0..k)
            .map(|j| {
                let w = weight[j].max(1.0);
                Lab {
                    l: (sum[j][0] / w) as f32,
                    a: (sum[j][1] / w) as f32,
                    b: (sum[j][2] / w) as f32,
                }
            })
            .collect();
        let cost = |band: usize, step: usize| {
            weight[band] * f64::from(mean[band].cost(palette.labs[ramp[step]]))
        };
        // best[j][s]: least cost of bands 0..=j with band j on step s; from[j][s]: band j-1's step.
        let mut best = vec![vec![f64::INFINITY; m]; k];
        let mut from = vec![vec![0usize; m]; k];
        for (s, e) in best[0].iter_mut().enumerate() {
            *e = cost(0, s);
        }
        for j in 1..k {
            let mut prefix = (f64::INFINITY, 0usize);
            for s in 0..m {
                if s > 0 && best[j - 1][s - 1] < prefix.0 {
                    prefix = (best[j - 1][s - 1], s - 1);
                }
                if prefix.0.is_finite() {
                    best[j][s] = prefix.0 + cost(j, s);
                    from[j][s] = prefix.1;
                }
            }
        }
        let mut steps = vec![0usize; k];
        let mut s = (0..m)
            .min_by(|&x, &y| best[k - 1][x].total_cmp(&best[k - 1][y]))
            .unwrap_or(0);
        for j in (0..k).rev() {
            steps[j] = s;
            s = from[j][s];
        }
        steps
    }
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
