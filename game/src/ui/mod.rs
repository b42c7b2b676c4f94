//! On-screen information: the HUD, short notices ("toasts"), and the day/night tint.

mod hud;
mod tint;

use bevy::prelude::*;

/// A short notice for the player, shown for a few seconds.
#[derive(Message, Debug, Clone, PartialEq, Eq)]
pub struct Toast(pub String);

pub(crate) fn plugin(app: &mut App) {
    app.add_message::<Toast>()
        .add_plugins((hud::plugin, tint::plugin));
}
