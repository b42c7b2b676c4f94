//! What the game knows: the questions conditions ask.

use std::collections::{HashMap, HashSet};

use crate::content::{Condition, Effect, Id, Season, TimeSlot};

/// The game state conditions are evaluated against. The game implements it over its own state.
pub trait Facts {
    /// Whether a story flag is set.
    fn flag(&self, flag: &Id) -> bool;
    /// Friendship points with an NPC (0–1000).
    fn friendship(&self, npc: &Id) -> i32;
    /// How many of an item the player holds.
    fn item_count(&self, item: &Id) -> u32;
    /// The current season.
    fn season(&self) -> Season;
    /// The current time of day.
    fn time_slot(&self) -> TimeSlot;
    /// Whether a quest is started and not completed.
    fn quest_active(&self, quest: &Id) -> bool;
    /// Whether a quest is completed.
    fn quest_done(&self, quest: &Id) -> bool;
}

impl Condition {
    /// Whether the condition holds in `facts`.
    pub fn holds<F: Facts + ?Sized>(&self, facts: &F) -> bool {
        match self {
            Condition::Flag(f) => facts.flag(f),
            Condition::NotFlag(f) => !facts.flag(f),
            Condition::Friendship { npc, at_least } => facts.friendship(npc) >= *at_least,
            Condition::HasItem { item, count } => facts.item_count(item) >= *count,
            Condition::Season(s) => facts.season() == *s,
            Condition::TimeOfDay(t) => facts.time_slot() == *t,
            Condition::QuestActive(q) => facts.quest_active(q),
            Condition::QuestDone(q) => facts.quest_done(q),
            Condition::All(list) => list.iter().all(|c| c.holds(facts)),
            Condition::Any(list) => list.iter().any(|c| c.holds(facts)),
            Condition::Not(c) => !c.holds(facts),
        }
    }
}

/// A plain in-memory game state: handy for tests, tools and small games.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryFacts {
    /// Set flags.
    pub flags: HashSet<Id>,
    /// Friendship points per NPC.
    pub friendship: HashMap<Id, i32>,
    /// Items held.
    pub items: HashMap<Id, u32>,
    /// Gold held.
    pub gold: u32,
    /// Current season.
    pub season: Season,
    /// Current time of day.
    pub time_slot: TimeSlot,
    /// Quests started and not completed.
    pub active_quests: HashSet<Id>,
    /// Quests completed.
    pub done_quests: HashSet<Id>,
}

impl Default for MemoryFacts {
    fn default() -> Self {
        Self {
            flags: HashSet::new(),
            friendship: HashMap::new(),
            items: HashMap::new(),
            gold: 0,
            season: Season::Spring,
            time_slot: TimeSlot::Morning,
            active_quests: HashSet::new(),
            done_quests: HashSet::new(),
        }
    }
}

impl MemoryFacts {
    /// Applies an effect. Taking more items than held takes what there is; friendship stays in
    /// 0..=1000. Quest rewards are the caller's business (look the quest up and apply them).
    pub fn apply(&mut self, effect: &Effect) {
        match effect {
            Effect::GiveItem { item, count } => {
                *self.items.entry(item.clone()).or_default() += count;
            }
            Effect::TakeItem { item, count } => {
                let held = self.items.entry(item.clone()).or_default();
                *held = held.saturating_sub(*count);
            }
            Effect::GiveGold(g) => self.gold += g,
            Effect::Friendship { npc, points } => {
                let f = self.friendship.entry(npc.clone()).or_default();
                *f = (*f + points).clamp(0, crate::content::FRIENDSHIP_MAX);
            }
            Effect::SetFlag(f) => {
                self.flags.insert(f.clone());
            }
            Effect::ClearFlag(f) => {
                self.flags.remove(f);
            }
            Effect::StartQuest(q) => {
                if !self.done_quests.contains(q) {
                    self.active_quests.insert(q.clone());
                }
            }
            Effect::CompleteQuest(q) => {
                self.active_quests.remove(q);
                self.done_quests.insert(q.clone());
            }
        }
    }
}

impl Facts for MemoryFacts {
    fn flag(&self, flag: &Id) -> bool {
        self.flags.contains(flag)
    }
    fn friendship(&self, npc: &Id) -> i32 {
        self.friendship.get(npc).copied().unwrap_or(0)
    }
    fn item_count(&self, item: &Id) -> u32 {
        self.items.get(item).copied().unwrap_or(0)
    }
    fn season(&self) -> Season {
        self.season
    }
    fn time_slot(&self) -> TimeSlot {
        self.time_slot
    }
    fn quest_active(&self, quest: &Id) -> bool {
        self.active_quests.contains(quest)
    }
    fn quest_done(&self, quest: &Id) -> bool {
        self.done_quests.contains(quest)
    }
}
