//! Generation inside the running game (feature `llm`): requests are messages, the models run on
//! their own worker thread (never in a frame), progress comes back as messages, results are
//! validated and written atomically to a staging folder with their provenance, and accepting a
//! result moves it into the asset folder, where hot reload picks it up.
//!
//! Three kinds of request:
//! - [`GenerateDialogue`]: a dialogue tree from the local LLM;
//! - [`GenerateStory`]: an NPC, quest or item (any [`sprout_core::story::Job`]) through the story
//!   pipeline (templates, constrained decoding, validation, repair);
//! - [`GenerateImage`]: an item icon, a crop's growth stages or a ground texture from the
//!   embedded sprite model, finished to the game's palette; or a 3D prop extruded from a sprite.
//!
//! Flow: write a request; read [`GenerationUpdate`]s (or look at [`Generations`]); write
//! [`AcceptGenerated`], [`RejectGenerated`] or [`CancelGeneration`]. Every job stages into its
//! own folder below [`GeneratorSettings::staging_dir`], which mirrors the asset folder's layout;
//! accepting copies each staged file into place atomically (art and sidecars first, the content
//! file last, so hot reload never sees content that points at missing art).

mod staging;
mod worker;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};

use bevy::asset::AssetServer;
use bevy::prelude::*;
use sprout_core::content::{AssetPath, DialogueTree, Id, Provenance};
use sprout_core::diffusion::RgbaImage;
use sprout_core::llm::CancelToken;
use sprout_core::llm::structured::DialogueRequest;
use sprout_core::story::JobSpec;

pub use staging::StagedFiles;

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

/// Ask the story pipeline for an NPC, a quest, an item (or any other story job).
#[derive(Message, Debug, Clone)]
pub struct GenerateStory {
    /// The job's id.
    pub job: JobId,
    /// What to make, with its seed.
    pub spec: JobSpec,
}

/// What an image job makes, and so where it goes.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageTarget {
    /// An item's inventory icon (the file the item's `icon` names).
    ItemIcon {
        /// The item.
        item: Id,
    },
    /// A crop's ripe sprite, and its growth-stage sprites derived from it (the files the crop
    /// names).
    Crop {
        /// The crop.
        crop: Id,
    },
    /// A seamless ground texture tile, `textures/<id>.png`.
    Texture {
        /// The texture's name.
        id: Id,
    },
    /// A 3D prop, `props/<id>.glb`, extruded from an existing sprite into voxels (no model).
    Prop {
        /// The prop's name.
        id: Id,
        /// The sprite it is made from (opaque pixels become voxels).
        from: AssetPath,
        /// Voxels deep.
        depth: usize,
    },
}

impl ImageTarget {
    /// Whether the target needs the image model (a prop is made from an existing sprite).
    pub fn needs_model(&self) -> bool {
        !matches!(self, Self::Prop { .. })
    }
}

/// An image request.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageJob {
    /// What to make.
    pub target: ImageTarget,
    /// What to draw.
    pub prompt: String,
    /// The seed: the same seed gives the same pixels.
    pub seed: u64,
    /// Sampling steps.
    pub steps: usize,
    /// Classifier-free guidance scale.
    pub guidance: f64,
    /// A palette from `assets/palettes/` (by name, e.g. `farm32`), or `None` for colours chosen
    /// from the sprite.
    pub palette: Option<String>,
}

impl ImageJob {
    /// A request with the sprite model's defaults: 12 steps, guidance 3, the game's `farm32`
    /// palette.
    pub fn new(target: ImageTarget, prompt: impl Into<String>) -> Self {
        Self {
            target,
            prompt: prompt.into(),
            seed: 1,
            steps: 12,
            guidance: 3.0,
            palette: Some("farm32".into()),
        }
    }
}

/// Ask for an image or a prop.
#[derive(Message, Debug, Clone)]
pub struct GenerateImage {
    /// The job's id.
    pub job: JobId,
    /// What to make.
    pub request: ImageJob,
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

/// What a job asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// A dialogue tree.
    Dialogue(DialogueRequest),
    /// A story job (NPC, quest, item...).
    Story(JobSpec),
    /// An image or a prop.
    Image(ImageJob),
}

impl Request {
    /// A one-line description for lists.
    pub fn describe(&self) -> String {
        match self {
            Self::Dialogue(r) => format!("dialogue {} for {}", r.tree_id, r.npc),
            Self::Story(s) => format!("{} (seed {})", s.job.label(), s.seed),
            Self::Image(i) => match &i.target {
                ImageTarget::ItemIcon { item } => format!("icon of {item}: \"{}\"", i.prompt),
                ImageTarget::Crop { crop } => format!("crop {crop}: \"{}\"", i.prompt),
                ImageTarget::Texture { id } => format!("texture {id}: \"{}\"", i.prompt),
                ImageTarget::Prop { id, from, .. } => format!("prop {id} from {from}"),
            },
        }
    }

    /// The token budget of text jobs, for progress bars.
    pub fn max_tokens(&self) -> Option<usize> {
        match self {
            Self::Dialogue(r) => Some(r.max_tokens),
            Self::Story(s) => Some(sprout_core::story::pipeline::max_tokens(&s.job)),
            Self::Image(_) => None,
        }
    }
}

/// What a staged result looks like, for the panel.
#[derive(Debug, Clone, PartialEq)]
pub enum Preview {
    /// A dialogue tree.
    Dialogue(DialogueTree),
    /// A content file's RON text (NPC, quest, item...).
    Text(String),
    /// Images with labels (an icon; a crop's stages; a texture tiled; a prop's source sprite),
    /// and a note (sizes, colours, seam error, triangles...).
    Images {
        /// The images, each with a label.
        images: Vec<(String, Arc<RgbaImage>)>,
        /// What to say about them.
        note: String,
    },
}

/// What happened to a job.
#[derive(Message, Debug, Clone, PartialEq)]
pub enum GenerationUpdate {
    /// Fetching or loading a model.
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
    /// An image sampling step finished.
    Step {
        /// The job.
        job: JobId,
        /// Steps done, from 1.
        step: usize,
        /// Steps in all.
        total: usize,
        /// The image so far, when the backend makes one.
        preview: Option<Arc<RgbaImage>>,
    },
    /// A valid result is staged, waiting for accept or reject.
    Staged {
        /// The job.
        job: JobId,
        /// The staged content (or image) file.
        path: PathBuf,
    },
    /// The job failed; nothing was written to the assets.
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
        /// Where its main file went.
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
    /// Fetching or loading a model.
    Loading(String),
    /// Generating text.
    Running {
        /// Tokens so far.
        tokens: usize,
        /// Generation speed.
        tokens_per_second: f32,
    },
    /// Sampling an image.
    Sampling {
        /// Steps done.
        step: usize,
        /// Steps in all.
        total: usize,
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

impl JobStatus {
    /// Whether the job is still waiting or working.
    pub fn is_active(&self) -> bool {
        matches!(
            self,
            Self::Queued | Self::Loading(_) | Self::Running { .. } | Self::Sampling { .. }
        )
    }
}

/// One job, for panels and history.
#[derive(Debug, Clone)]
pub struct Job {
    /// What was asked.
    pub request: Request,
    /// Where it stands.
    pub status: JobStatus,
    /// The result, once staged.
    pub preview: Option<Preview>,
    /// The latest step preview of an image job.
    pub live: Option<Arc<RgbaImage>>,
    /// How the main file was made, once staged.
    pub provenance: Option<Provenance>,
    /// The staged files, once staged.
    pub staged: Option<StagedFiles>,
    /// Accept was asked while another writer (`sprout batch`, `sprout gen`) held the asset
    /// folder's lock: the files move in on the first frame it is free.
    pub waiting_for_lock: bool,
    cancel: CancelToken,
}

impl Job {
    /// The staged dialogue tree, for dialogue jobs.
    pub fn tree(&self) -> Option<&DialogueTree> {
        match &self.preview {
            Some(Preview::Dialogue(t)) => Some(t),
            _ => None,
        }
    }

    /// The staged copy of the job's main file (the content file, or the image).
    pub fn staged_file(&self) -> Option<PathBuf> {
        self.staged.as_ref().and_then(StagedFiles::main)
    }
}

/// Every job of this session, newest last.
#[derive(Resource, Default)]
pub struct Generations {
    /// Jobs by id.
    pub jobs: BTreeMap<JobId, Job>,
}

/// Generation settings. Inference threads follow candle's `CANDLE_NUM_THREADS` (set it before
/// starting the game: Bevy's task pools share the same cores). `model` may change at any time
/// (the editor's model picker does): each job uses the value it was submitted with.
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
}

impl GeneratorSettings {
    /// Defaults for an asset folder: `<asset_dir>/../.sprout/staging`, `<asset_dir>/../prompts`.
    pub fn for_assets(asset_dir: &Path) -> Self {
        let root = asset_dir.parent().unwrap_or(asset_dir);
        Self {
            model: None,
            staging_dir: root.join(".sprout").join("staging"),
            state_dir: root.join(".sprout"),
            prompts_dir: root.join("prompts"),
        }
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
    .add_message::<GenerateDialogue>()
    .add_message::<GenerateStory>()
    .add_message::<GenerateImage>()
    .add_message::<CancelGeneration>()
    .add_message::<AcceptGenerated>()
    .add_message::<RejectGenerated>()
    .add_message::<GenerationUpdate>()
    .add_systems(
        Update,
        (submit, pump, staging::decide)
            .chain()
            .in_set(crate::SproutSystems::Dialogue),
    );
}

#[expect(
    clippy::too_many_arguments,
    reason = "one reader per request kind, and a snapshot of every content type"
)]
fn submit(
    mut dialogues: MessageReader<GenerateDialogue>,
    mut stories: MessageReader<GenerateStory>,
    mut images: MessageReader<GenerateImage>,
    mut cancels: MessageReader<CancelGeneration>,
    worker: Res<Worker>,
    mut jobs: ResMut<Generations>,
    settings: Res<SproutSettings>,
    generator: Res<GeneratorSettings>,
    server: Res<AssetServer>,
    assets: crate::library::ContentAssets,
    mut updates: MessageWriter<GenerationUpdate>,
) {
    let requests: Vec<(JobId, Request)> = dialogues
        .read()
        .map(|m| (m.job, Request::Dialogue(m.request.clone())))
        .chain(
            stories
                .read()
                .map(|m| (m.job, Request::Story(m.spec.clone()))),
        )
        .chain(
            images
                .read()
                .map(|m| (m.job, Request::Image(m.request.clone()))),
        )
        .collect();
    for (job, request) in requests {
        let cancel = CancelToken::new();
        jobs.jobs.insert(
            job,
            Job {
                request: request.clone(),
                status: JobStatus::Queued,
                preview: None,
                live: None,
                provenance: None,
                staged: None,
                waiting_for_lock: false,
                cancel: cancel.clone(),
            },
        );
        let content = Box::new(snapshot(&server, &settings.asset_dir, &assets));
        let command = worker::Command {
            job,
            request,
            model: generator.model.clone(),
            content,
            cancel,
        };
        if worker.commands.send(command).is_err() {
            let update = GenerationUpdate::Failed {
                job,
                error: "the generation worker has stopped".to_owned(),
            };
            apply(&mut jobs, &update);
            updates.write(update);
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
    loop {
        let reply = match replies.try_recv() {
            Ok(reply) => reply,
            Err(std::sync::mpsc::TryRecvError::Empty) => break,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                // The worker thread is gone: no job in flight will ever finish.
                let stranded: Vec<JobId> = jobs
                    .jobs
                    .iter()
                    .filter(|(_, j)| j.status.is_active())
                    .map(|(id, _)| *id)
                    .collect();
                for job in stranded {
                    let update = GenerationUpdate::Failed {
                        job,
                        error: "the generation worker has stopped".to_owned(),
                    };
                    apply(&mut jobs, &update);
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
            } => {
                let path = files.main().unwrap_or_else(|| files.dir.clone());
                if let Some(j) = jobs.jobs.get_mut(&job) {
                    j.preview = Some(*preview);
                    j.provenance = Some(*provenance);
                    j.staged = Some(files);
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
        GenerationUpdate::Step {
            job,
            step,
            total,
            preview,
        } => {
            if let (Some(j), Some(p)) = (jobs.jobs.get_mut(job), preview) {
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
    if let Some(j) = jobs.jobs.get_mut(job) {
        j.status = status;
    }
}
