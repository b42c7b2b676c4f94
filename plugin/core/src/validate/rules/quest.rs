//! Quests: giver, objectives, rewards, prerequisites (and cycles among them).

use std::collections::HashMap;

use crate::content::{Condition, Document, Effect, Objective, Quest};
use crate::format::FieldPath;
use crate::validate::diagnostic::DiagnosticKind;
use crate::validate::limits::{COUNT_MAX, DESCRIPTION_MAX, LABEL_MAX};

use super::{At, Checker, Ref};

impl<'a> Checker<'a> {
    pub(super) fn quest(&mut self, d: &'a Document<Quest>) {
        let at = At::from(d);
        let q = &d.value;
        let r = FieldPath::root();
        self.text(at, &r.field("title"), &q.title, LABEL_MAX);
        self.text(at, &r.field("description"), &q.description, DESCRIPTION_MAX);
        self.reference(at, &r.field("giver"), Ref::Character, &q.giver);
        for (i, c) in q.prerequisites.iter().enumerate() {
            self.condition(at, &r.field("prerequisites").index(i), c);
        }
        if q.objectives.is_empty() {
            self.report(
                at,
                DiagnosticKind::InvalidValue,
                &r.field("objectives"),
                "a quest needs at least one objective".into(),
            );
        }
        for (i, o) in q.objectives.iter().enumerate() {
            let f = r.field("objectives").index(i);
            match o {
                Objective::Deliver { item, count, to } => {
                    let v = f.variant("Deliver");
                    self.reference(at, &v.field("item"), Ref::Item, item);
                    self.at_most(at, &v.field("count"), *count, COUNT_MAX, "items");
                    self.reference(at, &v.field("to"), Ref::Character, to);
                }
                Objective::TalkTo { npc } => {
                    self.reference(at, &f.variant("TalkTo").field("npc"), Ref::Character, npc);
                }
                Objective::Harvest { crop, count } => {
                    let v = f.variant("Harvest");
                    self.reference(at, &v.field("crop"), Ref::Crop, crop);
                    self.at_most(at, &v.field("count"), *count, COUNT_MAX, "harvests");
                }
            }
        }
        self.effects(at, &r.field("rewards"), &q.rewards);
        let started = self.set.dialogues.iter().any(|t| {
            t.value
                .effects()
                .any(|e| matches!(e, Effect::StartQuest(x) if *x == q.id))
        }) || self.set.quests.iter().any(|o| {
            o.value
                .rewards
                .iter()
                .any(|e| matches!(e, Effect::StartQuest(x) if *x == q.id))
        });
        if !started {
            self.report(
                at,
                DiagnosticKind::QuestNeverStarted,
                &r.field("id"),
                format!("no dialogue or reward ever starts quest `{}`", q.id),
            );
        }
    }

    /// Quests whose prerequisites (`QuestDone`/`QuestActive`) wait on each other can never start.
    pub(super) fn quest_cycles(&mut self) {
        let quests = &self.set.quests;
        let pos: HashMap<&str, usize> = quests
            .iter()
            .enumerate()
            .map(|(i, q)| (q.value.id.as_str(), i))
            .collect();
        let edges: Vec<Vec<usize>> = quests
            .iter()
            .map(|q| {
                let mut out = Vec::new();
                for c in &q.value.prerequisites {
                    c.walk(&mut |c| {
                        if let Condition::QuestDone(id) | Condition::QuestActive(id) = c
                            && let Some(&j) = pos.get(id.as_str())
                        {
                            out.push(j);
                        }
                    });
                }
                out
            })
            .collect();
        for (i, q) in quests.iter().enumerate() {
            // Does a path from i lead back to i?
            let mut seen = vec![false; quests.len()];
            let mut stack = edges[i].clone();
            let mut cyclic = false;
            while let Some(j) = stack.pop() {
                if j == i {
                    cyclic = true;
                    break;
                }
                if !std::mem::replace(&mut seen[j], true) {
                    stack.extend(&edges[j]);
                }
            }
            if cyclic {
                self.report(
                    q.into(),
                    DiagnosticKind::QuestCycle,
                    &FieldPath::root().field("prerequisites"),
                    format!(
                        "quest `{}` waits, through its prerequisites, on itself",
                        q.value.id
                    ),
                );
            }
        }
    }
}
