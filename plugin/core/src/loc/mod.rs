//! Localisation: every dialogue line (node or choice) by its stable line id, as gettext PO string
//! tables at `locales/<lang>.po` below the asset root, one per language.
//!
//! Poedit, Weblate, Crowdin and Lokalise all read PO. An entry is one line:
//!
//! ```text
//! #. speaker: Sefa Marlow (sefa)
//! #. situation: FirstMeeting, tree sefa_first
//! #. tags: happy, thinking
//! #: dialogue/sefa_first.dialogue.ron:57
//! msgctxt "sefa_first_sweeter"
//! msgid "Something local... Mm. Bettany's honey?"
//! msgstr ""
//! ```
//!
//! `msgctxt` is the line id, `msgid` the source text, the extracted comments (`#.`) say who
//! speaks, in which situation, with which tags (and, for a choice, the line it answers), and the
//! reference (`#:`) is where the line id stands in its file.
//!
//! - [`lines`](source_lines): the translatable lines of a content set, in file order;
//! - [`export`]: creates or updates a catalog like `msgmerge` would, keyed by line id:
//!   translations kept, changed sources fuzzy (with the old source as `#| msgid`), removed
//!   lines obsolete; running it twice changes nothing;
//! - [`check_catalog`]: translated, fuzzy, missing and obsolete counts, and what is wrong with
//!   a catalog (entries naming no line, duplicates);
//! - [`Translations`]: the lookup a game uses: a line's translation when its source still
//!   matches and it is not fuzzy, else the source.
//!
//! PO files are read and written with [`rspolib`], a port of Python's `polib`.

mod catalog;
mod check;
mod lines;
mod table;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use catalog::{Catalog, ExportStats, export};
pub use check::{CatalogProblem, Counts, check_catalog, locale_diagnostics};
pub use lines::{SourceLine, relative_path, source_lines};
pub use table::Translations;

/// The folder below the asset root that holds the PO files.
pub const LOCALES_DIR: &str = "locales";

/// The language the content is written in: what shows where no translation is usable, and the
/// voice-over language by default.
pub const SOURCE_LANGUAGE: &str = "en";

/// The extension of gettext string tables, without a dot.
pub const EXTENSION: &str = "po";

/// Errors of localisation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A PO file that does not parse.
    #[error("{}: {message}", path.display())]
    Parse {
        /// The file (or a name for text that came from elsewhere).
        path: PathBuf,
        /// The line the parser stopped at, when it says.
        line: Option<usize>,
        /// What the parser said.
        message: String,
    },
    /// A language code that is not `ll` or `ll_CC` (`fr`, `pt_BR`).
    #[error("`{0}` is not a language code: use `fr`, `de`, `pt_BR`…")]
    Language(String),
    /// A file could not be read or written.
    #[error(transparent)]
    Core(#[from] crate::Error),
}

/// Result with localisation's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Checks a language code: two or three lower-case letters, then optionally `_` and an upper-case
/// region (`fr`, `ast`, `pt_BR`, `zh_Hans` is refused: use `zh_CN`).
pub fn check_language(lang: &str) -> Result<()> {
    let (language, region) = lang.split_once('_').unwrap_or((lang, ""));
    let ok_language =
        (2..=3).contains(&language.len()) && language.bytes().all(|b| b.is_ascii_lowercase());
    let ok_region = region.is_empty()
        || (region.len() == 2 && region.bytes().all(|b| b.is_ascii_uppercase()))
        || (region.len() == 3 && region.bytes().all(|b| b.is_ascii_digit()));
    if ok_language && ok_region {
        Ok(())
    } else {
        Err(Error::Language(lang.to_owned()))
    }
}

/// The PO file of `lang` below the asset root: `<root>/locales/<lang>.po`.
pub fn po_path(root: &Path, lang: &str) -> PathBuf {
    root.join(LOCALES_DIR).join(format!("{lang}.{EXTENSION}"))
}

/// The languages that have a PO file below the asset root, sorted, with their paths.
pub fn languages(root: &Path) -> Vec<(String, PathBuf)> {
    let Ok(dir) = std::fs::read_dir(root.join(LOCALES_DIR)) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = dir
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == EXTENSION) && p.is_file())
        .filter_map(|p| Some((p.file_stem()?.to_str()?.to_owned(), p.clone())))
        .collect();
    out.sort();
    out
}
