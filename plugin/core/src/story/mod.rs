//! Story generation: world bible → characters → dialogue trees → quests → item descriptions,
//! each a valid asset by construction.
//!
//! - [`templates`]: the prompt templates in `prompts/`, one pair per [`Stage`], read at run time;
//! - [`context`]: what a template sees (world, character card, known ids, examples, and the
//!   [`topic`] a dialogue tree is about);
//! - [`schema`]: the output schema of each stage, derived from the content types;
//! - [`job`]: what to make ([`Job`], [`JobSpec`]);
//! - [`pipeline`]: render → constrained generation → validation → repair → atomic write with
//!   provenance, or `rejected/`; [`Generator`] runs it, and its steps live in private files
//!   beside it, with no import circle among them: `run.rs` (prepare, generate, repair),
//!   `commit.rs` (writing, staging, rejecting), `regen.rs` ([`regenerate`], for
//!   `regen --check`), `check.rs` (validation), `craft.rs` (the writer's rules: repeated and
//!   lifted lines, names from other games, control characters, meta-talk, speakers, names),
//!   `best.rs` (best-of-N scoring), `cache.rs` (request keys, the content-addressed
//!   cache) and `project.rs` (the [`Project`]'s folders, `.sprout/`);
//! - [`batch`]: manifests, the resumable journal, and the runner over one or many backends;
//! - [`report`]: quality figures for a batch.

pub mod batch;
mod best;
mod cache;
mod check;
mod commit;
pub mod context;
mod craft;
pub mod dialogue;
pub mod job;
pub mod pipeline;
mod project;
mod regen;
pub mod report;
mod run;
pub mod schema;
pub mod templates;
pub mod topic;
#[cfg(test)]
mod writer_tests;

/// The starter content the repository ships (`assets/`), loaded with no problem: what the
/// story module's tests write against.
#[cfg(test)]
fn starter() -> crate::content::ContentSet {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets");
    let (set, problems) = crate::content::ContentSet::load_dir(std::path::Path::new(root));
    assert!(problems.is_empty(), "{problems:?}");
    set
}

use std::path::PathBuf;

pub use batch::{Batch, BatchEvent, Journal, JournalEntry, Manifest, Summary};
pub use commit::Staged;
pub use job::{Job, JobSpec, max_tokens};
pub use pipeline::{
    Candidate, Generator, Options, Outcome, Picked, Prepared, Scored, StageTimes, Status,
};
pub use project::{Project, STATE_DIR};
pub use regen::{Regenerated, job_of, regenerate};
pub use report::{QualityReport, measure};
pub use templates::{Stage, Templates};

/// The `generator` of every provenance sidecar this module writes starts with this.
pub const GENERATOR_PREFIX: &str = "sprout gen";

/// Story generation's errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The LLM backend failed (unreachable, timed out, cancelled, no model).
    #[error(transparent)]
    Llm(#[from] crate::llm::Error),
    /// A prompt template is missing, malformed or declares the wrong output.
    #[error("{}: {message}", path.display())]
    Template {
        /// The template file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A manifest does not parse.
    #[error("{}:{error}", path.display())]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// Where and why.
        error: crate::format::ParseError,
    },
    /// The request cannot be made (unknown NPC, no world, bad id).
    #[error("{0}")]
    Request(String),
    /// A file could not be read or written ([`crate::Error::Io`], which names the file), or
    /// writing or drawing failed.
    #[error(transparent)]
    Core(#[from] crate::Error),
    /// RON serialization failed.
    #[error("cannot write RON: {0}")]
    Ron(#[from] ron::Error),
}

impl Error {
    /// For `map_err`: an I/O failure on `path`, as the crate's one [`crate::Error::Io`].
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let io = crate::Error::io(path);
        move |source| Self::Core(io(source))
    }
}

/// Story generation's result type.
pub type Result<T, E = Error> = core::result::Result<T, E>;
