//! Diagnostics: one problem, where it is, and what kind of problem it is.

use core::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::format::{FieldPath, ParseError, ParseErrorKind, Position};

/// How bad a problem is. Only errors make validation fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth a look; the content still loads and plays.
    Warning,
    /// The content is broken: the game would misbehave or refuse it.
    Error,
}

/// The rule a diagnostic comes from. The `snake_case` name is stable: tools match on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DiagnosticKind {
    /// The file could not be read.
    Io,
    /// Not valid RON, or not the shape of its content type.
    Parse,
    /// An id outside `[a-z0-9_]{1,64}`.
    InvalidId,
    /// An asset path that is absolute, escapes the root or uses odd characters.
    InvalidPath,
    /// A `.ron` file in a content folder whose name matches no content type.
    UnknownFileType,
    /// The id inside a file differs from the id its file name implies.
    IdFileMismatch,
    /// Two things of the same kind share an id (or two lines share a line id).
    DuplicateId,
    /// An id that the game reserves (`player`, `narrator`).
    ReservedId,
    /// There is no world file.
    MissingWorld,
    /// A reference to a character, item, quest, flag, location or crop that does not exist.
    UnknownReference,
    /// An asset path that names no file.
    MissingFile,
    /// A dialogue's entry node does not exist.
    MissingEntry,
    /// A jump to a node that does not exist.
    DanglingJump,
    /// A dialogue node no path from the entry reaches.
    UnreachableNode,
    /// A dialogue node from which the conversation can never end.
    NoEnding,
    /// A choice list whose every choice has a condition, so the player can get stuck.
    NoFallbackChoice,
    /// A speaker who is not a participant of the conversation.
    UnknownSpeaker,
    /// Text longer than the place it is shown allows.
    TextTooLong,
    /// Text that must not be empty is empty.
    EmptyText,
    /// A number or list outside its allowed range.
    InvalidValue,
    /// Two facts that cannot both hold (an item both liked and disliked, two places at once).
    Contradiction,
    /// A seed that is not a seed, produce that is a seed.
    WrongCategory,
    /// Quests whose prerequisites wait on each other.
    QuestCycle,
    /// A quest-offer or quest-complete dialogue that never starts or completes its quest.
    MissingQuestEffect,
    /// A quest nothing ever starts.
    QuestNeverStarted,
    /// A name from the world's "do not copy" list.
    CopiedName,
    /// A provenance sidecar for a file that does not exist.
    OrphanSidecar,
    /// A generated file whose bytes no longer match its provenance.
    EditedSinceGeneration,
    /// A placeholder (provenance generator `sprout placeholder`) where finished art belongs:
    /// a warning while developing, an error for a release (`sprout validate --release`).
    Placeholder,
    /// A translation entry whose source line changed since its catalog was exported.
    StaleTranslation,
}

impl DiagnosticKind {
    /// The stable name of the rule, as in `--json` output.
    pub fn code(self) -> &'static str {
        match self {
            DiagnosticKind::Io => "io",
            DiagnosticKind::Parse => "parse",
            DiagnosticKind::InvalidId => "invalid_id",
            DiagnosticKind::InvalidPath => "invalid_path",
            DiagnosticKind::UnknownFileType => "unknown_file_type",
            DiagnosticKind::IdFileMismatch => "id_file_mismatch",
            DiagnosticKind::DuplicateId => "duplicate_id",
            DiagnosticKind::ReservedId => "reserved_id",
            DiagnosticKind::MissingWorld => "missing_world",
            DiagnosticKind::UnknownReference => "unknown_reference",
            DiagnosticKind::MissingFile => "missing_file",
            DiagnosticKind::MissingEntry => "missing_entry",
            DiagnosticKind::DanglingJump => "dangling_jump",
            DiagnosticKind::UnreachableNode => "unreachable_node",
            DiagnosticKind::NoEnding => "no_ending",
            DiagnosticKind::NoFallbackChoice => "no_fallback_choice",
            DiagnosticKind::UnknownSpeaker => "unknown_speaker",
            DiagnosticKind::TextTooLong => "text_too_long",
            DiagnosticKind::EmptyText => "empty_text",
            DiagnosticKind::InvalidValue => "invalid_value",
            DiagnosticKind::Contradiction => "contradiction",
            DiagnosticKind::WrongCategory => "wrong_category",
            DiagnosticKind::QuestCycle => "quest_cycle",
            DiagnosticKind::MissingQuestEffect => "missing_quest_effect",
            DiagnosticKind::QuestNeverStarted => "quest_never_started",
            DiagnosticKind::CopiedName => "copied_name",
            DiagnosticKind::OrphanSidecar => "orphan_sidecar",
            DiagnosticKind::EditedSinceGeneration => "edited_since_generation",
            DiagnosticKind::Placeholder => "placeholder",
            DiagnosticKind::StaleTranslation => "stale_translation",
        }
    }

    /// The default severity of the rule.
    pub fn severity(self) -> Severity {
        match self {
            DiagnosticKind::UnknownFileType
            | DiagnosticKind::QuestNeverStarted
            | DiagnosticKind::EditedSinceGeneration
            | DiagnosticKind::Placeholder
            | DiagnosticKind::StaleTranslation => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The rule.
    pub kind: DiagnosticKind,
    /// The file (or folder, for problems of the whole set).
    pub file: PathBuf,
    /// Line and column, when the problem has a place in the file.
    #[serde(flatten)]
    pub position: Option<Position>,
    /// The field, e.g. `nodes[3].next.Goto`.
    pub field: Option<String>,
    /// What is wrong, in a sentence.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic of `kind` at its default severity.
    pub fn new(kind: DiagnosticKind, file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self {
            severity: kind.severity(),
            kind,
            file: file.into(),
            position: None,
            field: None,
            message: message.into(),
        }
    }

    /// Sets the place in the file.
    #[must_use]
    pub fn at(mut self, position: Position) -> Self {
        self.position = Some(position);
        self
    }

    /// Sets the field, and the place by looking the field up in `source`.
    #[must_use]
    pub fn at_field(mut self, source: &str, field: &FieldPath) -> Self {
        self.position = Some(crate::format::locate(source, field));
        if !field.is_root() {
            self.field = Some(field.to_string());
        }
        self
    }

    /// A diagnostic for a file that failed to parse.
    pub fn from_parse(file: impl Into<PathBuf>, e: ParseError) -> Self {
        let kind = match e.kind {
            ParseErrorKind::Syntax => DiagnosticKind::Parse,
            ParseErrorKind::InvalidId => DiagnosticKind::InvalidId,
            ParseErrorKind::InvalidPath => DiagnosticKind::InvalidPath,
        };
        Self {
            field: e.field.map(|f| f.to_string()),
            position: Some(e.position),
            ..Self::new(kind, file, e.message)
        }
    }

    /// Whether this is an error (not a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// `path:line:col: error: field: message [rule]`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(p) = self.position {
            write!(f, ":{}:{}", p.line, p.col)?;
        }
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, ": {severity}: ")?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        write!(f, "{} [{}]", self.message, self.kind.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_like_a_compiler() {
        let d = Diagnostic {
            field: Some("nodes[1].next.Goto".into()),
            ..Diagnostic::new(
                DiagnosticKind::DanglingJump,
                "a/x.dialogue.ron",
                "no node `z`",
            )
        }
        .at(Position { line: 12, col: 5 });
        assert_eq!(
            d.to_string(),
            "a/x.dialogue.ron:12:5: error: nodes[1].next.Goto: no node `z` [dangling_jump]"
        );
        assert_eq!(
            DiagnosticKind::QuestNeverStarted.code(),
            "quest_never_started"
        );
    }
}
