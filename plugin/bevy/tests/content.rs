//! Headless tests of the content assets: starter content loads and validates, hot reload is seen
//! through asset events, a broken edit keeps the last good version and says why, a fix recovers.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bevy::asset::AssetPlugin;
use bevy::prelude::*;
use bevy_sprout::library::ContentIndex;
use bevy_sprout::prelude::*;

fn repo_assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets")
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

fn app(dir: &Path) -> App {
    let mut app = App::new();
    bevy_sprout::hot_reload::register_fast_watcher(&mut app, dir);
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

/// Updates until `done` holds, or panics after `limit` of wall time (a safety net, not a timing).
fn update_until(
    app: &mut App,
    limit: Duration,
    what: &str,
    mut done: impl FnMut(&mut App) -> bool,
) {
    let start = Instant::now();
    while !done(app) {
        assert!(start.elapsed() < limit, "gave up waiting for {what}");
        app.update();
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn loaded_and_validated(app: &mut App) -> bool {
    let index = app.world().resource::<ContentIndex>();
    let status = app.world().resource::<ContentStatus>();
    index.characters.len() >= 5
        && index.dialogues.len() >= 17
        && index.world.is_some()
        && status.settled
}

#[test]
fn starter_content_loads_and_validates() {
    let mut app = app(&std::fs::canonicalize(repo_assets()).unwrap());
    update_until(
        &mut app,
        Duration::from_secs(30),
        "starter content",
        loaded_and_validated,
    );
    let status = app.world().resource::<ContentStatus>();
    assert!(status.is_healthy(), "{:#?}", status.lines());
    let index = app.world().resource::<ContentIndex>();
    assert_eq!(index.characters.len(), 5);
    assert_eq!(index.quests.len(), 2);
    assert!(index.crops.len() >= 6);
    assert!(index.items.len() >= 12);
}

fn dialogue_text(app: &App, tree: &str, node: &str) -> Option<String> {
    let index = app.world().resource::<ContentIndex>();
    let assets = app.world().resource::<Assets<DialogueAsset>>();
    let id = index.dialogues.get(tree)?;
    Some(assets.get(*id)?.node(node)?.text.clone())
}

#[derive(Resource, Default)]
struct Seen {
    modified: usize,
    problems: Vec<ContentProblem>,
    recovered: usize,
}

fn record(
    mut seen: ResMut<Seen>,
    mut modified: MessageReader<AssetEvent<DialogueAsset>>,
    mut problems: MessageReader<ContentProblem>,
    mut recovered: MessageReader<ContentRecovered>,
) {
    seen.modified += modified
        .read()
        .filter(|e| matches!(e, AssetEvent::Modified { .. }))
        .count();
    seen.problems.extend(problems.read().cloned());
    seen.recovered += recovered.read().count();
}

#[test]
fn hot_reload_broken_edit_keeps_last_good_and_a_fix_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    copy_tree(&repo_assets(), &root);
    let mut app = app(&root);
    app.init_resource::<Seen>().add_systems(Update, record);
    update_until(
        &mut app,
        Duration::from_secs(30),
        "content",
        loaded_and_validated,
    );

    let file = root.join("dialogue/sefa_daily.dialogue.ron");
    let original = std::fs::read_to_string(&file).unwrap();
    let first_line = "There you are, my dear. Sit anywhere but the window seat; Bettany's claimed it by leaving her hat on it. Tea?";
    assert_eq!(
        dialogue_text(&app, "sefa_daily", "start").as_deref(),
        Some(first_line)
    );

    // 1. A good edit is observed through AssetEvent::Modified and the new text is live.
    let edited = original.replace(first_line, "Back again? The kettle's on.");
    sprout_core::fs::write_atomic(&file, edited.as_bytes()).unwrap();
    update_until(&mut app, Duration::from_secs(10), "the edit", |app| {
        app.world().resource::<Seen>().modified > 0
            && dialogue_text(app, "sefa_daily", "start").as_deref()
                == Some("Back again? The kettle's on.")
    });

    // 2. A broken edit (a jump written without its closing quote) keeps the good version and reports where.
    let broken = edited.replacen("next: Goto(\"recommend\")", "next: Goto(\"recommend)", 1);
    assert_ne!(broken, edited);
    sprout_core::fs::write_atomic(&file, broken.as_bytes()).unwrap();
    update_until(
        &mut app,
        Duration::from_secs(10),
        "the failure report",
        |app| !app.world().resource::<Seen>().problems.is_empty(),
    );
    let seen = app.world().resource::<Seen>();
    let problem = &seen.problems[0];
    assert_eq!(problem.path, Path::new("dialogue/sefa_daily.dialogue.ron"));
    assert!(
        problem
            .message
            .starts_with("dialogue/sefa_daily.dialogue.ron:"),
        "message should start with file:line:col, got {}",
        problem.message
    );
    let status = app.world().resource::<ContentStatus>();
    assert!(!status.is_healthy());
    assert_eq!(
        dialogue_text(&app, "sefa_daily", "start").as_deref(),
        Some("Back again? The kettle's on."),
        "the last good version stays in use"
    );

    // 3. A dangling reference parses but fails cross-file validation, with its line.
    let dangling = edited.replacen("Goto(\"recommend\")", "Goto(\"nowhere\")", 1);
    sprout_core::fs::write_atomic(&file, dangling.as_bytes()).unwrap();
    update_until(
        &mut app,
        Duration::from_secs(10),
        "validation of the dangling jump",
        |app| {
            let status = app.world().resource::<ContentStatus>();
            status.load_errors.is_empty()
                && status
                    .diagnostics
                    .iter()
                    .any(|d| d.kind == sprout_core::validate::DiagnosticKind::DanglingJump)
        },
    );
    let status = app.world().resource::<ContentStatus>();
    let d = status.diagnostics.iter().find(|d| d.is_error()).unwrap();
    assert!(d.file.ends_with("dialogue/sefa_daily.dialogue.ron"));
    assert!(d.position.is_some());
    assert_eq!(app.world().resource::<Seen>().recovered, 1);

    // 4. Restoring the file makes everything healthy again.
    sprout_core::fs::write_atomic(&file, original.as_bytes()).unwrap();
    update_until(&mut app, Duration::from_secs(10), "recovery", |app| {
        app.world().resource::<ContentStatus>().is_healthy()
            && dialogue_text(app, "sefa_daily", "start").as_deref() == Some(first_line)
    });
}

#[test]
fn a_new_file_appears_in_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    copy_tree(&repo_assets(), &root);
    let mut app = app(&root);
    update_until(
        &mut app,
        Duration::from_secs(30),
        "content",
        loaded_and_validated,
    );
    let source = std::fs::read_to_string(root.join("items/wild_violet.item.ron"))
        .unwrap()
        .replace("\"wild_violet\"", "\"blue_violet\"")
        .replace("Wild Violet", "Blue Violet");
    sprout_core::fs::write_atomic(&root.join("items/blue_violet.item.ron"), source.as_bytes())
        .unwrap();
    update_until(&mut app, Duration::from_secs(10), "the new item", |app| {
        app.world()
            .resource::<ContentIndex>()
            .items
            .contains_key("blue_violet")
    });
}
