//! On-screen information: the HUD, short notices ("toasts"), and the day/night tint.

mod hud;
mod tint;

use bevy::prelude::*;

pub use tint::{NightOn, night_colour};

use crate::toast::Toast;

pub(crate) fn plugin(app: &mut App) {
    app.add_message::<Toast>()
        .add_plugins((hud::plugin, tint::plugin));
}
