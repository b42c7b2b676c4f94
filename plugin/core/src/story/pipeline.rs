//! One request, start to finish: render the template → constrained generation → validation
//! against the whole content set → a bounded repair loop that feeds the validator's messages
//! back → an atomic write with provenance, or the candidate in `rejected/` with its reasons.
//!
//! The three phases are separate so a batch can run generation on several workers while the
//! content set is only touched to [`Prepared::new`] and [`Candidate::commit`]. This file is the
//! orchestrator, [`Generator`]; the steps live beside it, none importing this file and no two
//! importing each other: `run.rs` (prepare and generate, with repairs), `check.rs` (validation, with the writer's rules
//! in `craft.rs`), `cache.rs` (request keys, the content-addressed cache), `commit.rs`
//! (writing, staging, rejecting), `regen.rs` (`regen --check`) and `project.rs` (the folders).

use crate::content::ContentSet;
use crate::content::provenance::ModelRef;
use crate::llm::{Event, TextBackend};

use super::Result;
pub use super::commit::Staged;
use super::job::JobSpec;
pub use super::job::max_tokens;
pub use super::project::Project;
pub use super::regen::{Regenerated, job_of, regenerate};
pub use super::run::{Candidate, Options, Outcome, Picked, Prepared, Scored, StageTimes, Status};
use super::templates::Templates;

/// What every job of a run shares: the project, the templates, the model (for keys and
/// provenance) and the options. [`generate`](Self::generate) runs one job;
/// [`Batch`](super::Batch) runs many with one.
#[derive(Debug, Clone, Copy)]
pub struct Generator<'a> {
    /// The project.
    pub project: &'a Project,
    /// The templates.
    pub templates: &'a Templates,
    /// The model.
    pub model: &'a ModelRef,
    /// Generation options.
    pub options: &'a Options,
}

impl Generator<'_> {
    /// Renders `spec`'s prompt against `set` and decides whether model work is needed
    /// ([`Prepared::new`]).
    pub fn prepare(&self, set: &ContentSet, spec: &JobSpec) -> Result<Prepared> {
        Prepared::new(
            self.templates,
            self.project,
            set,
            spec,
            self.model,
            self.options,
        )
    }

    /// Runs one job start to finish on `set`: prepare, run on `backend`, commit.
    pub fn generate(
        &self,
        backend: &mut dyn TextBackend,
        set: &mut ContentSet,
        spec: &JobSpec,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<Outcome> {
        self.prepare(set, spec)?.run(backend, on_event)?.commit(set)
    }
}
