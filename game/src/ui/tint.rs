//! Day and night: the world darkens in the evening. Where the world is drawn into a canvas (the
//! game's camera), the canvas is tinted as it is put on screen ([`NightOn::Canvas`],
//! [`night_colour`]), so the HUD, the names and the editor panel keep their colours; otherwise a
//! full-screen UI node darkens the window.

use bevy::prelude::*;

use crate::state::FarmState;

#[derive(Component)]
struct Tint;

/// Where night falls: over the whole window (a UI node; the default), or only on the canvas the
/// world is drawn into, which its owner tints with [`night_colour`].
#[derive(Resource, Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum NightOn {
    /// A full-screen UI node over everything but the HUD (the editor panel included).
    #[default]
    Window,
    /// The world's canvas alone.
    Canvas,
}

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<NightOn>()
        .add_systems(Startup, spawn)
        .add_systems(Update, update.in_set(crate::FarmSystems::Draw));
}

fn spawn(mut commands: Commands) {
    commands.spawn((
        Tint,
        Node {
            position_type: PositionType::Absolute,
            width: percent(100),
            height: percent(100),
            ..default()
        },
        BackgroundColor(Color::NONE),
        // Hidden by day: a clear full-screen node is still shaded, pixel by pixel, on a
        // software renderer.
        Visibility::Hidden,
        GlobalZIndex(-1),
    ));
}

/// Night darkness, 0 (day) to 0.55 (deep night), by minutes since midnight.
pub fn darkness(minutes: u32) -> f32 {
    let h = minutes as f32 / 60.0;
    match h {
        h if h < 17.0 => 0.0,
        h if h < 21.0 => (h - 17.0) / 4.0 * 0.45,
        h => (0.45 + (h - 21.0) / 5.0 * 0.1).min(0.55),
    }
}

/// The colour the world is multiplied by at `minutes` since midnight: white by day, a dim
/// blue at night (as the window tint looks over mid-tone ground).
pub fn night_colour(minutes: u32) -> Color {
    let dark = darkness(minutes);
    Color::srgb(1.0 - 0.9 * dark, 1.0 - 0.9 * dark, 1.0 - 0.6 * dark)
}

fn update(
    state: Res<FarmState>,
    night: Res<NightOn>,
    mut tint: Query<(&mut BackgroundColor, &mut Visibility), With<Tint>>,
) {
    if !state.is_changed() && !night.is_changed() {
        return;
    }
    let dark = if *night == NightOn::Window {
        darkness(state.minutes)
    } else {
        0.0
    };
    for (mut bg, mut visibility) in &mut tint {
        bg.0 = Color::srgba(0.05, 0.05, 0.2, dark);
        let want = if dark > 0.0 {
            Visibility::Inherited
        } else {
            Visibility::Hidden
        };
        if *visibility != want {
            *visibility = want;
        }
    }
}
