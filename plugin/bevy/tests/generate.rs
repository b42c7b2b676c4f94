//! Generation inside Bevy with the real default model: a request becomes a validated, staged file
//! with provenance; accepting it moves it into the assets, and hot reload loads it.
#![cfg(feature = "llm")]

use std::path::Path;
use std::time::{Duration, Instant};

use bevy::asset::AssetPlugin;
use bevy::prelude::*;
use bevy_sprout::generate::{
    AcceptGenerated, CancelGeneration, GenerateDialogue, GenerateImage, GenerateStory, Generations,
    GeneratorSettings, ImageJob, ImageTarget, JobId, JobStatus, Preview,
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

/// A headless app over a copy of the starter assets in `root/assets`, settled.
fn app_over_copy(root: &Path) -> (App, std::path::PathBuf) {
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
    (app, assets)
}

fn wait_staged(app: &mut App, job: JobId, limit: Duration) {
    wait(app, limit, "the staged result", |app| {
        let s = status(app, job);
        assert!(!matches!(s, JobStatus::Failed(_)), "{s:?}");
        s == JobStatus::Staged
    });
}

fn accept(app: &mut App, job: JobId) -> std::path::PathBuf {
    app.world_mut().write_message(AcceptGenerated(job));
    wait(app, Duration::from_secs(30), "the accept", |app| {
        matches!(status(app, job), JobStatus::Accepted(_))
    });
    let JobStatus::Accepted(path) = status(app, job) else {
        unreachable!()
    };
    path
}

/// The story pipeline (an item, with the real default model) and the image jobs (its icon from
/// the embedded sprite model, then a prop from that icon) stage into their own folders, are
/// accepted into the assets and load; a cancelled job stages nothing.
#[test]
fn story_and_image_jobs_are_staged_and_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tmp.path()).unwrap();
    let (mut app, assets) = app_over_copy(&root);

    // Each job uses the model the settings name when it is submitted: an unknown one fails with
    // its name, and the next job, back on the default, is unaffected.
    app.world_mut().resource_mut::<GeneratorSettings>().model = Some("no-such-model".into());
    let unknown = JobId::new();
    app.world_mut().write_message(GenerateStory {
        job: unknown,
        spec: sprout_core::story::JobSpec {
            job: sprout_core::story::Job::Item {
                id: Id::new("nothing").unwrap(),
                category: None,
                brief: String::new(),
            },
            seed: 1,
        },
    });
    app.update();
    app.world_mut().resource_mut::<GeneratorSettings>().model = None;
    wait(
        &mut app,
        Duration::from_secs(60),
        "the unknown model",
        |app| matches!(status(app, unknown), JobStatus::Failed(e) if e.contains("no-such-model")),
    );

    // A cancelled job ends cancelled and stages nothing.
    let cancelled = JobId::new();
    let mut request = DialogueRequest::new(
        Id::new("pim").unwrap(),
        Id::new("pim_cancelled").unwrap(),
        Situation::Daily,
    );
    request.max_tokens = 400;
    app.world_mut().write_message(GenerateDialogue {
        job: cancelled,
        request,
    });
    app.update();
    app.world_mut().write_message(CancelGeneration(cancelled));
    wait(&mut app, Duration::from_secs(300), "the cancel", |app| {
        status(app, cancelled) == JobStatus::Cancelled
    });
    assert!(
        app.world().resource::<Generations>().jobs[&cancelled]
            .staged
            .is_none()
    );

    // An item through the story pipeline: the item file and its placeholder icon.
    let item = JobId::new();
    app.world_mut().write_message(GenerateStory {
        job: item,
        spec: sprout_core::story::JobSpec {
            job: sprout_core::story::Job::Item {
                id: Id::new("honey_jar").unwrap(),
                category: None,
                brief: "a jar of wildflower honey".into(),
            },
            seed: 3,
        },
    });
    wait_staged(&mut app, item, Duration::from_secs(900));
    let (files, preview, provenance) = {
        let j = &app.world().resource::<Generations>().jobs[&item];
        (
            j.staged.clone().unwrap(),
            j.preview.clone().unwrap(),
            j.provenance.clone().unwrap(),
        )
    };
    assert_eq!(
        files.files.last().unwrap(),
        Path::new("items/honey_jar.item.ron"),
        "the content file is moved last: {:?}",
        files.files
    );
    assert!(
        files
            .files
            .contains(&Path::new("sprites/items/honey_jar.png").to_owned()),
        "{:?}",
        files.files
    );
    assert!(!files.dir.starts_with(&assets));
    assert!(
        matches!(&preview, Preview::Text(t) if t.contains("honey_jar")),
        "{preview:?}"
    );
    assert!(provenance.generator.starts_with("sprout gen item"));
    assert!(!assets.join("items/honey_jar.item.ron").exists());
    accept(&mut app, item);
    wait(
        &mut app,
        Duration::from_secs(30),
        "the item to load",
        |app| {
            app.world()
                .resource::<ContentIndex>()
                .items
                .contains_key("honey_jar")
                && app.world().resource::<ContentStatus>().settled
        },
    );
    assert!(!files.dir.exists(), "the staging folder is gone");

    // Its icon from the sprite model, replacing the placeholder.
    let icon = JobId::new();
    let mut request = ImageJob::new(
        ImageTarget::ItemIcon {
            item: Id::new("honey_jar").unwrap(),
        },
        "honey jar",
    );
    request.seed = 5;
    app.world_mut()
        .write_message(GenerateImage { job: icon, request });
    let mut steps = 0;
    wait(&mut app, Duration::from_secs(120), "the icon", |app| {
        let s = status(app, icon);
        if let JobStatus::Sampling { step, .. } = s {
            steps = steps.max(step);
        }
        assert!(!matches!(s, JobStatus::Failed(_)), "{s:?}");
        s == JobStatus::Staged
    });
    assert!(steps > 0, "sampling steps were reported");
    assert!(
        app.world().resource::<Generations>().jobs[&icon]
            .live
            .as_ref()
            .is_some_and(|p| p.dimensions() == (16, 16)),
        "step previews arrived"
    );
    let png = accept(&mut app, icon);
    assert_eq!(png, assets.join("sprites/items/honey_jar.png"));
    let decoded = image::load_from_memory(&std::fs::read(&png).unwrap())
        .unwrap()
        .to_rgba8();
    assert_eq!(decoded.dimensions(), (16, 16));
    let sidecar = std::fs::read_to_string(sidecar_path(&png)).unwrap();
    assert!(sidecar.contains("bevy_sprout image"), "{sidecar}");
    assert!(!sprout_core::placeholder::is_placeholder(&png));

    // A prop from that icon.
    let prop = JobId::new();
    app.world_mut().write_message(GenerateImage {
        job: prop,
        request: ImageJob::new(
            ImageTarget::Prop {
                id: Id::new("honey_prop").unwrap(),
                from: sprout_core::content::AssetPath::new("sprites/items/honey_jar.png").unwrap(),
                depth: 2,
            },
            "",
        ),
    });
    wait_staged(&mut app, prop, Duration::from_secs(60));
    let glb = accept(&mut app, prop);
    assert_eq!(glb, assets.join("props/honey_prop.glb"));
    let json = sprout_core::mesh::glb::read_glb_json(&std::fs::read(&glb).unwrap())
        .expect("a glb with a JSON chunk");
    assert_eq!(json["asset"]["version"], "2.0");
    assert!(sidecar_path(&glb).exists());

    let health = app.world().resource::<ContentStatus>();
    assert!(health.is_healthy(), "{:#?}", health.lines());
    let report = sprout_core::validate::validate_dir(&assets);
    assert!(report.is_ok(), "{:#?}", report.diagnostics);
}

#[test]
fn generated_dialogue_is_staged_accepted_and_hot_reloaded() {
    let tmp = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tmp.path()).unwrap();
    let (mut app, assets) = app_over_copy(&root);

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
        (j.staged_file().unwrap(), j.provenance.clone().unwrap())
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
