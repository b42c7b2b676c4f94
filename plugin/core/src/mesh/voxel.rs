//! Sprites as voxel props: every opaque pixel becomes a column of voxels, and the voxel grid is
//! meshed greedily (coplanar visible faces of one colour merge into one quad), so a 32×32 sprite
//! stays a few hundred triangles instead of tens of thousands.

use image::RgbaImage;

use super::{Error, Mesh, Result, srgb_to_linear};

/// A dense voxel grid; each voxel is empty or holds an sRGB colour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voxels {
    /// Size along x, y, z.
    pub size: [usize; 3],
    /// `x + size[0] * (y + size[1] * z)` → colour.
    pub cells: Vec<Option<[u8; 3]>>,
}

impl Voxels {
    /// An empty grid.
    pub fn new(size: [usize; 3]) -> Self {
        Self {
            size,
            cells: vec![None; size[0] * size[1] * size[2]],
        }
    }

    /// The voxel at `p`; outside the grid is empty.
    pub fn get(&self, p: [i64; 3]) -> Option<[u8; 3]> {
        if (0..3).any(|k| p[k] < 0 || p[k] >= self.size[k] as i64) {
            return None;
        }
        let [x, y, z] = p.map(|v| v as usize);
        self.cells[x + self.size[0] * (y + self.size[1] * z)]
    }

    /// Sets the voxel at `p` (inside the grid).
    pub fn set(&mut self, p: [usize; 3], color: Option<[u8; 3]>) {
        let i = p[0] + self.size[0] * (p[1] + self.size[1] * p[2]);
        self.cells[i] = color;
    }

    /// Number of filled voxels.
    pub fn count(&self) -> usize {
        self.cells.iter().filter(|c| c.is_some()).count()
    }

    /// Greedy mesh of the visible faces, each voxel `scale` metres, the grid centred on x and z
    /// and standing on y = 0. Vertex colours are the voxels' colours in linear space.
    pub fn greedy_mesh(&self, scale: f32) -> Mesh {
        let mut mesh = Mesh::default();
        let offset = [
            -(self.size[0] as f32) / 2.0,
            0.0,
            -(self.size[2] as f32) / 2.0,
        ];
        for d in 0..3 {
            let (u, v) = ((d + 1) % 3, (d + 2) % 3);
            let (nu, nv) = (self.size[u], self.size[v]);
            let mut mask: Vec<Option<([u8; 3], bool)>> = vec![None; nu * nv];
            // Slice planes between layer s-1 and layer s along d.
            for s in 0..=self.size[d] as i64 {
                for j in 0..nv {
                    for i in 0..nu {
                        let mut p = [0i64; 3];
                        p[d] = s - 1;
                        p[u] = i as i64;
                        p[v] = j as i64;
                        let a = self.get(p);
                        p[d] = s;
                        let b = self.get(p);
                        mask[i + j * nu] = match (a, b) {
                            (Some(c), None) => Some((c, true)),
                            (None, Some(c)) => Some((c, false)),
                            _ => None,
                        };
                    }
                }
                for j in 0..nv {
                    let mut i = 0;
                    while i < nu {
                        let Some(face) = mask[i + j * nu] else {
                            i += 1;
                            continue;
                        };
                        let mut w = 1;
                        while i + w < nu && mask[i + w + j * nu] == Some(face) {
                            w += 1;
                        }
                        let mut h = 1;
                        'grow: while j + h < nv {
                            for k in 0..w {
                                if mask[i + k + (j + h) * nu] != Some(face) {
                                    break 'grow;
                                }
                            }
                            h += 1;
                        }
                        for jj in 0..h {
                            for ii in 0..w {
                                mask[i + ii + (j + jj) * nu] = None;
                            }
                        }
                        let mut base = [0f32; 3];
                        base[d] = s as f32;
                        base[u] = i as f32;
                        base[v] = j as f32;
                        let mut du = [0f32; 3];
                        du[u] = w as f32;
                        let mut dv = [0f32; 3];
                        dv[v] = h as f32;
                        let mut normal = [0f32; 3];
                        normal[d] = if face.1 { 1.0 } else { -1.0 };
                        let corner = |a: f32, b: f32| -> [f32; 3] {
                            core::array::from_fn(|k| {
                                (base[k] + du[k] * a + dv[k] * b + offset[k]) * scale
                            })
                        };
                        let quad = [
                            corner(0.0, 0.0),
                            corner(1.0, 0.0),
                            corner(1.0, 1.0),
                            corner(0.0, 1.0),
                        ];
                        let color = [
                            srgb_to_linear(face.0[0]),
                            srgb_to_linear(face.0[1]),
                            srgb_to_linear(face.0[2]),
                            1.0,
                        ];
                        let first = mesh.positions.len() as u32;
                        for q in quad {
                            mesh.positions.push(q);
                            mesh.normals.push(normal);
                            mesh.colors.push(color);
                        }
                        // (u, v, d) is right-handed: counter-clockwise seen from +d.
                        let order: [u32; 6] = if face.1 {
                            [0, 1, 2, 0, 2, 3]
                        } else {
                            [0, 2, 1, 0, 3, 2]
                        };
                        mesh.indices.extend(order.map(|o| first + o));
                        i += w;
                    }
                }
            }
        }
        mesh
    }
}

/// The voxels of a sprite: each pixel with alpha ≥ 128 becomes a column `depth` voxels deep,
/// the sprite's top row at the top.
pub fn sprite_voxels(sprite: &RgbaImage, depth: usize) -> Voxels {
    let (w, h) = (sprite.width() as usize, sprite.height() as usize);
    let mut vox = Voxels::new([w, h, depth.max(1)]);
    for (x, y, p) in sprite.enumerate_pixels() {
        if p[3] >= 128 {
            for z in 0..depth.max(1) {
                vox.set(
                    [x as usize, h - 1 - y as usize, z],
                    Some([p[0], p[1], p[2]]),
                );
            }
        }
    }
    vox
}

/// A sprite extruded `depth` voxels deep and meshed greedily; `pixel_size` metres per pixel.
pub fn extrude_sprite(sprite: &RgbaImage, depth: usize, pixel_size: f32) -> Result<Mesh> {
    let vox = sprite_voxels(sprite, depth);
    if vox.count() == 0 {
        return Err(Error::Empty(
            "the sprite has no opaque pixel to extrude".into(),
        ));
    }
    Ok(vox.greedy_mesh(pixel_size))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    #[test]
    fn a_single_voxel_is_a_closed_cube_of_twelve_triangles() {
        let mut v = Voxels::new([1, 1, 1]);
        v.set([0, 0, 0], Some([255, 0, 0]));
        let m = v.greedy_mesh(1.0);
        assert_eq!(m.triangles(), 12);
        assert_eq!(m.bounds(), ([-0.5, 0.0, -0.5], [0.5, 1.0, 0.5]));
        // Every face's winding agrees with its normal.
        for t in m.indices.chunks(3) {
            let [a, b, c] = [t[0], t[1], t[2]].map(|i| m.positions[i as usize]);
            let e1 = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
            let e2 = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
            let cross = [
                e1[1] * e2[2] - e1[2] * e2[1],
                e1[2] * e2[0] - e1[0] * e2[2],
                e1[0] * e2[1] - e1[1] * e2[0],
            ];
            let n = m.normals[t[0] as usize];
            assert!(cross.iter().zip(n).map(|(c, n)| c * n).sum::<f32>() > 0.0);
        }
    }

    #[test]
    fn greedy_meshing_merges_flat_runs_of_one_colour() {
        // A solid 8×4 one-colour sprite, 2 deep: a box, 6 quads.
        let sprite = RgbaImage::from_pixel(8, 4, Rgba([40, 160, 60, 255]));
        let m = extrude_sprite(&sprite, 2, 0.0625).unwrap();
        assert_eq!(m.triangles(), 12);
        let (min, max) = m.bounds();
        assert_eq!((min, max), ([-0.25, 0.0, -0.0625], [0.25, 0.25, 0.0625]));
        // Two colours side by side: the front and back split, the sides do not need to.
        let two = RgbaImage::from_fn(8, 4, |x, _| {
            if x < 4 {
                Rgba([200, 0, 0, 255])
            } else {
                Rgba([0, 0, 200, 255])
            }
        });
        let m2 = extrude_sprite(&two, 1, 1.0).unwrap();
        assert_eq!(
            m2.triangles(),
            2 * (2 + 2 + 2 + 2 + 1 + 1),
            "front, back, top, bottom split in two; left, right whole"
        );
        assert!(extrude_sprite(&RgbaImage::new(4, 4), 1, 1.0).is_err());
    }
}
