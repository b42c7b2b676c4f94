//! Generation inside Bevy with the real default model: a request becomes a validated, staged file
//! with provenance; accepting it moves it into the assets, and hot reload loads it.
#![cfg(feature = "llm")]

use std::path::Path;
use std::time::{Duration, Instant};

use bevy::asset::AssetPlugin;
use bevy::prelude::*;
use bevy_sprout::generate::{
    AcceptGenerated, GenerateDialogue, Generations, GeneratorSettings, JobId, JobStatus,
};
use bevy_sprout::library::ContentIndex;
use bevy_sprout::prelude::*;
use sprout_core::content::Situation;
use sprout_core::content::provenance::sidecar_path;
use sprout_core::llm::structured::DialogueRequest;

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

fn wait(app: &mut App, limit: Duration, what: &str, mut done: impl FnMut(&App) -> bool) {
    let start = Instant::now();
    while !done(app) {
        assert!(start.elapsed() < limit, "gave up waiting for {what}");
        app.update();
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn status(app: &App, job: JobId) -> JobStatus {
    // The job appears once the request message has been read.
    app.world()
        .resource::<Generations>()
        .jobs
        .get(&job)
        .map_or(JobStatus::Queued, |j| j.status.clone())
}

#[test]
fn generated_dialogue_is_staged_accepted_and_hot_reloaded() {
    let tmp = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tmp.path()).unwrap();
    let assets = root.join("assets");
    std::fs::create_dir_all(&assets).unwrap();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets"),
        &assets,
    );
    let mut app = App::new();
    bevy_sprout::hot_reload::register_fast_watcher(&mut app, &assets);
    app.insert_resource(GeneratorSettings::for_assets(&assets))
        .add_plugins((
            MinimalPlugins,
            AssetPlugin {
                file_path: assets.to_string_lossy().into_owned(),
                watch_for_changes_override: Some(true),
                ..default()
            },
            SproutPlugin::default()
                .with_asset_dir(&assets)
                .with_notice(false),
        ));
    wait(&mut app, Duration::from_secs(60), "content", |app| {
        app.world().resource::<ContentStatus>().settled
    });

    let job = JobId::new();
    let mut request = DialogueRequest::new(
        Id::new("pim").unwrap(),
        Id::new("pim_generated").unwrap(),
        Situation::Daily,
    );
    request.nodes = 2;
    request.max_tokens = 400;
    request.sampling.seed = 11;
    app.world_mut()
        .write_message(GenerateDialogue { job, request });
    let mut saw_progress = false;
    wait(
        &mut app,
        Duration::from_secs(900),
        "the staged result",
        |app| {
            let s = status(app, job);
            saw_progress |= matches!(s, JobStatus::Running { tokens, .. } if tokens > 0);
            assert!(!matches!(s, JobStatus::Failed(_)), "{s:?}");
            s == JobStatus::Staged
        },
    );
    assert!(saw_progress, "progress was reported while generating");
    let (staged, provenance) = {
        let j = &app.world().resource::<Generations>().jobs[&job];
        (j.staged.clone().unwrap(), j.provenance.clone().unwrap())
    };
    assert!(staged.exists() && sidecar_path(&staged).exists());
    assert!(
        !staged.starts_with(&assets),
        "staging is outside the asset folder"
    );
    assert_eq!(provenance.seed, 11);
    assert_eq!(
        provenance.model.as_ref().unwrap().id,
        "smollm2-135m-instruct-q4_1"
    );
    assert_eq!(
        provenance.output_sha256,
        sprout_core::content::provenance::sha256_hex(&std::fs::read(&staged).unwrap())
    );

    app.world_mut().write_message(AcceptGenerated(job));
    wait(
        &mut app,
        Duration::from_secs(30),
        "hot reload of the accepted tree",
        |app| {
            app.world()
                .resource::<ContentIndex>()
                .dialogues
                .contains_key("pim_generated")
                && app.world().resource::<ContentStatus>().settled
        },
    );
    let target = assets.join("dialogue/pim_generated.dialogue.ron");
    assert!(target.exists() && sidecar_path(&target).exists());
    assert!(!staged.exists());
    assert!(matches!(status(&app, job), JobStatus::Accepted(_)));
    let health = app.world().resource::<ContentStatus>();
    assert!(health.is_healthy(), "{:#?}", health.lines());
    // The whole folder, sidecars included, still validates from disk.
    let report = sprout_core::validate::validate_dir(&assets);
    assert!(report.is_ok(), "{:#?}", report.diagnostics);
}
