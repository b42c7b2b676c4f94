//! The checks themselves, one function per content type, sharing one index of known ids.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::graph::Graph;
use super::limits::{
    CHOICE_TEXT_MAX, COUNT_MAX, DAYS_PER_SEASON_MAX, DESCRIPTION_MAX, DIALOGUE_TEXT_MAX,
    GOLD_PER_EFFECT_MAX, GROWTH_DAYS_MAX, LABEL_MAX, NAME_MAX, PRICE_MAX, PROSE_MAX,
};
use super::{Diagnostic, DiagnosticKind};
use crate::content::dialogue::{NARRATOR, PLAYER};
use crate::content::provenance::{sha256_hex, sidecar_target};
use crate::content::{
    AssetKind, AssetPath, Character, Condition, ContentKind, ContentSet, Crop, DialogueTree,
    Document, Effect, FRIENDSHIP_MAX, Id, Item, ItemCategory, Next, Objective, Quest, Situation,
    Target, World,
};
use crate::format::FieldPath;

/// What kind of thing an id refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ref {
    Character,
    Item,
    Quest,
    Flag,
    Location,
    Crop,
}

impl Ref {
    fn noun(self) -> &'static str {
        match self {
            Ref::Character => "character",
            Ref::Item => "item",
            Ref::Quest => "quest",
            Ref::Flag => "flag",
            Ref::Location => "location",
            Ref::Crop => "crop",
        }
    }

    fn hint(self) -> &'static str {
        match self {
            Ref::Character => "add a `<id>.npc.ron` file or fix the id",
            Ref::Item => "add a `<id>.item.ron` file or fix the id",
            Ref::Quest => "add a `<id>.quest.ron` file or fix the id",
            Ref::Flag => "declare it in the world's `flags` or fix the id",
            Ref::Location => "declare it in the world's `locations` or fix the id",
            Ref::Crop => "add a `<id>.crop.ron` file or fix the id",
        }
    }
}

/// Ids known across the set.
#[derive(Default)]
struct Index<'a> {
    world: Option<&'a World>,
    characters: HashMap<&'a str, &'a Character>,
    items: HashMap<&'a str, &'a Item>,
    quests: HashMap<&'a str, &'a Quest>,
    crops: HashMap<&'a str, &'a Crop>,
    flags: HashSet<&'a str>,
    locations: HashSet<&'a str>,
    /// "Do not copy" names: (lower case, as written).
    banned: Vec<(String, &'a str)>,
}

/// The file a check is looking at.
#[derive(Clone, Copy)]
struct At<'a> {
    path: &'a Path,
    source: &'a str,
}

impl<'a, T> From<&'a Document<T>> for At<'a> {
    fn from(d: &'a Document<T>) -> Self {
        At {
            path: &d.path,
            source: &d.source,
        }
    }
}

struct Checker<'a> {
    set: &'a ContentSet,
    ix: Index<'a>,
    files_exist: HashMap<&'a str, bool>,
    out: Vec<Diagnostic>,
}

pub(super) fn check(set: &ContentSet) -> Vec<Diagnostic> {
    let mut c = Checker {
        set,
        ix: Index::default(),
        files_exist: HashMap::new(),
        out: Vec::new(),
    };
    c.build_index();
    for d in &set.worlds {
        c.world(d);
    }
    for d in &set.characters {
        c.character(d);
    }
    for d in &set.items {
        c.item(d);
    }
    for d in &set.crops {
        c.crop(d);
    }
    let mut line_ids = HashMap::new();
    for d in &set.dialogues {
        c.dialogue(d, &mut line_ids);
    }
    for d in &set.quests {
        c.quest(d);
    }
    c.quest_cycles();
    c.sidecars();
    c.out
}

impl<'a> Checker<'a> {
    fn report(&mut self, at: At<'_>, kind: DiagnosticKind, field: &FieldPath, message: String) {
        self.out
            .push(Diagnostic::new(kind, at.path, message).at_field(at.source, field));
    }

    /// Registers every id, reporting duplicates and ids that disagree with their file name.
    fn build_index(&mut self) {
        let set = self.set;
        let root = FieldPath::root();
        match set.worlds.as_slice() {
            [] => self.out.push(Diagnostic::new(
                DiagnosticKind::MissingWorld,
                &set.root,
                "no `*.world.ron` file: characters, flags and locations have nothing to refer to",
            )),
            [first, rest @ ..] => {
                for extra in rest {
                    self.report(
                        extra.into(),
                        DiagnosticKind::DuplicateId,
                        &root.field("id"),
                        format!(
                            "a second world; the game has one world, already defined in {}",
                            first.path.display()
                        ),
                    );
                }
                let w = &first.value;
                self.ix.world = Some(w);
                self.ix.banned = w
                    .do_not_copy
                    .iter()
                    .map(|n| (n.to_lowercase(), n.as_str()))
                    .collect();
            }
        }
        if let Some(w) = self.ix.world {
            self.ix.locations = w.locations.iter().map(|l| l.id.as_str()).collect();
            self.ix.flags = w.flags.iter().map(|f| f.id.as_str()).collect();
        }

        fn register<'s, T>(
            out: &mut Vec<Diagnostic>,
            kind: ContentKind,
            docs: &'s [Document<T>],
            id_of: impl Fn(&T) -> &Id,
            map: &mut HashMap<&'s str, &'s T>,
        ) {
            let mut seen: HashMap<&str, &Path> = HashMap::new();
            for d in docs {
                let id = id_of(&d.value);
                let field = FieldPath::root().field("id");
                if let Some((_, stem)) = ContentKind::of_path(&d.path)
                    && stem != id.as_str()
                {
                    out.push(
                        Diagnostic::new(
                            DiagnosticKind::IdFileMismatch,
                            &d.path,
                            format!(
                                "id `{id}` does not match the file name: rename the file to `{}` or the id to `{stem}`",
                                kind.file_name(id)
                            ),
                        )
                        .at_field(&d.source, &field),
                    );
                }
                if let Some(first) = seen.insert(id.as_str(), &d.path) {
                    out.push(
                        Diagnostic::new(
                            DiagnosticKind::DuplicateId,
                            &d.path,
                            format!(
                                "{} `{id}` is already defined in {}",
                                kind.noun(),
                                first.display()
                            ),
                        )
                        .at_field(&d.source, &field),
                    );
                    seen.insert(id.as_str(), first);
                } else {
                    map.insert(id.as_str(), &d.value);
                }
            }
        }
        register(
            &mut self.out,
            ContentKind::Character,
            &set.characters,
            |v| &v.id,
            &mut self.ix.characters,
        );
        register(
            &mut self.out,
            ContentKind::Item,
            &set.items,
            |v| &v.id,
            &mut self.ix.items,
        );
        register(
            &mut self.out,
            ContentKind::Quest,
            &set.quests,
            |v| &v.id,
            &mut self.ix.quests,
        );
        register(
            &mut self.out,
            ContentKind::Crop,
            &set.crops,
            |v| &v.id,
            &mut self.ix.crops,
        );
        if let Some(w) = set.worlds.first() {
            let mut ignored = HashMap::new();
            register(
                &mut self.out,
                ContentKind::World,
                std::slice::from_ref(w),
                |v| &v.id,
                &mut ignored,
            );
        }
        let mut ignored = HashMap::new();
        register(
            &mut self.out,
            ContentKind::Dialogue,
            &set.dialogues,
            |v| &v.id,
            &mut ignored,
        );
    }

    // ----- shared checks -------------------------------------------------------------------

    fn reference(&mut self, at: At<'_>, field: &FieldPath, what: Ref, id: &Id) {
        let ix = &self.ix;
        let known = match what {
            Ref::Character => ix.characters.contains_key(id.as_str()),
            Ref::Item => ix.items.contains_key(id.as_str()),
            Ref::Quest => ix.quests.contains_key(id.as_str()),
            Ref::Crop => ix.crops.contains_key(id.as_str()),
            // Without a world these are already covered by `missing_world`.
            Ref::Flag => ix.world.is_none() || ix.flags.contains(id.as_str()),
            Ref::Location => ix.world.is_none() || ix.locations.contains(id.as_str()),
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
    fn asset(&mut self, at: At<'_>, field: &FieldPath, path: &'a AssetPath, kind: AssetKind) {
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
    fn text(&mut self, at: At<'_>, field: &FieldPath, text: &str, max: usize) {
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

    fn copied_name(&self, text: &str) -> Option<&'a str> {
        if self.ix.banned.is_empty() {
            return None;
        }
        let lower = text.to_lowercase();
        self.ix
            .banned
            .iter()
            .find(|(name, _)| contains_word(&lower, name))
            .map(|(_, written)| *written)
    }

    fn condition(&mut self, at: At<'_>, field: &FieldPath, cond: &Condition) {
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

    fn effect(&mut self, at: At<'_>, field: &FieldPath, effect: &Effect) {
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

    fn effects(&mut self, at: At<'_>, field: &FieldPath, effects: &[Effect]) {
        for (i, e) in effects.iter().enumerate() {
            self.effect(at, &field.index(i), e);
        }
    }

    /// A number from 1 to `max` (`unit` names what it counts, for the message).
    fn at_most(&mut self, at: At<'_>, field: &FieldPath, n: u32, max: u32, unit: &str) {
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

    // ----- per type ------------------------------------------------------------------------

    fn world(&mut self, d: &'a Document<World>) {
        let at = At::from(d);
        let w = &d.value;
        let r = FieldPath::root();
        self.text(at, &r.field("title"), &w.title, LABEL_MAX);
        self.text(at, &r.field("setting"), &w.setting, PROSE_MAX);
        self.text(at, &r.field("tone"), &w.tone, PROSE_MAX);
        if let Some(sprite) = &w.player_sprite {
            self.asset(at, &r.field("player_sprite"), sprite, AssetKind::Image);
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
    }

    fn character(&mut self, d: &'a Document<Character>) {
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
        self.asset(at, &r.field("portrait"), &c.portrait, AssetKind::Image);
        self.asset(at, &r.field("sprite"), &c.sprite, AssetKind::Image);
    }

    fn item(&mut self, d: &'a Document<Item>) {
        let at = At::from(d);
        let r = FieldPath::root();
        self.text(at, &r.field("name"), &d.value.name, NAME_MAX);
        self.text(
            at,
            &r.field("description"),
            &d.value.description,
            DESCRIPTION_MAX,
        );
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

    fn crop(&mut self, d: &'a Document<Crop>) {
        let at = At::from(d);
        let c = &d.value;
        let r = FieldPath::root();
        self.text(at, &r.field("name"), &c.name, NAME_MAX);
        self.text(at, &r.field("description"), &c.description, DESCRIPTION_MAX);
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

    fn dialogue(
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
            if let Some(prev) = line_ids.insert(n.line.as_str(), &d.path) {
                self.report(
                    at,
                    DiagnosticKind::DuplicateId,
                    &f.field("line"),
                    format!("line id `{}` is already used in {}; line ids must be unique across all dialogue", n.line, prev.display()),
                );
                line_ids.insert(n.line.as_str(), prev);
            }
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

    fn quest(&mut self, d: &'a Document<Quest>) {
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
    fn quest_cycles(&mut self) {
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

    fn sidecars(&mut self) {
        for d in &self.set.sidecars {
            let Some(target) = sidecar_target(&d.path) else {
                continue;
            };
            match std::fs::read(&target) {
                Err(_) => self.report(
                    d.into(),
                    DiagnosticKind::OrphanSidecar,
                    &FieldPath::root(),
                    format!("provenance for `{}`, which does not exist", target.display()),
                ),
                Ok(bytes) if sha256_hex(&bytes) != d.value.output_sha256 => self.report(
                    d.into(),
                    DiagnosticKind::EditedSinceGeneration,
                    &FieldPath::root().field("output_sha256"),
                    format!("`{}` changed since it was generated (by hand?): its provenance no longer describes it", target.display()),
                ),
                Ok(_) => {}
            }
        }
    }
}

/// Whether `needle` occurs in `haystack` as a whole word (both already lower case).
fn contains_word(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    let mut from = 0;
    while let Some(i) = haystack[from..].find(needle) {
        let start = from + i;
        let end = start + needle.len();
        let before = haystack[..start].chars().next_back();
        let after = haystack[end..].chars().next();
        if !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric) {
            return true;
        }
        from = start + haystack[start..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::contains_word;

    #[test]
    fn word_matching_respects_boundaries() {
        assert!(contains_word("welcome to pelican town!", "pelican town"));
        assert!(contains_word("abigail", "abigail"));
        assert!(!contains_word("abigails", "abigail"));
        assert!(!contains_word("sebastianne", "sebastian"));
        assert!(contains_word("é abigail é", "abigail"));
    }
}
