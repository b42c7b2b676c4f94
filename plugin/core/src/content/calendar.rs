//! Seasons and times of day: the farming calendar every schedule and condition refers to.

use serde::{Deserialize, Serialize};

/// One of the four seasons of the farming year.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
pub enum Season {
    /// Planting season.
    Spring,
    /// Long days, thirsty crops.
    Summer,
    /// Harvest season.
    Autumn,
    /// Little grows outdoors.
    Winter,
}

impl Season {
    /// All seasons, in calendar order.
    pub const ALL: [Season; 4] = [
        Season::Spring,
        Season::Summer,
        Season::Autumn,
        Season::Winter,
    ];

    /// The season after this one.
    pub fn next(self) -> Season {
        match self {
            Season::Spring => Season::Summer,
            Season::Summer => Season::Autumn,
            Season::Autumn => Season::Winter,
            Season::Winter => Season::Spring,
        }
    }
}

/// A slice of the day. NPC schedules and dialogue conditions use slots, not minutes.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
pub enum TimeSlot {
    /// 06:00–10:00.
    Morning,
    /// 10:00–14:00.
    Midday,
    /// 14:00–18:00.
    Afternoon,
    /// 18:00–22:00.
    Evening,
    /// 22:00–02:00, when the day ends.
    Night,
}

impl TimeSlot {
    /// All slots, in order through the day.
    pub const ALL: [TimeSlot; 5] = [
        TimeSlot::Morning,
        TimeSlot::Midday,
        TimeSlot::Afternoon,
        TimeSlot::Evening,
        TimeSlot::Night,
    ];

    /// The slot that contains `hour` (0–23).
    pub fn at_hour(hour: u32) -> TimeSlot {
        match hour % 24 {
            6..=9 => TimeSlot::Morning,
            10..=13 => TimeSlot::Midday,
            14..=17 => TimeSlot::Afternoon,
            18..=21 => TimeSlot::Evening,
            _ => TimeSlot::Night,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seasons_cycle() {
        let mut s = Season::Spring;
        for _ in 0..4 {
            s = s.next();
        }
        assert_eq!(s, Season::Spring);
    }

    #[test]
    fn hours_map_to_slots() {
        assert_eq!(TimeSlot::at_hour(6), TimeSlot::Morning);
        assert_eq!(TimeSlot::at_hour(13), TimeSlot::Midday);
        assert_eq!(TimeSlot::at_hour(23), TimeSlot::Night);
        assert_eq!(TimeSlot::at_hour(1), TimeSlot::Night);
    }
}
