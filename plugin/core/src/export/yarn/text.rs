//! Text as Yarn reads it: lines and speaker names escaped, identifiers made legal.

use crate::content::ContentSet;
use crate::content::dialogue::{NARRATOR, PLAYER};

use super::PLAYER_NAME;

/// A Yarn line: `Name: text`, or the text alone (with an empty name where the runtime would
/// otherwise read a name out of it).
pub(super) fn yarn_line(speaker: Option<&str>, text: &str) -> String {
    let text = single_line(text);
    let body = escape_text(&text);
    match speaker {
        Some(name) => format!("{}: {body}", escape_text(name)),
        None if text.contains(':') || text.starts_with("===") => format!(": {body}"),
        None => body,
    }
}

/// The name a speaker's lines go out under; `None` for the narrator.
pub(super) fn speaker_name(speaker: &str, content: &ContentSet) -> Option<String> {
    match speaker {
        NARRATOR => None,
        PLAYER => Some(PLAYER_NAME.to_owned()),
        id => {
            let name = content
                .characters
                .iter()
                .find(|c| c.value.id.as_str() == id)
                .map(|c| sanitize_speaker(&c.value.name))
                .filter(|n| !n.is_empty());
            Some(name.unwrap_or_else(|| id.to_owned()))
        }
    }
}

/// A character's name as a Yarn speaker: without the `:` that would end it early or the markup
/// brackets that the runtime would not undo in a name, on one line, not opening with `===`.
pub(super) fn sanitize_speaker(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| match c {
            ':' | '[' | ']' => ' ',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    let words: Vec<&str> = cleaned.split_whitespace().collect();
    words.join(" ").trim_start_matches('=').trim().to_owned()
}

/// Line breaks and other control characters as spaces, surrounding whitespace trimmed.
pub(super) fn single_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Escapes what Yarn reads as syntax in a line: `\ < > { } # /` (commands, expressions,
/// hashtags, comments and escapes themselves) and `[ ]` (markup, undone by the runtime's markup
/// parser).
pub(super) fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if matches!(c, '\\' | '<' | '>' | '{' | '}' | '#' | '/' | '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `s` as a Yarn identifier (a node title): ASCII letters, digits and `_`, starting with a
/// letter. Other characters become `_`; `N_` goes in front of a start that is not a letter.
pub(super) fn sanitize_identifier(s: &str) -> String {
    let body: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if body.starts_with(|c: char| c.is_ascii_alphabetic()) {
        body
    } else {
        format!("N_{body}")
    }
}
