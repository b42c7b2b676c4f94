//! Effects: what a dialogue line, a choice or a quest reward does to the game.

use serde::{Deserialize, Serialize};

use super::Id;

/// A change to game state. Dialogue emits these; the game applies them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Effect {
    /// The player receives items.
    GiveItem {
        /// Item id.
        item: Id,
        /// How many (at least 1).
        count: u32,
    },
    /// Items are taken from the player.
    TakeItem {
        /// Item id.
        item: Id,
        /// How many (at least 1).
        count: u32,
    },
    /// The player receives gold.
    GiveGold(u32),
    /// Friendship with an NPC changes by `points` (may be negative).
    Friendship {
        /// Character id.
        npc: Id,
        /// Change in points.
        points: i32,
    },
    /// A story flag is set.
    SetFlag(Id),
    /// A story flag is cleared.
    ClearFlag(Id),
    /// A quest starts.
    StartQuest(Id),
    /// A quest is completed (its rewards are applied by the game).
    CompleteQuest(Id),
}
