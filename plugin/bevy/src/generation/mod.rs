//! Generation inside the running game (feature `llm`): a [`Generate`] message asks for a
//! [`Job`] (story content or art), the models run on their own worker thread (never in a frame),
//! progress comes back as [`GenerationUpdate`] messages, results are written to a staging folder
//! with their provenance, and accepting a result moves it into the asset folder, where hot reload
//! picks it up.
//!
//! One request, in order (ARCHITECTURE.md, "Generation in the game", walks it with the files):
//! 1. [`Generate`] (`messages.rs`) is read by `submit` (here) in [`SproutSystems::Generate`],
//!    which records the job in [`Generations`] (`job.rs`) and sends it, with a snapshot of the
//!    loaded content, to the worker;
//! 2. the worker (`worker.rs`) dispatches: a story job to [`sprout_core::story::Prepared`] and
//!    its `stage`, an art job to [`sprout_core::art::make()`] and [`sprout_core::art::Made::write`],
//!    the functions `sprout gen` calls too; it writes into the job's own folder below
//!    [`GeneratorSettings::staging_dir`] (`staging.rs`), a mirror of the asset folder's layout;
//! 3. `pump` (here) turns the worker's replies into [`GenerationUpdate`]s and records;
//! 4. [`AcceptGenerated`] (`staging.rs`, `decide`) takes the project lock and copies each staged
//!    file into place atomically, art and sidecars first, the content file last, so hot reload
//!    never sees content that points at missing art; [`RejectGenerated`] deletes the folder.
//!
//! [`SproutSystems::Generate`]: crate::SproutSystems::Generate

mod error;
mod job;
mod messages;
mod staging;
mod worker;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};

use bevy::asset::AssetServer;
use bevy::prelude::*;
use sprout_core::diffusion::sprite::SpriteBackend;
use sprout_core::llm::CancelToken;

pub use error::Error;
pub use job::{Generations, Job, JobId, JobStatus, Preview, Record};
pub use messages::{
    AcceptGenerated, CancelGeneration, Generate, GenerationUpdate, RejectGenerated,
};
pub use staging::StagedFiles;

use crate::SproutSettings;
use crate::library::snapshot;

/// Generation settings. `model` may change at any time (the editor's model picker does): each
/// job uses the value it was submitted with; `threads` is read once, when the worker starts.
#[derive(Resource, Debug, Clone)]
pub struct GeneratorSettings {
    /// Registry id of the LLM, or `None` for the default.
    pub model: Option<String>,
    /// Where results wait for review (outside the asset folder, so nothing loads them early).
    pub staging_dir: PathBuf,
    /// The project's folder for caches and rejected candidates (`.sprout`).
    pub state_dir: PathBuf,
    /// Prompt templates (`prompts/`); stages missing there use the built-in ones.
    pub prompts_dir: PathBuf,
    /// The local model's threads. `None`: `CANDLE_NUM_THREADS` (or `RAYON_NUM_THREADS`) when it
    /// is set, else every core but one, which the game keeps (Bevy's task pools share the same
    /// cores, and a model on every core of a busy machine runs slower than on one).
    pub threads: Option<usize>,
    /// The sprite model art jobs draw with: a model folder (v1 or v2, as
    /// [`SpriteBackend::from_dir`] reads it), or `None` for the model compiled into the binary.
    /// Like `model`, it may change at any time (the editor's sprite-model picker sets it); each
    /// job uses the value it was submitted with.
    pub sprite_model: Option<PathBuf>,
    /// The sprite model folders the editor offers beside the compiled-in one (`for_assets`: those
    /// in the project's `models/sprite/`, where this repo ships v2).
    pub sprite_models: Vec<PathBuf>,
}

impl GeneratorSettings {
    /// Defaults for an asset folder: `<asset_dir>/../.sprout/staging`, `<asset_dir>/../prompts`.
    pub fn for_assets(asset_dir: &Path) -> Self {
        let project = sprout_core::story::Project::new(asset_dir);
        let root = asset_dir.parent().unwrap_or(asset_dir);
        Self {
            model: None,
            staging_dir: project.staging_dir(),
            prompts_dir: root.join("prompts"),
            state_dir: project.state,
            threads: None,
            sprite_model: None,
            sprite_models: SpriteBackend::folders_in(&SpriteBackend::repo_dir(root)),
        }
    }

    /// The thread count `threads` stands for.
    pub fn inference_threads(&self) -> usize {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        self.threads
            .or_else(sprout_core::llm::native::threads_from_env)
            .unwrap_or(cores.saturating_sub(1))
            .max(1)
    }
}

/// The worker's mailbox.
#[derive(Resource)]
struct Worker {
    commands: Sender<worker::Command>,
    replies: std::sync::Mutex<Receiver<worker::Reply>>,
}

pub(crate) fn plugin(app: &mut App) {
    let asset_dir = app.world().resource::<SproutSettings>().asset_dir.clone();
    if !app.world().contains_resource::<GeneratorSettings>() {
        app.insert_resource(GeneratorSettings::for_assets(&asset_dir));
    }
    let settings = app.world().resource::<GeneratorSettings>().clone();
    let (commands, inbox) = channel();
    let (outbox, replies) = channel();
    std::thread::Builder::new()
        .name("sprout-generate".into())
        .spawn(move || worker::run(settings, asset_dir, inbox, outbox))
        .expect("spawn the generation worker");
    app.insert_resource(Worker {
        commands,
        replies: std::sync::Mutex::new(replies),
    })
    .init_resource::<Generations>()
    .add_message::<Generate>()
    .add_message::<CancelGeneration>()
    .add_message::<AcceptGenerated>()
    .add_message::<RejectGenerated>()
    .add_message::<GenerationUpdate>()
    .add_systems(
        Update,
        (submit, pump, staging::decide)
            .chain()
            .in_set(crate::SproutSystems::Generate),
    );
}

#[expect(
    clippy::too_many_arguments,
    reason = "the requests, the worker, the records and a snapshot of every content type"
)]
fn submit(
    mut requests: MessageReader<Generate>,
    mut cancels: MessageReader<CancelGeneration>,
    worker: Res<Worker>,
    mut generations: ResMut<Generations>,
    settings: Res<SproutSettings>,
    generator: Res<GeneratorSettings>,
    server: Res<AssetServer>,
    assets: crate::library::ContentAssets,
    mut updates: MessageWriter<GenerationUpdate>,
) {
    for Generate { id, job } in requests.read() {
        let cancel = CancelToken::new();
        generations
            .records
            .insert(*id, Record::queued(job.clone(), cancel.clone()));
        let content = Box::new(snapshot(&server, &settings.asset_dir, &assets));
        let command = worker::Command {
            id: *id,
            job: job.clone(),
            model: generator.model.clone(),
            sprite_model: generator.sprite_model.clone(),
            content,
            cancel,
        };
        if worker.commands.send(command).is_err() {
            let update = GenerationUpdate::Failed {
                job: *id,
                error: "the generation worker has stopped".to_owned(),
            };
            apply(&mut generations, &update);
            updates.write(update);
        }
    }
    for CancelGeneration(id) in cancels.read() {
        if let Some(r) = generations.records.get(id) {
            r.cancel.cancel();
        }
    }
}

fn pump(
    worker: Res<Worker>,
    mut generations: ResMut<Generations>,
    mut updates: MessageWriter<GenerationUpdate>,
) {
    let Ok(replies) = worker.replies.lock() else {
        return;
    };
    loop {
        let reply = match replies.try_recv() {
            Ok(reply) => reply,
            Err(std::sync::mpsc::TryRecvError::Empty) => break,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                // The worker thread is gone: no job in flight will ever finish.
                let stranded: Vec<JobId> = generations
                    .records
                    .iter()
                    .filter(|(_, j)| j.status.is_active())
                    .map(|(id, _)| *id)
                    .collect();
                for job in stranded {
                    let update = GenerationUpdate::Failed {
                        job,
                        error: "the generation worker has stopped".to_owned(),
                    };
                    apply(&mut generations, &update);
                    updates.write(update);
                }
                break;
            }
        };
        let update = match reply {
            worker::Reply::Update(u) => u,
            worker::Reply::Staged {
                job,
                preview,
                provenance,
                files,
                candidates,
            } => {
                let path = files.main().unwrap_or_else(|| files.dir.clone());
                if let Some(j) = generations.records.get_mut(&job) {
                    j.preview = Some(*preview);
                    j.provenance = Some(*provenance);
                    j.staged = Some(files);
                    j.candidates = candidates;
                }
                GenerationUpdate::Staged { job, path }
            }
        };
        apply(&mut generations, &update);
        updates.write(update);
    }
}

fn apply(generations: &mut Generations, update: &GenerationUpdate) {
    let (job, status) = match update {
        GenerationUpdate::Loading { job, what } => (job, JobStatus::Loading(what.clone())),
        GenerationUpdate::Progress {
            job,
            tokens,
            tokens_per_second,
        } => (
            job,
            JobStatus::Running {
                tokens: *tokens,
                tokens_per_second: *tokens_per_second,
            },
        ),
        GenerationUpdate::Step {
            job,
            step,
            total,
            preview,
        } => {
            if let (Some(j), Some(p)) = (generations.records.get_mut(job), preview) {
                j.live = Some(p.clone());
            }
            (
                job,
                JobStatus::Sampling {
                    step: *step,
                    total: *total,
                },
            )
        }
        GenerationUpdate::Staged { job, .. } => (job, JobStatus::Staged),
        GenerationUpdate::Failed { job, error } => (job, JobStatus::Failed(error.clone())),
        GenerationUpdate::Cancelled { job } => (job, JobStatus::Cancelled),
        GenerationUpdate::Accepted { job, path } => (job, JobStatus::Accepted(path.clone())),
        GenerationUpdate::Rejected { job } => (job, JobStatus::Rejected),
    };
    if let Some(j) = generations.records.get_mut(job) {
        j.status = status;
    }
}
