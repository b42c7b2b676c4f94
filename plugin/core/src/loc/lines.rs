//! The translatable lines of a content set: every node's line and every choice, in file order,
//! with what a translator or a voice actor needs to know about each.

use std::path::{Path, PathBuf};

use crate::content::{ContentSet, Id, Line};
use crate::format::{FieldPath, locate};

/// One line to translate or record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLine {
    /// The stable line id.
    pub id: Id,
    /// The source text.
    pub text: String,
    /// Speaker id (`player` for a choice).
    pub speaker: Id,
    /// The speaker's name (`Player`, `Narrator` for the two built-in speakers).
    pub speaker_name: String,
    /// The tree it belongs to.
    pub tree: Id,
    /// The tree's situation, as RON (`FirstMeeting`, `QuestOffer("stones_for_the_span")`).
    pub situation: String,
    /// Its line tags.
    pub tags: Vec<Id>,
    /// For a choice: the line it answers.
    pub answers: Option<Id>,
    /// The file, relative to the asset root, with `/` separators.
    pub file: String,
    /// The line of the file where its line id stands (1-based).
    pub file_line: usize,
}

impl SourceLine {
    /// Whether it is a choice the player picks.
    pub fn is_choice(&self) -> bool {
        self.answers.is_some()
    }
}

/// Every line of every tree in `set`, tree by tree in file order, each node's line before its
/// choices.
pub fn source_lines(set: &ContentSet) -> Vec<SourceLine> {
    let mut docs: Vec<_> = set.dialogues.iter().collect();
    docs.sort_by(|a, b| a.path.cmp(&b.path));
    let mut out = Vec::new();
    for doc in docs {
        let tree = &doc.value;
        let file = relative_path(&set.root, &doc.path);
        let situation = ron::to_string(&tree.situation).unwrap_or_default();
        for (i, node) in tree.nodes.iter().enumerate() {
            let at = FieldPath::root().field("nodes").index(i);
            let lines = core::iter::once((Line::Node(node), at.field("line"))).chain(
                node.choices().iter().enumerate().map(|(k, choice)| {
                    let f = at.field("next").variant("Choices").index(k).field("line");
                    (Line::Choice { node, choice }, f)
                }),
            );
            for (line, field) in lines {
                let speaker = line.speaker();
                out.push(SourceLine {
                    id: line.id().clone(),
                    text: line.text().to_owned(),
                    speaker: Id::new(speaker).unwrap_or_else(|_| node.speaker.clone()),
                    speaker_name: speaker_name(set, speaker),
                    tree: tree.id.clone(),
                    situation: situation.clone(),
                    tags: line.tags().to_vec(),
                    answers: line.is_choice().then(|| node.line.clone()),
                    file: file.clone(),
                    file_line: locate(&doc.source, &field).line,
                });
            }
        }
    }
    out
}

/// The name a speaker goes by: the character's name, `Player` or `Narrator`.
fn speaker_name(set: &ContentSet, speaker: &str) -> String {
    use crate::content::dialogue::{NARRATOR, PLAYER};
    match speaker {
        PLAYER => "Player".into(),
        NARRATOR => "Narrator".into(),
        id => set
            .characters
            .iter()
            .find(|c| c.value.id.as_str() == id)
            .map_or_else(|| id.to_owned(), |c| c.value.name.clone()),
    }
}

/// `path` relative to `root`, with `/` separators (as PO references and CSV cells want it).
pub fn relative_path(root: &Path, path: &Path) -> String {
    let rel: PathBuf = path.strip_prefix(root).unwrap_or(path).to_owned();
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}
