//! Saving and loading: one versioned RON file, written atomically, the previous save kept as
//! `.bak`. A save that cannot be read is reported and left untouched; the game goes on.

use std::path::{Path, PathBuf};

use bevy::prelude::*;
use serde::{Deserialize, Serialize};

use crate::farming::Field;
use crate::player::Player;
use crate::state::FarmState;
use crate::time::NewDay;
use crate::ui::Toast;

/// The save format version this build writes and reads.
pub const SAVE_VERSION: u32 = 1;

/// Everything a save holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaveFile {
    /// Format version.
    pub version: u32,
    /// The player's progress.
    pub state: FarmState,
    /// The field.
    pub field: Field,
    /// Where the player stands.
    pub player: (f32, f32),
}

/// Why a save could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SaveError {
    /// No save yet.
    #[error("no save at {0}")]
    Missing(PathBuf),
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is damaged.
    #[error("{path}:{error} (the save was left as it is)")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where and why.
        error: sprout_core::format::ParseError,
    },
    /// Written by another version.
    #[error("{path}: save format version {found}, this game reads version {SAVE_VERSION}")]
    Version {
        /// The file.
        path: PathBuf,
        /// The version found.
        found: u32,
    },
    /// Could not be serialized.
    #[error("cannot write the save: {0}")]
    Write(#[from] sprout_core::Error),
}

/// Where saves go: `$SPROUT_SAVE_DIR`, else `$XDG_DATA_HOME/sprout_farm`, else
/// `~/.local/share/sprout_farm`.
#[derive(Resource, Debug, Clone)]
pub struct SavePath(pub PathBuf);

impl Default for SavePath {
    fn default() -> Self {
        let dir = std::env::var_os("SPROUT_SAVE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                std::env::var_os("XDG_DATA_HOME")
                    .map(PathBuf::from)
                    .or_else(|| {
                        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share"))
                    })
                    .unwrap_or_else(|| PathBuf::from("."))
                    .join("sprout_farm")
            });
        Self(dir.join("farm.save.ron"))
    }
}

/// Writes `save` to `path` atomically, keeping the previous save as `<path>.bak`. A previous
/// file that does not read as a save is not made the backup (the last good backup stays): it is
/// moved aside to `<path>.unreadable`, so nothing the player had is destroyed.
pub fn write(path: &Path, save: &SaveFile) -> Result<(), SaveError> {
    let text = sprout_core::format::to_ron(save).map_err(sprout_core::Error::from)?;
    match std::fs::read(path) {
        Ok(previous) => {
            let readable = std::str::from_utf8(&previous).is_ok_and(|t| parse(path, t).is_ok());
            let keep = path.with_extension(if readable {
                "ron.bak"
            } else {
                "ron.unreadable"
            });
            sprout_core::fs::write_atomic(&keep, &previous)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(SaveError::Io {
                path: path.to_owned(),
                source,
            });
        }
    }
    sprout_core::fs::write_atomic(path, text.as_bytes())?;
    Ok(())
}

/// Reads a save, checking its version.
pub fn read(path: &Path) -> Result<SaveFile, SaveError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SaveError::Missing(path.to_owned()));
        }
        Err(source) => {
            return Err(SaveError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    parse(path, &text)
}

/// Parses the text of the save at `path`, checking its version.
fn parse(path: &Path, text: &str) -> Result<SaveFile, SaveError> {
    // Check the version first, so an older or newer format gets the right message.
    #[derive(Deserialize)]
    #[serde(rename = "SaveFile")]
    struct Header {
        version: u32,
    }
    if let Ok(header) = sprout_core::format::parse::<Header>(text)
        && header.version != SAVE_VERSION
    {
        return Err(SaveError::Version {
            path: path.to_owned(),
            found: header.version,
        });
    }
    sprout_core::format::parse::<SaveFile>(text).map_err(|error| SaveError::Corrupt {
        path: path.to_owned(),
        error,
    })
}

pub(crate) fn plugin(app: &mut App) {
    app.init_resource::<SavePath>()
        .add_systems(Update, (keys, autosave).in_set(crate::FarmSystems::Act));
}

fn snapshot(state: &FarmState, field: &Field, player: &Transform) -> SaveFile {
    SaveFile {
        version: SAVE_VERSION,
        state: state.clone(),
        field: field.clone(),
        player: (player.translation.x, player.translation.y),
    }
}

fn keys(
    keys: Option<Res<ButtonInput<KeyCode>>>,
    path: Res<SavePath>,
    mut state: ResMut<FarmState>,
    mut field: ResMut<Field>,
    mut player: Query<&mut Transform, With<Player>>,
    mut toast: MessageWriter<Toast>,
) {
    let Some(keys) = keys else { return };
    let Ok(mut transform) = player.single_mut() else {
        return;
    };
    if keys.just_pressed(KeyCode::F5) {
        let msg = match write(&path.0, &snapshot(&state, &field, &transform)) {
            Ok(()) => format!("Saved to {}", path.0.display()),
            Err(e) => format!("Could not save: {e}"),
        };
        toast.write(Toast(msg));
    }
    if keys.just_pressed(KeyCode::F9) {
        match read(&path.0) {
            Ok(save) => {
                *state = save.state;
                *field = save.field;
                transform.translation.x = save.player.0;
                transform.translation.y = save.player.1;
                toast.write(Toast("Loaded.".into()));
            }
            Err(e) => {
                warn!("{e}");
                toast.write(Toast(format!("Could not load: {e}")));
            }
        }
    }
}

fn autosave(
    mut days: MessageReader<NewDay>,
    path: Res<SavePath>,
    state: Res<FarmState>,
    field: Res<Field>,
    player: Query<&Transform, With<Player>>,
    mut toast: MessageWriter<Toast>,
) {
    if days.read().count() == 0 {
        return;
    }
    let Ok(transform) = player.single() else {
        return;
    };
    if let Err(e) = write(&path.0, &snapshot(&state, &field, transform)) {
        warn!("autosave failed: {e}");
        toast.write(Toast(format!("Autosave failed: {e}")));
    }
}
