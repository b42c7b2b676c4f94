//! Saving and loading: one versioned RON file, written atomically, the previous save kept as
//! `.bak`. A save that cannot be read is reported and left untouched; the game goes on. So is a
//! save whose numbers no play can reach (a clock at 4294967295 minutes, day 0, friendship past
//! the scale, a player at NaN): it is refused as a whole rather than loaded half-clamped.

use std::path::{Path, PathBuf};

use bevy::prelude::*;
use serde::{Deserialize, Serialize};

use crate::farming::Field;
use crate::player::Player;
use crate::state::{FarmState, MINUTES_MAX, YEAR_MAX};
use crate::time::NewDay;
use crate::toast::Toast;

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
    /// A value outside what play can reach.
    #[error("{path}: `{field}` is {value}, outside {allowed} (the save was left as it is)")]
    OutOfRange {
        /// The file.
        path: PathBuf,
        /// The field, e.g. `state.minutes`.
        field: String,
        /// The value found.
        value: String,
        /// What is allowed.
        allowed: String,
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
    let save =
        sprout_core::format::parse::<SaveFile>(text).map_err(|error| SaveError::Corrupt {
            path: path.to_owned(),
            error,
        })?;
    check_bounds(&save).map_err(|(field, value, allowed)| SaveError::OutOfRange {
        path: path.to_owned(),
        field,
        value,
        allowed,
    })?;
    Ok(save)
}

/// The first field of `save` outside what play can reach, as (field, value, allowed).
fn check_bounds(save: &SaveFile) -> Result<(), (String, String, String)> {
    use sprout_core::content::FRIENDSHIP_MAX;
    use sprout_core::validate::limits::DAYS_PER_SEASON_MAX;
    fn within(field: &str, value: u32, lo: u32, hi: u32) -> Result<(), (String, String, String)> {
        if (lo..=hi).contains(&value) {
            Ok(())
        } else {
            Err((field.into(), value.to_string(), format!("{lo}..={hi}")))
        }
    }
    let s = &save.state;
    within("state.day", s.day, 1, DAYS_PER_SEASON_MAX)?;
    within("state.year", s.year, 1, YEAR_MAX)?;
    within("state.minutes", s.minutes, 0, MINUTES_MAX)?;
    for (npc, points) in &s.friendship {
        if !(0..=FRIENDSHIP_MAX).contains(points) {
            return Err((
                format!("state.friendship[{npc}]"),
                points.to_string(),
                format!("0..={FRIENDSHIP_MAX}"),
            ));
        }
    }
    let (x, y) = save.player;
    if !(x.is_finite() && y.is_finite()) {
        return Err((
            "player".into(),
            format!("({x}, {y})"),
            "finite coordinates".into(),
        ));
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A save whose clock reads `u32::MAX` minutes (and whose gold, stack and plant are at
    /// `u32::MAX`, which saturating arithmetic makes reachable and harmless).
    const OVERFLOW: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/saves/minutes_overflow.save.ron"
    );

    #[test]
    fn a_save_past_the_clock_is_refused_left_as_it_is_and_never_lost() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("farm.save.ron");
        let hostile = std::fs::read(OVERFLOW).unwrap();
        std::fs::write(&path, &hostile).unwrap();

        let err = read(&path).unwrap_err();
        assert!(
            matches!(&err, SaveError::OutOfRange { field, value, .. }
                if field == "state.minutes" && value == "4294967295"),
            "{err}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("farm.save.ron") && msg.contains("left as it is"),
            "{msg}"
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            hostile,
            "the file is untouched"
        );

        // Saving over it moves it aside rather than making it the backup or deleting it.
        let good = SaveFile {
            version: SAVE_VERSION,
            state: FarmState::default(),
            field: Field::default(),
            player: (0.0, 0.0),
        };
        write(&path, &good).unwrap();
        assert_eq!(
            std::fs::read(path.with_extension("ron.unreadable")).unwrap(),
            hostile
        );
        assert!(!path.with_extension("ron.bak").exists());
        assert_eq!(read(&path).unwrap(), good);
    }

    #[test]
    fn bounds_cover_the_calendar_friendship_and_position() {
        let text = std::fs::read_to_string(OVERFLOW).unwrap();
        let mut save = sprout_core::format::parse::<SaveFile>(&text).unwrap();
        save.state.minutes = MINUTES_MAX;
        assert_eq!(
            check_bounds(&save),
            Ok(()),
            "u32::MAX gold, stacks and days load"
        );
        // ...and the game's sums stay put there.
        assert!(save.state.advance_clock(u32::MAX));
        save.state.earn(1);
        assert_eq!((save.state.minutes, save.state.gold), (u32::MAX, u32::MAX));
        save.state.minutes = MINUTES_MAX;

        let field_of = |change: &dyn Fn(&mut SaveFile)| {
            let mut s = save.clone();
            change(&mut s);
            check_bounds(&s).unwrap_err().0
        };
        assert_eq!(
            field_of(&|s| s.state.minutes = MINUTES_MAX + 1),
            "state.minutes"
        );
        assert_eq!(field_of(&|s| s.state.day = 0), "state.day");
        assert_eq!(field_of(&|s| s.state.day = u32::MAX), "state.day");
        assert_eq!(field_of(&|s| s.state.year = u32::MAX), "state.year");
        assert_eq!(
            field_of(&|s| {
                s.state
                    .friendship
                    .insert(sprout_core::content::Id::new("sefa").unwrap(), i32::MAX);
            }),
            "state.friendship[sefa]"
        );
        assert_eq!(field_of(&|s| s.player.0 = f32::NAN), "player");
        assert_eq!(field_of(&|s| s.player.1 = f32::INFINITY), "player");
    }
}
