//! The validator: every way a set of content files can be broken, each reported with its file,
//! line, column and field, all at once rather than the first only.
//!
//! Rules, by [`DiagnosticKind`]:
//! - parsing: RON syntax and shape, ids `[a-z0-9_]`, asset paths that stay below the root;
//! - files: one world, ids matching file names, no duplicate ids, no reserved ids;
//! - references: every speaker, character, item, quest, flag, location, crop and sprite exists;
//! - dialogue graphs: entry exists, no dangling jump, every node reachable, every node can reach
//!   an end, every choice list keeps an unconditional choice;
//! - text: dialogue and UI length limits, no names from the world's "do not copy" list;
//! - consistency: seeds are seeds, likes are not dislikes, quest prerequisites do not wait on each
//!   other, quest dialogues start and complete their quest, generated files match provenance;
//! - line tags: every tag on a line or choice is declared in the world's `line_tags`;
//! - translations ([`validate_dir`] only): `locales/*.po` parse, and every entry names a line id
//!   that exists (and still has the source it was translated from).

pub mod copying;
mod diagnostic;
pub mod graph;
pub mod limits;
mod rules;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use diagnostic::{Diagnostic, DiagnosticKind, Severity};

use crate::content::ContentSet;

/// The outcome of validating a folder.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The folder validated.
    pub root: PathBuf,
    /// Content files found (parsed or not).
    pub files: usize,
    /// Every problem, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.diagnostics.len() - self.error_count()
    }

    /// The report as a release sees it: what only a finished game must not ship (placeholders)
    /// becomes an error.
    pub fn for_release(mut self) -> Self {
        for d in &mut self.diagnostics {
            if d.kind == DiagnosticKind::Placeholder {
                d.severity = Severity::Error;
            }
        }
        self
    }

    /// Whether there is no error (warnings are allowed).
    pub fn is_ok(&self) -> bool {
        self.error_count() == 0
    }
}

/// Loads every content file below `root` and validates the whole set.
pub fn validate_dir(root: &Path) -> Report {
    let (set, mut diagnostics) = ContentSet::load_dir(root);
    let unparsed = diagnostics
        .iter()
        .filter(|d| {
            matches!(
                d.kind,
                DiagnosticKind::Parse | DiagnosticKind::InvalidId | DiagnosticKind::InvalidPath
            )
        })
        .count();
    diagnostics.extend(validate_set(&set));
    diagnostics.extend(crate::loc::locale_diagnostics(&set));
    sort(&mut diagnostics);
    Report {
        root: root.to_owned(),
        files: set.len() + unparsed,
        diagnostics,
    }
}

/// Validates a set of already parsed files against each other and against the files under its root.
pub fn validate_set(set: &ContentSet) -> Vec<Diagnostic> {
    let mut out = rules::check(set);
    sort(&mut out);
    out
}

fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| (&a.file, a.position, a.kind).cmp(&(&b.file, b.position, b.kind)));
}
