//! The world: title, setting and tone, the calendar (days per season), locations, flags and the
//! player sprite.

use std::collections::HashSet;

use crate::content::{AssetKind, Document, World};
use crate::format::FieldPath;
use crate::validate::diagnostic::DiagnosticKind;
use crate::validate::limits::{
    DAYS_PER_SEASON_MAX, DESCRIPTION_MAX, LABEL_MAX, NAME_MAX, PROSE_MAX,
};

use super::{At, Checker};

impl<'a> Checker<'a> {
    pub(super) fn world(&mut self, d: &'a Document<World>) {
        let at = At::from(d);
        let w = &d.value;
        let r = FieldPath::root();
        self.text(at, &r.field("title"), &w.title, LABEL_MAX);
        self.text(at, &r.field("setting"), &w.setting, PROSE_MAX);
        self.text(at, &r.field("tone"), &w.tone, PROSE_MAX);
        if let Some(sprite) = &w.player_sprite {
            self.asset(at, &r.field("player_sprite"), sprite, AssetKind::Image);
        }
        let art = r.field("art");
        for (i, g) in w.art.ground.iter().enumerate() {
            let f = art.field("ground").index(i);
            self.asset(at, &f.field("image"), &g.image, AssetKind::Image);
            if w.art.ground[..i].iter().any(|o| o.kind == g.kind) {
                self.report(
                    at,
                    DiagnosticKind::DuplicateId,
                    &f.field("kind"),
                    format!("a second {:?} ground tile", g.kind),
                );
            }
        }
        for (i, b) in w.art.buildings.iter().enumerate() {
            let f = art.field("buildings").index(i);
            self.asset(at, &f.field("image"), &b.image, AssetKind::Image);
            let landmark = crate::content::LANDMARKS.contains(&b.id.as_str());
            if !landmark && !w.locations.iter().any(|l| l.id == b.id) {
                self.report(
                    at,
                    DiagnosticKind::UnknownReference,
                    &f.field("id"),
                    format!(
                        "`{}` is neither a location of this world nor a landmark ({})",
                        b.id,
                        crate::content::LANDMARKS.join(", ")
                    ),
                );
            }
        }
        if !(1..=DAYS_PER_SEASON_MAX).contains(&w.days_per_season) {
            self.report(
                at,
                DiagnosticKind::InvalidValue,
                &r.field("days_per_season"),
                format!(
                    "{} days per season; use 1 to {DAYS_PER_SEASON_MAX}",
                    w.days_per_season
                ),
            );
        }
        if w.locations.is_empty() {
            self.report(
                at,
                DiagnosticKind::InvalidValue,
                &r.field("locations"),
                "a world needs at least one location".into(),
            );
        }
        let mut seen = HashSet::new();
        for (i, l) in w.locations.iter().enumerate() {
            let f = r.field("locations").index(i);
            if !seen.insert(l.id.as_str()) {
                self.report(
                    at,
                    DiagnosticKind::DuplicateId,
                    &f.field("id"),
                    format!("location `{}` is declared twice", l.id),
                );
            }
            self.text(at, &f.field("name"), &l.name, NAME_MAX);
            self.text(at, &f.field("description"), &l.description, DESCRIPTION_MAX);
        }
        let mut seen = HashSet::new();
        for (i, fl) in w.flags.iter().enumerate() {
            let f = r.field("flags").index(i);
            if !seen.insert(fl.id.as_str()) {
                self.report(
                    at,
                    DiagnosticKind::DuplicateId,
                    &f.field("id"),
                    format!("flag `{}` is declared twice", fl.id),
                );
            }
            self.text(
                at,
                &f.field("description"),
                &fl.description,
                DESCRIPTION_MAX,
            );
        }
        let mut seen = HashSet::new();
        for (i, t) in w.line_tags.iter().enumerate() {
            let f = r.field("line_tags").index(i);
            if !seen.insert(t.id.as_str()) {
                self.report(
                    at,
                    DiagnosticKind::DuplicateId,
                    &f.field("id"),
                    format!("line tag `{}` is declared twice", t.id),
                );
            }
            self.text(at, &f.field("description"), &t.description, DESCRIPTION_MAX);
        }
    }
}
