//! The game's whole art set, planned from its content: one [`Piece`] (an [`ArtJob`]) for every
//! picture the content refers to — item icons, crop growth stages, each character's sprite and
//! portrait, the farmer, and the ground tiles and buildings of the world's [`WorldArt`](crate::content::WorldArt) — and what
//! state each file is in ([`State`]), read from its provenance sidecar.
//!
//! `sprout art` makes the pieces that are missing, placeholders or stale; the editor panel remakes
//! any one piece with the same job. A file without a sidecar, or edited by hand since it was
//! made, is never replaced unless asked.

use std::path::{Path, PathBuf};

use crate::content::provenance::{sha256_hex, sidecar_path};
use crate::content::{Appearance, AssetPath, ContentSet, Crop, Item, ModelRef, Provenance};
use crate::placeholder;

use super::job::{ArtJob, Recipe};

/// The size item icons, crop stages and ground tiles are made at (the game's tile).
pub const TILE_SIZE: u32 = 16;
/// The size building sprites are made at.
pub const BUILDING_SIZE: u32 = 32;

/// One picture of the game and the job that makes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    /// What it is, for lists: `icon of wild_violet`, `sprite of bettany`.
    pub label: String,
    /// The job.
    pub job: ArtJob,
    /// The file whose sidecar says whether the piece is made (a crop's ripe sprite; the one
    /// file otherwise), relative to the asset folder.
    pub main: PathBuf,
}

/// Where a piece stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// No file yet.
    Missing,
    /// A labelled placeholder (`sprout placeholders`).
    Placeholder,
    /// Made by `sprout art` with a different prompt, seed, palette or model: why.
    Stale(String),
    /// Made by this job with this model, unchanged since.
    Current,
    /// Made with a different generator: the content names this file but no art job made it.
    Other(String),
    /// No sidecar: drawn by hand (or of unknown origin).
    HandMade,
    /// Generated, then edited by hand (its bytes no longer match the provenance).
    Edited,
}

impl State {
    /// Whether `sprout art` makes the piece without being forced.
    pub fn needs_making(&self) -> bool {
        matches!(self, Self::Missing | Self::Placeholder | Self::Stale(_))
    }

    /// A short word for tables.
    pub fn word(&self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Placeholder => "placeholder",
            Self::Stale(_) => "stale",
            Self::Current => "current",
            Self::Other(_) => "other",
            Self::HandMade => "hand-made",
            Self::Edited => "edited",
        }
    }
}

/// Every picture `content` refers to, in a stable order: icons, crops, characters, the farmer,
/// ground, buildings. Each job carries the world's palette.
pub fn plan(content: &ContentSet) -> Vec<Piece> {
    let art = content
        .worlds
        .first()
        .map(|w| w.value.art.clone())
        .unwrap_or_default();
    let mut pieces = Vec::new();
    let mut push = |label: String, recipe: Recipe, prompt: String, seed: Option<u64>, size| {
        let main = main_file(&recipe, content);
        let mut job = ArtJob::new(recipe, prompt).with_seed(seed.unwrap_or_else(|| seed_of(&main)));
        job.palette.clone_from(&art.palette);
        job.size = size;
        pieces.push(Piece { label, job, main });
    };
    for d in &content.items {
        let item = &d.value;
        push(
            format!("icon of {}", item.id),
            Recipe::ItemIcon {
                item: item.id.clone(),
            },
            item_prompt(item),
            None,
            Some(TILE_SIZE),
        );
    }
    for d in &content.crops {
        let crop = &d.value;
        push(
            format!("crop {}", crop.id),
            Recipe::CropStages {
                crop: crop.id.clone(),
            },
            crop_prompt(crop),
            None,
            Some(TILE_SIZE),
        );
    }
    for d in &content.characters {
        let c = &d.value;
        let looks = c.appearance.as_ref();
        push(
            format!("sprite of {}", c.id),
            Recipe::Sprite {
                out: file(&c.sprite),
            },
            looks.map_or_else(|| "person walking".to_owned(), Appearance::sprite_prompt),
            looks.and_then(|a| a.seed),
            None,
        );
        push(
            format!("portrait of {}", c.id),
            Recipe::Portrait {
                out: file(&c.portrait),
            },
            looks.map_or_else(|| "person".to_owned(), Appearance::portrait_prompt),
            looks.and_then(|a| a.seed),
            None,
        );
    }
    if let Some(world) = content.worlds.first().map(|w| &w.value)
        && let Some(sprite) = &world.player_sprite
    {
        push(
            "sprite of the farmer".into(),
            Recipe::Sprite { out: file(sprite) },
            art.farmer
                .as_ref()
                .map_or_else(|| "person walking".to_owned(), Appearance::sprite_prompt),
            None,
            None,
        );
    }
    for g in &art.ground {
        push(
            format!("{:?} ground", g.kind).to_lowercase(),
            Recipe::Texture {
                out: file(&g.image),
                from: None,
                seamless: true,
                ground: None,
            },
            g.prompt.clone(),
            Some(g.seed),
            Some(TILE_SIZE),
        );
    }
    for b in &art.buildings {
        push(
            format!("building {}", b.id),
            Recipe::Sprite {
                out: file(&b.image),
            },
            b.prompt.clone(),
            Some(b.seed),
            Some(BUILDING_SIZE),
        );
    }
    pieces
}

/// The prompt an item's icon is drawn from: its `look`, else its name's words.
pub fn item_prompt(item: &Item) -> String {
    item.look.clone().unwrap_or_else(|| words(&item.name))
}

/// The prompt a crop's stages are drawn from: its `look`, else its name's words and "plant".
pub fn crop_prompt(crop: &Crop) -> String {
    crop.look
        .clone()
        .unwrap_or_else(|| format!("{} plant", words(&crop.name)))
}

/// A display name as prompt words: `Plum Tomato` -> `plum tomato`.
fn words(name: &str) -> String {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

fn file(path: &AssetPath) -> PathBuf {
    PathBuf::from(path.as_str())
}

/// The file a recipe's sidecar is read from.
fn main_file(recipe: &Recipe, content: &ContentSet) -> PathBuf {
    match recipe {
        Recipe::Sprite { out } | Recipe::Portrait { out } | Recipe::Texture { out, .. } => {
            out.clone()
        }
        Recipe::Prop { out, .. } => out.clone(),
        Recipe::ItemIcon { item } => content
            .items
            .iter()
            .find(|d| d.value.id == *item)
            .map(|d| file(&d.value.icon))
            .unwrap_or_default(),
        Recipe::CropStages { crop } => content
            .crops
            .iter()
            .find(|d| d.value.id == *crop)
            .map(|d| file(&d.value.ripe_sprite))
            .unwrap_or_default(),
    }
}

/// A seed per file, stable across runs and machines (FNV-1a of the path), so every piece differs
/// and a rerun draws the same picture.
fn seed_of(path: &Path) -> u64 {
    path.to_string_lossy()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
        % 1_000_000
}

/// Where `piece` stands in the asset folder `root`, for a backend that records `model`.
pub fn state(root: &Path, piece: &Piece, model: Option<&ModelRef>) -> State {
    let path = root.join(&piece.main);
    let Ok(bytes) = std::fs::read(&path) else {
        return State::Missing;
    };
    let Some(prov) = std::fs::read_to_string(sidecar_path(&path))
        .ok()
        .and_then(|text| crate::format::parse::<Provenance>(&text).ok())
    else {
        return State::HandMade;
    };
    if prov.generator == placeholder::GENERATOR {
        return State::Placeholder;
    }
    if sha256_hex(&bytes) != prov.output_sha256 {
        return State::Edited;
    }
    let wanted = format!("sprout art {}", piece.job.recipe.name());
    if prov.generator != wanted {
        return State::Other(prov.generator);
    }
    let param = |k: &str| prov.parameters.get(k).map(String::as_str);
    if param("prompt") != Some(piece.job.prompt.as_str()) {
        return State::Stale(format!(
            "prompt was \"{}\"",
            param("prompt").unwrap_or_default()
        ));
    }
    if prov.seed != piece.job.seed {
        return State::Stale(format!("seed was {}", prov.seed));
    }
    if let Some(want) = &piece.job.palette
        && param("palette").is_some_and(|p| p != want)
    {
        return State::Stale(format!(
            "palette was {}",
            param("palette").unwrap_or_default()
        ));
    }
    if let Some(model) = model
        && prov.model.as_ref() != Some(model)
    {
        let was = prov.model.as_ref().map_or("none", |m| m.id.as_str());
        return State::Stale(format!("made with model {was}"));
    }
    State::Current
}
