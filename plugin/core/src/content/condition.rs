//! Conditions over game state, used by dialogue choices, dialogue triggers and quest prerequisites.

use serde::{Deserialize, Serialize};

use super::{Id, Season, TimeSlot};

/// Friendship is counted in points; 100 points make one heart, 10 hearts is the most.
pub const FRIENDSHIP_MAX: i32 = 1000;

/// A test against the game's state, evaluated by the game through the dialogue runtime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Condition {
    /// The flag is set.
    Flag(Id),
    /// The flag is not set.
    NotFlag(Id),
    /// Friendship with an NPC is at least this many points (0–1000).
    Friendship {
        /// Character id.
        npc: Id,
        /// Points needed.
        at_least: i32,
    },
    /// The player holds at least `count` of an item.
    HasItem {
        /// Item id.
        item: Id,
        /// How many.
        count: u32,
    },
    /// It is this season.
    Season(Season),
    /// It is this time of day.
    TimeOfDay(TimeSlot),
    /// The quest has been started and not completed.
    QuestActive(Id),
    /// The quest has been completed.
    QuestDone(Id),
    /// Every condition holds.
    All(Vec<Condition>),
    /// At least one condition holds.
    Any(Vec<Condition>),
    /// The condition does not hold.
    Not(Box<Condition>),
}

impl Condition {
    /// Visits this condition and every condition nested in it, depth first.
    pub fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Condition)) {
        f(self);
        match self {
            Condition::All(list) | Condition::Any(list) => list.iter().for_each(|c| c.walk(f)),
            Condition::Not(inner) => inner.walk(f),
            _ => {}
        }
    }
}
