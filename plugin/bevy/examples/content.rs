//! Loads a project's content (world, villagers, dialogue, quests, items, crops) as Bevy assets
//! through Sprout's loaders, waits for the cross-file validation, prints what is there and every
//! problem with its file and line, and exits. Headless (`MinimalPlugins`).
//!
//! `cargo run -p bevy_sprout --example content` (the starter content in `assets/`)

use bevy::asset::AssetPlugin;
use bevy::prelude::*;
use bevy_sprout::prelude::*;

fn main() -> AppExit {
    let assets = bevy_sprout::default_asset_dir();
    App::new()
        .add_plugins((
            MinimalPlugins,
            AssetPlugin {
                file_path: assets.to_string_lossy().into_owned(),
                ..default()
            },
            SproutPlugin::default()
                .with_asset_dir(&assets)
                .with_notice(false),
        ))
        .add_systems(Update, report)
        .run()
}

fn report(library: Library, status: Res<ContentStatus>, mut exit: MessageWriter<AppExit>) {
    if !status.settled {
        return;
    }
    match library.world() {
        Some(world) => println!("{}: {}", world.title, world.setting),
        None => println!("(no world file)"),
    }
    for c in library.characters() {
        println!("  villager {} ({}), lives at {}", c.name, c.role, c.home);
    }
    println!(
        "{} dialogue trees, {} quests, {} items, {} crops",
        library.dialogues().len(),
        library.quests().len(),
        library.items().len(),
        library.crops().len()
    );
    let problems = status.lines();
    if problems.is_empty() {
        println!("all content loads and validates");
        exit.write(AppExit::Success);
    } else {
        for p in &problems {
            println!("{p}");
        }
        exit.write(AppExit::error());
    }
}
