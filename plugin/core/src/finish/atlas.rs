//! Sprite sheets and atlases: frames packed into one image on a grid, with a RON layout in the
//! shape of Bevy's `TextureAtlasLayout` (`(size: (w, h), textures: [(min: (x, y), max: (x, y)),
//! ...])`), so a game can deserialize it straight into one; and growth-stage strips for crops.

use image::{Rgba, RgbaImage, imageops};
use serde::{Deserialize, Serialize};

use super::{Error, Result};

/// One frame's rectangle in an atlas, in pixels: `min` inclusive, `max` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtlasRect {
    /// Top-left corner.
    pub min: (u32, u32),
    /// Bottom-right corner (exclusive).
    pub max: (u32, u32),
}

/// Where each frame lies in an atlas image; serialises like Bevy's `TextureAtlasLayout`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtlasLayout {
    /// Size of the atlas image.
    pub size: (u32, u32),
    /// The frames, in order.
    pub textures: Vec<AtlasRect>,
}

impl AtlasLayout {
    /// The layout as RON (pretty, one frame per line).
    pub fn to_ron(&self) -> Result<String> {
        ron::ser::to_string_pretty(self, ron::ser::PrettyConfig::new().depth_limit(2))
            .map_err(|e| Error::Invalid(format!("cannot write the atlas layout: {e}")))
    }
}

/// A packed sheet: the image and its layout.
#[derive(Debug, Clone, PartialEq)]
pub struct SpriteSheet {
    /// The atlas image.
    pub image: RgbaImage,
    /// Where each frame is.
    pub layout: AtlasLayout,
}

impl SpriteSheet {
    /// Packs `frames` row by row into a grid of `columns` cells of the largest frame's size,
    /// `padding` transparent pixels between cells (and none round the outside). Smaller frames
    /// sit bottom-centre in their cell, as sprites stand on the ground.
    pub fn pack(frames: &[RgbaImage], columns: u32, padding: u32) -> Result<Self> {
        if frames.is_empty() || columns == 0 {
            return Err(Error::Invalid(
                "a sprite sheet needs at least one frame and one column".into(),
            ));
        }
        let cw = frames.iter().map(RgbaImage::width).max().unwrap_or(0);
        let ch = frames.iter().map(RgbaImage::height).max().unwrap_or(0);
        let columns = columns.min(frames.len() as u32);
        let rows = (frames.len() as u32).div_ceil(columns);
        let size = (
            columns * cw + (columns - 1) * padding,
            rows * ch + (rows - 1) * padding,
        );
        let mut image = RgbaImage::from_pixel(size.0, size.1, Rgba([0, 0, 0, 0]));
        let mut textures = Vec::with_capacity(frames.len());
        for (i, frame) in frames.iter().enumerate() {
            let (col, row) = (i as u32 % columns, i as u32 / columns);
            let (x, y) = (col * (cw + padding), row * (ch + padding));
            let (fx, fy) = (x + (cw - frame.width()) / 2, y + ch - frame.height());
            imageops::replace(&mut image, frame, i64::from(fx), i64::from(fy));
            textures.push(AtlasRect {
                min: (x, y),
                max: (x + cw, y + ch),
            });
        }
        Ok(Self {
            image,
            layout: AtlasLayout { size, textures },
        })
    }

    /// The frame `index` cut back out of the sheet.
    pub fn frame(&self, index: usize) -> Option<RgbaImage> {
        let r = self.layout.textures.get(index)?;
        Some(
            imageops::crop_imm(
                &self.image,
                r.min.0,
                r.min.1,
                r.max.0 - r.min.0,
                r.max.1 - r.min.1,
            )
            .to_image(),
        )
    }
}

/// Growth stages of a crop from its ripe sprite: `stages` frames of the ripe sprite's size, stage
/// `k` (from 0) the sprite scaled to `(k + 1) / stages` of its size (nearest neighbour, so pixel
/// art stays crisp), standing bottom-centre; the last stage is the ripe sprite itself. Pack them
/// with [`SpriteSheet::pack`] for a strip.
pub fn growth_stages(ripe: &RgbaImage, stages: usize) -> Result<Vec<RgbaImage>> {
    if stages == 0 || ripe.width() == 0 || ripe.height() == 0 {
        return Err(Error::Invalid(
            "growth stages need a sprite and at least one stage".into(),
        ));
    }
    let (w, h) = ripe.dimensions();
    Ok((0..stages)
        .map(|k| {
            let f = (k + 1) as f32 / stages as f32;
            let sw = ((w as f32 * f).round() as u32).max(1);
            let sh = ((h as f32 * f).round() as u32).max(1);
            let small = imageops::resize(ripe, sw, sh, imageops::FilterType::Nearest);
            let mut frame = RgbaImage::from_pixel(w, h, Rgba([0, 0, 0, 0]));
            imageops::replace(
                &mut frame,
                &small,
                i64::from((w - sw) / 2),
                i64::from(h - sh),
            );
            frame
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(w: u32, h: u32, shade: u8) -> RgbaImage {
        RgbaImage::from_pixel(w, h, Rgba([shade, 255 - shade, 60, 255]))
    }

    #[test]
    fn sheets_pack_frames_on_a_grid_and_the_layout_round_trips() {
        let frames = [
            frame(16, 16, 10),
            frame(16, 16, 80),
            frame(8, 12, 160),
            frame(16, 16, 240),
            frame(16, 16, 5),
        ];
        let sheet = SpriteSheet::pack(&frames, 2, 1).unwrap();
        assert_eq!(sheet.layout.size, (33, 50));
        assert_eq!(sheet.image.dimensions(), (33, 50));
        assert_eq!(
            sheet.layout.textures[3],
            AtlasRect {
                min: (17, 17),
                max: (33, 33)
            }
        );
        assert_eq!(sheet.frame(1).unwrap(), frames[1]);
        // The small frame stands bottom-centre in its cell.
        let small = sheet.frame(2).unwrap();
        assert_eq!(small.get_pixel(4, 15), &Rgba([160, 95, 60, 255]));
        assert_eq!(small.get_pixel(4, 3)[3], 0);
        assert_eq!(small.get_pixel(0, 15)[3], 0);
        // Padding is transparent.
        assert_eq!(sheet.image.get_pixel(16, 5)[3], 0);
        let ron_text = sheet.layout.to_ron().unwrap();
        assert!(ron_text.contains("size: (33, 50)"), "{ron_text}");
        assert!(
            ron_text.contains("(min: (17, 17), max: (33, 33))"),
            "{ron_text}"
        );
        let back: AtlasLayout = ron::from_str(&ron_text).unwrap();
        assert_eq!(back, sheet.layout);
        assert!(SpriteSheet::pack(&[], 2, 0).is_err());
    }

    #[test]
    fn growth_stages_grow_from_the_ground_to_the_ripe_sprite() {
        let ripe = frame(16, 16, 100);
        let stages = growth_stages(&ripe, 4).unwrap();
        assert_eq!(stages.len(), 4);
        let opaque: Vec<usize> = stages
            .iter()
            .map(|s| s.pixels().filter(|p| p[3] > 0).count())
            .collect();
        assert_eq!(opaque, [16, 64, 144, 256]);
        assert_eq!(stages[3], ripe);
        assert_eq!(
            stages[0].get_pixel(7, 15)[3],
            255,
            "stage 0 stands on the bottom row"
        );
        assert_eq!(stages[0].get_pixel(7, 0)[3], 0);
        let strip = SpriteSheet::pack(&stages, 4, 0).unwrap();
        assert_eq!(strip.image.dimensions(), (64, 16));
    }
}
