//! Sprout in Bevy: content files as hot-reloaded assets with a live validator, a dialogue runtime
//! with a default UI, generation on a worker thread staged for review (feature `llm`), and the
//! in-game editor panel (feature `editor`). Add it once, with the asset folder stated once:
//!
//! ```no_run
//! use bevy::prelude::*;
//! use bevy_sprout::prelude::*;
//!
//! let sprout = SproutPlugins::<MemoryFactsResource>::new(bevy_sprout::default_asset_dir());
//! let mut app = App::new();
//! sprout.register_asset_source(&mut app); // before DefaultPlugins: the watched asset folder
//! app.add_plugins(DefaultPlugins.set(sprout.asset_plugin()))
//!     .add_plugins(sprout)
//!     .add_systems(Update, |library: Library| {
//!         if let Some(world) = library.world() {
//!             info!("{} has {} characters", world.title, library.characters().len());
//!         }
//!     })
//!     .run();
//! ```
//!
//! The public API, by module: [`prelude`] (what a game needs), [`assets`] (the content types as
//! Bevy assets), [`dialogue`] (the runtime and its messages), [`generate`] (the [`Generate`]
//! message and what follows a job), [`editor`] (the panel), [`hot_reload`], [`library`] (the
//! content as loaded), [`locale`] (the language lines are shown in). Everything engine-agnostic (content, validation, the story pipeline, the
//! art recipes, the models) lives in `sprout_core`; this crate wires it into Bevy.
//!
//! [`Generate`]: generate::Generate
//!
//! # Systems
//! - `PreUpdate`, [`SproutSystems::Content`]: asset events and load failures, the id index,
//!   cross-file validation off the main thread;
//! - `Update`, in this order: [`SproutSystems::Generate`] (submit requests to the worker, pump
//!   its replies, accept or reject staged results), [`SproutSystems::Dialogue`] (start, advance
//!   and end conversations, emit effects), [`SproutSystems::Ui`] (the dialogue box, the content
//!   notice, the editor's toggle); the editor panel itself draws in `EguiPrimaryContextPass`.
//!
//! A game's own `Update` systems that react to content or dialogue belong between
//! [`SproutSystems::Dialogue`] and [`SproutSystems::Ui`] (Kettle Hollow's `FarmSystems` sit
//! there).

pub mod assets;
pub mod dialogue;
#[cfg(feature = "editor")]
mod editor_panel;
#[cfg(feature = "llm")]
mod generation;
mod hot_reload_source;
mod library_index;
pub mod locale;
mod notice;
mod plugins;

/// Generation in the running game (feature `llm`): ask with [`Generate`](generate::Generate),
/// follow [`GenerationUpdate`](generate::GenerationUpdate) or [`Generations`](generate::Generations),
/// decide with [`AcceptGenerated`](generate::AcceptGenerated) or
/// [`RejectGenerated`](generate::RejectGenerated).
#[cfg(feature = "llm")]
pub mod generate {
    pub use crate::generation::*;
}

/// The editor panel (feature `editor`): F1 opens it; [`ShowJob`](editor::ShowJob) opens it on a
/// job.
#[cfg(feature = "editor")]
pub mod editor {
    pub use crate::editor_panel::{EditorCamera, EditorPlugin, ShowJob};
}

/// Fast hot reload of the asset folder (a short debounce).
pub mod hot_reload {
    pub use crate::hot_reload_source::*;
}

/// The loaded content: [`Library`](library::Library) for systems, its health and the id index.
pub mod library {
    pub use crate::library_index::*;
}

use std::path::PathBuf;

use bevy::prelude::*;

/// Everything a game needs in one `use`.
pub mod prelude {
    pub use crate::assets::{
        CharacterAsset, CropAsset, DialogueAsset, ItemAsset, ProvenanceAsset, QuestAsset,
        WorldAsset,
    };
    pub use crate::dialogue::{
        ChooseLine, DialogueEffect, DialogueEnded, DialoguePlugin, DialogueRunner, LineShown,
        MemoryFactsResource, StartDialogue,
    };
    #[cfg(feature = "llm")]
    pub use crate::generate::{
        AcceptGenerated, Generate, GenerationUpdate, Generations, Job, JobId, RejectGenerated,
    };
    pub use crate::library::{
        ContentProblem, ContentRecovered, ContentStatus, ContentValidated, Library,
    };
    pub use crate::locale::Locale;
    pub use crate::plugins::SproutPlugins;
    pub use crate::{SproutPlugin, SproutSettings, SproutSystems};
    pub use sprout_core::content::{Effect, Id, Season, TimeSlot};
    pub use sprout_core::runtime::Facts;
}

/// Sprout's system sets. [`Content`](Self::Content) runs in [`PreUpdate`]; the others in
/// [`Update`], in the order listed, so game systems in `Update` see this frame's content,
/// generation and dialogue state.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SproutSystems {
    /// `PreUpdate`: track content asset events and load failures, rebuild the id index, run
    /// cross-file validation off the main thread.
    Content,
    /// `Update`, first: submit generation requests to the worker, turn its replies into
    /// [`generate::GenerationUpdate`]s, accept or reject staged results (feature `llm`).
    Generate,
    /// `Update`, after `Generate`: start, advance and end conversations; emit dialogue effects.
    Dialogue,
    /// `Update`, after `Dialogue`: draw the dialogue box and the content notice.
    Ui,
}

/// Where Sprout finds the asset folder on disk (for validation and for writing generated files).
#[derive(Resource, Debug, Clone)]
pub struct SproutSettings {
    /// The asset folder, as a filesystem path.
    pub asset_dir: PathBuf,
    /// Whether to show problems with content on screen.
    pub show_notice: bool,
}

impl Default for SproutSettings {
    fn default() -> Self {
        Self {
            asset_dir: default_asset_dir(),
            show_notice: true,
        }
    }
}

/// `$BEVY_ASSET_ROOT/assets` (set by the workspace's `.cargo/config.toml`), else `assets`.
pub fn default_asset_dir() -> PathBuf {
    std::env::var_os("BEVY_ASSET_ROOT")
        .map(PathBuf::from)
        .unwrap_or_default()
        .join("assets")
}

/// Sprout's core plugin: content loaders, the content library and its health, the on-screen
/// notice, and (feature `llm`) generation. [`SproutPlugins`](plugins::SproutPlugins) adds it
/// with the dialogue runtime and the editor; add it alone for a headless app.
#[derive(Debug, Default, Clone)]
pub struct SproutPlugin {
    settings: SproutSettings,
    locale: Option<String>,
    font: Option<PathBuf>,
}

impl SproutPlugin {
    /// Uses `dir` as the asset folder on disk (it must match `AssetPlugin::file_path`).
    pub fn with_asset_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.settings.asset_dir = dir.into();
        self
    }

    /// Whether to show content problems on screen (default: yes).
    pub fn with_notice(mut self, show: bool) -> Self {
        self.settings.show_notice = show;
        self
    }

    /// Shows dialogue in `lang` (`fr`), from `locales/<lang>.po`, with the source text where a
    /// line has no usable translation. The [`Locale`](locale::Locale) resource changes it later.
    pub fn with_locale(mut self, lang: impl Into<String>) -> Self {
        self.locale = Some(lang.into());
        self
    }

    /// Makes the font file `path` (below the asset folder, e.g. `fonts/FiraMono-Regular.ttf`)
    /// the default font of all text, the dialogue box's included. Bevy's own default font is a
    /// subset with ASCII only: translated lines (`é`, `œ`, `ß`, `ñ`) need a full one. Add this
    /// plugin after `DefaultPlugins` (their text plugin holds the default font).
    pub fn with_font(mut self, path: impl Into<PathBuf>) -> Self {
        self.font = Some(path.into());
        self
    }
}

/// Replaces the default font (the asset at the default handle, which every `TextFont` without
/// a font uses) with the font file at `path`, before any text is laid out.
fn set_default_font(app: &mut App, path: &std::path::Path) {
    let Some(mut fonts) = app.world_mut().get_resource_mut::<Assets<Font>>() else {
        warn!(
            "no text plugin: the font {} is not used (add SproutPlugin after DefaultPlugins)",
            path.display()
        );
        return;
    };
    match std::fs::read(path) {
        Ok(bytes) => {
            if let Err(e) = fonts.insert(AssetId::default(), Font::from_bytes(bytes)) {
                warn!("cannot use the font {}: {e}", path.display());
            }
        }
        Err(e) => warn!(
            "cannot read the font {}: {e}; text shows in Bevy's default font",
            path.display()
        ),
    }
}

impl Plugin for SproutPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(self.settings.clone())
            .configure_sets(
                Update,
                (
                    SproutSystems::Generate,
                    SproutSystems::Dialogue,
                    SproutSystems::Ui,
                )
                    .chain(),
            )
            .add_plugins((
                assets::plugin,
                locale::plugin,
                library::plugin,
                notice::plugin,
            ));
        if let Some(lang) = &self.locale {
            app.insert_resource(locale::Locale::new(lang.clone()));
        }
        if let Some(font) = &self.font {
            set_default_font(app, &self.settings.asset_dir.join(font));
        }
        #[cfg(feature = "llm")]
        app.add_plugins(generation::plugin);
    }
}
