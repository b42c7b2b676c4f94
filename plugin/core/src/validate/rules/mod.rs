//! The checks themselves, one file per content type (`world.rs`, `character.rs`, `item.rs`,
//! `crop.rs`, `dialogue.rs`, `quest.rs`, `sidecar.rs`) plus the checks they share (`common.rs`),
//! all methods of one [`Checker`] that holds the index of known ids built here.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::content::{Character, ContentKind, ContentSet, Crop, Document, Id, Item, Quest, World};
use crate::format::FieldPath;

use super::copying::DoNotCopy;
use super::diagnostic::{Diagnostic, DiagnosticKind};

mod character;
mod common;
mod crop;
mod dialogue;
mod item;
mod quest;
mod sidecar;
mod world;

/// What kind of thing an id refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ref {
    Character,
    Item,
    Quest,
    Flag,
    Location,
    Crop,
    Tag,
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
            Ref::Tag => "line tag",
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
            Ref::Tag => "declare it in the world's `line_tags` or fix the tag",
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
    tags: HashSet<&'a str>,
    /// The world's "do not copy" names.
    banned: DoNotCopy,
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
                self.ix.banned = DoNotCopy::new(&w.do_not_copy);
            }
        }
        if let Some(w) = self.ix.world {
            self.ix.locations = w.locations.iter().map(|l| l.id.as_str()).collect();
            self.ix.flags = w.flags.iter().map(|f| f.id.as_str()).collect();
            self.ix.tags = w.line_tags.iter().map(|t| t.id.as_str()).collect();
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
}
