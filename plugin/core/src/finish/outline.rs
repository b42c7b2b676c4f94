//! Outlines and drop shadows around the opaque pixels of a sprite. Both keep the image size: leave
//! a margin round the sprite (the sprite generators do) for them to draw into.

use image::{Rgba, RgbaImage};

use super::alpha::neighbours4;

/// Alpha from which a pixel counts as part of the sprite.
const SOLID: u8 = 128;

/// Draws a `thickness`-pixel outline of `color` round the opaque pixels (4-connected growth, as
/// pixel artists draw them). Only transparent pixels are painted.
pub fn outline(image: &RgbaImage, color: [u8; 4], thickness: u32) -> RgbaImage {
    let (w, h) = image.dimensions();
    let mut solid: Vec<bool> = image.pixels().map(|p| p[3] >= SOLID).collect();
    let mut out = image.clone();
    for _ in 0..thickness {
        let mut grown = solid.clone();
        for y in 0..h {
            for x in 0..w {
                let i = (y * w + x) as usize;
                if !solid[i]
                    && neighbours4(x, y, w, h).any(|(nx, ny)| solid[(ny * w + nx) as usize])
                {
                    grown[i] = true;
                    out.put_pixel(x, y, over(Rgba(color), *image.get_pixel(x, y)));
                }
            }
        }
        solid = grown;
    }
    out
}

/// Puts a shadow of `color` (its alpha is the shadow's opacity) under the sprite, offset by
/// (`dx`, `dy`) pixels.
pub fn drop_shadow(image: &RgbaImage, dx: i32, dy: i32, color: [u8; 4]) -> RgbaImage {
    let (w, h) = image.dimensions();
    RgbaImage::from_fn(w, h, |x, y| {
        let (sx, sy) = (x as i64 - i64::from(dx), y as i64 - i64::from(dy));
        let casts = sx >= 0
            && sy >= 0
            && sx < i64::from(w)
            && sy < i64::from(h)
            && image.get_pixel(sx as u32, sy as u32)[3] >= SOLID;
        let p = *image.get_pixel(x, y);
        if casts { over(p, Rgba(color)) } else { p }
    })
}

/// `top` composited over `bottom` (straight alpha).
fn over(top: Rgba<u8>, bottom: Rgba<u8>) -> Rgba<u8> {
    let ta = f32::from(top[3]) / 255.0;
    let ba = f32::from(bottom[3]) / 255.0;
    let a = ta + ba * (1.0 - ta);
    if a <= 0.0 {
        return Rgba([0, 0, 0, 0]);
    }
    let c = |k: usize| {
        ((f32::from(top[k]) * ta + f32::from(bottom[k]) * ba * (1.0 - ta)) / a)
            .round()
            .clamp(0.0, 255.0) as u8
    };
    Rgba([c(0), c(1), c(2), (a * 255.0).round() as u8])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square() -> RgbaImage {
        RgbaImage::from_fn(10, 10, |x, y| {
            if (3..7).contains(&x) && (3..7).contains(&y) {
                Rgba([200, 180, 40, 255])
            } else {
                Rgba([0, 0, 0, 0])
            }
        })
    }

    #[test]
    fn outlines_ring_the_sprite_without_touching_it() {
        let out = outline(&square(), [20, 10, 30, 255], 1);
        let ink = out
            .pixels()
            .filter(|p| **p == Rgba([20, 10, 30, 255]))
            .count();
        assert_eq!(
            ink, 16,
            "a 4-connected ring round a 4x4 square has 16 pixels"
        );
        assert_eq!(out.get_pixel(4, 4), &Rgba([200, 180, 40, 255]));
        assert_eq!(
            out.get_pixel(2, 2)[3],
            0,
            "corners stay empty with 4-connected growth"
        );
        let thick = outline(&square(), [20, 10, 30, 255], 2);
        assert_eq!(thick.pixels().filter(|p| p[3] == 255).count(), 16 + 16 + 20);
    }

    #[test]
    fn shadows_fall_under_and_behind() {
        let out = drop_shadow(&square(), 2, 1, [0, 0, 0, 128]);
        assert_eq!(
            out.get_pixel(8, 7),
            &Rgba([0, 0, 0, 128]),
            "shadow beyond the sprite"
        );
        assert_eq!(
            out.get_pixel(4, 4),
            &Rgba([200, 180, 40, 255]),
            "sprite on top"
        );
        assert_eq!(out.get_pixel(1, 1)[3], 0);
        let shadowed = out.pixels().filter(|p| **p == Rgba([0, 0, 0, 128])).count();
        assert_eq!(
            shadowed,
            16 - 6,
            "the shadow shows where the sprite does not cover it"
        );
    }
}
