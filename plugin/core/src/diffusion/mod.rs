//! Image generation: the [`ImageBackend`] trait every image engine implements, and the engines.
//!
//! - [`backend`]: [`ImageRequest`] (txt2img, img2img, seed, steps, guidance, cancel),
//!   [`ImageEvent`] (progress per step with an optional preview), the typed [`Error`];
//! - `sd` (feature `diffusion`): Stable Diffusion 1.5/2.1/Turbo/XL on candle, and a tiny
//!   random-weight checkpoint for tests;
//! - `http` (feature `http-image`): AUTOMATIC1111/Forge, `ComfyUI` and `OpenAI`-style servers.

pub mod backend;
#[cfg(feature = "http-image")]
pub mod http;
#[cfg(feature = "diffusion")]
pub mod sd;
#[cfg(feature = "sprite")]
pub mod sprite;

pub use backend::{
    CancelToken, Error, ImageBackend, ImageEvent, ImageRequest, InitImage, Native, Result,
    RgbaImage,
};
