//! [`SproutPlugins`]: everything Sprout adds to a game, with the asset folder stated once.

use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use bevy::app::PluginGroupBuilder;
use bevy::prelude::*;
use sprout_core::runtime::Facts;

use crate::SproutPlugin;
use crate::dialogue::DialoguePlugin;

/// Sprout for a game whose state is the resource `F` (what dialogue conditions read):
/// [`SproutPlugin`] (content, validation, notice, generation), [`DialoguePlugin<F>`] and, with
/// the feature `editor`, the editor panel. Disable a part the Bevy way:
/// `SproutPlugins::<F>::new(dir).build().disable::<EditorPlugin>()` (headless tests).
///
/// The asset folder is given once: [`register_asset_source`](Self::register_asset_source) (before
/// `DefaultPlugins`) watches it with a short debounce, [`asset_plugin`](Self::asset_plugin) is
/// the `AssetPlugin` that reads it, and the plugins write generated files into it.
pub struct SproutPlugins<F> {
    asset_dir: PathBuf,
    watch: bool,
    notice: bool,
    dialogue_ui: bool,
    locale: Option<String>,
    font: Option<PathBuf>,
    _facts: PhantomData<fn() -> F>,
}

impl<F> SproutPlugins<F> {
    /// Sprout over the asset folder `asset_dir`, watched for edits when Bevy's `file_watcher`
    /// is built in (the `hot_reload` feature of `bevy_sprout`).
    pub fn new(asset_dir: impl Into<PathBuf>) -> Self {
        Self {
            asset_dir: asset_dir.into(),
            watch: cfg!(feature = "hot_reload"),
            notice: true,
            dialogue_ui: true,
            locale: None,
            font: None,
            _facts: PhantomData,
        }
    }

    /// Whether to watch the asset folder and hot-reload edits (default: with `hot_reload`).
    pub fn watch(mut self, watch: bool) -> Self {
        self.watch = watch;
        self
    }

    /// Whether to show content problems on screen (default: yes).
    pub fn with_notice(mut self, show: bool) -> Self {
        self.notice = show;
        self
    }

    /// Shows dialogue in `lang` (`fr`), from `locales/<lang>.po`, with the source text where a
    /// line has no usable translation (see [`SproutPlugin::with_locale`]).
    pub fn with_locale(mut self, lang: impl Into<String>) -> Self {
        self.locale = Some(lang.into());
        self
    }

    /// Makes the font file `path` (below the asset folder) the default font of all text (see
    /// [`SproutPlugin::with_font`]).
    pub fn with_font(mut self, path: impl Into<PathBuf>) -> Self {
        self.font = Some(path.into());
        self
    }

    /// Without the default dialogue box (the game draws its own).
    pub fn without_dialogue_ui(mut self) -> Self {
        self.dialogue_ui = false;
        self
    }

    /// The asset folder.
    pub fn asset_dir(&self) -> &Path {
        &self.asset_dir
    }

    /// Registers the asset folder as the default asset source, watched with a short debounce
    /// when watching. Call it before adding `DefaultPlugins` (it must precede `AssetPlugin`).
    pub fn register_asset_source(&self, app: &mut App) {
        if self.watch {
            crate::hot_reload::register_fast_watcher(app, &self.asset_dir);
        }
    }

    /// The `AssetPlugin` that reads the asset folder (and watches it when watching).
    pub fn asset_plugin(&self) -> AssetPlugin {
        AssetPlugin {
            file_path: self.asset_dir.to_string_lossy().into_owned(),
            watch_for_changes_override: Some(self.watch),
            ..default()
        }
    }
}

impl<F: Facts + Resource> PluginGroup for SproutPlugins<F> {
    fn build(self) -> PluginGroupBuilder {
        let dialogue = if self.dialogue_ui {
            DialoguePlugin::<F>::default()
        } else {
            DialoguePlugin::<F>::default().without_ui()
        };
        let mut sprout = SproutPlugin::default()
            .with_asset_dir(&self.asset_dir)
            .with_notice(self.notice);
        if let Some(lang) = self.locale {
            sprout = sprout.with_locale(lang);
        }
        if let Some(font) = self.font {
            sprout = sprout.with_font(font);
        }
        let group = PluginGroupBuilder::start::<Self>()
            .add(sprout)
            .add(dialogue);
        #[cfg(feature = "editor")]
        let group = group.add(crate::editor::EditorPlugin::default());
        group
    }
}
