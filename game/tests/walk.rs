//! The farmer walks in two frames and faces the way they go, and a sprite remade on disk while
//! the game runs (`sprout art`, the editor's Accept) is live a moment later, its walking frame
//! derived again; so is a remade ground tile. Headless, on a copy of the shipped assets, with the
//! asset folder watched.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bevy::image::{CompressedImageFormats, ImageLoader, ImagePlugin};
use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use bevy_sprout::editor::EditorPlugin;
use bevy_sprout::prelude::*;
use sprout_farm::player::Player;
use sprout_farm::state::FarmState;
use sprout_farm::walk::{Walker, stride_frame};

fn assets() -> PathBuf {
    std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets")).unwrap()
}

fn update_until(app: &mut App, what: &str, mut done: impl FnMut(&mut App) -> bool) {
    let start = Instant::now();
    while !done(app) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "gave up waiting for {what}"
        );
        app.update();
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn farmer(app: &mut App) -> (Walker, Sprite) {
    let mut q = app
        .world_mut()
        .query_filtered::<(&Walker, &Sprite), With<Player>>();
    let (w, s) = q.single(app.world()).expect("the farmer walks");
    (w.clone(), s.clone())
}

fn pixels(app: &App, image: &Handle<Image>) -> Option<Vec<u8>> {
    app.world()
        .resource::<Assets<Image>>()
        .get(image)
        .and_then(|i| i.data.clone())
}

fn step(app: &mut App, dx: f32) {
    let mut q = app
        .world_mut()
        .query_filtered::<&mut Transform, With<Player>>();
    q.single_mut(app.world_mut()).unwrap().translation.x += dx;
    app.update();
}

#[test]
fn the_farmer_steps_in_two_frames_and_a_remade_sprite_is_live() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    sprout_core::fs::copy_tree(&assets(), &root).unwrap();
    let saves = tempfile::tempdir().unwrap();
    let sprout = SproutPlugins::<FarmState>::new(&root)
        .watch(true)
        .with_notice(false);
    let mut app = App::new();
    sprout.register_asset_source(&mut app);
    app.add_plugins((
        MinimalPlugins,
        sprout.asset_plugin(),
        ImagePlugin::default_nearest(),
    ))
    // The renderer registers the PNG loader; headless, the test does.
    .register_asset_loader(ImageLoader::new(CompressedImageFormats::empty()))
    .add_plugins(sprout.build().disable::<EditorPlugin>())
    .add_plugins(sprout_farm::plugin)
    .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_millis(
        16,
    )))
    .insert_resource(sprout_farm::save::SavePath(
        saves.path().join("farm.save.ron"),
    ))
    .init_resource::<ButtonInput<KeyCode>>();
    update_until(&mut app, "the farmer's two frames", |app| {
        app.world().resource::<ContentStatus>().settled
            && app
                .world_mut()
                .query_filtered::<&Walker, With<Player>>()
                .single(app.world())
                .is_ok_and(Walker::has_stride)
    });

    // Standing: the sprite as drawn.
    app.update();
    let (walker, sprite) = farmer(&mut app);
    assert_eq!(sprite.image, walker.base);
    let base = pixels(&app, &walker.base).expect("the sprite's pixels");
    let size = app
        .world()
        .resource::<Assets<Image>>()
        .get(&walker.base)
        .unwrap()
        .size();
    let stride = stride_frame(size.x, size.y, &base);
    assert_ne!(stride, base, "the legs differ between the two frames");

    // Walking right: both frames show, facing right (the art faces left, so flipped).
    let mut frames = Vec::new();
    // 100 frames of 16 ms: 1.6 s, at six steps a second nine or ten changes of frame.
    for _ in 0..100 {
        step(&mut app, 1.0);
        let (_, sprite) = farmer(&mut app);
        assert!(sprite.flip_x, "walking right faces right");
        frames.push(pixels(&app, &sprite.image).expect("a frame's pixels"));
    }
    assert!(
        frames.contains(&base) && frames.contains(&stride),
        "two frames"
    );
    let changes = frames.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(
        (8..=10).contains(&changes),
        "steps at a walking pace, not every frame: {changes} changes in 100 frames"
    );
    // Walking left faces left; standing still shows the sprite as drawn.
    step(&mut app, -1.0);
    assert!(!farmer(&mut app).1.flip_x);
    app.update();
    let (walker, sprite) = farmer(&mut app);
    assert_eq!(sprite.image, walker.base);

    // The farmer's sprite is remade on disk (here: Sefa's picture written over it).
    let world = std::fs::read_to_string(root.join("world/kettle_hollow.world.ron")).unwrap();
    let world: sprout_core::content::World = sprout_core::format::parse(&world).unwrap();
    let file = world.player_sprite.unwrap().under(&root);
    let other = root.join("sprites/npcs/sefa.png");
    let sefa: Handle<Image> = app
        .world()
        .resource::<AssetServer>()
        .load("sprites/npcs/sefa.png");
    update_until(&mut app, "sefa's sprite", |app| {
        pixels(app, &sefa).is_some()
    });
    let new = pixels(&app, &sefa).unwrap();
    assert_ne!(new, base);
    sprout_core::fs::write_atomic(&file, &std::fs::read(&other).unwrap()).unwrap();
    update_until(
        &mut app,
        "the remade sprite, and its walking frame",
        |app| {
            let (walker, _) = farmer(app);
            pixels(app, &walker.base).as_ref() == Some(&new)
                && walker.has_stride()
                && (0..30).any(|_| {
                    step(app, 1.0);
                    let (_, sprite) = farmer(app);
                    pixels(app, &sprite.image) == Some(stride_frame(size.x, size.y, &new))
                })
        },
    );

    // The ground is one quad per stretch over which its tile repeats: a grass tile remade at
    // 32 px (here a building's picture) still repeats once per 16-unit tile, live.
    let grass_rect = |app: &mut App| {
        let mut q = app.world_mut().query::<&Sprite>();
        let grass_size = Vec2::new(90.0, 40.0) * 16.0;
        q.iter(app.world())
            .find(|s| s.custom_size == Some(grass_size))
            .and_then(|s| s.rect)
    };
    assert_eq!(
        grass_rect(&mut app),
        Some(Rect::new(0.0, 0.0, 90.0 * 16.0, 40.0 * 16.0)),
        "the 16 px grass tile repeats 90 x 40 times"
    );
    let tile = root.join("tiles/grass.png");
    sprout_core::fs::write_atomic(
        &tile,
        &std::fs::read(root.join("sprites/buildings/bell_green.png")).unwrap(),
    )
    .unwrap();
    update_until(&mut app, "the remade 32 px grass tile", |app| {
        grass_rect(app) == Some(Rect::new(0.0, 0.0, 90.0 * 32.0, 40.0 * 32.0))
    });
}
