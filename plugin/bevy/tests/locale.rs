//! The game in French under `MinimalPlugins`: the dialogue runner shows the translations of
//! `assets/locales/fr.po` with the English source where a line has none, announces each line
//! with its id and recording, follows an edit of the PO file live (a broken edit keeps the last
//! good table and says where), and switches language at run time.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bevy::asset::AssetPlugin;
use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use bevy_sprout::locale::LocaleAsset;
use bevy_sprout::prelude::*;

type Game = MemoryFactsResource;

const SEFA_START_FR: &str = "Entrez, entrez, mon cœur. Vous sentez la pluie et les ronces \
    cassées. Asseyez-vous. C'est vous qui venez de Bramblegate, n'est-ce pas\u{a0}?";
fn repo_assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets")
}

#[derive(Resource, Default)]
struct Seen {
    lines: Vec<LineShown>,
    problems: Vec<ContentProblem>,
}

fn record(
    mut seen: ResMut<Seen>,
    mut lines: MessageReader<LineShown>,
    mut problems: MessageReader<ContentProblem>,
) {
    seen.lines.extend(lines.read().cloned());
    seen.problems.extend(problems.read().cloned());
}

fn app(root: &Path, lang: &str) -> App {
    let mut app = App::new();
    bevy_sprout::hot_reload::register_fast_watcher(&mut app, root);
    app.add_plugins((
        MinimalPlugins,
        AssetPlugin {
            file_path: root.to_string_lossy().into_owned(),
            watch_for_changes_override: Some(true),
            ..default()
        },
        SproutPlugin::default()
            .with_asset_dir(root)
            .with_notice(false)
            .with_locale(lang),
        DialoguePlugin::<Game>::default().without_ui(),
    ))
    .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_millis(
        100,
    )))
    .init_resource::<Game>()
    .init_resource::<Seen>()
    .add_systems(Update, record.after(SproutSystems::Dialogue));
    app
}

/// Updates until `done` holds, or panics after `limit` of wall time (a safety net, not a timing).
fn update_until(app: &mut App, limit: Duration, what: &str, mut done: impl FnMut(&App) -> bool) {
    let start = Instant::now();
    while !done(app) {
        assert!(start.elapsed() < limit, "gave up waiting for {what}");
        app.update();
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn runner(app: &mut App) -> Option<DialogueRunner> {
    app.world_mut()
        .query::<&DialogueRunner>()
        .iter(app.world())
        .next()
        .cloned()
}

/// Whether the line on screen satisfies `shows`.
fn on_screen(app: &App, shows: impl Fn(&DialogueRunner) -> bool) -> bool {
    let mut q = app.world().try_query::<&DialogueRunner>().unwrap();
    q.iter(app.world()).next().is_some_and(shows)
}

fn table_loaded(app: &App) -> bool {
    let locale = app.world().resource::<Locale>();
    let tables = app.world().resource::<Assets<LocaleAsset>>();
    locale.table().is_some_and(|h| tables.get(h).is_some())
}

fn start(app: &mut App, tree: &str) -> DialogueRunner {
    app.world_mut().write_message(StartDialogue {
        tree: Id::new(tree).unwrap(),
    });
    app.update();
    runner(app).expect("the conversation started")
}

fn end(app: &mut App) {
    while runner(app).is_some() {
        let r = runner(app).unwrap();
        let input = if r.offered.is_empty() {
            ChooseLine::Continue
        } else {
            ChooseLine::Pick(0)
        };
        app.world_mut().write_message(ChooseLine::Continue);
        app.update();
        app.world_mut().write_message(input);
        app.update();
    }
}

#[test]
fn the_game_speaks_french_with_english_fallback_and_follows_po_edits() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    sprout_core::fs::copy_tree(&repo_assets(), &root).unwrap();
    let mut app = app(&root, "fr");
    update_until(
        &mut app,
        Duration::from_secs(30),
        "content and fr.po",
        |app| app.world().resource::<ContentStatus>().settled && table_loaded(app),
    );
    assert_eq!(
        app.world().resource::<Locale>().language(),
        Some("fr"),
        "the plugin's locale"
    );

    // Sefa's first meeting is translated: her line and the player's choices show in French,
    // and the line is announced with its id and its French recording.
    let r = start(&mut app, "sefa_first");
    assert_eq!(r.line.as_str(), "sefa_first_start");
    assert_eq!(r.text, SEFA_START_FR);
    assert_eq!(r.language, "fr");
    let shown = app
        .world()
        .resource::<Seen>()
        .lines
        .last()
        .cloned()
        .unwrap();
    assert_eq!(shown.line.as_str(), "sefa_first_start");
    assert_eq!(shown.speaker.as_str(), "sefa");
    assert_eq!(shown.text, SEFA_START_FR);
    assert_eq!(shown.audio, "audio/vo/fr/sefa_first_start.ogg");
    app.world_mut().write_message(ChooseLine::Continue);
    app.update();
    app.world_mut().write_message(ChooseLine::Continue);
    app.update();
    let r = runner(&mut app).unwrap();
    assert_eq!(r.line.as_str(), "sefa_first_blend");
    assert!(r.text.starts_with("Je suis Sefa."), "{}", r.text);
    let choices: Vec<&str> = r.offered.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(choices, ["Avec plaisir.", "Une autre fois, peut-être."]);
    let announced: Vec<&str> = app
        .world()
        .resource::<Seen>()
        .lines
        .iter()
        .map(|l| l.line.as_str())
        .collect();
    assert_eq!(announced, ["sefa_first_start", "sefa_first_blend"]);
    end(&mut app);

    // An untranslated line shows its English source, announced as English.
    let r = start(&mut app, "bettany_daily");
    assert_eq!(r.line.as_str(), "bettany_daily_start");
    assert!(r.text.starts_with("Seedling! Come and sit."), "{}", r.text);
    assert_eq!(r.language, "en");
    let shown = app
        .world()
        .resource::<Seen>()
        .lines
        .last()
        .cloned()
        .unwrap();
    assert_eq!(shown.audio, "audio/vo/en/bettany_daily_start.ogg");

    // A translator fills that entry in: the running conversation shows it, without a restart.
    let po = root.join("locales/fr.po");
    let original = std::fs::read_to_string(&po).unwrap();
    let entry = "msgctxt \"bettany_daily_start\"\nmsgid \"\"\n\"Seedling! Come and sit. The bees are in a fine mood and so am I, which is \"\n\"rare for all of us on a weekday.\"\nmsgstr \"\"";
    assert!(original.contains(entry), "fr.po changed shape");
    let translated = original.replace(
        entry,
        &entry.replace(
            "msgstr \"\"",
            "msgstr \"Petite graine ! Viens t'asseoir. Les abeilles sont de bonne humeur.\"",
        ),
    );
    sprout_core::fs::write_atomic(&po, translated.as_bytes()).unwrap();
    update_until(
        &mut app,
        Duration::from_secs(10),
        "the new translation",
        |app| {
            on_screen(app, |r| {
                r.text == "Petite graine ! Viens t'asseoir. Les abeilles sont de bonne humeur."
                    && r.language == "fr"
            })
        },
    );

    // A broken edit (an unclosed string) keeps the last good table and says which file and line.
    let broken = translated.replacen("msgstr \"Avec plaisir.\"", "msgstr \"Avec plaisir.", 1);
    assert_ne!(broken, translated);
    sprout_core::fs::write_atomic(&po, broken.as_bytes()).unwrap();
    update_until(
        &mut app,
        Duration::from_secs(10),
        "the failure report",
        |app| !app.world().resource::<Seen>().problems.is_empty(),
    );
    let problem = app.world().resource::<Seen>().problems[0].clone();
    assert_eq!(problem.path, Path::new("locales/fr.po"));
    assert!(
        problem.message.starts_with("locales/fr.po:"),
        "the message names the file and line: {}",
        problem.message
    );
    let r = runner(&mut app).unwrap();
    assert_eq!(
        r.text, "Petite graine ! Viens t'asseoir. Les abeilles sont de bonne humeur.",
        "the last good table stays in use"
    );
    assert!(!app.world().resource::<ContentStatus>().is_healthy());
    sprout_core::fs::write_atomic(&po, translated.as_bytes()).unwrap();
    update_until(&mut app, Duration::from_secs(10), "recovery", |app| {
        app.world()
            .resource::<ContentStatus>()
            .load_errors
            .is_empty()
    });

    // The player switches to English from a menu: the line on screen follows.
    *app.world_mut().resource_mut::<Locale>() = Locale::source();
    update_until(&mut app, Duration::from_secs(10), "English", |app| {
        on_screen(app, |r| {
            r.text.starts_with("Seedling!") && r.language == "en"
        })
    });
}
