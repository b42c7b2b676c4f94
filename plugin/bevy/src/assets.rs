//! Every Sprout content type as a Bevy asset, each with its RON loader (`*.npc.ron`,
//! `*.dialogue.ron`, ...). A loader keeps the file's text beside the value, so cross-file
//! validation can point at lines, and fails with `path:line:col: field: message`.

use std::path::PathBuf;
use std::sync::Arc;

use bevy::asset::io::Reader;
use bevy::asset::{AssetLoader, LoadContext};
use bevy::prelude::*;
use sprout_core::content::{Character, Crop, DialogueTree, Item, Provenance, Quest, World};
use sprout_core::format::{ParseError, parse};

/// Why a content file failed to load.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContentLoadError {
    /// The file could not be read.
    #[error("could not read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not UTF-8.
    #[error("{path}: not UTF-8 text")]
    NotUtf8 {
        /// The file.
        path: PathBuf,
    },
    /// The file does not parse as its content type.
    #[error("{path}:{error}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where and why.
        error: ParseError,
    },
    /// A string table (`locales/<lang>.po`) that is not valid PO.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    StringTable {
        /// The file.
        path: PathBuf,
        /// The line the PO parser stopped at, when it says.
        line: Option<usize>,
        /// What the parser said.
        message: String,
    },
}

/// The file being loaded, as text: its asset path and its contents.
pub(crate) async fn read_text(
    reader: &mut dyn Reader,
    ctx: &LoadContext<'_>,
) -> Result<(PathBuf, String), ContentLoadError> {
    let path = ctx.path().path().to_owned();
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .await
        .map_err(|source| ContentLoadError::Io {
            path: path.clone(),
            source,
        })?;
    let text =
        String::from_utf8(bytes).map_err(|_| ContentLoadError::NotUtf8 { path: path.clone() })?;
    Ok((path, text))
}

async fn read_and_parse<T: serde::de::DeserializeOwned>(
    reader: &mut dyn Reader,
    ctx: &LoadContext<'_>,
) -> Result<(T, Arc<str>), ContentLoadError> {
    let (path, text) = read_text(reader, ctx).await?;
    let value = parse::<T>(&text).map_err(|error| ContentLoadError::Parse { path, error })?;
    Ok((value, text.into()))
}

macro_rules! content_asset {
    ($(#[$meta:meta])* $asset:ident, $loader:ident, $ty:ty, $ext:literal) => {
        $(#[$meta])*
        #[derive(Asset, TypePath, Debug, Clone)]
        pub struct $asset {
            /// The parsed value.
            pub value: $ty,
            /// The file's text, kept to locate validation problems.
            pub source: Arc<str>,
        }

        impl core::ops::Deref for $asset {
            type Target = $ty;
            fn deref(&self) -> &$ty {
                &self.value
            }
        }

        #[doc = concat!("Loads `*.", $ext, "` files as [`", stringify!($asset), "`].")]
        #[derive(Default, TypePath)]
        pub struct $loader;

        impl AssetLoader for $loader {
            type Asset = $asset;
            type Settings = ();
            type Error = ContentLoadError;

            async fn load(
                &self,
                reader: &mut dyn Reader,
                _settings: &(),
                load_context: &mut LoadContext<'_>,
            ) -> Result<$asset, ContentLoadError> {
                let (value, source) = read_and_parse::<$ty>(reader, load_context).await?;
                Ok($asset { value, source })
            }

            fn extensions(&self) -> &[&str] {
                &[$ext]
            }
        }
    };
}

content_asset!(
    /// A `*.world.ron` file: the story bible.
    WorldAsset, WorldLoader, World, "world.ron"
);
content_asset!(
    /// A `*.npc.ron` file: one character.
    CharacterAsset, CharacterLoader, Character, "npc.ron"
);
content_asset!(
    /// A `*.dialogue.ron` file: one conversation.
    DialogueAsset, DialogueLoader, DialogueTree, "dialogue.ron"
);
content_asset!(
    /// A `*.quest.ron` file: one quest.
    QuestAsset, QuestLoader, Quest, "quest.ron"
);
content_asset!(
    /// A `*.item.ron` file: one item.
    ItemAsset, ItemLoader, Item, "item.ron"
);
content_asset!(
    /// A `*.crop.ron` file: one crop.
    CropAsset, CropLoader, Crop, "crop.ron"
);
content_asset!(
    /// A `*.prov.ron` sidecar: how a generated file was made.
    ProvenanceAsset, ProvenanceLoader, Provenance, "prov.ron"
);

/// Registers the content assets and their loaders.
pub(crate) fn plugin(app: &mut App) {
    app.init_asset::<WorldAsset>()
        .init_asset::<CharacterAsset>()
        .init_asset::<DialogueAsset>()
        .init_asset::<QuestAsset>()
        .init_asset::<ItemAsset>()
        .init_asset::<CropAsset>()
        .init_asset::<ProvenanceAsset>()
        .init_asset_loader::<WorldLoader>()
        .init_asset_loader::<CharacterLoader>()
        .init_asset_loader::<DialogueLoader>()
        .init_asset_loader::<QuestLoader>()
        .init_asset_loader::<ItemLoader>()
        .init_asset_loader::<CropLoader>()
        .init_asset_loader::<ProvenanceLoader>();
}
