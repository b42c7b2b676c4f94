//! Art direction: what the game's art depicts, stated in its content so that one command
//! (`sprout art`) can make every picture the game shows and the validator can check they exist.
//!
//! Items, crops and characters already point at their images; a character's [`Appearance`]
//! says what it looks like. The world's [`WorldArt`] adds what no other file owns: the palette
//! every picture is reduced to, the ground tiles, the buildings and landmarks, the farmer.

use serde::{Deserialize, Serialize};

use super::{AssetPath, Id};

/// How a character looks: enough words for an image model to draw the same person as a world
/// sprite and as a portrait.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Appearance {
    /// Who they are at a glance: `woman`, `man`, `girl`, `boy`, `person`.
    pub figure: String,
    /// Their age group.
    pub age: Age,
    /// Hair colour (`white`, `red`, `black`...).
    pub hair: String,
    /// Colour of what they wear (`yellow`, `green`...).
    pub clothes: String,
    /// What they carry or wear that says who they are (`bee`, `teacup`, `hammer`); may be empty.
    #[serde(default)]
    pub emblem: String,
    /// The seed their sprite and portrait are drawn with (by default one derived from each
    /// file's path): change it to redraw them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

/// An age group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Age {
    /// A child.
    Child,
    /// A young adult.
    Young,
    /// A grown-up.
    Adult,
    /// An old person.
    Elder,
}

impl Appearance {
    /// The prompt of their world sprite: a small whole figure, `woman walking`. Only the figure:
    /// with the embedded sprite model, colour and emblem words turn the figure into a bust
    /// (seen on contact sheets), so they are left to the portrait.
    pub fn sprite_prompt(&self) -> String {
        let figure = match self.figure.as_str() {
            "girl" | "boy" | "child" => "person",
            other => other,
        };
        format!("{figure} walking")
    }

    /// The prompt of their portrait, a head and shoulders: `old woman white hair`.
    pub fn portrait_prompt(&self) -> String {
        let age = match self.age {
            Age::Elder => "old ",
            Age::Child | Age::Young | Age::Adult => "",
        };
        format!("{age}{} {} hair", self.figure, self.hair)
    }
}

/// The world's own art: palette, ground, buildings, farmer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorldArt {
    /// The palette (in `assets/palettes/`) every picture of the game is reduced to.
    #[serde(default)]
    pub palette: Option<String>,
    /// Ground tiles, each seamless.
    #[serde(default)]
    pub ground: Vec<GroundArt>,
    /// Buildings and landmarks: the farmhouse, the shipping bin, and a picture per location.
    #[serde(default)]
    pub buildings: Vec<BuildingArt>,
    /// How the farmer looks (drawn into the world's `player_sprite`).
    #[serde(default)]
    pub farmer: Option<Appearance>,
}

impl WorldArt {
    /// No art direction at all (the field is left out of the file).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The tile of `kind`, if the world has one.
    pub fn ground(&self, kind: Ground) -> Option<&GroundArt> {
        self.ground.iter().find(|g| g.kind == kind)
    }

    /// The picture of building or location `id`, if the world has one.
    pub fn building(&self, id: &str) -> Option<&BuildingArt> {
        self.buildings.iter().find(|b| b.id.as_str() == id)
    }
}

/// The game's landmarks that are not locations of the world file, by id.
pub const LANDMARKS: [&str; 2] = ["farmhouse", "shipping_bin"];

/// A kind of ground.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Ground {
    /// Grass, under everything else.
    Grass,
    /// The field's untilled soil.
    Soil,
    /// Tilled soil.
    Tilled,
    /// Tilled and watered.
    Watered,
    /// Paths between places.
    Path,
    /// The river.
    Water,
}

impl Ground {
    /// Every kind.
    pub const ALL: [Ground; 6] = [
        Self::Grass,
        Self::Soil,
        Self::Tilled,
        Self::Watered,
        Self::Path,
        Self::Water,
    ];
}

/// One ground tile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroundArt {
    /// Which ground.
    pub kind: Ground,
    /// The seamless tile (a `.png`).
    #[serde(deserialize_with = "super::asset_path::image")]
    pub image: AssetPath,
    /// What to draw.
    pub prompt: String,
    /// The seed it is drawn with.
    #[serde(default)]
    pub seed: u64,
}

/// The picture of a building or landmark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildingArt {
    /// A location id of the world, or a landmark of the game (`farmhouse`, `shipping_bin`).
    pub id: Id,
    /// The sprite (a `.png`, with transparency).
    #[serde(deserialize_with = "super::asset_path::image")]
    pub image: AssetPath,
    /// What to draw.
    pub prompt: String,
    /// The seed it is drawn with.
    #[serde(default)]
    pub seed: u64,
}
