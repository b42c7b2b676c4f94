//! The story bible: one `*.world.ron` file that every other file is written against.

use serde::{Deserialize, Serialize};

use super::{AssetPath, Id, Season, WorldArt};

/// The world: setting, tone, places, story flags and the names generators must never copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct World {
    /// Id; the file is `<id>.world.ron`.
    pub id: Id,
    /// The game's title.
    pub title: String,
    /// Where and when the story happens.
    pub setting: String,
    /// How the writing should feel.
    pub tone: String,
    /// Recurring themes.
    #[serde(default)]
    pub themes: Vec<String>,
    /// Days in each season.
    pub days_per_season: u32,
    /// What each season is like here.
    #[serde(default)]
    pub seasons: Vec<SeasonNote>,
    /// Every place an NPC can be or a scene can happen.
    pub locations: Vec<Location>,
    /// Every story flag that dialogue and quests may set or test.
    #[serde(default)]
    pub flags: Vec<FlagDef>,
    /// Every tag a dialogue line or choice may carry (emotion, portrait variant, delivery).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub line_tags: Vec<TagDef>,
    /// Names (people, places, products) from other games that must not appear in our content.
    #[serde(default)]
    pub do_not_copy: Vec<String>,
    /// The farmer's world sprite (16×32, like the villagers'); the game draws a plain figure
    /// without one. Art, so generators of the story bible leave it out.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::asset_path::optional_image"
    )]
    #[schemars(skip)]
    pub player_sprite: Option<AssetPath>,
    /// The world's own art: palette, ground tiles, buildings, the farmer's looks. Art, so
    /// generators of the story bible leave it out.
    #[serde(default, skip_serializing_if = "WorldArt::is_empty")]
    #[schemars(skip)]
    pub art: WorldArt,
}

/// Notes on one season.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SeasonNote {
    /// Which season.
    pub season: Season,
    /// What it looks and feels like in this world.
    pub description: String,
}

/// A place in the world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// Id, referred to by schedules.
    pub id: Id,
    /// Display name.
    pub name: String,
    /// What kind of place.
    pub kind: LocationKind,
    /// A sentence for writers and generators.
    pub description: String,
}

/// Kinds of places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum LocationKind {
    /// The player's farm.
    Farm,
    /// Streets and squares.
    Town,
    /// Somewhere that sells things.
    Shop,
    /// Someone's house.
    Home,
    /// Woods, hills, beach.
    Wilds,
}

/// A story flag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagDef {
    /// Id used by `SetFlag`, `Flag(..)` and friends.
    pub id: Id,
    /// What it means when set.
    pub description: String,
}

/// A line tag: a word a dialogue line or choice may carry for the UI, the voice actor or the
/// translator (`happy`, `whisper`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TagDef {
    /// The tag, as lines write it.
    pub id: Id,
    /// What it asks for: how the line is delivered, what the portrait shows.
    pub description: String,
}
