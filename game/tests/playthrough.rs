//! A scripted, headless play-through of the shipped game with its real content: buy seeds, till,
//! plant, water, sleep until ripe, harvest, sell; talk to every villager; take a quest, do it and
//! hand it in; save, load and survive a corrupt save.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bevy::image::ImagePlugin;
use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use bevy_sprout::dialogue::DialogueRunner;
use bevy_sprout::editor::EditorPlugin;
use bevy_sprout::prelude::*;
use sprout_core::content::{DialogueTree, Next, Situation, Target};
use sprout_farm::farming::{Field, Selected};
use sprout_farm::npc::Npc;
use sprout_farm::player::{Player, PlayerAction};
use sprout_farm::save::{self, SavePath};
use sprout_farm::state::FarmState;
use sprout_farm::time::Sleep;
use sprout_farm::world::{Landmark, tile_center};

fn assets() -> PathBuf {
    std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets")).unwrap()
}

fn game(save_dir: &Path) -> App {
    let mut app = App::new();
    let sprout = SproutPlugins::<FarmState>::new(assets())
        .watch(false)
        .with_notice(false);
    app.add_plugins((
        MinimalPlugins,
        sprout.asset_plugin(),
        ImagePlugin::default_nearest(),
    ))
    .add_plugins(sprout.build().disable::<EditorPlugin>())
    .add_plugins(sprout_farm::plugin)
    .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_millis(
        16,
    )))
    .insert_resource(SavePath(save_dir.join("farm.save.ron")))
    .init_resource::<ButtonInput<KeyCode>>();
    let start = Instant::now();
    loop {
        app.update();
        let settled = app.world().resource::<ContentStatus>().settled;
        let npcs = app.world_mut().query::<&Npc>().iter(app.world()).count();
        if settled && npcs >= 5 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "content never loaded"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(app.world().resource::<ContentStatus>().is_healthy());
    app
}

fn state(app: &App) -> &FarmState {
    app.world().resource::<FarmState>()
}

fn act(app: &mut App, action: PlayerAction) {
    app.world_mut().write_message(action);
    app.update();
    app.update();
}

fn place_player(app: &mut App, at: Vec2, facing: IVec2) {
    let mut q = app.world_mut().query::<(&mut Player, &mut Transform)>();
    let (mut p, mut t) = q.single_mut(app.world_mut()).unwrap();
    p.facing = facing;
    t.translation.x = at.x;
    t.translation.y = at.y;
}

fn landmark(app: &mut App, which: Landmark) -> Vec2 {
    let mut q = app.world_mut().query::<(&Landmark, &Transform)>();
    q.iter(app.world())
        .find(|(l, _)| **l == which)
        .map(|(_, t)| t.translation.truncate())
        .unwrap()
}

fn select(app: &mut App, item: &str) {
    app.world_mut().resource_mut::<Selected>().0 = Some(Id::new(item).unwrap());
}

fn sleep(app: &mut App) {
    app.world_mut().write_message(Sleep);
    app.update();
    app.update();
}

/// Nodes from which some path (through nodes and choices) reaches an effect matching `want`.
fn leads_to(tree: &DialogueTree, want: &dyn Fn(&Effect) -> bool) -> HashSet<String> {
    let mut good: HashSet<String> = HashSet::new();
    loop {
        let before = good.len();
        for n in &tree.nodes {
            let reaches = n.effects.iter().any(want)
                || match &n.next {
                    Next::End => false,
                    Next::Goto(id) => good.contains(id.as_str()),
                    Next::Choices(cs) => cs.iter().any(|c| {
                        c.effects.iter().any(want)
                            || matches!(&c.next, Target::Goto(id) if good.contains(id.as_str()))
                    }),
                };
            if reaches {
                good.insert(n.id.to_string());
            }
        }
        if good.len() == before {
            return good;
        }
    }
}

/// Talks to `npc` (standing next to them) and walks the conversation to its end, steering toward
/// an effect matching `want` where there is a choice. Returns the tree that ran.
fn talk(app: &mut App, npc: &str, want: &dyn Fn(&Effect) -> bool) -> Id {
    let mut q = app.world_mut().query::<(&Npc, &Transform)>();
    let at = q
        .iter(app.world())
        .find(|(n, _)| n.id.as_str() == npc)
        .map(|(_, t)| t.translation.truncate())
        .unwrap();
    place_player(app, at - Vec2::new(10.0, 0.0), IVec2::X);
    act(app, PlayerAction::Interact);
    let mut runners = app.world_mut().query::<&DialogueRunner>();
    let tree_id = runners
        .single(app.world())
        .expect("a conversation started")
        .tree
        .clone();
    let tree = {
        let dialogues = app.world().resource::<Assets<DialogueAsset>>();
        dialogues
            .iter()
            .find(|(_, d)| d.id == tree_id)
            .unwrap()
            .1
            .value
            .clone()
    };
    let good = leads_to(&tree, want);
    for _ in 0..100 {
        let Ok(runner) = runners.single(app.world()) else {
            return tree_id;
        };
        let choice = if runner.offered.is_empty() {
            ChooseLine::Continue
        } else {
            let node = tree.node(runner.node_id().as_str()).unwrap();
            let Next::Choices(all) = &node.next else {
                unreachable!()
            };
            let pick = runner
                .offered
                .iter()
                .position(|(i, _)| {
                    let c = &all[*i];
                    c.effects.iter().any(want)
                        || matches!(&c.next, Target::Goto(id) if good.contains(id.as_str()))
                })
                .unwrap_or(0);
            ChooseLine::Pick(pick)
        };
        // The first input finishes the typewriter; the second answers.
        app.world_mut().write_message(ChooseLine::Continue);
        app.update();
        app.world_mut().write_message(choice);
        app.update();
        app.update();
    }
    panic!("conversation `{tree_id}` never ended");
}

#[test]
fn a_season_of_play() {
    let saves = tempfile::tempdir().unwrap();
    let mut app = game(saves.path());
    let gold0 = state(&app).gold;

    // Buy seeds at the shop: the cheapest this season.
    let shop = landmark(&mut app, Landmark::Shop);
    place_player(&mut app, shop, IVec2::X);
    act(&mut app, PlayerAction::Buy(0));
    act(&mut app, PlayerAction::Buy(0));
    let seed = state(&app)
        .inventory
        .keys()
        .next()
        .cloned()
        .expect("bought seeds");
    assert_eq!(state(&app).count(seed.as_str()), 2);
    assert!(state(&app).gold < gold0);

    // Till, plant and water two tiles.
    select(&mut app, seed.as_str());
    for x in [3, 5] {
        place_player(&mut app, tile_center(IVec2::new(x - 1, 3)), IVec2::X);
        act(&mut app, PlayerAction::UseTool); // till
        act(&mut app, PlayerAction::UseTool); // plant
        act(&mut app, PlayerAction::UseTool); // water
        let plot = &app.world().resource::<Field>().plots[&(x, 3)];
        assert!(plot.watered && plot.crop.is_some(), "{plot:?}");
    }
    assert_eq!(state(&app).count(seed.as_str()), 0);

    // Sleep and water until ripe, then harvest.
    let crop_id = app.world().resource::<Field>().plots[&(3, 3)]
        .crop
        .clone()
        .unwrap()
        .crop;
    let (harvest, per_harvest) = {
        let crops = app.world().resource::<Assets<CropAsset>>();
        let c = crops.iter().find(|(_, c)| c.id == crop_id).unwrap().1;
        (c.harvest.clone(), c.harvest_count)
    };
    let day0 = state(&app).day;
    for _ in 0..30 {
        sleep(&mut app);
        for x in [3, 5] {
            place_player(&mut app, tile_center(IVec2::new(x - 1, 3)), IVec2::X);
            act(&mut app, PlayerAction::UseTool); // water, or harvest once ripe
        }
        if state(&app).count(harvest.as_str()) > 0 {
            break;
        }
    }
    assert!(state(&app).day > day0);
    assert_eq!(
        state(&app).count(harvest.as_str()),
        2 * per_harvest,
        "both plants harvested"
    );
    assert_eq!(state(&app).harvested[&crop_id], 2);

    // Sell at the shipping bin.
    let before = state(&app).gold;
    let bin = landmark(&mut app, Landmark::ShippingBin);
    place_player(&mut app, bin, IVec2::X);
    act(&mut app, PlayerAction::Interact);
    assert_eq!(state(&app).count(harvest.as_str()), 0);
    assert!(state(&app).gold > before, "selling earned gold");

    // Talk to every villager: their first meeting, with its effects applied.
    let npcs: Vec<String> = {
        let mut q = app.world_mut().query::<&Npc>();
        q.iter(app.world()).map(|n| n.id.to_string()).collect()
    };
    assert_eq!(npcs.len(), 5);
    for npc in &npcs {
        let tree = talk(&mut app, npc, &|_| false);
        let dialogues = app.world().resource::<Assets<DialogueAsset>>();
        let t = dialogues.iter().find(|(_, d)| d.id == tree).unwrap().1;
        assert_eq!(t.situation, Situation::FirstMeeting, "{npc}");
        assert!(state(&app).met.contains(npc.as_str()));
    }
    assert!(
        state(&app).friendship.values().any(|f| *f > 0),
        "dialogue effects applied"
    );

    // A quest: Idris offers it once the player has heard about the bridge.
    assert!(state(&app).flags.contains("heard_about_span"));
    let quest = Id::new("stones_for_the_span").unwrap();
    let tree = talk(&mut app, "idris", &|e| {
        *e == Effect::StartQuest(quest.clone())
    });
    assert_eq!(tree.as_str(), "idris_offer_stones");
    assert!(state(&app).active_quests.contains(&quest));

    // Its objectives: talk to Ottilie, and dig up ten fieldstones while tilling.
    talk(&mut app, "ottilie", &|_| false);
    let mut x = 0;
    while state(&app).count("fieldstone") < 10 {
        let tile = IVec2::new(x % 12, 4 + (x / 12) % 4);
        place_player(&mut app, tile_center(tile - IVec2::X), IVec2::X);
        act(&mut app, PlayerAction::UseTool);
        x += 1;
        if x % 48 == 0 {
            sleep(&mut app); // a new day turns up new stones on re-tilled ground
            app.world_mut()
                .resource_mut::<Field>()
                .plots
                .retain(|_, p| p.crop.is_some());
        }
        assert!(x < 2000, "never found ten stones");
    }

    // Hand it in.
    let gold = state(&app).gold;
    let tree = talk(&mut app, "idris", &|e| {
        *e == Effect::CompleteQuest(quest.clone())
    });
    assert_eq!(tree.as_str(), "idris_complete_stones");
    assert!(state(&app).done_quests.contains(&quest));
    assert!(state(&app).gold >= gold + 300, "reward paid");
    assert_eq!(state(&app).count("fieldstone"), 0, "delivered stones taken");

    // Save, change the world, load: the saved state comes back.
    app.world_mut()
        .resource_mut::<ButtonInput<KeyCode>>()
        .press(KeyCode::F5);
    app.update();
    app.world_mut()
        .resource_mut::<ButtonInput<KeyCode>>()
        .release(KeyCode::F5);
    app.update();
    let path = app.world().resource::<SavePath>().0.clone();
    let saved = save::read(&path).unwrap();
    assert_eq!(&saved.state, state(&app));
    assert_eq!(&saved.field, app.world().resource::<Field>());
}

#[test]
fn save_round_trip_and_corrupt_saves() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("farm.save.ron");
    let mut state = FarmState::default();
    state.give(&Id::new("snap_pea").unwrap(), 3);
    state.flags.insert(Id::new("met_x").unwrap());
    let mut field = Field::default();
    field.plots.insert(
        (1, 2),
        sprout_farm::farming::Plot {
            watered: true,
            crop: None,
        },
    );
    let good = save::SaveFile {
        version: save::SAVE_VERSION,
        state,
        field,
        player: (1.5, -2.0),
    };
    save::write(&path, &good).unwrap();
    assert_eq!(save::read(&path).unwrap(), good);

    // A second save keeps the first as a backup.
    save::write(&path, &good).unwrap();
    assert!(path.with_extension("ron.bak").exists());

    // A corrupt save gives a clear error with a place, and is not touched.
    let text = std::fs::read_to_string(&path).unwrap();
    let corrupt = text.replacen("gold: 500", "gold: lots", 1);
    assert_ne!(corrupt, text);
    std::fs::write(&path, &corrupt).unwrap();
    let err = save::read(&path).unwrap_err().to_string();
    assert!(
        err.contains("farm.save.ron:") && err.contains("left as it is"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), corrupt);

    // Saving over it keeps the last good backup and moves the unreadable file aside.
    let bak = path.with_extension("ron.bak");
    let good_bak = std::fs::read_to_string(&bak).unwrap();
    save::write(&path, &good).unwrap();
    assert_eq!(std::fs::read_to_string(&bak).unwrap(), good_bak);
    assert_eq!(
        std::fs::read_to_string(path.with_extension("ron.unreadable")).unwrap(),
        corrupt
    );
    assert_eq!(save::read(&path).unwrap(), good);

    // A save from another version says so.
    std::fs::write(&path, text.replacen("version: 1", "version: 9", 1)).unwrap();
    let err = save::read(&path).unwrap_err().to_string();
    assert!(err.contains("version 9"), "{err}");
}

/// A gamepad drives the farmer like the keyboard: the left stick walks (a half-tilted stick at
/// half speed), A uses the tool on the tile in front, Y selects the next item, and in a
/// conversation A continues and the face buttons pick choices.
#[test]
fn a_gamepad_walks_acts_and_talks() {
    let saves = tempfile::tempdir().unwrap();
    let mut app = game(saves.path());
    #[derive(Resource, Default)]
    struct Seen(Vec<PlayerAction>);
    app.init_resource::<Seen>().add_systems(
        Update,
        |mut seen: ResMut<Seen>, mut actions: MessageReader<PlayerAction>| {
            seen.0.extend(actions.read().copied());
        },
    );
    let pad = app.world_mut().spawn(Gamepad::default()).id();
    let start = Vec2::new(2.0, 2.0) * sprout_farm::world::TILE;
    place_player(&mut app, start, IVec2::NEG_Y);
    let x = |app: &mut App| {
        let mut q = app.world_mut().query_filtered::<&Transform, With<Player>>();
        q.single(app.world()).unwrap().translation.x
    };

    // Full right for 10 frames of 16 ms: 72 units/s * 0.16 s.
    app.world_mut()
        .get_mut::<Gamepad>(pad)
        .unwrap()
        .analog_mut()
        .set(GamepadAxis::LeftStickX, 1.0);
    let before = x(&mut app);
    for _ in 0..10 {
        app.update();
    }
    let full = x(&mut app) - before;
    assert!((full - 72.0 * 0.16).abs() < 1.5, "walked {full}");
    let facing = {
        let mut q = app.world_mut().query::<&Player>();
        q.single(app.world()).unwrap().facing
    };
    assert_eq!(facing, IVec2::X);

    // Half tilt, half the distance; inside the dead zone, none.
    app.world_mut()
        .get_mut::<Gamepad>(pad)
        .unwrap()
        .analog_mut()
        .set(GamepadAxis::LeftStickX, 0.5);
    let before = x(&mut app);
    for _ in 0..10 {
        app.update();
    }
    let half = x(&mut app) - before;
    assert!(
        (half - full / 2.0).abs() < 1.0,
        "walked {half} at half tilt"
    );
    app.world_mut()
        .get_mut::<Gamepad>(pad)
        .unwrap()
        .analog_mut()
        .set(GamepadAxis::LeftStickX, 0.1);
    let before = x(&mut app);
    app.update();
    assert_eq!(x(&mut app), before, "the dead zone holds still");

    // Buttons become actions.
    for (button, action) in [
        (GamepadButton::South, PlayerAction::UseTool),
        (GamepadButton::North, PlayerAction::NextItem),
        (GamepadButton::Select, PlayerAction::Sleep),
    ] {
        app.world_mut().resource_mut::<Seen>().0.clear();
        {
            let mut g = app.world_mut().get_mut::<Gamepad>(pad).unwrap();
            g.digital_mut().press(button);
        }
        app.update();
        {
            let mut g = app.world_mut().get_mut::<Gamepad>(pad).unwrap();
            g.digital_mut().release(button);
            g.digital_mut().clear();
        }
        // The action is read next frame (`Seen` may run before the input system).
        app.update();
        assert!(
            app.world().resource::<Seen>().0.contains(&action),
            "{button:?} should give {action:?}: {:?}",
            app.world().resource::<Seen>().0
        );
    }

    // In a conversation, A shows the whole line at once (the typewriter is still running).
    app.world_mut().write_message(StartDialogue {
        tree: Id::new("pim_first").unwrap(),
    });
    let revealed = |app: &mut App| {
        let mut q = app.world_mut().query::<&DialogueRunner>();
        q.single(app.world())
            .ok()
            .map(DialogueRunner::fully_revealed)
    };
    for _ in 0..10 {
        if revealed(&mut app).is_some() {
            break;
        }
        app.update();
    }
    assert_eq!(revealed(&mut app), Some(false), "the conversation started");
    app.world_mut()
        .get_mut::<Gamepad>(pad)
        .unwrap()
        .digital_mut()
        .press(GamepadButton::South);
    app.update();
    assert_eq!(revealed(&mut app), Some(true), "A finished the line");

    // The farmer wears the world's player sprite.
    let text = std::fs::read_to_string(assets().join("world/kettle_hollow.world.ron")).unwrap();
    let world: sprout_core::content::World = sprout_core::format::parse(&text).unwrap();
    let expected = world
        .player_sprite
        .expect("the starter world names a player sprite");
    let mut q = app.world_mut().query_filtered::<&Sprite, With<Player>>();
    let sprite = q.single(app.world()).unwrap();
    assert_eq!(
        app.world()
            .resource::<AssetServer>()
            .get_path(&sprite.image)
            .map(|p| p.path().to_string_lossy().into_owned()),
        Some(expected.to_string())
    );
}
