//! Seamless tiling: make any texture wrap around without a visible seam, and measure the seam.
//!
//! [`make_seamless`] blends the texture with a copy of itself shifted by half its size, weighted
//! so the shifted copy owns the edges (where it is continuous across the wrap) and the original
//! owns the middle (where the shifted copy has its own seam). It runs once across and once down;
//! the second pass keeps the first pass's wrap. [`seam_error`] compares the colour step across
//! the wrap with the ordinary step between neighbouring pixels.

use image::{Rgba, RgbaImage};

/// How visible the seam of a texture is when tiled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeamError {
    /// Mean absolute channel difference (`0.0..=1.0`) between pixels that meet across the wrap
    /// (last column against first, last row against first).
    pub seam: f64,
    /// Mean absolute channel difference between ordinary neighbouring pixels inside the texture.
    pub interior: f64,
}

impl SeamError {
    /// `seam / interior`: about 1 for a seamless texture (the wrap looks like any other step);
    /// large for a visible seam.
    pub fn ratio(&self) -> f64 {
        self.seam / self.interior.max(1e-6)
    }
}

/// Measures the seam of `image` when tiled; see [`SeamError`].
pub fn seam_error(image: &RgbaImage) -> SeamError {
    let (w, h) = image.dimensions();
    let diff = |a: &Rgba<u8>, b: &Rgba<u8>| -> f64 {
        (0..4).map(|k| f64::from(a[k].abs_diff(b[k]))).sum::<f64>() / (4.0 * 255.0)
    };
    let (mut seam, mut seam_n) = (0.0, 0u64);
    let (mut inner, mut inner_n) = (0.0, 0u64);
    for y in 0..h {
        for x in 0..w {
            let p = image.get_pixel(x, y);
            let right = image.get_pixel((x + 1) % w, y);
            let down = image.get_pixel(x, (y + 1) % h);
            if x + 1 == w {
                seam += diff(p, right);
                seam_n += 1;
            } else {
                inner += diff(p, right);
                inner_n += 1;
            }
            if y + 1 == h {
                seam += diff(p, down);
                seam_n += 1;
            } else {
                inner += diff(p, down);
                inner_n += 1;
            }
        }
    }
    SeamError {
        seam: seam / seam_n.max(1) as f64,
        interior: inner / inner_n.max(1) as f64,
    }
}

/// A copy of `image` that tiles seamlessly; see the [module docs](self).
pub fn make_seamless(image: &RgbaImage) -> RgbaImage {
    let across = blend_pass(image, true);
    blend_pass(&across, false)
}

fn blend_pass(image: &RgbaImage, horizontal: bool) -> RgbaImage {
    let (w, h) = image.dimensions();
    let len = if horizontal { w } else { h };
    if len < 2 {
        return image.clone();
    }
    // Weight of the original: 0 at both edges, 1 in the middle (a tent).
    let weight = |i: u32| -> f32 {
        let t = i as f32 / (len - 1) as f32;
        let tent = 1.0 - (2.0 * t - 1.0).abs();
        // Smoothstep keeps the blend from showing a crease in the middle.
        tent * tent * (3.0 - 2.0 * tent)
    };
    RgbaImage::from_fn(w, h, |x, y| {
        let (i, shifted) = if horizontal {
            (x, image.get_pixel((x + w / 2) % w, y))
        } else {
            (y, image.get_pixel(x, (y + h / 2) % h))
        };
        let a = weight(i);
        let p = image.get_pixel(x, y);
        Rgba(core::array::from_fn(|k| {
            (f32::from(p[k]) * a + f32::from(shifted[k]) * (1.0 - a))
                .round()
                .clamp(0.0, 255.0) as u8
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 64×48: a diagonal gradient with a deterministic speckle, which does not tile at all.
    fn fixture() -> RgbaImage {
        RgbaImage::from_fn(64, 48, |x, y| {
            let speckle = ((x * 31 + y * 17) % 7) as u8 * 3;
            Rgba([(x * 3) as u8 + speckle, (y * 4) as u8, 90 + speckle, 255])
        })
    }

    #[test]
    fn seamless_textures_have_a_seam_no_worse_than_their_interior() {
        let raw = fixture();
        let before = seam_error(&raw);
        assert!(
            before.ratio() > 5.0,
            "the fixture has a visible seam: {before:?}"
        );
        let tiled = make_seamless(&raw);
        assert_eq!(tiled.dimensions(), raw.dimensions());
        let after = seam_error(&tiled);
        assert!(after.ratio() < 1.5, "seam still visible: {after:?}");
        assert!(after.seam < 0.02, "{after:?}");
    }

    #[test]
    fn an_already_tiling_texture_measures_seamless() {
        // Squares of 4 shifted by 2: the wrap falls inside squares, as in any tiling texture.
        let checker = RgbaImage::from_fn(16, 16, |x, y| {
            if ((x + 2) / 4 + (y + 2) / 4) % 2 == 0 {
                Rgba([0, 0, 0, 255])
            } else {
                Rgba([255, 255, 255, 255])
            }
        });
        let e = seam_error(&checker);
        assert!(e.seam <= e.interior, "{e:?}");
    }
}
