//! Faster hot reload. Bevy's file watcher waits 300 ms for writes to settle; content files are
//! written atomically (temp file + rename), so 50 ms is enough and edits show up about three times
//! sooner.

use std::path::Path;
use std::time::Duration;

use bevy::asset::io::{AssetSource, AssetSourceBuilder, AssetSourceId};
use bevy::prelude::*;

/// How long the watcher waits for writes to a file to settle.
pub const DEBOUNCE: Duration = Duration::from_millis(50);

/// Registers `dir` as the default asset source, watched with a [`DEBOUNCE`] debounce.
/// Call it before adding `AssetPlugin` (that is, before `DefaultPlugins`), and set
/// `AssetPlugin::watch_for_changes_override` to `Some(true)` or enable Bevy's `file_watcher`.
pub fn register_fast_watcher(app: &mut App, dir: &Path) {
    let dir = dir.to_string_lossy().into_owned();
    let watched = dir.clone();
    app.register_asset_source(
        AssetSourceId::Default,
        AssetSourceBuilder::new(AssetSource::get_default_reader(dir))
            .with_watcher(AssetSource::get_default_watcher(watched, DEBOUNCE)),
    );
}
