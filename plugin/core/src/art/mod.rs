//! Art recipes: every image and prop Sprout makes, in one place. `sprout gen sprite|portrait|
//! icon|crop|texture|prop` and the game's generation worker (the editor's Generate buttons) both
//! fill an [`ArtJob`] and call [`make()`]; the same job gives the same files and the same
//! provenance from either.
//!
//! A job runs in three steps, each in its own file:
//! - [`job`]: what to make ([`Recipe`]: a free sprite, a portrait, an item's icon, a crop's growth
//!   stages, a ground texture, a prop) and how ([`ArtJob`]: prompt, seed, steps, size, palette,
//!   [`Look`]);
//! - [`make`](mod@make): drawing with an [`ImageBackend`](crate::diffusion::ImageBackend) and finishing with [`crate::finish`]
//!   (background, pixel grid, palette, outline, seamless tiling, growth stages, voxel props);
//! - [`made`]: the result in memory ([`Made`]: files with their bytes and provenance, previews
//!   and a note), written as a unit by [`Made::write`] (each file with its sidecar, the main file
//!   last), into the asset folder (the CLI) or a staging folder (the game).
//!
//! Every file carries one provenance shape: generator `sprout art <recipe>`, the backend's model
//! (id and weights hash, where it has one), a hash of every parameter and input file, the seed.

pub mod job;
pub mod made;
pub mod make;
pub mod set;

pub use job::{ArtJob, Look, Recipe};
pub use made::{Made, MadeFile};
pub use make::{Context, make};
pub use set::{Piece, State, plan};

use std::path::PathBuf;

/// Errors of the art recipes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input image could not be decoded.
    #[error("{path}: {message}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The job names content that is not in the set (an item without that id...).
    #[error("no {kind} `{id}` in the content")]
    Unknown {
        /// `item`, `crop`...
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The job cannot work as asked (no image backend for a recipe that draws, a bad palette
    /// name...).
    #[error("{0}")]
    Invalid(String),
    /// The image backend failed (or was cancelled: see [`Error::is_cancelled`]).
    #[error(transparent)]
    Image(#[from] crate::diffusion::Error),
    /// A finishing step failed.
    #[error(transparent)]
    Finish(#[from] crate::finish::Error),
    /// The prop could not be built.
    #[error(transparent)]
    Mesh(#[from] crate::mesh::Error),
    /// A file could not be read or written ([`crate::Error::Io`], which names the file), or its
    /// provenance could not be written.
    #[error(transparent)]
    Core(#[from] crate::Error),
}

impl Error {
    /// Whether the job was cancelled (not a failure to report).
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Self::Image(crate::diffusion::Error::Cancelled))
    }
}

/// Result with the art recipes' [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
