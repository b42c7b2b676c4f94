//! The dialogue runtime and its default UI in a window: starts a conversation (the tree named on
//! the command line, or the first one loaded), walks it with conditions checked against game
//! state kept in memory, applies its effects to that state and prints them. Space or a click
//! continues, 1-9 or a click picks a choice. Closes when the conversation ends.
//!
//! `cargo run -p bevy_sprout --example dialogue -- pim_first`

use bevy::prelude::*;
use bevy_sprout::prelude::*;

#[derive(Resource)]
struct Wanted(Option<String>);

fn main() -> AppExit {
    App::new()
        .add_plugins(DefaultPlugins.set(WindowPlugin {
            primary_window: Some(Window {
                title: "Sprout dialogue".into(),
                resolution: (1280, 720).into(),
                ..default()
            }),
            ..default()
        }))
        .add_plugins((
            SproutPlugin::default(),
            DialoguePlugin::<MemoryFactsResource>::default(),
        ))
        .init_resource::<MemoryFactsResource>()
        .insert_resource(Wanted(std::env::args().nth(1)))
        .add_systems(Startup, |mut commands: Commands| {
            commands.spawn(Camera2d);
        })
        .add_systems(Update, (start, play))
        .run()
}

/// Starts the conversation once the content has settled.
fn start(
    mut wanted: ResMut<Wanted>,
    status: Res<ContentStatus>,
    library: Library,
    mut start: MessageWriter<StartDialogue>,
    mut started: Local<bool>,
) {
    if *started || !status.settled {
        return;
    }
    *started = true;
    let tree = wanted
        .0
        .take()
        .or_else(|| library.dialogues().first().map(|t| t.id.to_string()));
    match tree.and_then(|t| Id::new(t).ok()) {
        Some(tree) => {
            info!("starting {tree}");
            start.write(StartDialogue { tree });
        }
        None => error!("no dialogue tree to play"),
    }
}

/// The game's side: apply effects to its state; quit when the conversation ends.
fn play(
    mut facts: ResMut<MemoryFactsResource>,
    mut effects: MessageReader<DialogueEffect>,
    mut ended: MessageReader<DialogueEnded>,
    mut exit: MessageWriter<AppExit>,
) {
    for e in effects.read() {
        println!("effect from {}: {:?}", e.tree, e.effect);
        facts.apply(&e.effect);
    }
    if ended.read().next().is_some() {
        exit.write(AppExit::Success);
    }
}
