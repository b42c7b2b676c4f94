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

/// Where a quest stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuestState {
    /// Started and not completed.
    Active,
    /// Completed.
    Done,
}

/// The game state effects change: plain edits only. What each [`Effect`] means (stacks that
/// saturate, friendship kept in 0..=1000, a completed quest never restarting) is said once, in
/// [`Effect::apply_to`], for every game state.
pub trait FactsMut: Facts {
    /// Sets how many of an item the player holds.
    fn set_item_count(&mut self, item: &Id, count: u32);
    /// Gold held.
    fn gold(&self) -> u32;
    /// Sets the gold held.
    fn set_gold(&mut self, gold: u32);
    /// Sets the friendship points with an NPC.
    fn set_friendship(&mut self, npc: &Id, points: i32);
    /// Sets or clears a story flag.
    fn set_flag(&mut self, flag: &Id, on: bool);
    /// Moves a quest to `state`.
    fn set_quest(&mut self, quest: &Id, state: QuestState);
}

impl Effect {
    /// Applies the effect to `facts`. Taking more items than held takes what there is; counts
    /// and gold saturate; friendship stays in 0..=1000; starting a completed quest does nothing.
    /// Quest rewards are the caller's business (look the quest up and apply them).
    pub fn apply_to<F: FactsMut + ?Sized>(&self, facts: &mut F) {
        match self {
            Effect::GiveItem { item, count } => {
                let n = facts.item_count(item).saturating_add(*count);
                facts.set_item_count(item, n);
            }
            Effect::TakeItem { item, count } => {
                let n = facts.item_count(item).saturating_sub(*count);
                facts.set_item_count(item, n);
            }
            Effect::GiveGold(g) => {
                let gold = facts.gold().saturating_add(*g);
                facts.set_gold(gold);
            }
            Effect::Friendship { npc, points } => {
                let f = facts
                    .friendship(npc)
                    .saturating_add(*points)
                    .clamp(0, crate::content::FRIENDSHIP_MAX);
                facts.set_friendship(npc, f);
            }
            Effect::SetFlag(f) => facts.set_flag(f, true),
            Effect::ClearFlag(f) => facts.set_flag(f, false),
            Effect::StartQuest(q) => {
                if !facts.quest_done(q) {
                    facts.set_quest(q, QuestState::Active);
                }
            }
            Effect::CompleteQuest(q) => facts.set_quest(q, QuestState::Done),
        }
    }
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
    /// Applies an effect ([`Effect::apply_to`]).
    pub fn apply(&mut self, effect: &Effect) {
        effect.apply_to(self);
    }
}

impl FactsMut for MemoryFacts {
    fn set_item_count(&mut self, item: &Id, count: u32) {
        self.items.insert(item.clone(), count);
    }
    fn gold(&self) -> u32 {
        self.gold
    }
    fn set_gold(&mut self, gold: u32) {
        self.gold = gold;
    }
    fn set_friendship(&mut self, npc: &Id, points: i32) {
        self.friendship.insert(npc.clone(), points);
    }
    fn set_flag(&mut self, flag: &Id, on: bool) {
        if on {
            self.flags.insert(flag.clone());
        } else {
            self.flags.remove(flag);
        }
    }
    fn set_quest(&mut self, quest: &Id, state: QuestState) {
        match state {
            QuestState::Active => {
                self.active_quests.insert(quest.clone());
            }
            QuestState::Done => {
                self.active_quests.remove(quest);
                self.done_quests.insert(quest.clone());
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
