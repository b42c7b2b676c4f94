//! Dialogue trees: speakers, the graph (entry, jumps, reachability, endings), choices, line
//! ids, and the situations that tie a tree to its quest.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::content::dialogue::{NARRATOR, PLAYER};
use crate::content::{DialogueTree, Document, Effect, Id, Next, Situation, Target};
use crate::format::FieldPath;
use crate::validate::diagnostic::DiagnosticKind;
use crate::validate::graph::Graph;
use crate::validate::limits::{CHOICE_TEXT_MAX, DIALOGUE_TEXT_MAX};

use super::{At, Checker, Ref};

impl<'a> Checker<'a> {
    pub(super) fn dialogue(
        &mut self,
        d: &'a Document<DialogueTree>,
        line_ids: &mut HashMap<&'a str, &'a Path>,
    ) {
        let at = At::from(d);
        let t = &d.value;
        let r = FieldPath::root();

        let mut participants = HashSet::new();
        for (i, p) in t.participants.iter().enumerate() {
            let f = r.field("participants").index(i);
            self.reference(at, &f, Ref::Character, p);
            if !participants.insert(p.as_str()) {
                self.report(
                    at,
                    DiagnosticKind::DuplicateId,
                    &f,
                    format!("`{p}` is listed twice"),
                );
            }
        }
        if t.participants.is_empty() {
            self.report(
                at,
                DiagnosticKind::InvalidValue,
                &r.field("participants"),
                "a conversation needs at least one character".into(),
            );
        }

        let situation = r.field("situation");
        match &t.situation {
            Situation::QuestOffer(q) | Situation::QuestComplete(q) => {
                let offer = matches!(t.situation, Situation::QuestOffer(_));
                let f = situation.variant(if offer { "QuestOffer" } else { "QuestComplete" });
                self.reference(at, &f, Ref::Quest, q);
                let has = t.effects().any(|e| match e {
                    Effect::StartQuest(x) => offer && x == q,
                    Effect::CompleteQuest(x) => !offer && x == q,
                    _ => false,
                });
                if !has {
                    let (verb, effect) = if offer {
                        ("starts", "StartQuest")
                    } else {
                        ("completes", "CompleteQuest")
                    };
                    self.report(
                        at,
                        DiagnosticKind::MissingQuestEffect,
                        &f,
                        format!("no line or choice {verb} quest `{q}`: add `{effect}(\"{q}\")`"),
                    );
                }
            }
            Situation::Hearts(h) if *h > 10 => {
                self.report(
                    at,
                    DiagnosticKind::InvalidValue,
                    &situation.variant("Hearts"),
                    format!("{h} hearts; the most is 10"),
                );
            }
            _ => {}
        }
        if let Some(when) = &t.when {
            self.condition(at, &r.field("when"), when);
        }

        // Node ids.
        let mut index: HashMap<&str, usize> = HashMap::with_capacity(t.nodes.len());
        for (i, n) in t.nodes.iter().enumerate() {
            if index.insert(n.id.as_str(), i).is_some() {
                self.report(
                    at,
                    DiagnosticKind::DuplicateId,
                    &r.field("nodes").index(i).field("id"),
                    format!("node `{}` is defined twice in this tree", n.id),
                );
                // Keep the first definition as the one jumps go to.
                let first = t.nodes.iter().position(|m| m.id == n.id).unwrap_or(i);
                index.insert(n.id.as_str(), first);
            }
        }
        let entry = index.get(t.entry.as_str()).copied();
        if entry.is_none() {
            self.report(
                at,
                DiagnosticKind::MissingEntry,
                &r.field("entry"),
                format!("entry node `{}` is not among the nodes", t.entry),
            );
        }

        let mut graph = Graph {
            edges: Vec::with_capacity(t.nodes.len()),
            ends: Vec::with_capacity(t.nodes.len()),
        };
        for (i, n) in t.nodes.iter().enumerate() {
            let f = r.field("nodes").index(i);
            let speaker = n.speaker.as_str();
            if speaker != PLAYER && speaker != NARRATOR && !participants.contains(speaker) {
                let hint = if self.ix.characters.contains_key(speaker) {
                    "add them to `participants`"
                } else {
                    "no such character"
                };
                self.report(at, DiagnosticKind::UnknownSpeaker, &f.field("speaker"), format!("speaker `{speaker}` is not a participant ({hint}); `player` and `narrator` are always allowed"));
            }
            self.line_id(at, &f.field("line"), &n.line, &d.path, line_ids);
            self.tags(at, &f.field("tags"), &n.tags);
            self.text(at, &f.field("text"), &n.text, DIALOGUE_TEXT_MAX);
            self.effects(at, &f.field("effects"), &n.effects);

            let next = f.field("next");
            let mut edges = Vec::new();
            match &n.next {
                Next::End => {}
                Next::Goto(id) => match index.get(id.as_str()) {
                    Some(&j) => edges.push(j),
                    None => self.report(
                        at,
                        DiagnosticKind::DanglingJump,
                        &next.variant("Goto"),
                        format!("jump to `{id}`, which is not a node of this tree"),
                    ),
                },
                Next::Choices(choices) => {
                    let v = next.variant("Choices");
                    if choices.is_empty() {
                        self.report(
                            at,
                            DiagnosticKind::InvalidValue,
                            &v,
                            "an empty choice list: use `End` or `Goto` instead".into(),
                        );
                    } else if choices.iter().all(|c| c.condition.is_some()) {
                        self.report(at, DiagnosticKind::NoFallbackChoice, &v, "every choice has a condition, so the player can be left with none: make one unconditional".into());
                    }
                    for (k, c) in choices.iter().enumerate() {
                        let cf = v.index(k);
                        self.line_id(at, &cf.field("line"), &c.line, &d.path, line_ids);
                        self.tags(at, &cf.field("tags"), &c.tags);
                        self.text(at, &cf.field("text"), &c.text, CHOICE_TEXT_MAX);
                        if let Some(cond) = &c.condition {
                            self.condition(at, &cf.field("condition"), cond);
                        }
                        self.effects(at, &cf.field("effects"), &c.effects);
                        if let Target::Goto(id) = &c.next {
                            match index.get(id.as_str()) {
                                Some(&j) => edges.push(j),
                                None => self.report(
                                    at,
                                    DiagnosticKind::DanglingJump,
                                    &cf.field("next").variant("Goto"),
                                    format!("jump to `{id}`, which is not a node of this tree"),
                                ),
                            }
                        }
                    }
                }
            }
            graph.edges.push(edges);
            graph.ends.push(n.next.targets().1);
        }

        if entry.is_some() {
            let verdict = graph.analyze(entry);
            for (i, n) in t.nodes.iter().enumerate() {
                let f = r.field("nodes").index(i);
                if index.get(n.id.as_str()) != Some(&i) {
                    continue; // a duplicate, already reported
                }
                if !verdict.reachable[i] {
                    self.report(
                        at,
                        DiagnosticKind::UnreachableNode,
                        &f.field("id"),
                        format!(
                            "node `{}` cannot be reached from the entry `{}`",
                            n.id, t.entry
                        ),
                    );
                } else if !verdict.can_end[i] {
                    self.report(at, DiagnosticKind::NoEnding, &f.field("next"), format!("from node `{}` the conversation can never end: every path loops; add a way out", n.id));
                }
            }
        }
    }

    /// A line id (a node's or a choice's): unique across all dialogue.
    fn line_id(
        &mut self,
        at: At<'_>,
        field: &FieldPath,
        line: &'a Id,
        path: &'a Path,
        line_ids: &mut HashMap<&'a str, &'a Path>,
    ) {
        if let Some(prev) = line_ids.insert(line.as_str(), path) {
            self.report(
                at,
                DiagnosticKind::DuplicateId,
                field,
                format!("line id `{line}` is already used in {}; line ids must be unique across all dialogue", prev.display()),
            );
            line_ids.insert(line.as_str(), prev);
        }
    }

    /// A line's tags: declared in the world, each once.
    fn tags(&mut self, at: At<'_>, field: &FieldPath, tags: &[Id]) {
        for (i, tag) in tags.iter().enumerate() {
            let f = field.index(i);
            self.reference(at, &f, Ref::Tag, tag);
            if tags[..i].contains(tag) {
                self.report(
                    at,
                    DiagnosticKind::DuplicateId,
                    &f,
                    format!("tag `{tag}` is given twice"),
                );
            }
        }
    }
}
