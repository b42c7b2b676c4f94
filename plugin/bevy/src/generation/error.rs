//! Why a job failed, typed to the edge: the worker returns [`Error`]; the panel turns it into
//! words once, in [`GenerationUpdate::Failed`](super::GenerationUpdate::Failed).

/// Why a generation job failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The LLM could not be fetched or loaded.
    #[error(transparent)]
    Llm(#[from] sprout_core::llm::Error),
    /// The story pipeline failed.
    #[error(transparent)]
    Story(#[from] sprout_core::story::Error),
    /// The sprite model could not be loaded.
    #[error("the sprite model: {0}")]
    SpriteModel(#[from] sprout_core::diffusion::Error),
    /// The art recipe failed.
    #[error(transparent)]
    Art(#[from] sprout_core::art::Error),
    /// Writing the staged files failed.
    #[error(transparent)]
    Core(#[from] sprout_core::Error),
    /// The story pipeline made nothing new: every attempt was rejected, or the existing file is
    /// kept or up to date.
    #[error("{0}")]
    NothingStaged(String),
    /// The job crashed the worker (a model file that lies about itself, a bug); the worker
    /// restarted.
    #[error(
        "the generator crashed on this job ({0}); the worker restarted and loads the models afresh for the next job"
    )]
    Crashed(String),
}

impl Error {
    /// Whether the job was cancelled rather than failed.
    pub fn is_cancelled(&self) -> bool {
        match self {
            Self::Llm(e) | Self::Story(sprout_core::story::Error::Llm(e)) => {
                matches!(e, sprout_core::llm::Error::Cancelled)
            }
            Self::Art(e) => e.is_cancelled(),
            Self::SpriteModel(e) => matches!(e, sprout_core::diffusion::Error::Cancelled),
            _ => false,
        }
    }
}

/// Result with the worker's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
