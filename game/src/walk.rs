//! Walking figures: the farmer and the villagers face the way they walk and step in two frames.
//!
//! Their sprites are generated as one side view of a walking figure, facing left, in mid-stride.
//! The second frame is derived from it: the legs (the lowest part of the figure) mirrored about
//! the figure's middle, which is the other stride. The two frames alternate while the figure
//! moves; a figure standing still shows the sprite as drawn. The derived frame is made again
//! when the sprite changes (hot reload, `sprout art`).

use bevy::asset::RenderAssetUsages;
use bevy::prelude::*;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};

/// Steps per second while walking (each step shows one frame).
pub const STEPS_PER_SECOND: f32 = 6.0;

/// The share of a figure's height, from its feet, that is its legs.
pub const LEGS: f32 = 0.38;

/// A figure drawn from a generated walking sprite.
#[derive(Component, Debug, Clone, Default)]
pub struct Walker {
    /// The sprite as generated (facing left, mid-stride).
    pub base: Handle<Image>,
    /// The other stride, derived from `base` (which it was made from, and the frame).
    stride: Option<(AssetId<Image>, Handle<Image>)>,
    /// Where it stood last frame.
    last: Option<Vec2>,
    /// Steps taken since it started moving.
    phase: f32,
}

impl Walker {
    /// A figure wearing `base`.
    pub fn new(base: Handle<Image>) -> Self {
        Self { base, ..default() }
    }

    /// Whether the derived frame is ready.
    pub fn has_stride(&self) -> bool {
        self.stride
            .as_ref()
            .is_some_and(|(from, _)| *from == self.base.id())
    }
}

pub(crate) fn plugin(app: &mut App) {
    app.add_systems(
        Update,
        (derive_strides, animate)
            .chain()
            .in_set(crate::FarmSystems::Draw),
    );
}

/// The other stride of an RGBA8 sprite of `width`×`height`: the rows of its legs (the lowest
/// [`LEGS`] of its opaque pixels' height) mirrored about the middle of its opaque columns. A
/// sprite with no opaque pixel comes back unchanged.
pub fn stride_frame(width: u32, height: u32, rgba: &[u8]) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let mut out = rgba.to_vec();
    let opaque = |x: usize, y: usize| rgba[(y * w + x) * 4 + 3] >= 128;
    let rows: Vec<usize> = (0..h).filter(|&y| (0..w).any(|x| opaque(x, y))).collect();
    let cols: Vec<usize> = (0..w).filter(|&x| (0..h).any(|y| opaque(x, y))).collect();
    let (Some(&top), Some(&bottom), Some(&left), Some(&right)) =
        (rows.first(), rows.last(), cols.first(), cols.last())
    else {
        return out;
    };
    let tall = bottom - top + 1;
    let legs_from = bottom + 1 - ((tall as f32 * LEGS).round() as usize).max(1);
    for y in legs_from..=bottom {
        for x in left..=right {
            let from = (y * w + (left + right - x)) * 4;
            let to = (y * w + x) * 4;
            out[to..to + 4].copy_from_slice(&rgba[from..from + 4]);
        }
    }
    out
}

/// Makes the other stride of every walker whose sprite has loaded or changed.
fn derive_strides(
    mut walkers: Query<&mut Walker>,
    mut images: ResMut<Assets<Image>>,
    mut changed: MessageReader<AssetEvent<Image>>,
) {
    let modified: Vec<AssetId<Image>> = changed
        .read()
        .filter_map(|e| match e {
            AssetEvent::Modified { id } => Some(*id),
            _ => None,
        })
        .collect();
    for mut walker in &mut walkers {
        let base = walker.base.id();
        if walker.has_stride() && !modified.contains(&base) {
            continue;
        }
        let Some(image) = images.get(&walker.base) else {
            continue;
        };
        let size = image.size();
        let (Some(data), TextureFormat::Rgba8UnormSrgb | TextureFormat::Rgba8Unorm) =
            (image.data.as_deref(), image.texture_descriptor.format)
        else {
            continue;
        };
        let stride = Image::new(
            Extent3d {
                width: size.x,
                height: size.y,
                depth_or_array_layers: 1,
            },
            TextureDimension::D2,
            stride_frame(size.x, size.y, data),
            image.texture_descriptor.format,
            RenderAssetUsages::RENDER_WORLD,
        );
        let handle = images.add(stride);
        walker.stride = Some((base, handle));
    }
}

/// Alternates the two frames while a walker moves, and faces it the way it goes.
fn animate(time: Res<Time>, mut walkers: Query<(&mut Walker, &Transform, &mut Sprite)>) {
    for (mut walker, transform, mut sprite) in &mut walkers {
        let at = transform.translation.truncate();
        let moved = walker.last.map_or(Vec2::ZERO, |last| at - last);
        walker.last = Some(at);
        if moved.length_squared() > 1e-6 {
            walker.phase += time.delta_secs() * STEPS_PER_SECOND;
            // Drawn facing left; a vertical step keeps the last facing.
            if moved.x.abs() > 1e-3 && sprite.flip_x != (moved.x > 0.0) {
                sprite.flip_x = moved.x > 0.0;
            }
        } else {
            walker.phase = 0.0;
        }
        let stepping = walker.phase as u32 % 2 == 1;
        let frame = match &walker.stride {
            Some((from, stride)) if stepping && *from == walker.base.id() => stride.clone(),
            _ => walker.base.clone(),
        };
        if sprite.image != frame {
            sprite.image = frame;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 4×6 figure: a body column at x=1..=2 and two legs, the left one forward.
    fn figure() -> (u32, u32, Vec<u8>) {
        let rows = [
            "....", //
            ".##.", //
            ".##.", //
            ".##.", //
            "a..b", // legs: a at the left, b at the right
            "a...", //
        ];
        let mut rgba = Vec::new();
        for row in rows {
            for c in row.chars() {
                rgba.extend_from_slice(match c {
                    '#' => &[200, 100, 50, 255],
                    'a' => &[10, 20, 30, 255],
                    'b' => &[40, 50, 60, 255],
                    _ => &[0, 0, 0, 0],
                });
            }
        }
        (4, 6, rgba)
    }

    fn at(rgba: &[u8], w: u32, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * w + x) * 4) as usize;
        rgba[i..i + 4].try_into().unwrap()
    }

    #[test]
    fn the_other_stride_mirrors_the_legs_and_keeps_the_body() {
        let (w, h, rgba) = figure();
        let out = stride_frame(w, h, &rgba);
        // The body (rows 1..=3) is untouched.
        assert_eq!(out[4 * 4..16 * 4], rgba[4 * 4..16 * 4]);
        // Five opaque rows, 38 % of them rounds to the lowest two: mirrored across columns 0..=3.
        assert_eq!(at(&out, w, 3, 5), [10, 20, 30, 255]);
        assert_eq!(at(&out, w, 0, 5), [0, 0, 0, 0]);
        assert_eq!(at(&out, w, 0, 4), [40, 50, 60, 255]);
        assert_eq!(at(&out, w, 3, 4), [10, 20, 30, 255]);
        // Twice is the first stride again.
        assert_eq!(stride_frame(w, h, &out), rgba);
    }

    #[test]
    fn an_empty_sprite_comes_back_unchanged() {
        let rgba = vec![0u8; 8 * 8 * 4];
        assert_eq!(stride_frame(8, 8, &rgba), rgba);
    }
}
