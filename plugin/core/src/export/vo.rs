//! The voice-over script: one row per line (node or choice), keyed by line id, with who says it,
//! the text, the situation, its tags and the audio file the game will play for it.
//!
//! The expected recording of line `l` in language `lang` is `audio/vo/<lang>/<l>.ogg` below the
//! asset root; the game's dialogue runner announces each line's id as it is shown, so a game
//! plays that file.

use std::path::Path;

use crate::content::{ContentSet, Id};
use crate::loc::{SourceLine, source_lines};

/// The folder below the asset root where recordings live, one folder per language.
pub const VO_DIR: &str = "audio/vo";

/// The recording of `line` in `lang`, relative to the asset root: `audio/vo/<lang>/<line>.ogg`.
pub fn audio_path(lang: &str, line: &Id) -> String {
    format!("{VO_DIR}/{lang}/{line}.ogg")
}

/// One row of the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoRow {
    /// The line, as the translators see it too.
    pub line: SourceLine,
    /// The expected recording, relative to the asset root.
    pub audio: String,
    /// Whether that file exists.
    pub recorded: bool,
}

/// Every line of `set` once, in file order, with its expected recording in `lang`.
pub fn vo_script(set: &ContentSet, lang: &str) -> Vec<VoRow> {
    source_lines(set)
        .into_iter()
        .map(|line| {
            let audio = audio_path(lang, &line.id);
            let recorded = set.root.join(Path::new(&audio)).is_file();
            VoRow {
                line,
                audio,
                recorded,
            }
        })
        .collect()
}

/// The columns of [`to_csv`].
pub const CSV_HEADER: [&str; 10] = [
    "line_id",
    "speaker",
    "speaker_name",
    "text",
    "situation",
    "tree",
    "tags",
    "answers",
    "audio_file",
    "recorded",
];

/// The script as CSV (RFC 4180: fields quoted where needed, `"` doubled, CRLF line ends).
pub fn to_csv(rows: &[VoRow]) -> String {
    let mut out = String::new();
    push_row(&mut out, CSV_HEADER.iter().map(|s| (*s).to_owned()));
    for r in rows {
        let l = &r.line;
        let tags: Vec<&str> = l.tags.iter().map(Id::as_str).collect();
        push_row(
            &mut out,
            [
                l.id.to_string(),
                l.speaker.to_string(),
                l.speaker_name.clone(),
                l.text.clone(),
                l.situation.clone(),
                l.tree.to_string(),
                tags.join(" "),
                l.answers.as_ref().map(Id::to_string).unwrap_or_default(),
                r.audio.clone(),
                if r.recorded { "yes" } else { "no" }.to_owned(),
            ],
        );
    }
    out
}

fn push_row(out: &mut String, cells: impl IntoIterator<Item = String>) {
    let cells: Vec<String> = cells.into_iter().map(|c| quoted(&c)).collect();
    out.push_str(&cells.join(","));
    out.push_str("\r\n");
}

fn quoted(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_only_where_csv_needs_it() {
        assert_eq!(quoted("plain"), "plain");
        assert_eq!(quoted("a, b"), "\"a, b\"");
        assert_eq!(quoted("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(
            audio_path("en", &Id::new("sefa_first_start").unwrap()),
            "audio/vo/en/sefa_first_start.ogg"
        );
    }
}
