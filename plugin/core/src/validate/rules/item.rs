//! Items: name, description, icon, price.

use crate::content::{AssetKind, Document, Item};
use crate::format::FieldPath;
use crate::validate::diagnostic::DiagnosticKind;
use crate::validate::limits::{DESCRIPTION_MAX, LABEL_MAX, NAME_MAX, PRICE_MAX};

use super::{At, Checker};

impl<'a> Checker<'a> {
    pub(super) fn item(&mut self, d: &'a Document<Item>) {
        let at = At::from(d);
        let r = FieldPath::root();
        self.text(at, &r.field("name"), &d.value.name, NAME_MAX);
        self.text(
            at,
            &r.field("description"),
            &d.value.description,
            DESCRIPTION_MAX,
        );
        if let Some(look) = &d.value.look {
            self.text(at, &r.field("look"), look, LABEL_MAX);
        }
        if d.value.price > PRICE_MAX {
            self.report(
                at,
                DiagnosticKind::InvalidValue,
                &r.field("price"),
                format!(
                    "a price of {} gold is more than the game allows; use 0 to {PRICE_MAX}",
                    d.value.price
                ),
            );
        }
        self.asset(at, &r.field("icon"), &d.value.icon, AssetKind::Image);
    }
}
