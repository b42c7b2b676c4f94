//! Image generation: the [`ImageBackend`] trait every image engine implements, and the engines.
//!
//! - [`backend`]: [`ImageRequest`] (txt2img, img2img, seed, steps, guidance, cancel),
//!   [`ImageEvent`] (progress per step with an optional preview), the typed [`Error`].

pub mod backend;
#[cfg(feature = "sprite")]
pub mod sprite;

pub use backend::{
    CancelToken, Error, ImageBackend, ImageEvent, ImageRequest, InitImage, Result, RgbaImage,
};
