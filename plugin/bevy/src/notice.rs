//! An on-screen notice listing broken content while the game keeps running on the last good
//! versions. It sits low on the screen, above the default dialogue box, so it covers neither
//! a game's HUD along the top nor the conversation.

use bevy::prelude::*;

use crate::library::ContentStatus;
use crate::{SproutSettings, SproutSystems};

/// Marks the notice's text node.
#[derive(Component)]
pub struct ContentNotice;

pub(crate) fn plugin(app: &mut App) {
    app.add_systems(Update, update_notice.in_set(SproutSystems::Ui));
}

fn update_notice(
    mut commands: Commands,
    status: Res<ContentStatus>,
    settings: Res<SproutSettings>,
    mut notice: Query<(Entity, &mut Text), With<ContentNotice>>,
) {
    if !status.is_changed() {
        return;
    }
    let lines = status.lines();
    let existing = notice.single_mut().ok();
    if lines.is_empty() || !settings.show_notice {
        if let Some((e, _)) = existing {
            commands.entity(e).despawn();
        }
        return;
    }
    let shown = 4;
    let mut text = format!(
        "Content problem (the game keeps the last good version):\n{}",
        lines[..lines.len().min(shown)].join("\n")
    );
    if lines.len() > shown {
        text.push_str(&format!("\n... and {} more", lines.len() - shown));
    }
    match existing {
        Some((_, mut t)) => t.0 = text,
        None => {
            commands.spawn((
                ContentNotice,
                Text::new(text),
                TextFont {
                    font_size: FontSize::Px(14.0),
                    ..default()
                },
                TextColor(Color::srgb(1.0, 0.85, 0.8)),
                BackgroundColor(Color::srgba(0.45, 0.05, 0.05, 0.85)),
                Node {
                    position_type: PositionType::Absolute,
                    // The dialogue box is 150 px tall, 16 px above the bottom edge.
                    bottom: px(180),
                    left: percent(8),
                    right: percent(8),
                    padding: UiRect::all(px(6)),
                    ..default()
                },
                GlobalZIndex(100),
            ));
        }
    }
}
