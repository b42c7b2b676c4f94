//! Measures hot reload: how long from an atomic write of a dialogue file until the new text is in
//! `Assets<DialogueAsset>`, over 20 edits, with Sprout's 50 ms watcher and, as the peer in the same
//! run, Bevy's default watcher. Headless (`MinimalPlugins`).
//!
//! `cargo run -p bevy_sprout --example hot_reload_latency`

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bevy::asset::AssetPlugin;
use bevy::prelude::*;
use bevy_sprout::library::ContentIndex;
use bevy_sprout::prelude::*;

const EDITS: usize = 20;

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read assets") {
        let entry = entry.expect("entry");
        let dest = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).expect("copy");
        }
    }
}

fn app(dir: &Path, fast: bool) -> App {
    let mut app = App::new();
    if fast {
        bevy_sprout::hot_reload::register_fast_watcher(&mut app, dir);
    }
    app.add_plugins((
        MinimalPlugins,
        AssetPlugin {
            file_path: dir.to_string_lossy().into_owned(),
            watch_for_changes_override: Some(true),
            ..default()
        },
        SproutPlugin::default()
            .with_asset_dir(dir)
            .with_notice(false),
    ));
    app
}

fn text(app: &App) -> Option<String> {
    let index = app.world().resource::<ContentIndex>();
    let assets = app.world().resource::<Assets<DialogueAsset>>();
    Some(
        assets
            .get(*index.dialogues.get("sefa_daily")?)?
            .node("start")?
            .text
            .clone(),
    )
}

fn measure(fast: bool) -> Vec<Duration> {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root: PathBuf = std::fs::canonicalize(tmp.path()).expect("canonical");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets"),
        &root,
    );
    let mut app = app(&root, fast);
    let start = Instant::now();
    while !app.world().resource::<ContentStatus>().settled {
        app.update();
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "content never loaded"
        );
    }
    let file = root.join("dialogue/sefa_daily.dialogue.ron");
    let original = std::fs::read_to_string(&file).expect("read");
    let line = text(&app).expect("loaded");
    let mut samples = Vec::new();
    for i in 0..EDITS {
        let new_line = format!("Edit number {i}: the kettle's on.");
        let edited = original.replace(&line, &new_line);
        let t = Instant::now();
        sprout_core::fs::write_atomic(&file, edited.as_bytes()).expect("write");
        while text(&app).as_deref() != Some(new_line.as_str()) {
            app.update();
            std::thread::sleep(Duration::from_micros(500));
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "edit {i} never arrived"
            );
        }
        samples.push(t.elapsed());
        // Let the watcher go quiet before the next edit.
        std::thread::sleep(Duration::from_millis(400));
        for _ in 0..5 {
            app.update();
        }
    }
    samples.sort();
    samples
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let ours = measure(true);
    let peer = measure(false);
    let p95 = |v: &[Duration]| v[(v.len() * 95).div_ceil(100) - 1];
    println!("write -> new value in Assets, {EDITS} edits each");
    println!(
        "sprout (50 ms watcher):  median {:.0} ms, p95 {:.0} ms",
        ms(ours[EDITS / 2]),
        ms(p95(&ours))
    );
    println!(
        "bevy default watcher:    median {:.0} ms, p95 {:.0} ms",
        ms(peer[EDITS / 2]),
        ms(p95(&peer))
    );
    println!(
        "ratio: {:.2} (sprout / bevy default, median)",
        ms(ours[EDITS / 2]) / ms(peer[EDITS / 2])
    );
}
