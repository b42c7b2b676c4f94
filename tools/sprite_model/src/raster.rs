//! SVG to small straight-alpha RGBA: render supersampled with resvg, then box-filter down.

use resvg::{tiny_skia, usvg};

use crate::{Error, Result};

/// The supersampled size icons are rendered at before box filtering.
pub const SUPERSAMPLE: u32 = 128;

/// Renders `svg` centred in a square and box-filters it to each of `sizes` (each must divide
/// [`SUPERSAMPLE`]). Returns one straight-alpha RGBA buffer (`size * size * 4` bytes) per size.
pub fn rasterize(svg: &str, sizes: &[u32]) -> Result<Vec<Vec<u8>>> {
    for &s in sizes {
        if s == 0 || !SUPERSAMPLE.is_multiple_of(s) {
            return Err(Error::Size(s));
        }
    }
    let tree = usvg::Tree::from_str(svg, &usvg::Options::default())?;
    let big = SUPERSAMPLE;
    let mut pixmap = tiny_skia::Pixmap::new(big, big).ok_or(Error::Size(big))?;
    let size = tree.size();
    let scale = big as f32 / size.width().max(size.height());
    let dx = (big as f32 - size.width() * scale) / 2.0;
    let dy = (big as f32 - size.height() * scale) / 2.0;
    let transform = tiny_skia::Transform::from_row(scale, 0.0, 0.0, scale, dx, dy);
    resvg::render(&tree, transform, &mut pixmap.as_mut());
    // Premultiplied samples, averaged in premultiplied space (correct coverage), then demultiplied.
    let data = pixmap.data();
    Ok(sizes
        .iter()
        .map(|&s| downsample(data, big as usize, s as usize))
        .collect())
}

fn downsample(premul: &[u8], big: usize, small: usize) -> Vec<u8> {
    let f = big / small;
    let n = (f * f) as f32;
    let mut out = vec![0u8; small * small * 4];
    for y in 0..small {
        for x in 0..small {
            let mut acc = [0f32; 4];
            for yy in 0..f {
                for xx in 0..f {
                    let i = ((y * f + yy) * big + x * f + xx) * 4;
                    for (c, a) in acc.iter_mut().enumerate() {
                        *a += f32::from(premul[i + c]);
                    }
                }
            }
            let alpha = acc[3] / n;
            let o = (y * small + x) * 4;
            for c in 0..3 {
                let v = if alpha > 0.0 {
                    acc[c] / n * 255.0 / alpha
                } else {
                    0.0
                };
                out[o + c] = v.round().clamp(0.0, 255.0) as u8;
            }
            out[o + 3] = alpha.round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}
