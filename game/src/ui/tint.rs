//! Day and night: a full-screen tint that darkens in the evening.

use bevy::prelude::*;

use crate::state::FarmState;

#[derive(Component)]
struct Tint;

pub(super) fn plugin(app: &mut App) {
    app.add_systems(Startup, spawn)
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

fn update(
    state: Res<FarmState>,
    mut tint: Query<(&mut BackgroundColor, &mut Visibility), With<Tint>>,
) {
    if !state.is_changed() {
        return;
    }
    let dark = darkness(state.minutes);
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
