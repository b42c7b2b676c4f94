//! Placeholder art: simple, clearly labelled images for every sprite, portrait and icon that
//! content refers to but nobody has made yet.
//!
//! Placeholders are drawn, not generated: each carries a magenta-and-white check in its top-left
//! corner and a provenance sidecar whose generator is [`GENERATOR`], so neither a player nor a tool
//! can mistake one for finished art. Real generators replace them; [`draw_missing`] never
//! overwrites a file that is not a placeholder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::content::provenance::{now_rfc3339, sha256_hex, sidecar_path};
use crate::content::{AssetKind, AssetPath, ContentSet, Provenance};
use crate::format::{parse, to_ron};
use crate::validate::{Diagnostic, DiagnosticKind};
use crate::{Error, Result};

/// The `generator` recorded in every placeholder's provenance.
pub const GENERATOR: &str = "sprout placeholder";

/// What an image is for; decides its size and what is drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// A 64×64 dialogue portrait of a character.
    Portrait {
        /// The character's display name (its initial is drawn).
        name: String,
    },
    /// A 16×32 world sprite of a character.
    CharacterSprite,
    /// A 16×16 inventory icon.
    Icon,
    /// A 16×16 crop in growth stage `stage` of `of` (`stage == of` is ripe).
    CropStage {
        /// Stage shown, from 0.
        stage: usize,
        /// Number of growing stages.
        of: usize,
    },
}

impl Role {
    /// Width and height in pixels.
    pub fn size(&self) -> (u32, u32) {
        match self {
            Role::Portrait { .. } => (64, 64),
            Role::CharacterSprite => (16, 32),
            Role::Icon | Role::CropStage { .. } => (16, 16),
        }
    }

    fn label(&self) -> String {
        match self {
            Role::Portrait { .. } => "portrait".into(),
            Role::CharacterSprite => "character_sprite".into(),
            Role::Icon => "icon".into(),
            Role::CropStage { stage, of } => format!("crop_stage_{stage}_of_{of}"),
        }
    }
}

/// One image the content refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// Where it goes, below the asset root.
    pub path: AssetPath,
    /// What it shows.
    pub role: Role,
    /// The id of the thing it belongs to; seeds its colour.
    pub owner: String,
}

/// Every image path the set refers to, with what it is for (first reference wins).
pub fn wanted(set: &ContentSet) -> Vec<Wanted> {
    let mut out: BTreeMap<AssetPath, Wanted> = BTreeMap::new();
    let mut add = |path: &AssetPath, role: Role, owner: &str| {
        out.entry(path.clone()).or_insert_with(|| Wanted {
            path: path.clone(),
            role,
            owner: owner.to_owned(),
        });
    };
    for w in &set.worlds {
        if let Some(sprite) = &w.value.player_sprite {
            add(sprite, Role::CharacterSprite, "player");
        }
    }
    for c in &set.characters {
        let c = &c.value;
        add(
            &c.portrait,
            Role::Portrait {
                name: c.name.clone(),
            },
            c.id.as_str(),
        );
        add(&c.sprite, Role::CharacterSprite, c.id.as_str());
    }
    for i in &set.items {
        add(&i.value.icon, Role::Icon, i.value.id.as_str());
    }
    for c in &set.crops {
        let c = &c.value;
        let of = c.stages.len();
        for (stage, s) in c.stages.iter().enumerate() {
            add(&s.sprite, Role::CropStage { stage, of }, c.id.as_str());
        }
        add(
            &c.ripe_sprite,
            Role::CropStage { stage: of, of },
            c.id.as_str(),
        );
    }
    out.into_values().collect()
}

/// What [`draw_missing`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drawn {
    /// Placeholders written.
    pub written: Vec<PathBuf>,
    /// Files left alone because they exist (real art, or placeholders without `force`).
    pub kept: Vec<PathBuf>,
}

/// Draws a placeholder for every wanted image that is missing below `set.root`. With `force`,
/// existing placeholders are redrawn too; files without placeholder provenance are never touched.
/// A wanted path that is not a `.png` (a set built in code can hold one; parsing rejects them) is
/// refused before anything is drawn: [`Error::Invalid`] names each.
pub fn draw_missing(set: &ContentSet, force: bool) -> Result<Drawn> {
    let wanted = wanted(set);
    let refused: Vec<_> = wanted
        .iter()
        .filter_map(|w| not_an_image(w, &w.path.under(&set.root)))
        .collect();
    if !refused.is_empty() {
        return Err(Error::Invalid(refused));
    }
    let mut drawn = Drawn::default();
    for w in wanted {
        let file = w.path.under(&set.root);
        if file.exists() && !(force && is_placeholder(&file)) {
            drawn.kept.push(file);
            continue;
        }
        draw_to(&w, &file)?;
        drawn.written.push(file);
    }
    Ok(drawn)
}

/// Draws the placeholder for `w` into `file` (anywhere: a staging folder mirrors the asset
/// folder's layout), with its provenance sidecar; both atomically.
/// A placeholder is a PNG: anywhere else (`npcs/ghost.npc.ron`) it would replace or shadow a
/// file of another kind, so it is refused.
pub fn draw_to(w: &Wanted, file: &Path) -> Result<()> {
    if let Some(refused) = not_an_image(w, file) {
        return Err(Error::Invalid(vec![refused]));
    }
    let (width, height) = w.role.size();
    let rgba = draw(&w.role, &w.owner);
    let png = encode_png(width, height, &rgba).map_err(|e| Error::Io {
        path: file.to_owned(),
        source: std::io::Error::other(e),
    })?;
    let provenance = Provenance {
        generator: GENERATOR.into(),
        generator_version: env!("CARGO_PKG_VERSION").into(),
        model: None,
        template: None,
        inputs_sha256: sha256_hex(format!("{}|{}|{}", w.role.label(), w.owner, w.path).as_bytes()),
        output_sha256: sha256_hex(&png),
        seed: 0,
        parameters: BTreeMap::from([
            ("role".into(), w.role.label()),
            ("owner".into(), w.owner.clone()),
            ("size".into(), format!("{width}x{height}")),
        ]),
        created: now_rfc3339(),
    };
    crate::content::provenance::write_with_sidecar(file, &png, &to_ron(&provenance)?)
}

/// The diagnostic refusing to draw `w` into `file`, unless both are `.png` paths.
fn not_an_image(w: &Wanted, file: &Path) -> Option<Diagnostic> {
    let png = file
        .extension()
        .is_some_and(|e| e == AssetKind::Image.extension());
    let problem = match w.path.check_kind(AssetKind::Image) {
        Err(e) => e.to_string(),
        Ok(()) if !png => format!("`{}` is not a `.png` file", file.display()),
        Ok(()) => return None,
    };
    Some(Diagnostic::new(
        DiagnosticKind::InvalidPath,
        file,
        format!(
            "{problem}: no placeholder {} of `{}` is drawn there",
            w.role.label(),
            w.owner
        ),
    ))
}

/// Whether `file` has a sidecar saying it is a placeholder.
pub fn is_placeholder(file: &Path) -> bool {
    std::fs::read_to_string(sidecar_path(file))
        .ok()
        .and_then(|s| parse::<Provenance>(&s).ok())
        .is_some_and(|p| p.generator == GENERATOR)
}

/// Encodes 8-bit RGBA pixels as PNG.
pub fn encode_png(width: u32, height: u32, rgba: &[u8]) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, width, height);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header()?;
    writer.write_image_data(rgba)?;
    writer.finish()?;
    Ok(out)
}

// ----- drawing ------------------------------------------------------------------------------

type Rgba = [u8; 4];

struct Canvas {
    w: i32,
    h: i32,
    px: Vec<u8>,
}

impl Canvas {
    fn new(w: u32, h: u32) -> Self {
        Self {
            w: w as i32,
            h: h as i32,
            px: vec![0; (w * h * 4) as usize],
        }
    }

    fn set(&mut self, x: i32, y: i32, c: Rgba) {
        if (0..self.w).contains(&x) && (0..self.h).contains(&y) {
            let i = ((y * self.w + x) * 4) as usize;
            self.px[i..i + 4].copy_from_slice(&c);
        }
    }

    fn rect(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, c: Rgba) {
        for y in y0..y1 {
            for x in x0..x1 {
                self.set(x, y, c);
            }
        }
    }

    fn disc(&mut self, cx: f32, cy: f32, r: f32, fill: Rgba, outline: Rgba) {
        for y in 0..self.h {
            for x in 0..self.w {
                let d = ((x as f32 + 0.5 - cx).powi(2) + (y as f32 + 0.5 - cy).powi(2)).sqrt();
                if d <= r - 1.0 {
                    self.set(x, y, fill);
                } else if d <= r {
                    self.set(x, y, outline);
                }
            }
        }
    }

    /// The placeholder mark: a 3×3 magenta-and-white check in the top-left corner.
    fn mark(&mut self) {
        for y in 0..3 {
            for x in 0..3 {
                let c = if (x + y) % 2 == 0 {
                    [255, 0, 255, 255]
                } else {
                    [255, 255, 255, 255]
                };
                self.set(x, y, c);
            }
        }
    }
}

/// A stable colour for `key`: hue from its hash, fixed saturation and value.
fn colour(key: &str, value: f32) -> Rgba {
    let h = sha256_hex(key.as_bytes());
    let hue = u32::from_str_radix(&h[..4], 16).unwrap_or(0) as f32 / 65536.0 * 360.0;
    hsv(hue, 0.55, value)
}

fn hsv(h: f32, s: f32, v: f32) -> Rgba {
    let c = v * s;
    let x = c * (1.0 - ((h / 60.0) % 2.0 - 1.0).abs());
    let m = v - c;
    let (r, g, b) = match (h / 60.0) as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let to = |f: f32| ((f + m) * 255.0).round() as u8;
    [to(r), to(g), to(b), 255]
}

fn darker(c: Rgba) -> Rgba {
    [c[0] / 2, c[1] / 2, c[2] / 2, 255]
}

/// Draws the placeholder for `role`, coloured by `owner`. Returns RGBA pixels.
pub fn draw(role: &Role, owner: &str) -> Vec<u8> {
    let (w, h) = role.size();
    let mut cv = Canvas::new(w, h);
    let main = colour(owner, 0.85);
    let outline = darker(main);
    match role {
        Role::Icon => {
            cv.disc(8.0, 8.5, 6.5, main, outline);
            cv.set(6, 5, [255, 255, 255, 255]);
            cv.set(5, 6, [255, 255, 255, 200]);
        }
        Role::CropStage { stage, of } => {
            let soil = [110, 78, 48, 255];
            let leaf = [72, 160, 64, 255];
            let leaf_dark = [40, 100, 40, 255];
            cv.rect(2, 13, 14, 16, soil);
            cv.rect(3, 12, 13, 13, soil);
            let height = (2 + 9 * (*stage as i32 + 1) / (*of as i32 + 1)).min(11);
            cv.rect(7, 12 - height, 9, 12, leaf_dark);
            for k in 0..(height / 3) {
                let y = 11 - 3 * k - 2;
                cv.rect(4, y, 7, y + 1, leaf);
                cv.rect(9, y - 1, 12, y, leaf);
            }
            if stage == of {
                cv.disc(8.0, 3.5, 3.5, main, outline);
            }
        }
        Role::CharacterSprite => {
            let skin = [236, 196, 160, 255];
            cv.disc(8.0, 7.0, 5.0, skin, [120, 80, 60, 255]);
            cv.rect(4, 12, 12, 24, main);
            cv.rect(4, 12, 5, 24, outline);
            cv.rect(11, 12, 12, 24, outline);
            cv.rect(5, 24, 7, 31, [60, 60, 80, 255]);
            cv.rect(9, 24, 11, 31, [60, 60, 80, 255]);
        }
        Role::Portrait { name } => {
            cv.rect(0, 0, 64, 64, darker(main));
            cv.disc(32.0, 26.0, 14.0, [236, 196, 160, 255], [120, 80, 60, 255]);
            cv.disc(32.0, 70.0, 28.0, main, outline);
            let initial = name.chars().next().unwrap_or('?').to_ascii_uppercase();
            glyph(&mut cv, initial, 44, 46, 2, [255, 255, 255, 255]);
        }
    }
    cv.mark();
    cv.px
}

/// Draws `ch` from a 5×7 bitmap font at (x, y), each font pixel `scale`×`scale`.
fn glyph(cv: &mut Canvas, ch: char, x: i32, y: i32, scale: i32, c: Rgba) {
    const FONT: [[u8; 7]; 26] = [
        [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11], // A
        [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E], // B
        [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E], // C
        [0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E], // D
        [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F], // E
        [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10], // F
        [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F], // G
        [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11], // H
        [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E], // I
        [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C], // J
        [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11], // K
        [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F], // L
        [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11], // M
        [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11], // N
        [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E], // O
        [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10], // P
        [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D], // Q
        [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11], // R
        [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E], // S
        [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04], // T
        [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E], // U
        [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04], // V
        [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A], // W
        [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11], // X
        [0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04], // Y
        [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F], // Z
    ];
    let rows = if ch.is_ascii_uppercase() {
        FONT[(ch as u8 - b'A') as usize]
    } else {
        [0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04] // ?
    };
    for (ry, row) in rows.iter().enumerate() {
        for rx in 0..5 {
            if row & (0x10 >> rx) != 0 {
                let (px, py) = (x + rx * scale, y + ry as i32 * scale);
                cv.rect(px, py, px + scale, py + scale, c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item_with_icon(id: &str, icon: &str) -> crate::content::Document<crate::content::Item> {
        crate::content::Document {
            path: PathBuf::from(format!("items/{id}.item.ron")),
            source: "".into(),
            value: crate::content::Item {
                id: crate::content::Id::new(id).unwrap(),
                name: "Ghost".into(),
                description: "Boo.".into(),
                category: crate::content::ItemCategory::Material,
                price: 1,
                icon: AssetPath::new(icon).unwrap(),
                look: None,
            },
        }
    }

    #[test]
    fn a_wanted_path_that_is_not_a_png_is_refused_and_nothing_is_drawn() {
        let dir = tempfile::tempdir().unwrap();
        let mut set = ContentSet::new(dir.path());
        set.items
            .push(item_with_icon("stone", "sprites/items/stone.png"));
        set.items
            .push(item_with_icon("ghost", "npcs/ghost.npc.ron"));
        let Err(Error::Invalid(refused)) = draw_missing(&set, false) else {
            panic!("a .ron icon was drawn");
        };
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert_eq!(refused[0].kind, DiagnosticKind::InvalidPath);
        assert!(
            refused[0].message.contains("npcs/ghost.npc.ron"),
            "{}",
            refused[0]
        );
        assert!(!dir.path().join("npcs/ghost.npc.ron").exists());
        assert!(
            !dir.path().join("sprites/items/stone.png").exists(),
            "refused before anything was drawn"
        );

        // Drawing one directly into a file that is not a PNG is refused too.
        let w = &wanted(&set)[1];
        assert_eq!(w.path.as_str(), "sprites/items/stone.png");
        let ron = dir.path().join("items/stone.item.ron");
        assert!(draw_to(w, &ron).is_err());
        assert!(!ron.exists());
        assert!(draw_to(w, &dir.path().join("sprites/items/stone.png")).is_ok());
    }

    #[test]
    fn every_role_draws_a_marked_image_of_its_size() {
        for role in [
            Role::Portrait {
                name: "mira".into(),
            },
            Role::CharacterSprite,
            Role::Icon,
            Role::CropStage { stage: 0, of: 3 },
            Role::CropStage { stage: 3, of: 3 },
        ] {
            let (w, h) = role.size();
            let px = draw(&role, "owner");
            assert_eq!(px.len(), (w * h * 4) as usize);
            assert_eq!(&px[..4], &[255, 0, 255, 255], "{role:?} lacks the mark");
            let opaque = px.chunks(4).filter(|p| p[3] > 0).count();
            assert!(opaque > (w * h / 8) as usize, "{role:?} is nearly empty");
        }
    }

    #[test]
    fn ripe_crops_differ_from_growing_ones() {
        let grow = draw(&Role::CropStage { stage: 1, of: 3 }, "beet");
        let ripe = draw(&Role::CropStage { stage: 3, of: 3 }, "beet");
        assert_ne!(grow, ripe);
    }
}
