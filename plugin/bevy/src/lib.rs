//! Bevy glue for Sprout: content files as hot-reloaded assets, a dialogue runtime with a default
//! UI, and (as they land) generation tasks and the in-game editor panel.
//!
//! ```no_run
//! use bevy::prelude::*;
//! use bevy_sprout::prelude::*;
//!
//! App::new()
//!     .add_plugins(DefaultPlugins)
//!     .add_plugins(SproutPlugin::default())
//!     .add_systems(Update, |library: Library| {
//!         if let Some(world) = library.world() {
//!             info!("{} has {} characters", world.title, library.characters().len());
//!         }
//!     })
//!     .run();
//! ```
//!
//! The core (`sprout_core`) holds everything engine-agnostic; this crate only wires it into Bevy.

pub mod assets;
pub mod dialogue;
#[cfg(feature = "editor")]
pub mod editor;
#[cfg(feature = "llm")]
pub mod generate;
pub mod hot_reload;
pub mod library;
mod notice;

use std::path::PathBuf;

use bevy::prelude::*;

/// Everything a game needs in one `use`.
pub mod prelude {
    pub use crate::assets::{
        CharacterAsset, CropAsset, DialogueAsset, ItemAsset, ProvenanceAsset, QuestAsset,
        WorldAsset,
    };
    pub use crate::dialogue::{
        ChooseLine, DialogueEffect, DialogueEnded, DialoguePlugin, DialogueRunner,
        MemoryFactsResource, StartDialogue,
    };
    pub use crate::library::{
        ContentProblem, ContentRecovered, ContentStatus, ContentValidated, Library,
    };
    pub use crate::{SproutPlugin, SproutSettings, SproutSystems};
    pub use sprout_core::content::{Effect, Id, Season, TimeSlot};
    pub use sprout_core::runtime::Facts;
}

/// Sprout's system sets. All run in [`PreUpdate`] (content) or [`Update`] (dialogue, UI), in this
/// order, so game systems in `Update` see this frame's content and dialogue state.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SproutSystems {
    /// `PreUpdate`: track content asset events and load failures, rebuild the id index, run
    /// cross-file validation off the main thread.
    Content,
    /// `Update`: start, advance and end conversations; emit dialogue effects.
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

/// Sprout's plugin: content loaders, the content library and its health, the on-screen notice.
/// Add [`dialogue::DialoguePlugin`] too for conversations.
#[derive(Debug, Default, Clone)]
pub struct SproutPlugin {
    settings: SproutSettings,
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
}

impl Plugin for SproutPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(self.settings.clone())
            .configure_sets(Update, (SproutSystems::Dialogue, SproutSystems::Ui).chain())
            .add_plugins((assets::plugin, library::plugin, notice::plugin));
        #[cfg(feature = "llm")]
        app.add_plugins(generate::plugin);
    }
}
