//! Characters: name and card, art and appearance, home, birthday, likes and dislikes, schedule,
//! relationships.

use crate::content::dialogue::{NARRATOR, PLAYER};
use crate::content::{Age, AssetKind, Character, Document, LocationKind};
use crate::format::FieldPath;
use crate::validate::diagnostic::DiagnosticKind;
use crate::validate::limits::{DESCRIPTION_MAX, LABEL_MAX, NAME_MAX, PROSE_MAX};

use super::{At, Checker, Ref};

impl<'a> Checker<'a> {
    pub(super) fn character(&mut self, d: &'a Document<Character>) {
        let at = At::from(d);
        let c = &d.value;
        let r = FieldPath::root();
        if [PLAYER, NARRATOR].contains(&c.id.as_str()) {
            self.report(
                at,
                DiagnosticKind::ReservedId,
                &r.field("id"),
                format!("`{}` is reserved for dialogue speakers", c.id),
            );
        }
        self.text(at, &r.field("name"), &c.name, NAME_MAX);
        self.text(at, &r.field("role"), &c.role, LABEL_MAX);
        self.text(at, &r.field("speech_style"), &c.speech_style, PROSE_MAX);
        self.text(at, &r.field("backstory"), &c.backstory, PROSE_MAX);
        for (i, p) in c.personality.iter().enumerate() {
            self.text(at, &r.field("personality").index(i), p, LABEL_MAX);
        }
        if let Some(w) = self.ix.world
            && !(1..=w.days_per_season).contains(&c.birthday.day)
        {
            self.report(
                at,
                DiagnosticKind::InvalidValue,
                &r.field("birthday").field("day"),
                format!(
                    "day {} is outside 1..={} (the world's days per season)",
                    c.birthday.day, w.days_per_season
                ),
            );
        }
        self.reference(at, &r.field("home"), Ref::Location, &c.home);
        let on_farm = self.ix.world.is_some_and(|w| {
            w.locations
                .iter()
                .any(|l| l.id == c.home && l.kind == LocationKind::Farm)
        });
        if on_farm {
            self.report(
                at,
                DiagnosticKind::Contradiction,
                &r.field("home"),
                format!(
                    "`{}` is the player's farm; {} lives elsewhere",
                    c.home, c.name
                ),
            );
        }
        for (i, item) in c.likes.iter().enumerate() {
            self.reference(at, &r.field("likes").index(i), Ref::Item, item);
        }
        for (i, item) in c.dislikes.iter().enumerate() {
            let f = r.field("dislikes").index(i);
            self.reference(at, &f, Ref::Item, item);
            if c.likes.contains(item) {
                self.report(
                    at,
                    DiagnosticKind::Contradiction,
                    &f,
                    format!("`{item}` is both liked and disliked"),
                );
            }
        }
        for (i, rel) in c.relationships.iter().enumerate() {
            let f = r.field("relationships").index(i);
            self.reference(at, &f.field("with"), Ref::Character, &rel.with);
            if rel.with == c.id {
                self.report(
                    at,
                    DiagnosticKind::InvalidValue,
                    &f.field("with"),
                    "a relationship with oneself".into(),
                );
            }
            self.text(at, &f.field("note"), &rel.note, DESCRIPTION_MAX);
        }
        for (i, e) in c.schedule.iter().enumerate() {
            let f = r.field("schedule").index(i);
            self.reference(at, &f.field("location"), Ref::Location, &e.location);
            let clash = c.schedule[..i].iter().any(|prev| {
                prev.slot == e.slot
                    && (prev.seasons.is_empty()
                        || e.seasons.is_empty()
                        || prev.seasons.iter().any(|s| e.seasons.contains(s)))
            });
            if clash {
                self.report(
                    at,
                    DiagnosticKind::Contradiction,
                    &f,
                    format!(
                        "an earlier entry already places {} somewhere at {:?} in the same season",
                        c.name, e.slot
                    ),
                );
            }
        }
        if let Some(a) = &c.appearance {
            // The sprite model draws what the words say: a "boy" who is an elder is two people.
            let young = matches!(a.figure.as_str(), "girl" | "boy");
            let grown = matches!(a.figure.as_str(), "woman" | "man");
            let clash = (young && matches!(a.age, Age::Adult | Age::Elder))
                || (grown && a.age == Age::Child);
            if clash {
                self.report(
                    at,
                    DiagnosticKind::Contradiction,
                    &r.field("appearance").field("age"),
                    format!("a {} cannot be {:?}", a.figure, a.age),
                );
            }
        }
        self.asset(at, &r.field("portrait"), &c.portrait, AssetKind::Image);
        self.asset(at, &r.field("sprite"), &c.sprite, AssetKind::Image);
    }
}
