//! A set of content files loaded together, e.g. everything under `assets/`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::provenance::{SIDECAR_SUFFIX, sidecar_target};
use super::{Character, ContentKind, Crop, DialogueTree, Item, Provenance, Quest, World};
use crate::format::parse;
use crate::validate::{Diagnostic, DiagnosticKind};

/// One parsed file: where it came from, its text (to locate later errors) and its value.
#[derive(Debug, Clone)]
pub struct Document<T> {
    /// The file, as found (root joined with the relative path).
    pub path: PathBuf,
    /// The file's text.
    pub source: Arc<str>,
    /// The parsed value.
    pub value: T,
}

/// Every content file of a game, parsed, grouped by type.
#[derive(Debug, Clone, Default)]
pub struct ContentSet {
    /// The asset root asset paths are relative to.
    pub root: PathBuf,
    /// `*.world.ron` files (a valid set has exactly one).
    pub worlds: Vec<Document<World>>,
    /// `*.npc.ron` files.
    pub characters: Vec<Document<Character>>,
    /// `*.dialogue.ron` files.
    pub dialogues: Vec<Document<DialogueTree>>,
    /// `*.quest.ron` files.
    pub quests: Vec<Document<Quest>>,
    /// `*.item.ron` files.
    pub items: Vec<Document<Item>>,
    /// `*.crop.ron` files.
    pub crops: Vec<Document<Crop>>,
    /// `*.prov.ron` provenance sidecars.
    pub sidecars: Vec<Document<Provenance>>,
}

impl ContentSet {
    /// An empty set whose asset paths resolve below `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            ..Self::default()
        }
    }

    /// Reads and parses every content file below `root` (hidden folders are skipped).
    /// Files that cannot be read or parsed are left out and reported.
    pub fn load_dir(root: &Path) -> (Self, Vec<Diagnostic>) {
        let mut set = Self::new(root);
        let mut problems = Vec::new();
        let mut files = Vec::new();
        if let Err(e) = collect_files(root, &mut files) {
            problems.push(Diagnostic::new(
                DiagnosticKind::Io,
                root,
                format!("cannot read folder: {e}"),
            ));
        }
        // Reading and parsing dominate; spread them over the cores, then merge in file order.
        let workers = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(8);
        let chunk = files.len().div_ceil(workers).max(1);
        let results: Vec<Vec<Result<Option<Parsed>, Diagnostic>>> = std::thread::scope(|s| {
            let handles: Vec<_> = files
                .chunks(chunk)
                .map(|paths| {
                    let root = root.to_owned();
                    s.spawn(move || paths.iter().map(|p| read_and_parse(&root, p)).collect())
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        for result in results.into_iter().flatten() {
            match result {
                Ok(Some(parsed)) => set.insert(parsed),
                Ok(None) => {}
                Err(d) => problems.push(d),
            }
        }
        (set, problems)
    }

    /// Parses `source` as the content type its `path` names and adds it to the set.
    /// A file whose name matches no content type is an error.
    pub fn add_source(
        &mut self,
        path: PathBuf,
        source: impl Into<Arc<str>>,
    ) -> Result<(), Diagnostic> {
        self.insert(Parsed::from_source(path, source.into())?);
        Ok(())
    }

    /// Adds an already parsed file.
    pub fn insert(&mut self, parsed: Parsed) {
        match parsed {
            Parsed::World(d) => self.worlds.push(d),
            Parsed::Character(d) => self.characters.push(d),
            Parsed::Dialogue(d) => self.dialogues.push(d),
            Parsed::Quest(d) => self.quests.push(d),
            Parsed::Item(d) => self.items.push(d),
            Parsed::Crop(d) => self.crops.push(d),
            Parsed::Provenance(d) => self.sidecars.push(d),
        }
    }

    /// Removes the file at `path`, whatever its type. Returns whether it was there.
    pub fn remove(&mut self, path: &Path) -> bool {
        fn drop_from<T>(docs: &mut Vec<Document<T>>, path: &Path) -> bool {
            let before = docs.len();
            docs.retain(|d| d.path != path);
            before != docs.len()
        }
        drop_from(&mut self.worlds, path)
            | drop_from(&mut self.characters, path)
            | drop_from(&mut self.dialogues, path)
            | drop_from(&mut self.quests, path)
            | drop_from(&mut self.items, path)
            | drop_from(&mut self.crops, path)
            | drop_from(&mut self.sidecars, path)
    }

    /// The world, if there is exactly one.
    pub fn world(&self) -> Option<&World> {
        match self.worlds.as_slice() {
            [only] => Some(&only.value),
            _ => None,
        }
    }

    /// How many files the set holds.
    pub fn len(&self) -> usize {
        self.worlds.len()
            + self.characters.len()
            + self.dialogues.len()
            + self.quests.len()
            + self.items.len()
            + self.crops.len()
            + self.sidecars.len()
    }

    /// Whether the set holds no file.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One parsed file of any content type.
#[derive(Debug, Clone)]
pub enum Parsed {
    /// A `*.world.ron` file.
    World(Document<World>),
    /// A `*.npc.ron` file.
    Character(Document<Character>),
    /// A `*.dialogue.ron` file.
    Dialogue(Document<DialogueTree>),
    /// A `*.quest.ron` file.
    Quest(Document<Quest>),
    /// A `*.item.ron` file.
    Item(Document<Item>),
    /// A `*.crop.ron` file.
    Crop(Document<Crop>),
    /// A `*.prov.ron` sidecar.
    Provenance(Document<Provenance>),
}

impl Parsed {
    /// Parses `source` as the content type its `path` names.
    pub fn from_source(path: PathBuf, source: Arc<str>) -> Result<Self, Diagnostic> {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(SIDECAR_SUFFIX) && sidecar_target(&path).is_some() {
            return parse_doc(path, source).map(Parsed::Provenance);
        }
        let Some((kind, _)) = ContentKind::of_path(&path) else {
            return Err(Diagnostic::new(
                DiagnosticKind::UnknownFileType,
                &path,
                "file name matches no content type",
            ));
        };
        Ok(match kind {
            ContentKind::World => Parsed::World(parse_doc(path, source)?),
            ContentKind::Character => Parsed::Character(parse_doc(path, source)?),
            ContentKind::Dialogue => Parsed::Dialogue(parse_doc(path, source)?),
            ContentKind::Quest => Parsed::Quest(parse_doc(path, source)?),
            ContentKind::Item => Parsed::Item(parse_doc(path, source)?),
            ContentKind::Crop => Parsed::Crop(parse_doc(path, source)?),
        })
    }
}

/// Reads and parses one file found below `root`; `Ok(None)` for files that are not content.
fn read_and_parse(root: &Path, path: &Path) -> Result<Option<Parsed>, Diagnostic> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let known = name.ends_with(SIDECAR_SUFFIX) || ContentKind::of_path(path).is_some();
    if !known {
        if name.ends_with(".ron") && in_content_folder(root, path) {
            return Err(Diagnostic::new(
                DiagnosticKind::UnknownFileType,
                path,
                "this .ron file's name matches no content type (`<id>.npc.ron`, `<id>.dialogue.ron`, ...): it is ignored",
            ));
        }
        return Ok(None);
    }
    let source = std::fs::read_to_string(path)
        .map_err(|e| Diagnostic::new(DiagnosticKind::Io, path, format!("cannot read file: {e}")))?;
    Parsed::from_source(path.to_owned(), source.into()).map(Some)
}

fn parse_doc<T: serde::de::DeserializeOwned>(
    path: PathBuf,
    source: Arc<str>,
) -> Result<Document<T>, Diagnostic> {
    match parse::<T>(&source) {
        Ok(value) => Ok(Document {
            path,
            source,
            value,
        }),
        Err(e) => Err(Diagnostic::from_parse(path, e)),
    }
}

fn in_content_folder(root: &Path, path: &Path) -> bool {
    let Ok(rel) = path.strip_prefix(root) else {
        return false;
    };
    rel.components()
        .any(|c| ContentKind::ALL.iter().any(|k| c.as_os_str() == k.folder()))
}

/// Every file below `dir`, sorted, skipping hidden entries.
fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}
