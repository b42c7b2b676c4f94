//! Finishing for games: turns a raw generated picture into an asset a game can use as is.
//!
//! - [`palette`]: palettes (`assets/palettes/*.hex`, or N colours chosen from the image) and
//!   nearest-colour matching;
//! - [`pixel`]: pixel-art reduction: area downscale to a target grid, palette quantisation,
//!   optional ordered dithering, binary alpha;
//! - [`ramp`]: palette mapping that keeps shading (each hue region's light, mid and dark tones
//!   on distinct steps of the palette's ramp for that hue), and outlines in a ramp's dark step;
//! - [`alpha`]: background removal to alpha (border flood fill or colour key, with tolerance),
//!   then alpha cleanup;
//! - [`tile`]: seamless tiling, and the seam error that measures it;
//! - [`outline`](mod@outline): outlines and drop shadows around a sprite's opaque pixels;
//! - [`atlas`]: sprite sheets with a RON layout in the shape of Bevy's `TextureAtlasLayout`, and
//!   growth-stage strips for crops;
//! - [`save`]: PNGs with their generation parameters in `tEXt` chunks, provenance sidecars,
//!   atomic writes.
//!
//! Everything here is pure Rust on [`image::RgbaImage`] and deterministic.

pub mod alpha;
pub mod atlas;
pub mod outline;
pub mod palette;
pub mod pixel;
pub mod ramp;
pub mod save;
pub mod tile;

use std::path::PathBuf;

pub use alpha::{BackgroundKey, BackgroundRemoval, remove_background};
pub use atlas::{AtlasLayout, AtlasRect, SpriteSheet, growth_stages};
pub use outline::{drop_shadow, outline};
pub use palette::{Palette, parse_rgba};
pub use pixel::{Mapping, PaletteChoice, PixelArt, pixelate};
pub use ramp::{map_to_ramps, ramp_outline};
pub use save::Generated;
pub use tile::{SeamError, make_seamless, seam_error};

/// Errors of the finishing steps.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A palette file is malformed.
    #[error("{path}:{line}: {message}")]
    Palette {
        /// The file.
        path: PathBuf,
        /// Line, from 1.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// No palette of that name in the palette folder.
    #[error("no palette `{name}` in {dir} (known: {known})")]
    UnknownPalette {
        /// The name asked for.
        name: String,
        /// Where it was looked for.
        dir: PathBuf,
        /// The palettes that are there, comma-separated.
        known: String,
    },
    /// Arguments that cannot work (an empty grid, no frames...).
    #[error("{0}")]
    Invalid(String),
}

/// Result with the finishing [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Squared perceptual-ish distance between two RGB colours (weights 2, 4, 3), in `0..=2_340_900`.
pub(crate) fn distance2(a: [u8; 3], b: [u8; 3]) -> u32 {
    let d = |i: usize| (i32::from(a[i]) - i32::from(b[i])).unsigned_abs();
    2 * d(0) * d(0) + 4 * d(1) * d(1) + 3 * d(2) * d(2)
}

/// The largest value [`distance2`] can take.
pub(crate) const MAX_DISTANCE2: u32 = 9 * 255 * 255;

pub(crate) fn rgb(p: image::Rgba<u8>) -> [u8; 3] {
    [p[0], p[1], p[2]]
}
