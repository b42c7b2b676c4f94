//! The loaded content: folders of assets, an index by id, and the health of every file.
//!
//! All content folders (`world/`, `npcs/`, `dialogue/`, ...) are loaded at start-up. Whenever a
//! content asset is added, changed or fails to load, the index is rebuilt and the whole set is
//! validated again off the main thread (cross-file rules included). A file that fails to load
//! keeps its last good version in `Assets<T>`; the failure is reported with file, line and column in
//! [`ContentStatus`], as a [`ContentProblem`] message, in the log and on screen, until a fixed
//! version loads.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use bevy::asset::{AssetLoadFailedEvent, LoadedFolder};
use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy::tasks::{AsyncComputeTaskPool, Task, futures::check_ready};
use sprout_core::content::{
    Character, ContentKind, ContentSet, Crop, DialogueTree, Document, Id, Item, Quest, World,
};
use sprout_core::validate::{Diagnostic, validate_set};

use crate::SproutSettings;
use crate::assets::{
    CharacterAsset, CropAsset, DialogueAsset, ItemAsset, ProvenanceAsset, QuestAsset, WorldAsset,
};
use crate::locale::{Locale, LocaleAsset};

/// Handles that keep every content folder loaded.
#[derive(Resource, Default)]
pub struct ContentFolders(pub Vec<Handle<LoadedFolder>>);

/// Content ids → asset ids, rebuilt whenever content changes.
#[derive(Resource, Default, Debug)]
pub struct ContentIndex {
    /// The world, if exactly one is loaded.
    pub world: Option<AssetId<WorldAsset>>,
    /// Characters by id.
    pub characters: HashMap<String, AssetId<CharacterAsset>>,
    /// Dialogue trees by id.
    pub dialogues: HashMap<String, AssetId<DialogueAsset>>,
    /// Quests by id.
    pub quests: HashMap<String, AssetId<QuestAsset>>,
    /// Items by id.
    pub items: HashMap<String, AssetId<ItemAsset>>,
    /// Crops by id.
    pub crops: HashMap<String, AssetId<CropAsset>>,
}

/// The health of the content: load failures and the latest validation.
#[derive(Resource, Default, Debug)]
pub struct ContentStatus {
    /// Files whose latest version failed to load (the last good version stays in use), by asset
    /// path, with the error (`path:line:col: field: message`).
    pub load_errors: BTreeMap<PathBuf, String>,
    /// Problems found by the latest validation of the whole set.
    pub diagnostics: Vec<Diagnostic>,
    /// How many validations have completed.
    pub validations: u64,
    /// Whether every content folder has finished loading and the latest validation covers the
    /// content as it is now.
    pub settled: bool,
}

impl ContentStatus {
    /// Whether nothing is wrong: every file loads and validation found no error.
    pub fn is_healthy(&self) -> bool {
        self.load_errors.is_empty() && !self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// One line per problem, load failures first.
    pub fn lines(&self) -> Vec<String> {
        self.load_errors
            .values()
            .cloned()
            .chain(
                self.diagnostics
                    .iter()
                    .filter(|d| d.is_error())
                    .map(ToString::to_string),
            )
            .collect()
    }
}

/// A content file failed to load or reload; the last good version stays in use.
#[derive(Message, Debug, Clone)]
pub struct ContentProblem {
    /// The asset path.
    pub path: PathBuf,
    /// `path:line:col: field: message`.
    pub message: String,
}

/// A file that had failed loads cleanly again.
#[derive(Message, Debug, Clone)]
pub struct ContentRecovered {
    /// The asset path.
    pub path: PathBuf,
}

/// A validation of the whole content set finished.
#[derive(Message, Debug, Clone)]
pub struct ContentValidated {
    /// Number of errors.
    pub errors: usize,
    /// Number of warnings.
    pub warnings: usize,
}

/// Read access to the loaded content by id.
#[derive(SystemParam)]
pub struct Library<'w> {
    index: Res<'w, ContentIndex>,
    worlds: Res<'w, Assets<WorldAsset>>,
    characters: Res<'w, Assets<CharacterAsset>>,
    dialogues: Res<'w, Assets<DialogueAsset>>,
    quests: Res<'w, Assets<QuestAsset>>,
    items: Res<'w, Assets<ItemAsset>>,
    crops: Res<'w, Assets<CropAsset>>,
    locale: Option<Res<'w, Locale>>,
    tables: Option<Res<'w, Assets<LocaleAsset>>>,
}

impl Library<'_> {
    /// The translations of the [`Locale`] in use, once its string table has loaded; `None`
    /// shows the source text.
    pub fn translations(&self) -> Option<&sprout_core::loc::Translations> {
        crate::locale::translations(self.locale.as_deref()?, self.tables.as_deref()?)
    }

    /// What to show for `line` in the [`Locale`] in use, and the language it is in: its
    /// translation where the table has a usable one (not fuzzy, made from this `source`), else
    /// `source` in [`SOURCE_LANGUAGE`](sprout_core::loc::SOURCE_LANGUAGE).
    pub fn line_text<'a>(&'a self, line: &Id, source: &'a str) -> (&'a str, &'a str) {
        self.translations()
            .and_then(|t| Some((t.get(line, source)?, t.language())))
            .unwrap_or((source, sprout_core::loc::SOURCE_LANGUAGE))
    }

    /// The world.
    pub fn world(&self) -> Option<&World> {
        self.index
            .world
            .and_then(|id| self.worlds.get(id))
            .map(|a| &a.value)
    }

    /// A character by id.
    pub fn character(&self, id: &str) -> Option<&Character> {
        let aid = self.index.characters.get(id)?;
        self.characters.get(*aid).map(|a| &a.value)
    }

    /// Every character, in id order.
    pub fn characters(&self) -> Vec<&Character> {
        sorted(&self.index.characters, |id| {
            self.characters.get(id).map(|a| &a.value)
        })
    }

    /// A dialogue tree by id.
    pub fn dialogue(&self, id: &str) -> Option<&DialogueTree> {
        let aid = self.index.dialogues.get(id)?;
        self.dialogues.get(*aid).map(|a| &a.value)
    }

    /// Every dialogue tree, in id order.
    pub fn dialogues(&self) -> Vec<&DialogueTree> {
        sorted(&self.index.dialogues, |id| {
            self.dialogues.get(id).map(|a| &a.value)
        })
    }

    /// A quest by id.
    pub fn quest(&self, id: &str) -> Option<&Quest> {
        let aid = self.index.quests.get(id)?;
        self.quests.get(*aid).map(|a| &a.value)
    }

    /// Every quest, in id order.
    pub fn quests(&self) -> Vec<&Quest> {
        sorted(&self.index.quests, |id| {
            self.quests.get(id).map(|a| &a.value)
        })
    }

    /// An item by id.
    pub fn item(&self, id: &str) -> Option<&Item> {
        let aid = self.index.items.get(id)?;
        self.items.get(*aid).map(|a| &a.value)
    }

    /// Every item, in id order.
    pub fn items(&self) -> Vec<&Item> {
        sorted(&self.index.items, |id| self.items.get(id).map(|a| &a.value))
    }

    /// A crop by id.
    pub fn crop(&self, id: &str) -> Option<&Crop> {
        let aid = self.index.crops.get(id)?;
        self.crops.get(*aid).map(|a| &a.value)
    }

    /// Every crop, in id order.
    pub fn crops(&self) -> Vec<&Crop> {
        sorted(&self.index.crops, |id| self.crops.get(id).map(|a| &a.value))
    }

    /// The crop grown from a seed item.
    pub fn crop_from_seed(&self, seed: &str) -> Option<&Crop> {
        self.crops().into_iter().find(|c| c.seed.as_str() == seed)
    }
}

fn sorted<'a, A: Asset, T>(
    map: &HashMap<String, AssetId<A>>,
    get: impl Fn(AssetId<A>) -> Option<&'a T>,
) -> Vec<&'a T> {
    let mut ids: Vec<_> = map.iter().collect();
    ids.sort_by(|a, b| a.0.cmp(b.0));
    ids.into_iter().filter_map(|(_, id)| get(*id)).collect()
}

/// Set when content changed this frame and the index and validation are stale.
#[derive(Resource, Default)]
struct Dirty(bool);

#[derive(Resource, Default)]
struct ValidationTask(Option<Task<Vec<Diagnostic>>>);

pub(crate) fn plugin(app: &mut App) {
    app.init_resource::<ContentFolders>()
        .init_resource::<ContentIndex>()
        .init_resource::<ContentStatus>()
        .init_resource::<Dirty>()
        .init_resource::<ValidationTask>()
        .add_message::<ContentProblem>()
        .add_message::<ContentRecovered>()
        .add_message::<ContentValidated>()
        .add_systems(Startup, load_folders)
        .add_systems(
            PreUpdate,
            (
                (
                    track::<WorldAsset>,
                    track::<CharacterAsset>,
                    track::<DialogueAsset>,
                    track::<QuestAsset>,
                    track::<ItemAsset>,
                    track::<CropAsset>,
                    track::<ProvenanceAsset>,
                    track::<LocaleAsset>,
                ),
                rebuild_index,
                (start_validation, finish_validation).chain(),
                settle,
            )
                .chain()
                .in_set(crate::SproutSystems::Content),
        );
}

fn settle(
    server: Res<AssetServer>,
    folders: Res<ContentFolders>,
    dirty: Res<Dirty>,
    task: Res<ValidationTask>,
    mut status: ResMut<ContentStatus>,
) {
    let settled =
        folders_done(&server, &folders) && !dirty.0 && task.0.is_none() && status.validations > 0;
    if status.settled != settled {
        status.settled = settled;
    }
}

/// Whether every content folder has finished its first load (successfully or not).
fn folders_done(server: &AssetServer, folders: &ContentFolders) -> bool {
    use bevy::asset::RecursiveDependencyLoadState as S;
    !folders.0.is_empty()
        && folders.0.iter().all(|f| {
            matches!(
                server.get_recursive_dependency_load_state(f),
                Some(S::Loaded | S::Failed(_))
            )
        })
}

fn load_folders(server: Res<AssetServer>, mut folders: ResMut<ContentFolders>) {
    folders.0 = ContentKind::ALL
        .iter()
        .map(|k| server.load_folder(k.folder()))
        .collect();
}

/// Marks content dirty on any change, records load failures and recoveries.
fn track<A: Asset>(
    mut events: MessageReader<AssetEvent<A>>,
    mut failures: MessageReader<AssetLoadFailedEvent<A>>,
    server: Res<AssetServer>,
    mut status: ResMut<ContentStatus>,
    mut dirty: ResMut<Dirty>,
    mut problems: MessageWriter<ContentProblem>,
    mut recovered: MessageWriter<ContentRecovered>,
) {
    for event in events.read() {
        dirty.0 = true;
        if let AssetEvent::Modified { id } | AssetEvent::LoadedWithDependencies { id } = event
            && let Some(path) = server.get_path(*id)
        {
            let path = path.path().to_owned();
            if status.load_errors.remove(&path).is_some() {
                info!("{}: loads again", path.display());
                recovered.write(ContentRecovered { path });
            }
        }
    }
    for failure in failures.read() {
        dirty.0 = true;
        let path = failure.path.path().to_owned();
        let message = describe_failure(&failure.error);
        warn!("{message} (keeping the last good version)");
        status.load_errors.insert(path.clone(), message.clone());
        problems.write(ContentProblem { path, message });
    }
}

/// The loader's own message (`path:line:col: field: ...`) without Bevy's wrapping, where there is one.
fn describe_failure(error: &bevy::asset::AssetLoadError) -> String {
    use bevy::asset::AssetLoadError;
    match error {
        AssetLoadError::AssetLoaderError(e) => e
            .error()
            .downcast_ref::<crate::assets::ContentLoadError>()
            .map_or_else(|| e.to_string(), ToString::to_string),
        other => other.to_string(),
    }
}

fn rebuild_index(dirty: Res<Dirty>, mut index: ResMut<ContentIndex>, assets: ContentAssets) {
    if !dirty.0 {
        return;
    }
    fn by_id<A: Asset>(assets: &Assets<A>, id: impl Fn(&A) -> &str) -> HashMap<String, AssetId<A>> {
        let mut map = HashMap::new();
        for (aid, a) in assets.iter() {
            map.entry(id(a).to_owned()).or_insert(aid);
        }
        map
    }
    let mut all_worlds = assets.worlds.iter();
    index.world = match (all_worlds.next(), all_worlds.next()) {
        (Some((id, _)), None) => Some(id),
        _ => None,
    };
    index.characters = by_id(&assets.characters, |a| a.value.id.as_str());
    index.dialogues = by_id(&assets.dialogues, |a| a.value.id.as_str());
    index.quests = by_id(&assets.quests, |a| a.value.id.as_str());
    index.items = by_id(&assets.items, |a| a.value.id.as_str());
    index.crops = by_id(&assets.crops, |a| a.value.id.as_str());
}

/// Read access to every loaded content asset, for snapshots.
#[derive(SystemParam)]
pub struct ContentAssets<'w> {
    worlds: Res<'w, Assets<WorldAsset>>,
    characters: Res<'w, Assets<CharacterAsset>>,
    dialogues: Res<'w, Assets<DialogueAsset>>,
    quests: Res<'w, Assets<QuestAsset>>,
    items: Res<'w, Assets<ItemAsset>>,
    crops: Res<'w, Assets<CropAsset>>,
}

/// A core [`ContentSet`] of everything loaded now, with file paths below `root` (for validation
/// and as context for generators).
pub fn snapshot(server: &AssetServer, root: &Path, assets: &ContentAssets) -> ContentSet {
    fn docs<A: Asset, T: Clone>(
        server: &AssetServer,
        root: &Path,
        assets: &Assets<A>,
        part: impl Fn(&A) -> (&T, &std::sync::Arc<str>),
    ) -> Vec<Document<T>> {
        assets
            .iter()
            .filter_map(|(id, a)| {
                let path = root.join(server.get_path(id)?.path());
                let (value, source) = part(a);
                Some(Document {
                    path,
                    source: source.clone(),
                    value: value.clone(),
                })
            })
            .collect()
    }
    let mut set = ContentSet::new(root);
    set.worlds = docs(server, root, &assets.worlds, |a| (&a.value, &a.source));
    set.characters = docs(server, root, &assets.characters, |a| (&a.value, &a.source));
    set.dialogues = docs(server, root, &assets.dialogues, |a| (&a.value, &a.source));
    set.quests = docs(server, root, &assets.quests, |a| (&a.value, &a.source));
    set.items = docs(server, root, &assets.items, |a| (&a.value, &a.source));
    set.crops = docs(server, root, &assets.crops, |a| (&a.value, &a.source));
    set
}

fn start_validation(
    folders: Res<ContentFolders>,
    mut dirty: ResMut<Dirty>,
    mut task: ResMut<ValidationTask>,
    settings: Res<SproutSettings>,
    server: Res<AssetServer>,
    assets: ContentAssets,
) {
    // Until the first load completes, a partial set would only report missing references.
    if !dirty.0 || task.0.is_some() || !folders_done(&server, &folders) {
        return;
    }
    dirty.0 = false;
    let set = snapshot(&server, &settings.asset_dir, &assets);
    if set.is_empty() {
        return;
    }
    task.0 = Some(AsyncComputeTaskPool::get().spawn(async move { validate_set(&set) }));
}

fn finish_validation(
    mut task: ResMut<ValidationTask>,
    mut status: ResMut<ContentStatus>,
    mut validated: MessageWriter<ContentValidated>,
) {
    let Some(running) = task.0.as_mut() else {
        return;
    };
    let Some(diagnostics) = check_ready(running) else {
        return;
    };
    task.0 = None;
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    for d in diagnostics.iter().filter(|d| d.is_error()) {
        warn!("{d}");
    }
    status.diagnostics = diagnostics;
    status.validations += 1;
    validated.write(ContentValidated {
        errors,
        warnings: status.diagnostics.len() - errors,
    });
}
