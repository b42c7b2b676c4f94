//! Crops: seeds, growth stages and their sprites, seasons, harvest.

use crate::content::{AssetKind, Crop, Document, ItemCategory};
use crate::format::FieldPath;
use crate::validate::diagnostic::DiagnosticKind;
use crate::validate::limits::{COUNT_MAX, DESCRIPTION_MAX, GROWTH_DAYS_MAX, LABEL_MAX, NAME_MAX};

use super::{At, Checker, Ref};

impl<'a> Checker<'a> {
    pub(super) fn crop(&mut self, d: &'a Document<Crop>) {
        let at = At::from(d);
        let c = &d.value;
        let r = FieldPath::root();
        self.text(at, &r.field("name"), &c.name, NAME_MAX);
        self.text(at, &r.field("description"), &c.description, DESCRIPTION_MAX);
        if let Some(look) = &c.look {
            self.text(at, &r.field("look"), look, LABEL_MAX);
        }
        self.reference(at, &r.field("seed"), Ref::Item, &c.seed);
        if let Some(seed) = self.ix.items.get(c.seed.as_str())
            && seed.category != ItemCategory::Seed
        {
            self.report(
                at,
                DiagnosticKind::WrongCategory,
                &r.field("seed"),
                format!("`{}` is a {:?} item, not a Seed", c.seed, seed.category),
            );
        }
        self.reference(at, &r.field("harvest"), Ref::Item, &c.harvest);
        if let Some(h) = self.ix.items.get(c.harvest.as_str())
            && h.category == ItemCategory::Seed
        {
            self.report(
                at,
                DiagnosticKind::WrongCategory,
                &r.field("harvest"),
                format!("`{}` is a Seed; a crop harvests produce", c.harvest),
            );
        }
        self.at_most(
            at,
            &r.field("harvest_count"),
            c.harvest_count,
            COUNT_MAX,
            "items",
        );
        if c.seasons.is_empty() {
            self.report(
                at,
                DiagnosticKind::InvalidValue,
                &r.field("seasons"),
                "a crop needs at least one season".into(),
            );
        }
        for (i, s) in c.seasons.iter().enumerate() {
            if c.seasons[..i].contains(s) {
                self.report(
                    at,
                    DiagnosticKind::InvalidValue,
                    &r.field("seasons").index(i),
                    format!("{s:?} is listed twice"),
                );
            }
        }
        if c.stages.is_empty() {
            self.report(
                at,
                DiagnosticKind::InvalidValue,
                &r.field("stages"),
                "a crop needs at least one growth stage".into(),
            );
        }
        for (i, s) in c.stages.iter().enumerate() {
            let f = r.field("stages").index(i);
            self.at_most(at, &f.field("days"), s.days, GROWTH_DAYS_MAX, "days");
            self.asset(at, &f.field("sprite"), &s.sprite, AssetKind::Image);
        }
        self.asset(
            at,
            &r.field("ripe_sprite"),
            &c.ripe_sprite,
            AssetKind::Image,
        );
        if let Some(days) = c.regrow_days {
            self.at_most(at, &r.field("regrow_days"), days, GROWTH_DAYS_MAX, "days");
        }
    }
}
