//! Checks every content type shares: references to other content, asset paths, text (length
//! and the do-not-copy list), conditions, effects and counts.

use crate::content::{AssetKind, AssetPath, Condition, Effect, FRIENDSHIP_MAX, Id};
use crate::format::FieldPath;
use crate::validate::copying::Match;
use crate::validate::diagnostic::DiagnosticKind;
use crate::validate::limits::{COUNT_MAX, GOLD_PER_EFFECT_MAX};

use super::{At, Checker, Ref};

impl<'a> Checker<'a> {
    pub(super) fn reference(&mut self, at: At<'_>, field: &FieldPath, what: Ref, id: &Id) {
        let ix = &self.ix;
        let known = match what {
            Ref::Character => ix.characters.contains_key(id.as_str()),
            Ref::Item => ix.items.contains_key(id.as_str()),
            Ref::Quest => ix.quests.contains_key(id.as_str()),
            Ref::Crop => ix.crops.contains_key(id.as_str()),
            // Without a world these are already covered by `missing_world`.
            Ref::Flag => ix.world.is_none() || ix.flags.contains(id.as_str()),
            Ref::Location => ix.world.is_none() || ix.locations.contains(id.as_str()),
            Ref::Tag => ix.world.is_none() || ix.tags.contains(id.as_str()),
        };
        if !known {
            self.report(
                at,
                DiagnosticKind::UnknownReference,
                field,
                format!("unknown {} `{id}`: {}", what.noun(), what.hint()),
            );
        }
    }

    /// An asset path of `kind`: the right extension (files parsed from RON were checked as they
    /// were read; a set built in code was not), and a file there.
    pub(super) fn asset(
        &mut self,
        at: At<'_>,
        field: &FieldPath,
        path: &'a AssetPath,
        kind: AssetKind,
    ) {
        if let Err(e) = path.check_kind(kind) {
            self.report(at, DiagnosticKind::InvalidPath, field, e.to_string());
            return;
        }
        let root = &self.set.root;
        let exists = *self
            .files_exist
            .entry(path.as_str())
            .or_insert_with(|| path.under(root).is_file());
        if !exists {
            self.report(
                at,
                DiagnosticKind::MissingFile,
                field,
                format!(
                    "no file `{path}` under {} (run `sprout placeholders {}` to draw labelled placeholders)",
                    root.display(),
                    root.display()
                ),
            );
        }
    }

    /// Length limit, non-emptiness and the "do not copy" list.
    pub(super) fn text(&mut self, at: At<'_>, field: &FieldPath, text: &str, max: usize) {
        let len = text.chars().count();
        if text.trim().is_empty() {
            self.report(at, DiagnosticKind::EmptyText, field, "text is empty".into());
        } else if len > max {
            self.report(
                at,
                DiagnosticKind::TextTooLong,
                field,
                format!("text is {len} characters, the limit here is {max}"),
            );
        }
        if let Some(name) = self.copied_name(text) {
            self.report(
                at,
                DiagnosticKind::CopiedName,
                field,
                format!("`{name}` is on the world's do-not-copy list: write something of our own"),
            );
        }
    }

    pub(super) fn copied_name(&self, text: &str) -> Option<String> {
        if self.ix.banned.is_empty() {
            return None;
        }
        self.ix
            .banned
            .used_in(text, Match::Word)
            .next()
            .map(str::to_owned)
    }

    pub(super) fn condition(&mut self, at: At<'_>, field: &FieldPath, cond: &Condition) {
        match cond {
            Condition::Flag(f) => self.reference(at, &field.variant("Flag"), Ref::Flag, f),
            Condition::NotFlag(f) => self.reference(at, &field.variant("NotFlag"), Ref::Flag, f),
            Condition::Friendship { npc, at_least } => {
                let v = field.variant("Friendship");
                self.reference(at, &v.field("npc"), Ref::Character, npc);
                if !(0..=FRIENDSHIP_MAX).contains(at_least) {
                    self.report(
                        at,
                        DiagnosticKind::InvalidValue,
                        &v.field("at_least"),
                        format!("friendship is 0 to {FRIENDSHIP_MAX} points, not {at_least}"),
                    );
                }
            }
            Condition::HasItem { item, count } => {
                let v = field.variant("HasItem");
                self.reference(at, &v.field("item"), Ref::Item, item);
                self.at_most(at, &v.field("count"), *count, COUNT_MAX, "items");
            }
            Condition::Season(_) | Condition::TimeOfDay(_) => {}
            Condition::QuestActive(q) => {
                self.reference(at, &field.variant("QuestActive"), Ref::Quest, q);
            }
            Condition::QuestDone(q) => {
                self.reference(at, &field.variant("QuestDone"), Ref::Quest, q);
            }
            Condition::All(list) | Condition::Any(list) => {
                let v = field.variant(if matches!(cond, Condition::All(_)) {
                    "All"
                } else {
                    "Any"
                });
                if list.is_empty() {
                    self.report(
                        at,
                        DiagnosticKind::InvalidValue,
                        &v,
                        "an empty condition list".into(),
                    );
                }
                for (i, c) in list.iter().enumerate() {
                    self.condition(at, &v.index(i), c);
                }
            }
            Condition::Not(inner) => self.condition(at, &field.variant("Not"), inner),
        }
    }

    pub(super) fn effect(&mut self, at: At<'_>, field: &FieldPath, effect: &Effect) {
        match effect {
            Effect::GiveItem { item, count } | Effect::TakeItem { item, count } => {
                let v = field.variant(if matches!(effect, Effect::GiveItem { .. }) {
                    "GiveItem"
                } else {
                    "TakeItem"
                });
                self.reference(at, &v.field("item"), Ref::Item, item);
                self.at_most(at, &v.field("count"), *count, COUNT_MAX, "items");
            }
            Effect::GiveGold(gold) => self.at_most(
                at,
                &field.variant("GiveGold"),
                *gold,
                GOLD_PER_EFFECT_MAX,
                "gold",
            ),
            Effect::Friendship { npc, points } => {
                let v = field.variant("Friendship");
                self.reference(at, &v.field("npc"), Ref::Character, npc);
                if points.unsigned_abs() > FRIENDSHIP_MAX.unsigned_abs() {
                    self.report(
                        at,
                        DiagnosticKind::InvalidValue,
                        &v.field("points"),
                        format!("a change of {points} points is beyond the whole ±{FRIENDSHIP_MAX} scale"),
                    );
                }
            }
            Effect::SetFlag(f) => self.reference(at, &field.variant("SetFlag"), Ref::Flag, f),
            Effect::ClearFlag(f) => self.reference(at, &field.variant("ClearFlag"), Ref::Flag, f),
            Effect::StartQuest(q) => {
                self.reference(at, &field.variant("StartQuest"), Ref::Quest, q);
            }
            Effect::CompleteQuest(q) => {
                self.reference(at, &field.variant("CompleteQuest"), Ref::Quest, q);
            }
        }
    }

    pub(super) fn effects(&mut self, at: At<'_>, field: &FieldPath, effects: &[Effect]) {
        for (i, e) in effects.iter().enumerate() {
            self.effect(at, &field.index(i), e);
        }
    }

    /// A number from 1 to `max` (`unit` names what it counts, for the message).
    pub(super) fn at_most(&mut self, at: At<'_>, field: &FieldPath, n: u32, max: u32, unit: &str) {
        if n == 0 {
            self.report(
                at,
                DiagnosticKind::InvalidValue,
                field,
                "must be at least 1".into(),
            );
        } else if n > max {
            self.report(
                at,
                DiagnosticKind::InvalidValue,
                field,
                format!("{n} {unit} is more than the game allows here; use 1 to {max}"),
            );
        }
    }
}
