//! How far a translation is, and what is wrong with a catalog: entries that name no line, a line
//! given twice, entries whose source changed since the last export.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Serialize;

use crate::content::ContentSet;
use crate::format::Position;
use crate::validate::{Diagnostic, DiagnosticKind};

use super::catalog::Catalog;
use super::lines::{SourceLine, source_lines};
use super::{Error, languages};

/// One language's progress, against the lines of the content as it is now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Lines of the content.
    pub lines: usize,
    /// Lines with a translation of their current source, not fuzzy.
    pub translated: usize,
    /// Lines whose translation is marked fuzzy, or was made from a source that changed since
    /// (the catalog needs `sprout loc export`).
    pub fuzzy: usize,
    /// Lines with no translation.
    pub missing: usize,
    /// Obsolete entries (`#~`), and entries that name no line of the content.
    pub obsolete: usize,
}

impl Counts {
    /// Whether every line is translated and none is fuzzy.
    pub fn complete(&self) -> bool {
        self.missing == 0 && self.fuzzy == 0
    }
}

/// Something wrong with one entry of a catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogProblem {
    /// The rule.
    pub kind: DiagnosticKind,
    /// The line of the PO file the entry starts on, when known.
    pub po_line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// Counts `catalog` against `lines`, and lists its problems.
pub fn check_catalog(catalog: &Catalog, lines: &[SourceLine]) -> (Counts, Vec<CatalogProblem>) {
    let source: HashMap<&str, &str> = lines
        .iter()
        .map(|l| (l.id.as_str(), l.text.as_str()))
        .collect();
    let mut counts = Counts {
        lines: source.len(),
        ..Counts::default()
    };
    let mut problems = Vec::new();
    let mut covered = HashSet::new();
    for e in catalog.entries() {
        let po_line = (e.linenum > 0).then_some(e.linenum);
        if e.obsolete {
            counts.obsolete += 1;
            continue;
        }
        let Some(ctxt) = e.msgctxt.as_deref() else {
            problems.push(CatalogProblem {
                kind: DiagnosticKind::InvalidValue,
                po_line,
                message: format!(
                    "entry `{}` has no msgctxt; every entry names its line id in msgctxt",
                    short(&e.msgid)
                ),
            });
            counts.obsolete += 1;
            continue;
        };
        let Some(text) = source.get(ctxt) else {
            problems.push(CatalogProblem {
                kind: DiagnosticKind::UnknownReference,
                po_line,
                message: format!("msgctxt `{ctxt}` is no line id of the dialogue; run `sprout loc export` to make it obsolete"),
            });
            counts.obsolete += 1;
            continue;
        };
        if !covered.insert(ctxt) {
            problems.push(CatalogProblem {
                kind: DiagnosticKind::DuplicateId,
                po_line,
                message: format!("line `{ctxt}` has two entries"),
            });
            continue;
        }
        let has_text = e.msgstr.as_deref().is_some_and(|s| !s.is_empty());
        if e.msgid != *text {
            problems.push(CatalogProblem {
                kind: DiagnosticKind::StaleTranslation,
                po_line,
                message: format!(
                    "line `{ctxt}` changed since the catalog was exported; run `sprout loc export`"
                ),
            });
            if has_text {
                counts.fuzzy += 1;
            } else {
                counts.missing += 1;
            }
        } else if !has_text {
            counts.missing += 1;
        } else if e.fuzzy() {
            counts.fuzzy += 1;
        } else {
            counts.translated += 1;
        }
    }
    counts.missing += source.len() - covered.len();
    (counts, problems)
}

/// The diagnostics of every PO file below the set's root (`locales/*.po`): files that do not
/// parse, entries that name no line id, duplicates, stale entries (a warning).
pub fn locale_diagnostics(set: &ContentSet) -> Vec<Diagnostic> {
    let root: &Path = &set.root;
    let langs = languages(root);
    if langs.is_empty() {
        return Vec::new();
    }
    let lines = source_lines(set);
    let mut out = Vec::new();
    for (_, path) in langs {
        match Catalog::read(&path) {
            Ok(Some(catalog)) => {
                for p in check_catalog(&catalog, &lines).1 {
                    let d = Diagnostic::new(p.kind, &path, p.message);
                    out.push(match p.po_line {
                        Some(line) => d.at(Position { line, col: 1 }),
                        None => d,
                    });
                }
            }
            Ok(None) => {}
            Err(Error::Parse { line, message, .. }) => {
                let d = Diagnostic::new(DiagnosticKind::Parse, &path, message);
                out.push(match line {
                    Some(line) => d.at(Position { line, col: 1 }),
                    None => d,
                });
            }
            Err(e) => out.push(Diagnostic::new(DiagnosticKind::Io, &path, e.to_string())),
        }
    }
    out
}

fn short(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}
