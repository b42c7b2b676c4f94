//! Background removal: the flat backdrop a generator paints behind a sprite becomes alpha.
//!
//! Two keys: [`BackgroundKey::Border`] flood-fills from the image border through every pixel
//! close to the border's dominant colour (so the same colour inside the sprite survives), and
//! [`BackgroundKey::Color`] removes one colour everywhere. Then the alpha is cleaned up: opaque
//! specks smaller than `min_island` pixels go, the fringe next to the removed area is faded by
//! its distance to the key, and fully transparent pixels get RGB 0 so filtering never bleeds the
//! old backdrop back in.

use std::collections::{BTreeMap, VecDeque};

use image::{Rgba, RgbaImage};

use super::{MAX_DISTANCE2, distance2, rgb};

/// Which pixels are background.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackgroundKey {
    /// Pixels connected to the border whose colour is near the border's most common colour.
    Border,
    /// Every pixel near this colour.
    Color([u8; 3]),
}

/// Background removal settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackgroundRemoval {
    /// Which pixels are background.
    pub key: BackgroundKey,
    /// How far from the key colour still counts as background, `0.0..=1.0` of the largest
    /// colour distance (0.1 tolerates mild noise and JPEG-like artefacts).
    pub tolerance: f32,
    /// Opaque islands (8-connected) smaller than this many pixels are removed.
    pub min_island: usize,
    /// Fade the fringe next to the removed area by its distance to the key colour.
    pub feather: bool,
}

impl Default for BackgroundRemoval {
    fn default() -> Self {
        Self {
            key: BackgroundKey::Border,
            tolerance: 0.1,
            min_island: 4,
            feather: true,
        }
    }
}

/// Removes the background of `image` to alpha; see the [module docs](self).
pub fn remove_background(image: &RgbaImage, opts: &BackgroundRemoval) -> RgbaImage {
    let (w, h) = image.dimensions();
    let mut out = image.clone();
    if w == 0 || h == 0 {
        return out;
    }
    let tol = opts.tolerance.clamp(0.0, 1.0);
    let limit = (tol * tol * MAX_DISTANCE2 as f32) as u32;
    let idx = |x: u32, y: u32| (y * w + x) as usize;
    let key = match opts.key {
        BackgroundKey::Color(c) => c,
        BackgroundKey::Border => dominant_border_color(image),
    };
    let near = |p: &Rgba<u8>| p[3] == 0 || distance2(rgb(*p), key) <= limit;
    let mut background = vec![false; (w * h) as usize];
    match opts.key {
        BackgroundKey::Color(_) => {
            for (x, y, p) in image.enumerate_pixels() {
                background[idx(x, y)] = near(p);
            }
        }
        BackgroundKey::Border => {
            let mut queue = VecDeque::new();
            let border = (0..w)
                .flat_map(|x| [(x, 0), (x, h - 1)])
                .chain((0..h).flat_map(|y| [(0, y), (w - 1, y)]));
            for (x, y) in border {
                if !background[idx(x, y)] && near(image.get_pixel(x, y)) {
                    background[idx(x, y)] = true;
                    queue.push_back((x, y));
                }
            }
            while let Some((x, y)) = queue.pop_front() {
                for (nx, ny) in neighbours4(x, y, w, h) {
                    if !background[idx(nx, ny)] && near(image.get_pixel(nx, ny)) {
                        background[idx(nx, ny)] = true;
                        queue.push_back((nx, ny));
                    }
                }
            }
        }
    }
    remove_small_islands(&mut background, w, h, opts.min_island);
    for (x, y, p) in out.enumerate_pixels_mut() {
        if background[idx(x, y)] {
            *p = Rgba([0, 0, 0, 0]);
        } else if opts.feather
            && limit > 0
            && neighbours4(x, y, w, h).any(|(nx, ny)| background[idx(nx, ny)])
        {
            // Fringe: as transparent as it is close to the key, fully opaque from twice the limit.
            let d = (distance2(rgb(*p), key) as f32).sqrt();
            let lim = (limit as f32).sqrt();
            let t = ((d - lim) / lim).clamp(0.0, 1.0);
            p[3] = (f32::from(p[3]) * t).round() as u8;
            if p[3] == 0 {
                *p = Rgba([0, 0, 0, 0]);
            }
        }
    }
    out
}

/// The most common colour on the border (colours bucketed to 5 bits per channel, then averaged
/// within the winning bucket).
pub fn dominant_border_color(image: &RgbaImage) -> [u8; 3] {
    let (w, h) = image.dimensions();
    let mut buckets: BTreeMap<[u8; 3], (usize, [u64; 3])> = BTreeMap::new();
    let border = (0..w)
        .flat_map(|x| [(x, 0), (x, h - 1)])
        .chain((1..h.saturating_sub(1)).flat_map(|y| [(0, y), (w - 1, y)]));
    for (x, y) in border {
        let c = rgb(*image.get_pixel(x, y));
        let e = buckets.entry(c.map(|v| v >> 3)).or_default();
        e.0 += 1;
        for (sum, v) in e.1.iter_mut().zip(c) {
            *sum += u64::from(v);
        }
    }
    buckets
        .values()
        .max_by_key(|(n, _)| *n)
        .map(|(n, sum)| sum.map(|s| (s / *n as u64) as u8))
        .unwrap_or([0, 0, 0])
}

/// Marks as background every foreground island (8-connected) smaller than `min` pixels.
fn remove_small_islands(background: &mut [bool], w: u32, h: u32, min: usize) {
    if min <= 1 {
        return;
    }
    let idx = |x: u32, y: u32| (y * w + x) as usize;
    let mut seen = vec![false; background.len()];
    for y in 0..h {
        for x in 0..w {
            if background[idx(x, y)] || seen[idx(x, y)] {
                continue;
            }
            let mut island = vec![(x, y)];
            seen[idx(x, y)] = true;
            let mut i = 0;
            while i < island.len() {
                let (cx, cy) = island[i];
                i += 1;
                for (nx, ny) in neighbours8(cx, cy, w, h) {
                    if !background[idx(nx, ny)] && !seen[idx(nx, ny)] {
                        seen[idx(nx, ny)] = true;
                        island.push((nx, ny));
                    }
                }
            }
            if island.len() < min {
                for (ix, iy) in island {
                    background[idx(ix, iy)] = true;
                }
            }
        }
    }
}

pub(crate) fn neighbours4(x: u32, y: u32, w: u32, h: u32) -> impl Iterator<Item = (u32, u32)> {
    let (x, y) = (i64::from(x), i64::from(y));
    [(x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)]
        .into_iter()
        .filter(move |&(nx, ny)| nx >= 0 && ny >= 0 && nx < i64::from(w) && ny < i64::from(h))
        .map(|(nx, ny)| (nx as u32, ny as u32))
}

fn neighbours8(x: u32, y: u32, w: u32, h: u32) -> impl Iterator<Item = (u32, u32)> {
    let (x, y) = (i64::from(x), i64::from(y));
    (-1..=1)
        .flat_map(move |dy| (-1..=1).map(move |dx| (x + dx, y + dy)))
        .filter(move |&(nx, ny)| (nx, ny) != (x, y))
        .filter(move |&(nx, ny)| nx >= 0 && ny >= 0 && nx < i64::from(w) && ny < i64::from(h))
        .map(|(nx, ny)| (nx as u32, ny as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 32×32: a noisy pale-blue backdrop, a red disc of radius 9 in the middle with a pale-blue
    /// dot at its centre (must survive a border flood), and one stray dark pixel in a corner area.
    fn fixture() -> RgbaImage {
        RgbaImage::from_fn(32, 32, |x, y| {
            let (dx, dy) = (x as f32 - 15.5, y as f32 - 15.5);
            let r = (dx * dx + dy * dy).sqrt();
            let noise = ((x * 7 + y * 13) % 5) as u8;
            if (x, y) == (3, 4) {
                Rgba([20, 20, 20, 255])
            } else if r < 1.5 {
                Rgba([180 + noise, 210, 240, 255])
            } else if r < 9.0 {
                Rgba([200, 40 + noise, 30, 255])
            } else {
                Rgba([180 + noise, 210 - noise, 240, 255])
            }
        })
    }

    #[test]
    fn border_flood_clears_the_backdrop_and_keeps_enclosed_key_colour() {
        let img = fixture();
        let out = remove_background(&img, &BackgroundRemoval::default());
        let (w, h) = out.dimensions();
        for x in 0..w {
            for y in [0, h - 1] {
                assert_eq!(out.get_pixel(x, y), &Rgba([0, 0, 0, 0]), "border {x},{y}");
                assert_eq!(out.get_pixel(y, x), &Rgba([0, 0, 0, 0]), "border {y},{x}");
            }
        }
        assert_eq!(
            out.get_pixel(16, 16)[3],
            255,
            "enclosed backdrop colour survives"
        );
        assert_eq!(out.get_pixel(3, 4)[3], 0, "a one-pixel speck is cleaned up");
        assert_eq!(
            out.get_pixel(10, 16),
            img.get_pixel(10, 16),
            "the sprite is untouched"
        );
        let opaque = out.pixels().filter(|p| p[3] == 255).count();
        let disc = img
            .enumerate_pixels()
            .filter(|(x, y, _)| {
                let (dx, dy) = (*x as f32 - 15.5, *y as f32 - 15.5);
                (dx * dx + dy * dy).sqrt() < 9.0
            })
            .count();
        assert_eq!(opaque, disc, "exactly the disc stays opaque");
    }

    #[test]
    fn colour_key_removes_the_colour_everywhere_and_islands_can_stay() {
        let img = fixture();
        let opts = BackgroundRemoval {
            key: BackgroundKey::Color([182, 208, 240]),
            min_island: 0,
            feather: false,
            ..BackgroundRemoval::default()
        };
        let out = remove_background(&img, &opts);
        assert_eq!(out.get_pixel(16, 16)[3], 0, "colour key reaches inside");
        assert_eq!(
            out.get_pixel(3, 4)[3],
            255,
            "islands stay when min_island is 0"
        );
        assert_eq!(out.get_pixel(0, 0)[3], 0);
    }

    #[test]
    fn the_dominant_border_colour_ignores_a_few_odd_pixels() {
        let mut img = RgbaImage::from_pixel(10, 10, Rgba([10, 200, 10, 255]));
        img.put_pixel(0, 0, Rgba([255, 0, 0, 255]));
        assert_eq!(dominant_border_color(&img), [10, 200, 10]);
    }
}
