//! Quests: one `*.quest.ron` file each.

use serde::{Deserialize, Serialize};

use super::{Condition, Effect, Id};

/// A task an NPC gives the player.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Quest {
    /// Id; the file is `<id>.quest.ron`.
    pub id: Id,
    /// Title shown in the journal.
    pub title: String,
    /// Journal text.
    pub description: String,
    /// Character id of who gives it.
    pub giver: Id,
    /// Everything that must hold before it can be offered.
    #[serde(default)]
    pub prerequisites: Vec<Condition>,
    /// What the player must do, all of it.
    pub objectives: Vec<Objective>,
    /// Applied when it is completed.
    pub rewards: Vec<Effect>,
}

/// One thing a quest asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Objective {
    /// Bring `count` of `item` to character `to`.
    Deliver {
        /// Item id.
        item: Id,
        /// How many.
        count: u32,
        /// Character id.
        to: Id,
    },
    /// Talk to a character.
    TalkTo {
        /// Character id.
        npc: Id,
    },
    /// Harvest `count` of a crop.
    Harvest {
        /// Crop id.
        crop: Id,
        /// How many harvests.
        count: u32,
    },
}
