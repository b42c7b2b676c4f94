//! [`MemoryFactsResource`]: game state kept in memory, for prototypes, examples and tests. A real
//! game implements [`Facts`] on its own state (the sample game's `FarmState`).

use bevy::prelude::*;
use sprout_core::content::{Id, Season, TimeSlot};
use sprout_core::runtime::{Facts, MemoryFacts};

/// [`MemoryFacts`] as a Bevy resource: flags, friendship, items, season, time and quests in
/// memory. Apply dialogue effects to it with [`MemoryFacts::apply`] (through `Deref`).
#[derive(Resource, Debug, Clone, Default, Deref, DerefMut)]
pub struct MemoryFactsResource(pub MemoryFacts);

impl Facts for MemoryFactsResource {
    fn flag(&self, flag: &Id) -> bool {
        self.0.flag(flag)
    }
    fn friendship(&self, npc: &Id) -> i32 {
        self.0.friendship(npc)
    }
    fn item_count(&self, item: &Id) -> u32 {
        self.0.item_count(item)
    }
    fn season(&self) -> Season {
        self.0.season()
    }
    fn time_slot(&self) -> TimeSlot {
        self.0.time_slot()
    }
    fn quest_active(&self, quest: &Id) -> bool {
        self.0.quest_active(quest)
    }
    fn quest_done(&self, quest: &Id) -> bool {
        self.0.quest_done(quest)
    }
}
