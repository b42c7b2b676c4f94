//! The dialogue runner under `MinimalPlugins`: it walks a real tree, offers only the choices whose
//! conditions hold against the game's facts, emits effects, and ends.

use std::path::Path;
use std::time::{Duration, Instant};

use bevy::asset::AssetPlugin;
use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use bevy_sprout::prelude::*;

type Game = MemoryFactsResource;

#[derive(Resource, Default)]
struct Log {
    effects: Vec<Effect>,
    ended: Vec<Id>,
}

/// The game's side: apply effects to its state, note the end.
fn apply(
    mut game: ResMut<Game>,
    mut log: ResMut<Log>,
    mut fx: MessageReader<DialogueEffect>,
    mut ended: MessageReader<DialogueEnded>,
) {
    for e in fx.read() {
        game.apply(&e.effect);
        log.effects.push(e.effect.clone());
    }
    log.ended.extend(ended.read().map(|e| e.tree.clone()));
}

fn id(s: &str) -> Id {
    Id::new(s).unwrap()
}

fn runner(app: &mut App) -> Option<DialogueRunner> {
    app.world_mut()
        .query::<&DialogueRunner>()
        .iter(app.world())
        .next()
        .cloned()
}

#[test]
fn runner_walks_a_tree_with_conditions_and_effects() {
    let dir = std::fs::canonicalize(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/base"),
    )
    .unwrap();
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins,
        AssetPlugin {
            file_path: dir.to_string_lossy().into_owned(),
            watch_for_changes_override: Some(false),
            ..default()
        },
        SproutPlugin::default()
            .with_asset_dir(&dir)
            .with_notice(false),
        DialoguePlugin::<Game>::default().without_ui(),
    ))
    .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_millis(
        100,
    )))
    .init_resource::<Game>()
    .init_resource::<Log>()
    .add_systems(Update, apply.after(SproutSystems::Dialogue));
    let start = Instant::now();
    while !app.world().resource::<ContentStatus>().settled {
        app.update();
        assert!(start.elapsed() < Duration::from_secs(30));
    }

    app.world_mut().write_message(StartDialogue {
        tree: id("ana_hello"),
    });
    app.update();
    let r = runner(&mut app).expect("started");
    assert_eq!(r.speaker.as_str(), "ana");
    assert_eq!(r.text, "Oh! You must be the new farmer.");
    // The entry line's effect was emitted and applied.
    assert_eq!(
        app.world().resource::<Log>().effects,
        [Effect::SetFlag(id("met_ana"))]
    );
    // Without a turnip the gift choice is not offered.
    let offered: Vec<_> = r.offered.iter().map(|(i, t)| (*i, t.as_str())).collect();
    assert_eq!(offered, [(0, "I am."), (2, "Bye.")]);

    // The typewriter reveals the line over time.
    assert!(!r.fully_revealed());
    for _ in 0..20 {
        app.update();
    }
    assert!(runner(&mut app).unwrap().fully_revealed());

    // Holding a turnip, the gift choice appears; picking it applies its effects.
    app.world_mut()
        .resource_mut::<Game>()
        .apply(&Effect::GiveItem {
            item: id("turnip"),
            count: 1,
        });
    app.update();
    let r = runner(&mut app).unwrap();
    assert_eq!(r.offered.len(), 3);
    app.world_mut().write_message(ChooseLine::Pick(1));
    app.update();
    let game = app.world().resource::<Game>();
    assert_eq!(game.item_count(&id("turnip")), 0);
    assert_eq!(game.friendship(&id("ana")), 20);
    let r = runner(&mut app).unwrap();
    assert_eq!(r.node_id().as_str(), "glad");

    // A Continue first finishes the typewriter, the next one ends the conversation.
    app.world_mut().write_message(ChooseLine::Continue);
    app.update();
    assert!(runner(&mut app).is_some());
    app.world_mut().write_message(ChooseLine::Continue);
    app.update();
    app.update();
    assert!(runner(&mut app).is_none());
    assert_eq!(app.world().resource::<Log>().ended, [id("ana_hello")]);
}

#[test]
fn a_tagged_line_shows_the_portrait_variant_that_exists() {
    use bevy_sprout::dialogue::portrait_for;
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/base");
    let text = std::fs::read_to_string(fixture.join("npcs/ana.npc.ron")).unwrap();
    let ana: sprout_core::content::Character = sprout_core::format::parse(&text).unwrap();
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("portraits")).unwrap();
    std::fs::copy(
        fixture.join("portraits/ana.png"),
        root.path().join("portraits/ana.png"),
    )
    .unwrap();
    std::fs::copy(
        fixture.join("portraits/ana.png"),
        root.path().join("portraits/ana.happy.png"),
    )
    .unwrap();
    let shown = |tags: &[&str]| {
        let tags: Vec<Id> = tags.iter().map(|t| id(t)).collect();
        portrait_for(&ana, &tags, root.path()).to_string()
    };
    assert_eq!(shown(&["happy"]), "portraits/ana.happy.png");
    // The first tag with a variant wins; a tag without one falls through to the plain portrait.
    assert_eq!(shown(&["sad", "happy"]), "portraits/ana.happy.png");
    assert_eq!(shown(&["sad"]), "portraits/ana.png");
    assert_eq!(shown(&[]), "portraits/ana.png");
}
