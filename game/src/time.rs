//! The clock and the calendar: minutes tick while the player is free, sleeping starts a new day,
//! and the seasons turn after the world's `days_per_season`.

use bevy::prelude::*;
use bevy_sprout::prelude::*;

use crate::state::FarmState;

/// Game minutes that pass per real second.
#[derive(Resource, Debug, Clone, Copy)]
pub struct ClockSpeed(pub f32);

impl Default for ClockSpeed {
    fn default() -> Self {
        Self(10.0)
    }
}

/// The player goes to bed: the day ends.
#[derive(Message, Debug, Clone, Copy)]
pub struct Sleep;

/// A new day began (crops grow, NPCs reset). Sent after the calendar moved on.
#[derive(Message, Debug, Clone, Copy)]
pub struct NewDay {
    /// Whether the season changed with it.
    pub new_season: bool,
}

#[derive(Resource, Default)]
struct Fraction(f32);

pub(crate) fn plugin(app: &mut App) {
    app.init_resource::<ClockSpeed>()
        .init_resource::<Fraction>()
        .add_message::<Sleep>()
        .add_message::<NewDay>()
        .add_systems(
            Update,
            (tick, sleep).chain().in_set(crate::FarmSystems::Time),
        );
}

fn tick(
    time: Res<Time>,
    speed: Res<ClockSpeed>,
    mut fraction: ResMut<Fraction>,
    mut state: ResMut<FarmState>,
    talking: Query<(), With<DialogueRunner>>,
    mut sleep: MessageWriter<Sleep>,
) {
    if !talking.is_empty() {
        return;
    }
    fraction.0 += time.delta_secs() * speed.0;
    let whole = fraction.0.floor();
    if whole >= 1.0 {
        fraction.0 -= whole;
        // `as` saturates a float; the clock saturates too (a loaded save is bounded anyway).
        if state.advance_clock(whole as u32) {
            info!("it is 2 am: the player collapses into bed");
            sleep.write(Sleep);
        }
    }
}

fn sleep(
    mut requests: MessageReader<Sleep>,
    mut state: ResMut<FarmState>,
    library: Library,
    mut new_day: MessageWriter<NewDay>,
) {
    if requests.read().count() == 0 {
        return;
    }
    let days_per_season = library.world().map_or(28, |w| w.days_per_season);
    let new_season = state.next_day(days_per_season);
    info!(
        "good morning: {:?} {}, year {}",
        state.season, state.day, state.year
    );
    new_day.write(NewDay { new_season });
}
