//! Kettle Hollow, the sample farming game: `cargo run`.
//!
//! Options: `--screenshot PATH` saves a screenshot once the content has loaded and exits;
//! `--talk NPC` starts a conversation with that villager first (for a dialogue screenshot);
//! `--editor NPC` / `--editor-sprite ITEM` open the editor and generate first (`--sprite-model DIR`:
//! the sprite with the model in that folder, e.g. `models/sprite/v2`);
//! `--bench FRAMES [--crops N]` measures frame times (see `cargo bench -p sprout_farm`);
//! `--lang LANG` shows dialogue in that language (`--lang fr`: `assets/locales/fr.po`), English
//! where a line has no translation yet; `--full-res` draws the world straight to the window
//! instead of at art resolution, upscaled (for the frame bench's comparison).

mod bench;
mod camera;
mod screenshot;

use bevy::prelude::*;
use bevy::window::PresentMode;
use bevy::winit::WinitSettings;
use bevy_sprout::prelude::*;

fn main() -> AppExit {
    keep_heap_pages();
    let (bench_args, rest) = bench::Args::take(std::env::args().skip(1).collect());
    let (lang, full_res, rest) = take_options(rest);
    let args = screenshot::Args::parse(rest.into_iter());
    let mut sprout =
        SproutPlugins::<sprout_farm::state::FarmState>::new(bevy_sprout::default_asset_dir())
            .watch(cfg!(feature = "dev"))
            // A full font: Bevy's default has ASCII only, and translations need more.
            .with_font("fonts/FiraMono-Regular.ttf");
    if let Some(lang) = lang {
        sprout = sprout.with_locale(lang);
    }
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
    .add_plugins(sprout_farm::plugin);
    camera::install(&mut app, full_res);
    screenshot::install(&mut app, args);
    bench::install(&mut app, bench_args);
    app.run()
}

/// Takes `--lang LANG` and `--full-res` out of the arguments.
fn take_options(args: Vec<String>) -> (Option<String>, bool, Vec<String>) {
    let mut lang = None;
    let mut full_res = false;
    let mut rest = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--lang" => lang = it.next(),
            "--full-res" => full_res = true,
            _ => rest.push(a),
        }
    }
    (lang, full_res, rest)
}

/// Keeps the heap's freed pages instead of giving them back to the kernel after every frame.
///
/// Each frame the renderer (Bevy's extraction and Mesa's software Vulkan alike) allocates and
/// frees tens of megabytes; with glibc's defaults the heap shrinks back after each, and the next
/// frame pays for page faults and zeroed pages again (a quarter of the frame in the kernel under
/// `perf`). A 64 MiB top pad and a 256 MiB trim threshold keep those pages: under the frame
/// bench's load (500 crops), the median frame went from 46 to 27 ms on lavapipe.
fn keep_heap_pages() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[expect(
        unsafe_code,
        reason = "mallopt is glibc's C interface; it only sets two of the allocator's numbers"
    )]
    // SAFETY: mallopt is called before any other thread exists, with parameters glibc documents
    // (M_TOP_PAD, M_TRIM_THRESHOLD) and values in range; it touches no Rust-owned memory.
    unsafe {
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
    }
}
