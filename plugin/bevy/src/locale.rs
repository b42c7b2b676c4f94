//! The language the game shows its lines in. [`Locale`] names it; its string table
//! `locales/<lang>.po` loads as a [`LocaleAsset`] and hot-reloads like every content file (a
//! broken edit keeps the last good table and is reported like any content problem). The
//! dialogue runner shows each line's translation where the table has a usable one (not fuzzy,
//! made from the line's current source) and the source text everywhere else.
//!
//! ```no_run
//! # use bevy::prelude::*;
//! # use bevy_sprout::prelude::*;
//! // At start-up: `SproutPlugins::new(dir).with_locale("fr")`; later, from a menu:
//! fn to_french(mut locale: ResMut<Locale>) {
//!     *locale = Locale::new("fr");
//! }
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bevy::asset::io::Reader;
use bevy::asset::{AssetLoader, LoadContext};
use bevy::prelude::*;
use sprout_core::loc::{self, Translations};

use crate::assets::ContentLoadError;

/// The language lines are shown in: `None` shows the source text.
#[derive(Resource, Debug, Clone, Default)]
pub struct Locale {
    lang: Option<String>,
    table: Option<Handle<LocaleAsset>>,
}

impl Locale {
    /// Shows lines in `lang` (`fr`, `pt_BR`), from `locales/<lang>.po`; the source text where
    /// that table has no usable translation.
    pub fn new(lang: impl Into<String>) -> Self {
        Self {
            lang: Some(lang.into()),
            table: None,
        }
    }

    /// Shows the source text.
    pub fn source() -> Self {
        Self::default()
    }

    /// The language asked for, `None` for the source.
    pub fn language(&self) -> Option<&str> {
        self.lang.as_deref()
    }

    /// The string table's asset path: `locales/<lang>.po`.
    pub fn table_path(&self) -> Option<PathBuf> {
        self.lang.as_deref().map(|l| loc::po_path(Path::new(""), l))
    }

    /// The loaded table's handle, once [`Locale`] has asked for it.
    pub fn table(&self) -> Option<&Handle<LocaleAsset>> {
        self.table.as_ref()
    }
}

/// A `locales/<lang>.po` string table: the usable translations by line id.
#[derive(Asset, TypePath, Debug, Clone)]
pub struct LocaleAsset {
    /// The translations (the language is the file's stem).
    pub translations: Translations,
    /// The file's text.
    pub source: Arc<str>,
}

/// Loads `*.po` files as [`LocaleAsset`].
#[derive(Default, TypePath)]
pub struct LocaleLoader;

impl AssetLoader for LocaleLoader {
    type Asset = LocaleAsset;
    type Settings = ();
    type Error = ContentLoadError;

    async fn load(
        &self,
        reader: &mut dyn Reader,
        _settings: &(),
        ctx: &mut LoadContext<'_>,
    ) -> Result<LocaleAsset, ContentLoadError> {
        let (path, text) = crate::assets::read_text(reader, ctx).await?;
        let lang = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let translations = Translations::parse(lang, &text, &path).map_err(|error| {
            let (line, message) = match error {
                loc::Error::Parse { line, message, .. } => (line, message),
                other => (None, other.to_string()),
            };
            ContentLoadError::StringTable {
                path: path.clone(),
                line,
                message,
            }
        })?;
        Ok(LocaleAsset {
            translations,
            source: text.into(),
        })
    }

    fn extensions(&self) -> &[&str] {
        &[loc::EXTENSION]
    }
}

pub(crate) fn plugin(app: &mut App) {
    app.init_asset::<LocaleAsset>()
        .init_asset_loader::<LocaleLoader>()
        .init_resource::<Locale>()
        .add_systems(
            PreUpdate,
            load_table
                .run_if(resource_changed::<Locale>)
                .before(crate::SproutSystems::Content),
        );
}

/// Asks for the table of the language named, when the language changes.
fn load_table(mut locale: ResMut<Locale>, server: Res<AssetServer>) {
    let want = locale.table_path();
    let have = locale
        .table
        .as_ref()
        .and_then(|h| h.path())
        .map(|p| p.path().to_owned());
    if want == have {
        return;
    }
    if let Some(lang) = locale.language()
        && let Err(e) = loc::check_language(lang)
    {
        warn!("{e}; showing the source text");
        locale.bypass_change_detection().table = None;
        return;
    }
    let table = want.map(|p| server.load(p));
    locale.bypass_change_detection().table = table;
}

/// The translations in use now: the loaded table of the [`Locale`], else none (the source).
pub(crate) fn translations<'a>(
    locale: &Locale,
    tables: &'a Assets<LocaleAsset>,
) -> Option<&'a Translations> {
    locale
        .table
        .as_ref()
        .and_then(|h| tables.get(h))
        .map(|t| &t.translations)
}
