//! Sprout's core: the content model of a farming game, its validator, and (as they land) the
//! generators that grow content with local models. No Bevy here: the CLI and the tests build
//! without an engine, and `bevy_sprout` is thin glue on top.
//!
//! - [`content`]: the RON content types and how file names route to them;
//! - [`format`](mod@format): reading and writing RON with errors that name file, line, column and field;
//! - [`validate`]: every rule a set of content files must pass;
//! - [`export`]: dialogue trees as Yarn Spinner scripts, the voice-over script;
//! - [`loc`]: translations as gettext PO string tables keyed by line id;
//! - [`disclose`]: the AI-content disclosure, from provenance;
//! - [`fs`]: atomic writes, so a watching game never sees half a file, and folder copies;
//! - [`placeholder`]: labelled placeholder art until the image generators replace it;
//! - [`runtime`]: the dialogue runtime (conditions against game state, walking a tree).
//! - [`rng`]: the one seeded random number generator (token sampling, image noise);
//! - [`cancel`]: the [`CancelToken`](cancel::CancelToken) that stops text and image generations;
//! - [`endpoint`]: server URLs without their secrets, when secrets may be sent, circuit breakers;
//! - `art` (feature `image`): the art recipes (sprites, portraits, icons, crop stages, textures,
//!   props), one implementation for `sprout gen` and the game's editor;
//! - `diffusion` (feature `image`): the image backend trait; (feature `diffusion`) Stable
//!   Diffusion on candle.
//! - `finish` (feature `image`): finishing for games: pixel art, palettes, background removal,
//!   seamless tiles, outlines, sprite sheets.
//! - `mesh` (feature `image`): 3D props as binary glTF: voxel-extruded sprites, reliefs,
//!   ground tiles.
//! - `llm` (feature `llm`): the local LLM engine: model registry, GGUF inference with candle,
//!   constrained decoding into content types, and (feature `http`) OpenAI-compatible servers.

#[cfg(feature = "image")]
pub mod art;
pub mod cancel;
pub mod content;
#[cfg(feature = "image")]
pub mod diffusion;
pub mod disclose;
pub mod endpoint;
pub mod export;
#[cfg(feature = "image")]
pub mod finish;
pub mod format;
pub mod fs;
#[cfg(feature = "llm")]
pub mod llm;
pub mod loc;
#[cfg(feature = "image")]
pub mod mesh;
pub mod placeholder;
pub mod rng;
pub mod runtime;
#[cfg(feature = "llm")]
pub mod story;
pub mod validate;

use std::path::PathBuf;

/// Errors of the core library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file could not be parsed.
    #[error("{path}:{error}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where and why.
        error: format::ParseError,
    },
    /// A value could not be written as RON.
    #[error("cannot write RON: {0}")]
    Serialize(#[from] ron::Error),
    /// Another writer holds the project's lock (`.sprout/lock`).
    #[error("{}: this asset folder is being written by {holder}; wait for it to finish (or stop it) and try again", path.display())]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// Who holds it (command and pid), as it wrote itself into the lock file.
        holder: String,
    },
    /// Content that failed validation; nothing was written.
    #[error("{} problem(s), first: {}", .0.len(), .0.first().map(ToString::to_string).unwrap_or_default())]
    Invalid(Vec<validate::Diagnostic>),
}

impl Error {
    /// For `map_err`: an I/O failure on `path` as [`Error::Io`], the one shape every file error
    /// of the core takes (`.map_err(Error::io(&path))`).
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}

/// Result with the core's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
