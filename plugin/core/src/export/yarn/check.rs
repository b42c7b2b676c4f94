//! What keeps a tree, or a project of trees, from being written faithfully: missing entries and
//! jump targets, ids used twice, empty texts, node titles two trees would share.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::content::{ContentKind, ContentSet, DialogueTree, Document, Id, Next, Target};
use crate::format::FieldPath;
use crate::validate::{Diagnostic, DiagnosticKind};

use super::text::single_line;
use super::{node_title, start_title};

/// Where problems with a tree are reported: its file in `content`, if it came from there.
struct Place<'a> {
    path: PathBuf,
    document: Option<&'a Document<DialogueTree>>,
}

impl<'a> Place<'a> {
    fn of(tree: &DialogueTree, content: &'a ContentSet) -> Self {
        let document = content
            .dialogues
            .iter()
            .find(|d| core::ptr::eq(&d.value, tree))
            .or_else(|| content.dialogues.iter().find(|d| d.value.id == tree.id));
        let path = document.map_or_else(
            || {
                Path::new(ContentKind::Dialogue.folder())
                    .join(ContentKind::Dialogue.file_name(&tree.id))
            },
            |d| d.path.clone(),
        );
        Self { path, document }
    }

    fn report(&self, kind: DiagnosticKind, field: &FieldPath, message: String) -> Diagnostic {
        let d = Diagnostic::new(kind, &self.path, message);
        match self.document {
            Some(doc) => d.at_field(&doc.source, field),
            None => d,
        }
    }
}

/// What keeps a tree from being written faithfully.
pub(super) fn check_tree(tree: &DialogueTree, content: &ContentSet) -> Vec<Diagnostic> {
    let place = Place::of(tree, content);
    let root = FieldPath::root();
    let mut problems = Vec::new();
    let mut nodes = BTreeSet::new();
    let mut lines = BTreeSet::new();
    for (i, node) in tree.nodes.iter().enumerate() {
        let at = root.field("nodes").index(i);
        if !nodes.insert(&node.id) {
            problems.push(place.report(
                DiagnosticKind::DuplicateId,
                &at.field("id"),
                format!("node `{}` is defined twice in this tree", node.id),
            ));
        }
        let choices = node.choices().iter().enumerate().map(|(k, c)| {
            let f = at.field("next").variant("Choices").index(k).field("line");
            (&c.line, f)
        });
        for (line, f) in core::iter::once((&node.line, at.field("line"))).chain(choices) {
            if !lines.insert(line) {
                problems.push(place.report(
                    DiagnosticKind::DuplicateId,
                    &f,
                    format!("line id `{line}` is used twice in this tree"),
                ));
            }
        }
    }
    if tree.node(tree.entry.as_str()).is_none() {
        problems.push(place.report(
            DiagnosticKind::MissingEntry,
            &root.field("entry"),
            format!("entry node `{}` is not among the nodes", tree.entry),
        ));
    }
    let jump = |target: &Id, at: FieldPath, problems: &mut Vec<Diagnostic>| {
        if !nodes.contains(target) {
            problems.push(place.report(
                DiagnosticKind::DanglingJump,
                &at,
                format!("jump to `{target}`, which is not a node of this tree"),
            ));
        }
    };
    for (i, node) in tree.nodes.iter().enumerate() {
        let at = root.field("nodes").index(i);
        if single_line(&node.text).is_empty() {
            problems.push(place.report(
                DiagnosticKind::EmptyText,
                &at.field("text"),
                "text is empty; a Yarn line cannot be".into(),
            ));
        }
        match &node.next {
            Next::End => {}
            Next::Goto(target) => jump(target, at.field("next").variant("Goto"), &mut problems),
            Next::Choices(choices) => {
                for (k, choice) in choices.iter().enumerate() {
                    let at = at.field("next").variant("Choices").index(k);
                    if single_line(&choice.text).is_empty() {
                        problems.push(place.report(
                            DiagnosticKind::EmptyText,
                            &at.field("text"),
                            "choice text is empty; a Yarn option cannot be".into(),
                        ));
                    }
                    if let Target::Goto(target) = &choice.next {
                        jump(target, at.field("next").variant("Goto"), &mut problems);
                    }
                }
            }
        }
    }
    problems
}

/// Node titles and line ids that two trees would share.
pub(super) fn check_project(trees: &[&DialogueTree], content: &ContentSet) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    let mut titles: HashMap<String, String> = HashMap::new();
    let mut lines: HashMap<&Id, &Id> = HashMap::new();
    let mut trees_seen: HashSet<&Id> = HashSet::new();
    for tree in trees {
        let place = Place::of(tree, content);
        let root = FieldPath::root();
        if !trees_seen.insert(&tree.id) {
            problems.push(place.report(
                DiagnosticKind::DuplicateId,
                &root.field("id"),
                format!("two dialogue trees are called `{}`", tree.id),
            ));
            continue;
        }
        let named = core::iter::once((
            start_title(&tree.id),
            format!("the start node of tree `{}`", tree.id),
            root.field("id"),
        ))
        .chain(tree.nodes.iter().enumerate().map(|(i, n)| {
            (
                node_title(&tree.id, &n.id),
                format!("node `{}` of tree `{}`", n.id, tree.id),
                root.field("nodes").index(i).field("id"),
            )
        }));
        for (title, what, at) in named {
            if let Some(other) = titles.get(&title) {
                problems.push(place.report(
                    DiagnosticKind::DuplicateId,
                    &at,
                    format!("{what} and {other} would both be the Yarn node `{title}`"),
                ));
            } else {
                titles.insert(title, what);
            }
        }
        for (i, node) in tree.nodes.iter().enumerate() {
            let at = root.field("nodes").index(i);
            let choices = node.choices().iter().enumerate().map(|(k, c)| {
                let f = at.field("next").variant("Choices").index(k).field("line");
                (&c.line, f)
            });
            for (line, f) in core::iter::once((&node.line, at.field("line"))).chain(choices) {
                if let Some(other) = lines.insert(line, &tree.id)
                    && other != &tree.id
                {
                    problems.push(place.report(
                        DiagnosticKind::DuplicateId,
                        &f,
                        format!(
                            "line id `{line}` is also used in tree `{other}`; Yarn line ids must be unique"
                        ),
                    ));
                }
            }
        }
    }
    problems
}
