//! The content model of a farming game: every type Sprout loads, generates and validates.
//!
//! Each type is stored as RON in its own file, and the file name says which type it holds:
//!
//! | file name | type |
//! |---|---|
//! | `<id>.world.ron` | [`World`] |
//! | `<id>.npc.ron` | [`Character`] |
//! | `<id>.dialogue.ron` | [`DialogueTree`] |
//! | `<id>.quest.ron` | [`Quest`] |
//! | `<id>.item.ron` | [`Item`] |
//! | `<id>.crop.ron` | [`Crop`] |
//! | `<file>.prov.ron` | [`Provenance`] of `<file>` |

mod art;
pub(crate) mod asset_path;
mod calendar;
mod character;
mod condition;
mod crop;
pub mod dialogue;
mod effect;
pub(crate) mod id;
mod item;
pub mod provenance;
mod quest;
mod set;
mod world;

use std::path::Path;

pub use art::{Age, Appearance, BuildingArt, Ground, GroundArt, LANDMARKS, WorldArt};
pub use asset_path::{AssetKind, AssetPath, AssetPathError};
pub use calendar::{Season, TimeSlot};
pub use character::{Birthday, Character, RelationKind, Relationship, ScheduleEntry};
pub use condition::{Condition, FRIENDSHIP_MAX};
pub use crop::{Crop, GrowthStage};
pub use dialogue::{
    Choice, DialogueNode, DialogueTree, Line, Next, Situation, SituationError, Target,
};
pub use effect::Effect;
pub use id::{ID_MAX_LEN, Id, IdError};
pub use item::{Item, ItemCategory};
pub use provenance::{ModelRef, Provenance, TemplateRef};
pub use quest::{Objective, Quest};
pub use set::{ContentSet, Document, Parsed};
pub use world::{FlagDef, Location, LocationKind, SeasonNote, TagDef, World};

/// Which content type a file holds, known from its double extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentKind {
    /// `*.world.ron`
    World,
    /// `*.npc.ron`
    Character,
    /// `*.dialogue.ron`
    Dialogue,
    /// `*.quest.ron`
    Quest,
    /// `*.item.ron`
    Item,
    /// `*.crop.ron`
    Crop,
}

impl ContentKind {
    /// Every kind.
    pub const ALL: [ContentKind; 6] = [
        ContentKind::World,
        ContentKind::Character,
        ContentKind::Dialogue,
        ContentKind::Quest,
        ContentKind::Item,
        ContentKind::Crop,
    ];

    /// The double extension, without a leading dot (`npc.ron`).
    pub fn extension(self) -> &'static str {
        match self {
            ContentKind::World => "world.ron",
            ContentKind::Character => "npc.ron",
            ContentKind::Dialogue => "dialogue.ron",
            ContentKind::Quest => "quest.ron",
            ContentKind::Item => "item.ron",
            ContentKind::Crop => "crop.ron",
        }
    }

    /// The folder below the asset root where files of this kind live by convention.
    pub fn folder(self) -> &'static str {
        match self {
            ContentKind::World => "world",
            ContentKind::Character => "npcs",
            ContentKind::Dialogue => "dialogue",
            ContentKind::Quest => "quests",
            ContentKind::Item => "items",
            ContentKind::Crop => "crops",
        }
    }

    /// A word for messages: "character", "item"...
    pub fn noun(self) -> &'static str {
        match self {
            ContentKind::World => "world",
            ContentKind::Character => "character",
            ContentKind::Dialogue => "dialogue",
            ContentKind::Quest => "quest",
            ContentKind::Item => "item",
            ContentKind::Crop => "crop",
        }
    }

    /// The kind of `path`, and the id its name implies (`npcs/mira.npc.ron` → `Character`, `mira`).
    pub fn of_path(path: &Path) -> Option<(ContentKind, &str)> {
        let name = path.file_name()?.to_str()?;
        Self::ALL.into_iter().find_map(|kind| {
            let stem = name.strip_suffix(kind.extension())?.strip_suffix('.')?;
            Some((kind, stem))
        })
    }

    /// The file name for content of this kind with this id.
    pub fn file_name(self, id: &Id) -> String {
        format!("{id}.{}", self.extension())
    }
}

impl core::fmt::Display for ContentKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.noun())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_route_to_kinds() {
        assert_eq!(
            ContentKind::of_path(Path::new("a/npcs/mira.npc.ron")),
            Some((ContentKind::Character, "mira"))
        );
        assert_eq!(
            ContentKind::of_path(Path::new("x.dialogue.ron")),
            Some((ContentKind::Dialogue, "x"))
        );
        assert_eq!(ContentKind::of_path(Path::new("x.ron")), None);
        assert_eq!(ContentKind::of_path(Path::new("npc.ron")), None);
        assert_eq!(ContentKind::of_path(Path::new("x.npc.ron.prov.ron")), None);
        for kind in ContentKind::ALL {
            let id = Id::new("abc").unwrap();
            assert_eq!(
                ContentKind::of_path(Path::new(&kind.file_name(&id))),
                Some((kind, "abc"))
            );
        }
    }
}
