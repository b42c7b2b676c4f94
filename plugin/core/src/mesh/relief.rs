//! Images as surfaces: a relief (heightfield: brightness is height) textured with the image itself,
//! and a flat ground tile textured with a (seamless) texture repeated across it.

use image::{RgbaImage, imageops};

use super::glb::{AlphaMode, Material};
use super::{Error, Mesh, Result};

/// A relief of `image`: a grid of at most `max_grid` vertices along its longer side (the image is
/// area-sampled down to it), `width` metres wide, brightness 0..1 raised to `height` metres, the
/// image as its texture. The surface lies in the XZ plane centred on the origin, +Y up.
pub fn relief(
    image: &RgbaImage,
    width: f32,
    height: f32,
    max_grid: u32,
) -> Result<(Mesh, Material)> {
    let (iw, ih) = image.dimensions();
    if iw < 2 || ih < 2 || max_grid < 2 {
        return Err(Error::Empty(format!(
            "a relief needs at least 2x2 pixels, got {iw}x{ih}"
        )));
    }
    let scale = (f64::from(max_grid) / f64::from(iw.max(ih))).min(1.0);
    let gw = ((f64::from(iw) * scale).round() as u32).max(2);
    let gh = ((f64::from(ih) * scale).round() as u32).max(2);
    let grid = if (gw, gh) == (iw, ih) {
        image.clone()
    } else {
        imageops::resize(image, gw, gh, imageops::FilterType::Triangle)
    };
    let depth = width * gh as f32 / gw as f32;
    let heights: Vec<f32> = grid
        .pixels()
        .map(|p| {
            let luma =
                0.2126 * f32::from(p[0]) + 0.7152 * f32::from(p[1]) + 0.0722 * f32::from(p[2]);
            luma / 255.0 * height * f32::from(p[3]) / 255.0
        })
        .collect();
    let at = |x: u32, y: u32| heights[(y.min(gh - 1) * gw + x.min(gw - 1)) as usize];
    let (dx, dz) = (width / (gw - 1) as f32, depth / (gh - 1) as f32);
    let mut mesh = Mesh::default();
    for y in 0..gh {
        for x in 0..gw {
            mesh.positions.push([
                x as f32 * dx - width / 2.0,
                at(x, y),
                y as f32 * dz - depth / 2.0,
            ]);
            // Central differences (one-sided at the edges).
            let (x0, x1) = (x.saturating_sub(1), (x + 1).min(gw - 1));
            let (y0, y1) = (y.saturating_sub(1), (y + 1).min(gh - 1));
            let sx = (at(x1, y) - at(x0, y)) / ((x1 - x0) as f32 * dx);
            let sz = (at(x, y1) - at(x, y0)) / ((y1 - y0) as f32 * dz);
            mesh.normals.push(normalize([-sx, 1.0, -sz]));
            mesh.uvs
                .push([x as f32 / (gw - 1) as f32, y as f32 / (gh - 1) as f32]);
        }
    }
    grid_indices(&mut mesh, gw, gh);
    let material = Material {
        texture: Some(image.clone()),
        alpha_mode: AlphaMode::Mask(0.5),
        double_sided: true,
        ..Material::matte("relief")
    };
    Ok((mesh, material))
}

/// A flat square ground tile `size` metres across with `texture` repeated `repeat` times along
/// each side (make the texture seamless first), split into `cells`×`cells` quads.
pub fn ground_tile(
    texture: &RgbaImage,
    size: f32,
    repeat: f32,
    cells: u32,
) -> Result<(Mesh, Material)> {
    if texture.width() == 0 || texture.height() == 0 || cells == 0 {
        return Err(Error::Empty(
            "a ground tile needs a texture and at least one cell".into(),
        ));
    }
    let n = cells + 1;
    let mut mesh = Mesh::default();
    for y in 0..n {
        for x in 0..n {
            let (u, v) = (x as f32 / cells as f32, y as f32 / cells as f32);
            mesh.positions
                .push([u * size - size / 2.0, 0.0, v * size - size / 2.0]);
            mesh.normals.push([0.0, 1.0, 0.0]);
            mesh.uvs.push([u * repeat, v * repeat]);
        }
    }
    grid_indices(&mut mesh, n, n);
    let material = Material {
        texture: Some(texture.clone()),
        ..Material::matte("ground")
    };
    Ok((mesh, material))
}

/// Two triangles per grid cell, counter-clockwise seen from +Y (rows run along +Z).
fn grid_indices(mesh: &mut Mesh, w: u32, h: u32) {
    for y in 0..h - 1 {
        for x in 0..w - 1 {
            let i = y * w + x;
            let (a, b, c, d) = (i, i + 1, i + w, i + w + 1);
            mesh.indices.extend([a, c, b, b, c, d]);
        }
    }
}

fn normalize(v: [f32; 3]) -> [f32; 3] {
    let len = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    v.map(|c| c / len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    #[test]
    fn reliefs_rise_with_brightness_and_face_up() {
        let img = RgbaImage::from_fn(16, 8, |x, _| {
            let v = if x >= 8 { 255 } else { 0 };
            Rgba([v, v, v, 255])
        });
        let (mesh, material) = relief(&img, 2.0, 0.5, 64).unwrap();
        assert_eq!(mesh.positions.len(), 16 * 8);
        assert_eq!(mesh.triangles(), 2 * 15 * 7);
        let (min, max) = mesh.bounds();
        assert_eq!((min[0], max[0], min[1], max[1]), (-1.0, 1.0, 0.0, 0.5));
        assert!(mesh.normals.iter().all(|n| n[1] > 0.0));
        assert!(material.texture.is_some());
        // a = top-left, c = the row below: (c - a) × (b - a) points up.
        let [a, c, b] = [0, 16, 1].map(|i| mesh.positions[i]);
        let (e1, e2) = ([c[0] - a[0], c[2] - a[2]], [b[0] - a[0], b[2] - a[2]]);
        assert!(e1[1] * e2[0] - e1[0] * e2[1] > 0.0);
        let (big, _) = relief(
            &RgbaImage::from_pixel(300, 150, Rgba([9, 9, 9, 255])),
            1.0,
            1.0,
            100,
        )
        .unwrap();
        assert_eq!(big.positions.len(), 100 * 50);
    }

    #[test]
    fn ground_tiles_repeat_their_texture() {
        let tex = RgbaImage::from_pixel(8, 8, Rgba([90, 140, 60, 255]));
        let (mesh, _) = ground_tile(&tex, 4.0, 3.0, 2).unwrap();
        assert_eq!(mesh.positions.len(), 9);
        assert_eq!(mesh.triangles(), 8);
        assert_eq!(mesh.uvs[8], [3.0, 3.0]);
        assert_eq!(mesh.bounds(), ([-2.0, 0.0, -2.0], [2.0, 0.0, 2.0]));
    }
}
