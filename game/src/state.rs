//! The player's progress: calendar, clock, gold, inventory, friendships, flags and quests.
//! It is what dialogue conditions are evaluated against ([`Facts`]) and what a save file holds.
//!
//! Every sum here saturates: gold, counts, days and minutes stop at their largest value instead of
//! panicking (debug) or wrapping to nothing (release). The validator keeps content far below
//! that, and a save is bounded when it is read (`save`), so saturating is the last line only.

use std::collections::{BTreeMap, BTreeSet};

use bevy::prelude::*;
use serde::{Deserialize, Serialize};
use sprout_core::content::{Effect, FRIENDSHIP_MAX, Id, Season, TimeSlot};
use sprout_core::runtime::{Facts, FactsMut, QuestState};

/// Minutes after midnight when a day starts (06:00).
pub const DAY_START: u32 = 6 * 60;
/// Minutes after midnight (of the next day) when the player collapses (02:00).
pub const DAY_END: u32 = 26 * 60;
/// The latest the clock can read: a day's end and a whole day of slack for one long frame.
/// A save whose clock reads later is refused.
pub const MINUTES_MAX: u32 = DAY_END + 24 * 60;
/// The last year the calendar counts to (it stays there).
pub const YEAR_MAX: u32 = 9999;

/// Everything about the player's progress.
#[derive(Resource, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FarmState {
    /// Day of the season, from 1.
    pub day: u32,
    /// Current season.
    pub season: Season,
    /// Year, from 1.
    pub year: u32,
    /// Minutes since midnight of the current day (may exceed 24 h until bedtime).
    pub minutes: u32,
    /// Gold held.
    pub gold: u32,
    /// Items held, by item id.
    pub inventory: BTreeMap<Id, u32>,
    /// Story flags set.
    pub flags: BTreeSet<Id>,
    /// Friendship points by character id.
    pub friendship: BTreeMap<Id, i32>,
    /// Characters the player has met.
    pub met: BTreeSet<Id>,
    /// Characters talked to today.
    pub talked_today: BTreeSet<Id>,
    /// Characters given a gift today.
    pub gifted_today: BTreeSet<Id>,
    /// Quests started and not completed.
    pub active_quests: BTreeSet<Id>,
    /// Quests completed.
    pub done_quests: BTreeSet<Id>,
    /// Harvests per crop id since the game began (quest objectives count them).
    pub harvested: BTreeMap<Id, u32>,
    /// Gold earned by selling, in total.
    pub earned: u32,
}

impl Default for FarmState {
    fn default() -> Self {
        Self {
            day: 1,
            season: Season::Spring,
            year: 1,
            minutes: DAY_START,
            gold: 500,
            inventory: BTreeMap::new(),
            flags: BTreeSet::new(),
            friendship: BTreeMap::new(),
            met: BTreeSet::new(),
            talked_today: BTreeSet::new(),
            gifted_today: BTreeSet::new(),
            active_quests: BTreeSet::new(),
            done_quests: BTreeSet::new(),
            harvested: BTreeMap::new(),
            earned: 0,
        }
    }
}

impl FarmState {
    /// How many of `item` the player holds.
    pub fn count(&self, item: &str) -> u32 {
        self.inventory.get(item).copied().unwrap_or(0)
    }

    /// Adds items (a stack that would pass `u32::MAX` stays there).
    pub fn give(&mut self, item: &Id, n: u32) {
        let held = self.inventory.entry(item.clone()).or_default();
        *held = held.saturating_add(n);
    }

    /// Adds gold (saturating).
    pub fn earn(&mut self, gold: u32) {
        self.gold = self.gold.saturating_add(gold);
    }

    /// Moves the clock on by `minutes` (saturating); returns whether it is now bedtime.
    pub fn advance_clock(&mut self, minutes: u32) -> bool {
        self.minutes = self.minutes.saturating_add(minutes);
        self.minutes >= DAY_END
    }

    /// Starts the next morning: the day, and after `days_per_season` days the season (and after
    /// winter the year), move on. Returns whether the season changed.
    pub fn next_day(&mut self, days_per_season: u32) -> bool {
        self.minutes = DAY_START;
        self.day = self.day.saturating_add(1);
        self.talked_today.clear();
        self.gifted_today.clear();
        if self.day <= days_per_season {
            return false;
        }
        self.day = 1;
        self.season = self.season.next();
        if self.season == Season::Spring {
            self.year = self.year.saturating_add(1).min(YEAR_MAX);
        }
        true
    }

    /// Removes up to `n` items; returns how many were removed.
    pub fn take(&mut self, item: &Id, n: u32) -> u32 {
        let Some(held) = self.inventory.get_mut(item) else {
            return 0;
        };
        let taken = n.min(*held);
        *held -= taken;
        if *held == 0 {
            self.inventory.remove(item);
        }
        taken
    }

    /// Changes friendship, kept within 0..=1000.
    pub fn befriend(&mut self, npc: &Id, points: i32) {
        let f = self.friendship.entry(npc.clone()).or_default();
        *f = f.saturating_add(points).clamp(0, FRIENDSHIP_MAX);
    }

    /// The hour of the day, 0–23.
    pub fn hour(&self) -> u32 {
        (self.minutes / 60) % 24
    }

    /// Clock text, e.g. `7:40 pm`.
    pub fn clock(&self) -> String {
        let (h, m) = (self.hour(), self.minutes % 60);
        let (h12, ampm) = match h {
            0 => (12, "am"),
            1..=11 => (h, "am"),
            12 => (12, "pm"),
            _ => (h - 12, "pm"),
        };
        format!("{h12}:{m:02} {ampm}")
    }

    /// Applies a dialogue or reward effect, except quest completion rewards (see `quests`):
    /// the core's [`Effect::apply_to`], the one statement of what each effect means.
    pub fn apply(&mut self, effect: &Effect) {
        effect.apply_to(self);
    }
}

impl FactsMut for FarmState {
    fn set_item_count(&mut self, item: &Id, count: u32) {
        if count == 0 {
            self.inventory.remove(item);
        } else {
            self.inventory.insert(item.clone(), count);
        }
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

impl Facts for FarmState {
    fn flag(&self, flag: &Id) -> bool {
        self.flags.contains(flag)
    }
    fn friendship(&self, npc: &Id) -> i32 {
        self.friendship.get(npc).copied().unwrap_or(0)
    }
    fn item_count(&self, item: &Id) -> u32 {
        self.count(item.as_str())
    }
    fn season(&self) -> Season {
        self.season
    }
    fn time_slot(&self) -> TimeSlot {
        TimeSlot::at_hour(self.hour())
    }
    fn quest_active(&self, quest: &Id) -> bool {
        self.active_quests.contains(quest)
    }
    fn quest_done(&self, quest: &Id) -> bool {
        self.done_quests.contains(quest)
    }
}

pub(crate) fn plugin(app: &mut App) {
    app.init_resource::<FarmState>();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Id {
        Id::new(s).unwrap()
    }

    #[test]
    fn gold_counts_and_friendship_saturate_instead_of_overflowing() {
        let mut s = FarmState {
            gold: u32::MAX - 1,
            ..FarmState::default()
        };
        s.apply(&Effect::GiveGold(u32::MAX));
        assert_eq!(s.gold, u32::MAX);
        let turnip = id("turnip");
        s.give(&turnip, u32::MAX);
        s.apply(&Effect::GiveItem {
            item: turnip.clone(),
            count: 7,
        });
        assert_eq!(s.count("turnip"), u32::MAX);
        let ana = id("ana");
        s.befriend(&ana, i32::MAX);
        s.befriend(&ana, i32::MAX);
        assert_eq!(s.friendship[&ana], FRIENDSHIP_MAX);
        s.befriend(&ana, i32::MIN);
        assert_eq!(s.friendship[&ana], 0);
    }

    #[test]
    fn the_clock_and_the_calendar_saturate() {
        let mut s = FarmState {
            minutes: u32::MAX - 5,
            ..FarmState::default()
        };
        assert!(s.advance_clock(u32::MAX));
        assert_eq!(s.minutes, u32::MAX);
        assert!(!s.next_day(28));
        assert_eq!((s.minutes, s.day), (DAY_START, 2));

        s.day = u32::MAX;
        assert!(
            s.next_day(28),
            "a day past the season's end turns the season"
        );
        assert_eq!((s.day, s.season), (1, Season::Summer));

        s.season = Season::Winter;
        s.day = 28;
        s.year = YEAR_MAX;
        assert!(s.next_day(28));
        assert_eq!((s.season, s.year), (Season::Spring, YEAR_MAX));
    }
}
