//! What a job is and where it stands: [`Job`] (what to make), [`JobId`], [`Record`] (what the
//! panel shows of one job) and [`Generations`] (every record of the session).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bevy::prelude::*;
use sprout_core::art::ArtJob;
use sprout_core::content::{DialogueTree, Provenance};
use sprout_core::diffusion::RgbaImage;
use sprout_core::llm::CancelToken;
use sprout_core::story::{JobSpec, Scored};

use super::staging::StagedFiles;

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

/// What to make: the same jobs `sprout gen` and `sprout batch` run, through the same core
/// functions.
#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    /// Story content (an NPC, a dialogue tree, a quest, an item...) through the story pipeline:
    /// templates, constrained decoding, validation, repair ([`sprout_core::story`]).
    Story(JobSpec),
    /// Art (an item icon, a crop's growth stages, a texture, a prop...) through the art recipes
    /// ([`sprout_core::art`]).
    Art(ArtJob),
}

impl Job {
    /// A one-line description for lists.
    pub fn describe(&self) -> String {
        match self {
            Self::Story(s) => format!("{} (seed {})", s.job.label(), s.seed),
            Self::Art(a) => a.describe(),
        }
    }

    /// The same story job keeping best-of-N's candidate `number` instead of the best-scored one
    /// (its seed follows from the job's seed and the number, so it comes out as it was listed);
    /// `None` for art jobs.
    pub fn picking(&self, number: u32) -> Option<Job> {
        match self {
            Self::Story(s) => Some(Self::Story(JobSpec {
                pick: Some(number.max(1)),
                ..s.clone()
            })),
            Self::Art(_) => None,
        }
    }

    /// The token budget of text jobs, for progress bars.
    pub fn max_tokens(&self) -> Option<usize> {
        match self {
            Self::Story(s) => Some(sprout_core::story::max_tokens(&s.job)),
            Self::Art(_) => None,
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

/// One job as the panel shows it: what was asked, where it stands, what it made.
#[derive(Debug, Clone)]
pub struct Record {
    /// What was asked.
    pub job: Job,
    /// Where it stands.
    pub status: JobStatus,
    /// The result, once staged.
    pub preview: Option<Preview>,
    /// The latest step preview of an art job.
    pub live: Option<Arc<RgbaImage>>,
    /// How the main file was made, once staged.
    pub provenance: Option<Provenance>,
    /// The staged files, once staged.
    pub staged: Option<StagedFiles>,
    /// Best-of-N's candidates as scored, once staged (story jobs of a model that draws several;
    /// one of them is kept): the designer may keep another with [`Job::picking`].
    pub candidates: Vec<Scored>,
    /// Accept was asked while another writer (`sprout batch`, `sprout gen`) held the asset
    /// folder's lock: the files move in on the first frame it is free.
    pub waiting_for_lock: bool,
    pub(super) cancel: CancelToken,
}

impl Record {
    /// A record of `job`, just asked for, stopped by `cancel`.
    pub(crate) fn queued(job: Job, cancel: CancelToken) -> Self {
        Self {
            job,
            status: JobStatus::Queued,
            preview: None,
            live: None,
            provenance: None,
            staged: None,
            candidates: Vec::new(),
            waiting_for_lock: false,
            cancel,
        }
    }

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
    /// Records by job id.
    pub records: BTreeMap<JobId, Record>,
}
