//! Kettle Hollow, the sample farming game: `cargo run`.
//!
//! Options: `--screenshot PATH` saves a screenshot once the content has loaded and exits;
//! `--talk NPC` starts a conversation with that villager first (for a dialogue screenshot);
//! `--editor NPC` / `--editor-sprite ITEM` open the editor and generate first;
//! `--bench FRAMES [--crops N]` measures frame times (see `cargo bench -p sprout_farm`).

mod bench;
mod camera;
mod screenshot;

use bevy::prelude::*;
use bevy::window::PresentMode;
use bevy::winit::WinitSettings;
use bevy_sprout::prelude::*;

fn main() -> AppExit {
    let (bench_args, rest) = bench::Args::take(std::env::args().skip(1).collect());
    let args = screenshot::Args::parse(rest.into_iter());
    let sprout =
        SproutPlugins::<sprout_farm::state::FarmState>::new(bevy_sprout::default_asset_dir())
            .watch(cfg!(feature = "dev"));
    let mut app = App::new();
    sprout.register_asset_source(&mut app);
    app.add_plugins(
        DefaultPlugins
            .set(WindowPlugin {
                primary_window: Some(Window {
                    title: "Kettle Hollow — a Sprout sample game".into(),
                    resolution: (1280, 720).into(),
                    present_mode: PresentMode::AutoNoVsync,
                    ..default()
                }),
                ..default()
            })
            .set(sprout.asset_plugin())
            .set(ImagePlugin::default_nearest()),
    )
    .insert_resource(WinitSettings::continuous())
    .insert_resource(ClearColor(Color::srgb(0.2, 0.32, 0.2)))
    .add_plugins(sprout)
    .add_plugins((sprout_farm::plugin, camera::plugin));
    screenshot::install(&mut app, args);
    bench::install(&mut app, bench_args);
    app.run()
}
