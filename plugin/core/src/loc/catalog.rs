//! A PO catalog and its update from the source lines, keyed by line id (`msgctxt`).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use rspolib::{POEntry, POFile, pofile};

use super::lines::SourceLine;
use super::{Error, Result};

/// The `fuzzy` flag: a translation a translator must look at again.
pub(super) const FUZZY: &str = "fuzzy";

/// One language's PO file, parsed.
#[derive(Debug)]
pub struct Catalog {
    po: POFile,
}

impl Catalog {
    /// An empty catalog for `lang`, with the header fields gettext tools expect (`project` is
    /// the game's title; `now` the revision date, `YYYY-MM-DD HH:MM+0000`).
    pub fn new(lang: &str, project: &str, now: &str) -> Self {
        let mut po = POFile::new(Vec::<u8>::new().into());
        po.header = Some(format!(
            "{project}: dialogue translations ({lang}).\nEach entry is one line: msgctxt is its line id, msgid the source text."
        ));
        let meta = [
            ("Project-Id-Version", project),
            ("PO-Revision-Date", now),
            ("Last-Translator", ""),
            ("Language-Team", ""),
            ("Language", lang),
            ("MIME-Version", "1.0"),
            ("Content-Type", "text/plain; charset=UTF-8"),
            ("Content-Transfer-Encoding", "8bit"),
            ("X-Generator", "Sprout (sprout loc export)"),
        ];
        for (k, v) in meta {
            po.metadata.insert(k.to_owned(), v.to_owned());
        }
        Self { po }
    }

    /// Parses PO text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        // rspolib reads a string as a path when a file of that name exists; PO text always has a
        // line break, which no path here has.
        let text = if text.contains('\n') {
            text.to_owned()
        } else {
            format!("{text}\n")
        };
        let po = pofile(text.as_str()).map_err(|e| {
            let line = match &e {
                rspolib::errors::SyntaxError::UnescapedDoubleQuoteFound { line, .. }
                | rspolib::errors::SyntaxError::Custom { line, .. }
                | rspolib::errors::SyntaxError::Generic { line, .. } => Some(*line),
                _ => None,
            };
            Error::Parse {
                path: path.to_owned(),
                line,
                message: e.to_string(),
            }
        })?;
        Ok(Self { po })
    }

    /// Reads the PO file at `path`; `None` when there is none.
    pub fn read(path: &Path) -> Result<Option<Self>> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(crate::Error::Io {
                path: path.to_owned(),
                source,
            }
            .into()),
        }
    }

    /// Writes it to `path` atomically (temp + rename), so a watching game reloads it whole.
    pub fn write(&self, path: &Path) -> Result<()> {
        crate::fs::write_atomic(path, self.to_po_string().as_bytes())?;
        Ok(())
    }

    /// The catalog as PO text.
    pub fn to_po_string(&self) -> String {
        self.po.to_string()
    }

    /// The `Language` header field.
    pub fn language(&self) -> Option<&str> {
        self.po.metadata.get("Language").map(String::as_str)
    }

    /// The parsed file, to edit entries (as a translator's tool would).
    pub fn po_mut(&mut self) -> &mut POFile {
        &mut self.po
    }

    /// Every entry, obsolete ones included, in file order.
    pub fn entries(&self) -> &[POEntry] {
        &self.po.entries
    }
}

/// What an [`export`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportStats {
    /// New lines, untranslated.
    pub added: usize,
    /// Translated lines whose source changed: now fuzzy.
    pub fuzzied: usize,
    /// Lines that are gone, with their translation kept as obsolete entries (`#~`).
    pub obsoleted: usize,
    /// Untranslated entries of lines that are gone, dropped.
    pub dropped: usize,
    /// Obsolete entries whose line came back.
    pub revived: usize,
    /// Lines as they were.
    pub kept: usize,
}

/// Creates or updates `lang`'s catalog from `lines`, like `msgmerge` keyed by line id: every
/// line gets an entry in source order with fresh comments and reference; a translation whose
/// source changed is kept, marked fuzzy, with the old source as `#| msgid`; entries of lines
/// that are gone become obsolete (`#~`) when translated and are dropped when not. Updating an
/// up-to-date catalog changes nothing.
pub fn export(
    existing: Option<Catalog>,
    lines: &[SourceLine],
    lang: &str,
    project: &str,
    now: &str,
) -> (Catalog, ExportStats) {
    let mut catalog = existing.unwrap_or_else(|| Catalog::new(lang, project, now));
    let mut stats = ExportStats::default();
    let old = std::mem::take(&mut catalog.po.entries);
    // Entries without a context, or repeating one, are not ours: they go on as they were.
    let mut by_line: HashMap<String, POEntry> = HashMap::new();
    let mut foreign = Vec::new();
    for entry in old {
        match entry.msgctxt.clone() {
            Some(ctxt) if !by_line.contains_key(&ctxt) => {
                by_line.insert(ctxt, entry);
            }
            _ => foreign.push(entry),
        }
    }
    let mut seen = HashSet::new();
    for line in lines {
        if !seen.insert(line.id.as_str()) {
            continue;
        }
        let entry = match by_line.remove(line.id.as_str()) {
            Some(mut e) => {
                if e.obsolete {
                    e.obsolete = false;
                    stats.revived += 1;
                }
                if e.msgid == line.text {
                    stats.kept += 1;
                } else {
                    let translated = e.msgstr.as_deref().is_some_and(|s| !s.is_empty());
                    if translated {
                        if !e.fuzzy() {
                            e.flags.push(FUZZY.to_owned());
                            // The source the translation was made from, for the translator's diff.
                            e.previous_msgid = Some(core::mem::take(&mut e.msgid));
                        }
                        stats.fuzzied += 1;
                    } else {
                        stats.kept += 1;
                    }
                    e.msgid.clone_from(&line.text);
                }
                e
            }
            None => {
                stats.added += 1;
                let mut e = POEntry::new(0);
                e.msgctxt = Some(line.id.to_string());
                e.msgid.clone_from(&line.text);
                e.msgstr = Some(String::new());
                e
            }
        };
        catalog.po.entries.push(described(entry, line));
    }
    // What is left names lines that are gone (or were obsolete already).
    let mut gone: Vec<POEntry> = by_line.into_values().chain(foreign).collect();
    gone.sort_by_key(|e| e.linenum);
    for mut e in gone {
        let translated = e.msgstr.as_deref().is_some_and(|s| !s.is_empty());
        if e.obsolete {
            catalog.po.entries.push(e);
        } else if translated {
            e.obsolete = true;
            e.occurrences.clear();
            e.comment = None;
            stats.obsoleted += 1;
            catalog.po.entries.push(e);
        } else {
            stats.dropped += 1;
        }
    }
    (catalog, stats)
}

/// `entry` with the comments and reference of `line`.
fn described(mut entry: POEntry, line: &SourceLine) -> POEntry {
    let mut notes = vec![format!("speaker: {} ({})", line.speaker_name, line.speaker)];
    notes.push(format!("situation: {}, tree {}", line.situation, line.tree));
    if let Some(answers) = &line.answers {
        notes.push(format!(
            "a choice the player picks, answering line {answers}"
        ));
    }
    if !line.tags.is_empty() {
        let tags: Vec<&str> = line.tags.iter().map(crate::content::Id::as_str).collect();
        notes.push(format!("tags: {}", tags.join(", ")));
    }
    entry.comment = Some(notes.join("\n"));
    entry.occurrences = vec![(line.file.clone(), line.file_line.to_string())];
    entry
}
