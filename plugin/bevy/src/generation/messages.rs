//! The messages of generation: [`Generate`] asks for a job, [`GenerationUpdate`] reports on it,
//! [`AcceptGenerated`], [`RejectGenerated`] and [`CancelGeneration`] decide its fate.

use std::path::PathBuf;
use std::sync::Arc;

use bevy::prelude::*;
use sprout_core::diffusion::RgbaImage;

use super::job::{Job, JobId};

/// Ask for a job: story content or art. Read [`GenerationUpdate`]s (or look at
/// [`super::Generations`]) to follow it.
#[derive(Message, Debug, Clone)]
pub struct Generate {
    /// The job's id (make one with [`JobId::new`]).
    pub id: JobId,
    /// What to make.
    pub job: Job,
}

impl Generate {
    /// A request for `job` under a fresh id.
    pub fn new(job: Job) -> Self {
        Self {
            id: JobId::new(),
            job,
        }
    }
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
