//! Generation inside the running game (feature `llm`): requests are messages, the model runs on
//! its own worker thread (never in a frame), progress comes back as messages, results are
//! validated and written atomically to a staging folder with their provenance, and accepting a
//! result moves it into the asset folder, where hot reload picks it up.
//!
//! Flow: write [`GenerateDialogue`]; read [`GenerationUpdate`]s (or look at [`Generations`]);
//! write [`AcceptGenerated`], [`RejectGenerated`] or [`CancelGeneration`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Instant;

use bevy::asset::AssetServer;
use bevy::prelude::*;
use sprout_core::content::provenance::{now_rfc3339, sha256_hex, sidecar_path};
use sprout_core::content::{
    ContentKind, ContentSet, DialogueTree, ModelRef, Provenance, TemplateRef,
};
use sprout_core::format::to_ron;
use sprout_core::fs::write_atomic;
use sprout_core::llm::structured::{DialogueRequest, dialogue_messages, generate_dialogue};
use sprout_core::llm::{CancelToken, Event, LoadOptions, LocalModel, ModelManager, PullProgress};

use crate::SproutSettings;
use crate::library::snapshot;

/// Identifies one generation job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub u64);

impl JobId {
    /// A fresh id.
    pub fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

impl Default for JobId {
    fn default() -> Self {
        Self::new()
    }
}

/// Ask for a new dialogue tree.
#[derive(Message, Debug, Clone)]
pub struct GenerateDialogue {
    /// The job's id (make one with [`JobId::new`]).
    pub job: JobId,
    /// What to write.
    pub request: DialogueRequest,
}

/// Stop a running job.
#[derive(Message, Debug, Clone, Copy)]
pub struct CancelGeneration(pub JobId);

/// Move a staged result into the asset folder.
#[derive(Message, Debug, Clone, Copy)]
pub struct AcceptGenerated(pub JobId);

/// Throw a staged result away.
#[derive(Message, Debug, Clone, Copy)]
pub struct RejectGenerated(pub JobId);

/// What happened to a job.
#[derive(Message, Debug, Clone, PartialEq)]
pub enum GenerationUpdate {
    /// Fetching or loading the model.
    Loading {
        /// The job.
        job: JobId,
        /// What is going on.
        what: String,
    },
    /// Tokens generated so far.
    Progress {
        /// The job.
        job: JobId,
        /// Tokens so far.
        tokens: usize,
        /// Generation speed.
        tokens_per_second: f32,
    },
    /// A valid result is staged, waiting for accept or reject.
    Staged {
        /// The job.
        job: JobId,
        /// The staged file.
        path: PathBuf,
    },
    /// The job failed; nothing was written.
    Failed {
        /// The job.
        job: JobId,
        /// Why.
        error: String,
    },
    /// The job was cancelled.
    Cancelled {
        /// The job.
        job: JobId,
    },
    /// The staged result is now in the asset folder.
    Accepted {
        /// The job.
        job: JobId,
        /// Where it went.
        path: PathBuf,
    },
    /// The staged result was thrown away.
    Rejected {
        /// The job.
        job: JobId,
    },
}

/// Where a job stands.
#[derive(Debug, Clone, PartialEq)]
pub enum JobStatus {
    /// Waiting for the worker.
    Queued,
    /// Fetching or loading the model.
    Loading(String),
    /// Generating.
    Running {
        /// Tokens so far.
        tokens: usize,
        /// Generation speed.
        tokens_per_second: f32,
    },
    /// Staged for review.
    Staged,
    /// Failed.
    Failed(String),
    /// Cancelled.
    Cancelled,
    /// Accepted into the assets.
    Accepted(PathBuf),
    /// Rejected.
    Rejected,
}

/// One job, for panels and history.
#[derive(Debug, Clone)]
pub struct Job {
    /// What was asked.
    pub request: DialogueRequest,
    /// Where it stands.
    pub status: JobStatus,
    /// The result, once staged.
    pub tree: Option<DialogueTree>,
    /// How it was made, once staged.
    pub provenance: Option<Provenance>,
    /// The staged file.
    pub staged: Option<PathBuf>,
    cancel: CancelToken,
}

/// Every job of this session, newest last.
#[derive(Resource, Default)]
pub struct Generations {
    /// Jobs by id.
    pub jobs: BTreeMap<JobId, Job>,
}

/// Generation settings. Inference threads follow candle's `CANDLE_NUM_THREADS` (set it before
/// starting the game: Bevy's task pools share the same cores).
#[derive(Resource, Debug, Clone)]
pub struct GeneratorSettings {
    /// Registry id of the model, or `None` for the default.
    pub model: Option<String>,
    /// Where results wait for review (outside the asset folder, so nothing loads them early).
    pub staging_dir: PathBuf,
}

impl GeneratorSettings {
    /// Defaults for an asset folder: staging in `<asset_dir>/../.sprout/staging`.
    pub fn for_assets(asset_dir: &Path) -> Self {
        Self {
            model: None,
            staging_dir: asset_dir
                .parent()
                .unwrap_or(asset_dir)
                .join(".sprout")
                .join("staging"),
        }
    }
}

enum Command {
    Dialogue {
        job: JobId,
        request: DialogueRequest,
        content: Box<ContentSet>,
        cancel: CancelToken,
    },
}

enum Reply {
    Update(GenerationUpdate),
    Staged {
        job: JobId,
        tree: Box<DialogueTree>,
        provenance: Box<Provenance>,
        path: PathBuf,
    },
}

/// The worker's mailbox.
#[derive(Resource)]
struct Worker {
    commands: Sender<Command>,
    replies: std::sync::Mutex<Receiver<Reply>>,
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
        .name("sprout-llm".into())
        .spawn(move || worker(settings, inbox, outbox))
        .expect("spawn the generation worker");
    app.insert_resource(Worker {
        commands,
        replies: std::sync::Mutex::new(replies),
    })
    .init_resource::<Generations>()
    .add_message::<GenerateDialogue>()
    .add_message::<CancelGeneration>()
    .add_message::<AcceptGenerated>()
    .add_message::<RejectGenerated>()
    .add_message::<GenerationUpdate>()
    .add_systems(
        Update,
        (submit, pump, decide)
            .chain()
            .in_set(crate::SproutSystems::Dialogue),
    );
}

#[expect(
    clippy::too_many_arguments,
    reason = "a snapshot of every content type"
)]
fn submit(
    mut requests: MessageReader<GenerateDialogue>,
    mut cancels: MessageReader<CancelGeneration>,
    worker: Res<Worker>,
    mut jobs: ResMut<Generations>,
    settings: Res<SproutSettings>,
    server: Res<AssetServer>,
    assets: crate::library::ContentAssets,
    mut updates: MessageWriter<GenerationUpdate>,
) {
    for GenerateDialogue { job, request } in requests.read() {
        let cancel = CancelToken::new();
        jobs.jobs.insert(
            *job,
            Job {
                request: request.clone(),
                status: JobStatus::Queued,
                tree: None,
                provenance: None,
                staged: None,
                cancel: cancel.clone(),
            },
        );
        let content = Box::new(snapshot(&server, &settings.asset_dir, &assets));
        let command = Command::Dialogue {
            job: *job,
            request: request.clone(),
            content,
            cancel,
        };
        if worker.commands.send(command).is_err() {
            let error = "the generation worker has stopped".to_owned();
            updates.write(GenerationUpdate::Failed {
                job: *job,
                error: error.clone(),
            });
            if let Some(j) = jobs.jobs.get_mut(job) {
                j.status = JobStatus::Failed(error);
            }
        }
    }
    for CancelGeneration(job) in cancels.read() {
        if let Some(j) = jobs.jobs.get(job) {
            j.cancel.cancel();
        }
    }
}

fn pump(
    worker: Res<Worker>,
    mut jobs: ResMut<Generations>,
    mut updates: MessageWriter<GenerationUpdate>,
) {
    let Ok(replies) = worker.replies.lock() else {
        return;
    };
    while let Ok(reply) = replies.try_recv() {
        let update = match reply {
            Reply::Update(u) => u,
            Reply::Staged {
                job,
                tree,
                provenance,
                path,
            } => {
                if let Some(j) = jobs.jobs.get_mut(&job) {
                    j.tree = Some(*tree);
                    j.provenance = Some(*provenance);
                    j.staged = Some(path.clone());
                }
                GenerationUpdate::Staged { job, path }
            }
        };
        apply(&mut jobs, &update);
        updates.write(update);
    }
}

fn apply(jobs: &mut Generations, update: &GenerationUpdate) {
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
        GenerationUpdate::Staged { job, .. } => (job, JobStatus::Staged),
        GenerationUpdate::Failed { job, error } => (job, JobStatus::Failed(error.clone())),
        GenerationUpdate::Cancelled { job } => (job, JobStatus::Cancelled),
        GenerationUpdate::Accepted { job, path } => (job, JobStatus::Accepted(path.clone())),
        GenerationUpdate::Rejected { job } => (job, JobStatus::Rejected),
    };
    if let Some(j) = jobs.jobs.get_mut(job) {
        j.status = status;
    }
}

/// Accept moves the staged file (and its provenance) into the asset folder; reject deletes it.
fn decide(
    mut accepts: MessageReader<AcceptGenerated>,
    mut rejects: MessageReader<RejectGenerated>,
    mut jobs: ResMut<Generations>,
    settings: Res<SproutSettings>,
    mut updates: MessageWriter<GenerationUpdate>,
) {
    for AcceptGenerated(job) in accepts.read() {
        let Some(j) = jobs.jobs.get(job) else {
            continue;
        };
        let (Some(staged), Some(tree), JobStatus::Staged) = (&j.staged, &j.tree, &j.status) else {
            continue;
        };
        let target = settings
            .asset_dir
            .join(ContentKind::Dialogue.folder())
            .join(ContentKind::Dialogue.file_name(&tree.id));
        let update = match accept(staged, &target) {
            Ok(()) => {
                info!("accepted {}", target.display());
                GenerationUpdate::Accepted {
                    job: *job,
                    path: target,
                }
            }
            Err(e) => GenerationUpdate::Failed {
                job: *job,
                error: format!("accept failed, nothing changed: {e}"),
            },
        };
        apply(&mut jobs, &update);
        updates.write(update);
    }
    for RejectGenerated(job) in rejects.read() {
        let Some(j) = jobs.jobs.get(job) else {
            continue;
        };
        if let Some(staged) = &j.staged {
            let _ = std::fs::remove_file(staged);
            let _ = std::fs::remove_file(sidecar_path(staged));
        }
        let update = GenerationUpdate::Rejected { job: *job };
        apply(&mut jobs, &update);
        updates.write(update);
    }
}

/// Copies the staged file and sidecar into place atomically (sidecar first, so the file never
/// appears without its provenance), then removes the staged copies.
fn accept(staged: &Path, target: &Path) -> sprout_core::Result<()> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| sprout_core::Error::Io { path, source }
    };
    let bytes = std::fs::read(staged).map_err(io(staged))?;
    let sidecar = std::fs::read(sidecar_path(staged)).map_err(io(staged))?;
    write_atomic(&sidecar_path(target), &sidecar)?;
    write_atomic(target, &bytes)?;
    let _ = std::fs::remove_file(staged);
    let _ = std::fs::remove_file(sidecar_path(staged));
    Ok(())
}

fn worker(settings: GeneratorSettings, inbox: Receiver<Command>, outbox: Sender<Reply>) {
    let mut model: Option<(LocalModel, ModelRef)> = None;
    let send = |u: GenerationUpdate| {
        let _ = outbox.send(Reply::Update(u));
    };
    while let Ok(command) = inbox.recv() {
        let Command::Dialogue {
            job,
            request,
            content,
            cancel,
        } = command;
        if cancel.is_cancelled() {
            send(GenerationUpdate::Cancelled { job });
            continue;
        }
        if model.is_none() {
            match load_model(&settings, job, &send) {
                Ok(m) => model = Some(m),
                Err(error) => {
                    send(GenerationUpdate::Failed { job, error });
                    continue;
                }
            }
        }
        let Some((loaded, model_ref)) = &model else {
            continue;
        };
        match run_dialogue(
            loaded, model_ref, &settings, job, &request, &content, &cancel, &send,
        ) {
            Ok((tree, provenance, path)) => {
                let _ = outbox.send(Reply::Staged {
                    job,
                    tree: Box::new(tree),
                    provenance: Box::new(provenance),
                    path,
                });
            }
            Err(_) if cancel.is_cancelled() => send(GenerationUpdate::Cancelled { job }),
            Err(error) => send(GenerationUpdate::Failed { job, error }),
        }
    }
}

fn load_model(
    settings: &GeneratorSettings,
    job: JobId,
    send: &dyn Fn(GenerationUpdate),
) -> Result<(LocalModel, ModelRef), String> {
    let manager = ModelManager::new();
    let mut last = Instant::now();
    let (entry, path) = manager
        .ensure(settings.model.as_deref(), &mut |p: PullProgress| {
            if last.elapsed().as_millis() > 200 {
                last = Instant::now();
                send(GenerationUpdate::Loading {
                    job,
                    what: format!("fetching the model: {p:?}"),
                });
            }
        })
        .map_err(|e| e.to_string())?;
    send(GenerationUpdate::Loading {
        job,
        what: format!("loading {}", entry.id),
    });
    let model = LocalModel::load(&path, &LoadOptions::default()).map_err(|e| e.to_string())?;
    Ok((
        model,
        ModelRef {
            id: entry.id.clone(),
            sha256: entry.sha256.clone(),
        },
    ))
}

#[expect(clippy::too_many_arguments, reason = "one job's whole context")]
fn run_dialogue(
    model: &LocalModel,
    model_ref: &ModelRef,
    settings: &GeneratorSettings,
    job: JobId,
    request: &DialogueRequest,
    content: &ContentSet,
    cancel: &CancelToken,
    send: &dyn Fn(GenerationUpdate),
) -> Result<(DialogueTree, Provenance, PathBuf), String> {
    let mut backend = model.backend();
    let started = Instant::now();
    let mut tokens = 0usize;
    let mut last = Instant::now();
    let mut on_event = |e: Event<'_>| {
        if let Event::Token { .. } = e {
            tokens += 1;
            if last.elapsed().as_millis() >= 100 {
                last = Instant::now();
                send(GenerationUpdate::Progress {
                    job,
                    tokens,
                    tokens_per_second: tokens as f32 / started.elapsed().as_secs_f32().max(1e-3),
                });
            }
        }
    };
    let (tree, generation) =
        generate_dialogue_cancellable(&mut backend, content, request, cancel, &mut on_event)?;
    let text = to_ron(&tree).map_err(|e| e.to_string())?;
    let messages = dialogue_messages(request, content).map_err(|e| e.to_string())?;
    let inputs: String = messages.iter().map(|m| format!("{:?}\n", m)).collect();
    let templates = [
        "prompts/dialogue.system.jinja",
        "prompts/dialogue.user.jinja",
    ];
    let template_text: String = templates
        .iter()
        .filter_map(|t| std::fs::read_to_string(content.root.join("..").join(t)).ok())
        .collect();
    let provenance = Provenance {
        generator: "bevy_sprout dialogue".into(),
        generator_version: env!("CARGO_PKG_VERSION").into(),
        model: Some(model_ref.clone()),
        template: (!template_text.is_empty()).then(|| TemplateRef {
            path: templates.join("+"),
            sha256: sha256_hex(template_text.as_bytes()),
        }),
        inputs_sha256: sha256_hex(inputs.as_bytes()),
        output_sha256: sha256_hex(text.as_bytes()),
        seed: request.sampling.seed,
        parameters: BTreeMap::from([
            (
                "temperature".into(),
                request.sampling.temperature.to_string(),
            ),
            ("top_k".into(), request.sampling.top_k.to_string()),
            ("top_p".into(), request.sampling.top_p.to_string()),
            (
                "repeat_penalty".into(),
                request.sampling.repeat_penalty.to_string(),
            ),
            ("max_tokens".into(), request.max_tokens.to_string()),
            ("nodes".into(), request.nodes.to_string()),
            ("situation".into(), format!("{:?}", request.situation)),
            ("tokens".into(), generation.tokens.len().to_string()),
        ]),
        created: now_rfc3339(),
    };
    let path = settings
        .staging_dir
        .join(ContentKind::Dialogue.file_name(&tree.id));
    let sidecar = to_ron(&provenance).map_err(|e| e.to_string())?;
    write_atomic(&sidecar_path(&path), sidecar.as_bytes()).map_err(|e| e.to_string())?;
    write_atomic(&path, text.as_bytes()).map_err(|e| e.to_string())?;
    Ok((tree, provenance, path))
}

/// [`generate_dialogue`] with the job's cancel token: the engine stops at the next token.
fn generate_dialogue_cancellable(
    backend: &mut sprout_core::llm::LocalBackend,
    content: &ContentSet,
    request: &DialogueRequest,
    cancel: &CancelToken,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<(DialogueTree, sprout_core::llm::Generation), String> {
    let mut request = request.clone();
    request.cancel = cancel.clone();
    generate_dialogue(backend, content, &request, on_event).map_err(|e| match e {
        sprout_core::llm::Error::Cancelled => "cancelled".to_owned(),
        e => e.to_string(),
    })
}
