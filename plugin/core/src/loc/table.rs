//! The lookup a game shows lines through: a line's translation, or its source.

use std::collections::HashMap;
use std::path::Path;

use crate::content::Id;

use super::Result;
use super::catalog::Catalog;

/// One language's translations, by line id. A translation is used only where it is not fuzzy
/// and was made from the line's current source (gettext's own rule: context and source text
/// both match); anything else shows the source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Translations {
    lang: String,
    by_line: HashMap<Id, (String, String)>,
}

impl Translations {
    /// No translations: every line shows its source.
    pub fn source() -> Self {
        Self::default()
    }

    /// The usable translations of a catalog.
    pub fn from_catalog(lang: &str, catalog: &Catalog) -> Self {
        let by_line = catalog
            .entries()
            .iter()
            .filter(|e| !e.obsolete && !e.fuzzy())
            .filter_map(|e| {
                let line = Id::new(e.msgctxt.as_deref()?).ok()?;
                let text = e.msgstr.as_deref().filter(|s| !s.is_empty())?;
                Some((line, (e.msgid.clone(), text.to_owned())))
            })
            .collect();
        Self {
            lang: lang.to_owned(),
            by_line,
        }
    }

    /// Parses PO text (`path` names it in errors).
    pub fn parse(lang: &str, text: &str, path: &Path) -> Result<Self> {
        Ok(Self::from_catalog(lang, &Catalog::parse(text, path)?))
    }

    /// The language, empty for [`Translations::source`].
    pub fn language(&self) -> &str {
        &self.lang
    }

    /// How many lines have a usable translation.
    pub fn len(&self) -> usize {
        self.by_line.len()
    }

    /// Whether no line has one.
    pub fn is_empty(&self) -> bool {
        self.by_line.is_empty()
    }

    /// The translation of `line` when it was made from `source`.
    pub fn get(&self, line: &Id, source: &str) -> Option<&str> {
        self.by_line
            .get(line)
            .filter(|(from, _)| from == source)
            .map(|(_, text)| text.as_str())
    }

    /// What to show for `line`: its translation, else `source`.
    pub fn text<'a>(&'a self, line: &Id, source: &'a str) -> &'a str {
        self.get(line, source).unwrap_or(source)
    }
}
