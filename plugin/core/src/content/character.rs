//! Characters (NPCs): one `*.npc.ron` file each.

use serde::{Deserialize, Serialize};

use super::{Appearance, AssetPath, Id, Season, TimeSlot};

/// A villager the player can meet, befriend and help.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Character {
    /// Id; the file is `<id>.npc.ron`.
    pub id: Id,
    /// Display name.
    pub name: String,
    /// What they do in the village (beekeeper, ferry keeper...).
    pub role: String,
    /// A few personality traits.
    pub personality: Vec<String>,
    /// How they talk: rhythm, vocabulary, habits. Generators imitate it.
    pub speech_style: String,
    /// Their history, for writers and generators.
    pub backstory: String,
    /// Birthday.
    pub birthday: Birthday,
    /// Location id of their home.
    pub home: Id,
    /// Item ids they love to receive.
    #[serde(default)]
    pub likes: Vec<Id>,
    /// Item ids they dislike receiving.
    #[serde(default)]
    pub dislikes: Vec<Id>,
    /// Ties to other characters.
    #[serde(default)]
    pub relationships: Vec<Relationship>,
    /// Where they are through the day.
    pub schedule: Vec<ScheduleEntry>,
    /// Portrait image shown in dialogue (a `.png`).
    #[serde(deserialize_with = "super::asset_path::image")]
    pub portrait: AssetPath,
    /// World sprite (a `.png`).
    #[serde(deserialize_with = "super::asset_path::image")]
    pub sprite: AssetPath,
    /// How they look, for the sprite and the portrait (`sprout art` draws both from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appearance: Option<Appearance>,
}

/// A day of the year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Birthday {
    /// Season.
    pub season: Season,
    /// Day of the season, from 1.
    pub day: u32,
}

/// A tie between two characters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Relationship {
    /// The other character's id.
    pub with: Id,
    /// What kind of tie.
    pub kind: RelationKind,
    /// One line on how they feel about each other.
    pub note: String,
}

/// Kinds of ties between characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum RelationKind {
    /// Related by blood or marriage.
    Family,
    /// Friends.
    Friend,
    /// Rivals.
    Rival,
    /// In love, or were.
    Romance,
    /// Work together.
    Colleague,
    /// Live close by.
    Neighbour,
}

/// Where a character is during one time slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleEntry {
    /// The time slot.
    pub slot: TimeSlot,
    /// Location id.
    pub location: Id,
    /// Seasons this entry applies to; empty means every season.
    #[serde(default)]
    pub seasons: Vec<Season>,
}

impl Character {
    /// Where this character is at `slot` in `season`: the first matching schedule entry, else home.
    pub fn location_at(&self, season: Season, slot: TimeSlot) -> &Id {
        self.schedule
            .iter()
            .find(|e| e.slot == slot && (e.seasons.is_empty() || e.seasons.contains(&season)))
            .map_or(&self.home, |e| &e.location)
    }
}
