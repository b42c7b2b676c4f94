//! Kettle Hollow, Sprout's sample farming game, as a library of small plugins so the play can be
//! tested headless. Every crop, item, villager, line and quest comes from `assets/` through
//! `bevy_sprout`; nothing of the story lives in Rust.

pub mod economy;
pub mod farming;
pub mod npc;
pub mod player;
pub mod quests;
pub mod save;
pub mod state;
pub mod time;
pub mod toast;
pub mod ui;
pub mod walk;
pub mod world;

use bevy::prelude::*;
use bevy_sprout::prelude::*;

/// The game's system sets, all in `Update`, in this order, after Sprout's dialogue systems.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FarmSystems {
    /// Read the keyboard into actions.
    Input,
    /// Advance the clock; sleep.
    Time,
    /// Build the map and place villagers.
    World,
    /// Carry out actions and apply dialogue effects.
    Act,
    /// Update sprites and the HUD.
    Draw,
}

/// The whole game's logic and presentation, without windowing: add it after `DefaultPlugins`
/// (or `MinimalPlugins` + assets in tests) and `SproutPlugins::<state::FarmState>`.
pub fn plugin(app: &mut App) {
    app.configure_sets(
        Update,
        (
            FarmSystems::Input,
            FarmSystems::Time,
            FarmSystems::World,
            FarmSystems::Act,
            FarmSystems::Draw,
        )
            .chain()
            .after(SproutSystems::Dialogue)
            .before(SproutSystems::Ui),
    )
    .add_plugins((
        state::plugin,
        time::plugin,
        world::plugin,
        player::plugin,
        farming::plugin,
        npc::plugin,
        quests::plugin,
        economy::plugin,
        save::plugin,
        ui::plugin,
        walk::plugin,
    ));
}
