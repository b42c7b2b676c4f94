//! The in-game editor panel over a project's content, in a window of its own: F1 toggles it.
//! Generate a conversation, a villager, a quest, an item icon or a crop's growth stages, a
//! texture or a prop; watch the progress, read the preview, accept it into `assets/` (hot reload
//! shows it a moment later), reject or regenerate it.
//!
//! `cargo run -p bevy_sprout --features editor --example editor`

use bevy::prelude::*;
use bevy_sprout::editor::EditorPlugin;
use bevy_sprout::prelude::*;

fn main() -> AppExit {
    let sprout = SproutPlugins::<MemoryFactsResource>::new(bevy_sprout::default_asset_dir());
    let mut app = App::new();
    sprout.register_asset_source(&mut app);
    app.add_plugins(
        DefaultPlugins
            .set(WindowPlugin {
                primary_window: Some(Window {
                    title: "Sprout editor".into(),
                    resolution: (1280, 720).into(),
                    ..default()
                }),
                ..default()
            })
            .set(sprout.asset_plugin()),
    )
    .add_plugins(sprout.build().set(EditorPlugin::opened()))
    .add_systems(Startup, |mut commands: Commands| {
        commands.spawn(Camera2d);
    })
    .run()
}
