//! Generation inside Bevy with a real model (the registry's tiny one): a request becomes a validated, staged file
//! with provenance; accepting it moves it into the assets, and hot reload loads it.
#![cfg(feature = "llm")]

use std::path::Path;
use std::time::{Duration, Instant};

use bevy::asset::AssetPlugin;
use bevy::prelude::*;
use bevy_sprout::generate::{CancelGeneration, GeneratorSettings, JobStatus, Preview};
use bevy_sprout::library::ContentIndex;
use bevy_sprout::prelude::*;
use sprout_core::art::{self, ArtJob, Recipe};
use sprout_core::content::provenance::sidecar_path;
use sprout_core::content::{ContentSet, Situation};
use sprout_core::diffusion::sprite::{self, SpriteBackend};
use sprout_core::story::{Job as Story, JobSpec};

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
        .records
        .get(&job)
        .map_or(JobStatus::Queued, |j| j.status.clone())
}

/// The model these tests generate with.
const TINY: &str = "smollm2-135m-instruct-q4_1";

/// A headless app over a copy of the starter assets in `root/assets`, settled.
fn app_over_copy(root: &Path) -> (App, std::path::PathBuf) {
    let assets = root.join("assets");
    std::fs::create_dir_all(&assets).unwrap();
    sprout_core::fs::copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets"),
        &assets,
    )
    .unwrap();
    let mut app = App::new();
    bevy_sprout::hot_reload::register_fast_watcher(&mut app, &assets);
    // The registry's tiny model: the default (Qwen) is five times its size and slower.
    let settings = GeneratorSettings {
        model: Some(TINY.into()),
        ..GeneratorSettings::for_assets(&assets)
    };
    app.insert_resource(settings).add_plugins((
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

/// Asks for `job`; returns its id.
fn submit(app: &mut App, job: Job) -> JobId {
    let request = Generate::new(job);
    let id = request.id;
    app.world_mut().write_message(request);
    id
}

/// A dialogue job for Pim: `nodes` lines, tree `id`, seed `seed`.
fn dialogue(id: &str, nodes: usize, seed: u64) -> Job {
    Job::Story(JobSpec {
        job: Story::Dialogue {
            npc: Id::new("pim").unwrap(),
            situation: Situation::Daily,
            season: None,
            nodes,
            brief: String::new(),
            id: Some(Id::new(id).unwrap()),
        },
        seed,
        pick: None,
    })
}

/// The files the game staged for `job` are the files [`art::make`] makes for it when called
/// directly (as `sprout gen` does), byte for byte, and so is their provenance (but for the time
/// it was made).
fn same_as_core(app: &App, id: JobId, job: &ArtJob, assets: &Path) {
    same_as_core_with(app, id, job, assets, None);
}

/// [`same_as_core`] with the sprite model in `model` (`None`: the compiled-in one).
fn same_as_core_with(app: &App, id: JobId, job: &ArtJob, assets: &Path, model: Option<&Path>) {
    let record = &app.world().resource::<Generations>().records[&id];
    let staged = record.staged.clone().unwrap();
    let (content, problems) = ContentSet::load_dir(assets);
    assert!(problems.is_empty(), "{problems:?}");
    let mut sprite = match model {
        Some(dir) => SpriteBackend::from_dir(dir).unwrap(),
        None => SpriteBackend::embedded().unwrap(),
    };
    sprite.finish = None;
    let palettes = assets.join("palettes");
    let cx = art::Context {
        root: assets,
        palettes: &palettes,
        content: &content,
        cancel: Default::default(),
        previews: 0,
    };
    let backend: Option<&mut dyn sprout_core::diffusion::ImageBackend> =
        job.recipe.needs_backend().then_some(&mut sprite as _);
    let made = art::make(job, &cx, backend, &mut |_| {}).unwrap();
    assert!(!made.files.is_empty());
    for file in &made.files {
        let bytes = std::fs::read(staged.dir.join(&file.path)).unwrap();
        assert!(bytes == file.bytes, "{} differs", file.path.display());
        let text = std::fs::read_to_string(staged.dir.join(sidecar_path(&file.path))).unwrap();
        let mut prov: sprout_core::content::Provenance = sprout_core::format::parse(&text).unwrap();
        prov.created.clone_from(&file.provenance.created);
        assert_eq!(prov, file.provenance, "{}", file.path.display());
    }
}

/// The story pipeline (an item, with the real tiny model) and the image jobs (its icon from
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
    let unknown = submit(
        &mut app,
        Job::Story(JobSpec {
            job: Story::Item {
                id: Id::new("nothing").unwrap(),
                category: None,
                brief: String::new(),
            },
            seed: 1,
            pick: None,
        }),
    );
    app.update();
    app.world_mut().resource_mut::<GeneratorSettings>().model = Some(TINY.into());
    wait(
        &mut app,
        Duration::from_secs(60),
        "the unknown model",
        |app| matches!(status(app, unknown), JobStatus::Failed(e) if e.contains("no-such-model")),
    );

    // A cancelled job ends cancelled and stages nothing.
    let cancelled = submit(&mut app, dialogue("pim_cancelled", 3, 1));
    app.update();
    app.world_mut().write_message(CancelGeneration(cancelled));
    wait(&mut app, Duration::from_secs(300), "the cancel", |app| {
        status(app, cancelled) == JobStatus::Cancelled
    });
    assert!(
        app.world().resource::<Generations>().records[&cancelled]
            .staged
            .is_none()
    );

    // An item through the story pipeline: the item file and its placeholder icon.
    let item = submit(
        &mut app,
        Job::Story(JobSpec {
            job: Story::Item {
                id: Id::new("honey_jar").unwrap(),
                category: None,
                brief: "a jar of wildflower honey".into(),
            },
            seed: 3,
            pick: None,
        }),
    );
    wait_staged(&mut app, item, Duration::from_secs(900));
    let (files, preview, provenance) = {
        let j = &app.world().resource::<Generations>().records[&item];
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
    let icon_job = ArtJob::new(
        Recipe::ItemIcon {
            item: Id::new("honey_jar").unwrap(),
        },
        "honey jar",
    )
    .with_seed(5)
    .with_palette("farm32");
    let icon = submit(&mut app, Job::Art(icon_job.clone()));
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
        app.world().resource::<Generations>().records[&icon]
            .live
            .is_some(),
        "step previews arrived"
    );
    same_as_core(&app, icon, &icon_job, &assets);
    let png = accept(&mut app, icon);
    assert_eq!(png, assets.join("sprites/items/honey_jar.png"));
    let decoded = image::load_from_memory(&std::fs::read(&png).unwrap())
        .unwrap()
        .to_rgba8();
    let native = sprite::NATIVE_SIZE;
    assert_eq!(decoded.dimensions(), (native, native));
    let sidecar = std::fs::read_to_string(sidecar_path(&png)).unwrap();
    assert!(sidecar.contains("sprout art icon"), "{sidecar}");
    assert!(!sprout_core::placeholder::is_placeholder(&png));

    // A prop from that icon.
    let prop_job = ArtJob::new(
        Recipe::Prop {
            out: "props/honey_prop.glb".into(),
            from: "sprites/items/honey_jar.png".into(),
            depth: 2,
            pixel_size: 1.0 / 16.0,
            relief: false,
        },
        "",
    );
    let prop = submit(&mut app, Job::Art(prop_job.clone()));
    wait_staged(&mut app, prop, Duration::from_secs(60));
    same_as_core(&app, prop, &prop_job, &assets);
    let glb = accept(&mut app, prop);
    assert_eq!(glb, assets.join("props/honey_prop.glb"));
    let json = sprout_core::mesh::glb::read_glb_json(&std::fs::read(&glb).unwrap())
        .expect("a glb with a JSON chunk");
    assert_eq!(json["asset"]["version"], "2.0");
    assert!(sidecar_path(&glb).exists());

    // A crop's growth stages and a ground texture: staged as `sprout gen crop|texture` makes
    // them.
    let crop_job = ArtJob::new(
        Recipe::CropStages {
            crop: Id::new("snap_pea").unwrap(),
        },
        "snap pea",
    )
    .with_seed(4)
    .with_palette("farm32");
    let texture_job = ArtJob::new(
        Recipe::Texture {
            out: "textures/meadow.png".into(),
            from: None,
            seamless: true,
            ground: None,
        },
        "green grass leaf",
    )
    .with_seed(6)
    .with_palette("farm32");
    for job in [crop_job, texture_job] {
        let id = submit(&mut app, Job::Art(job.clone()));
        wait_staged(&mut app, id, Duration::from_secs(120));
        same_as_core(&app, id, &job, &assets);
        accept(&mut app, id);
    }

    let health = app.world().resource::<ContentStatus>();
    assert!(health.is_healthy(), "{:#?}", health.lines());
    let report = sprout_core::validate::validate_dir(&assets);
    assert!(report.is_ok(), "{:#?}", report.diagnostics);
}

/// An art job draws with the sprite model the settings name when it is submitted: the repo's v2
/// folder draws an icon at 32×32 under v2's provenance, byte for byte what `art::make` (`sprout
/// art --model models/sprite/v2`) makes; a folder with no model fails the job naming the file
/// it lacks; the next job, back on the compiled-in model, draws at 16×16 again.
#[test]
fn art_jobs_draw_with_the_sprite_model_the_settings_name() {
    let repo = std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")).unwrap();
    let v2 = SpriteBackend::repo_dir(&repo).join("v2");
    // The editor offers the folders of the project's `models/sprite/`: this repo's v2.
    assert_eq!(
        GeneratorSettings::for_assets(&repo.join("assets")).sprite_models,
        vec![v2.clone()]
    );

    let tmp = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tmp.path()).unwrap();
    let (mut app, assets) = app_over_copy(&root);
    // The copy's project has no `models/`: nothing to offer beside the compiled-in model.
    assert!(
        app.world()
            .resource::<GeneratorSettings>()
            .sprite_models
            .is_empty()
    );
    let icon = |seed| {
        ArtJob::new(
            Recipe::ItemIcon {
                item: Id::new("frost_kale").unwrap(),
            },
            "kale",
        )
        .with_seed(seed)
        .with_palette("farm32")
    };
    let drawn = |app: &App, id: JobId| {
        let staged = app.world().resource::<Generations>().records[&id]
            .staged
            .clone()
            .unwrap();
        let png = staged.dir.join("sprites/items/frost_kale.png");
        let img = image::open(&png).unwrap().to_rgba8();
        let sidecar = std::fs::read_to_string(sidecar_path(&png)).unwrap();
        (img.dimensions(), sidecar)
    };

    app.world_mut()
        .resource_mut::<GeneratorSettings>()
        .sprite_model = Some(v2.clone());
    let job = icon(3);
    let on_v2 = submit(&mut app, Job::Art(job.clone()));
    wait_staged(&mut app, on_v2, Duration::from_secs(180));
    same_as_core_with(&app, on_v2, &job, &assets, Some(&v2));
    let (size, sidecar) = drawn(&app, on_v2);
    assert_eq!(size, (32, 32));
    assert!(
        sidecar.contains(&format!("\"{}\"", sprite::MODEL_ID_V2)),
        "{sidecar}"
    );

    let empty = root.join("no-model");
    std::fs::create_dir_all(&empty).unwrap();
    app.world_mut()
        .resource_mut::<GeneratorSettings>()
        .sprite_model = Some(empty);
    let broken = submit(&mut app, Job::Art(icon(4)));
    app.update();
    app.world_mut()
        .resource_mut::<GeneratorSettings>()
        .sprite_model = None;
    let on_v1 = submit(&mut app, Job::Art(icon(5)));
    wait(&mut app, Duration::from_secs(60), "the broken job", |app| {
        matches!(status(app, broken), JobStatus::Failed(_))
    });
    let JobStatus::Failed(why) = status(&app, broken) else {
        unreachable!()
    };
    assert!(
        why.contains("no-model") && why.contains("config.json"),
        "{why}"
    );
    wait_staged(&mut app, on_v1, Duration::from_secs(120));
    same_as_core(&app, on_v1, &icon(5), &assets);
    let (size, sidecar) = drawn(&app, on_v1);
    let native = sprite::NATIVE_SIZE;
    assert_eq!(size, (native, native));
    assert!(
        sidecar.contains(&format!("\"{}\"", sprite::MODEL_ID)),
        "{sidecar}"
    );
}

#[test]
fn generated_dialogue_is_staged_accepted_and_hot_reloaded() {
    let tmp = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tmp.path()).unwrap();
    let (mut app, assets) = app_over_copy(&root);

    let job = submit(&mut app, dialogue("pim_generated", 2, 11));
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
        let j = &app.world().resource::<Generations>().records[&job];
        (j.staged_file().unwrap(), j.provenance.clone().unwrap())
    };
    assert!(staged.exists() && sidecar_path(&staged).exists());
    assert!(
        !staged.starts_with(&assets),
        "staging is outside the asset folder"
    );
    assert_eq!(provenance.seed, 11);
    assert_eq!(provenance.model.as_ref().unwrap().id, TINY);
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
