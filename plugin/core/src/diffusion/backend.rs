//! The image backend trait: a prompt (and optionally an init image) in, an RGBA image out, with a
//! progress event per denoising step.
//!
//! Every image engine implements [`ImageBackend`]: Stable Diffusion on candle, the HTTP servers
//! (AUTOMATIC1111/Forge, `ComfyUI`, `OpenAI`-style), and the embedded sprite model. Callers build
//! an [`ImageRequest`], pass a closure for [`ImageEvent`]s and get an [`RgbaImage`] back. The same
//! request with the same seed on the same machine gives identical pixels for the local backends.

use std::path::PathBuf;

pub use image::RgbaImage;

pub use crate::cancel::CancelToken;

/// Errors of the image backends.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request cannot be served (a size that is not a multiple of 8, a strength outside
    /// `0..=1`, an empty prompt where one is required...).
    #[error("invalid image request: {0}")]
    InvalidRequest(String),
    /// The [`CancelToken`] was set; generation stopped at the next step.
    #[error("image generation cancelled")]
    Cancelled,
    /// A model file or folder is missing or malformed.
    #[error("model {path}: {message}")]
    Model {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// An image could not be decoded or encoded.
    #[error("image: {0}")]
    Image(#[from] image::ImageError),
    /// The tensor library failed.
    #[cfg(feature = "diffusion")]
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    /// A remote backend failed or answered something outside its contract.
    #[error("{backend}: {message}")]
    Backend {
        /// The backend, as [`ImageBackend::describe`] names it.
        backend: String,
        /// What went wrong.
        message: String,
    },
}

/// Result with the image backends' [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// An init image for img2img: the result starts from it instead of from pure noise.
#[derive(Debug, Clone)]
pub struct InitImage {
    /// The picture to start from; backends resize it to the request's size.
    pub image: RgbaImage,
    /// How much to change it, in `0.0..=1.0`: 0 keeps it, 1 ignores it (plain txt2img).
    pub strength: f64,
}

/// One image generation request.
#[derive(Debug, Clone)]
pub struct ImageRequest {
    /// What to draw.
    pub prompt: String,
    /// What not to draw (empty: none). Ignored by backends without classifier-free guidance.
    pub negative_prompt: String,
    /// Output width in pixels.
    pub width: u32,
    /// Output height in pixels.
    pub height: u32,
    /// Denoising steps.
    pub steps: usize,
    /// Classifier-free guidance scale (1.0 or less: no guidance, one denoiser pass per step).
    pub guidance: f64,
    /// The seed of all randomness; the same seed gives the same image.
    pub seed: u64,
    /// img2img: the image to start from, and how much to change it.
    pub init: Option<InitImage>,
    /// Set it to stop the generation at the next step.
    pub cancel: CancelToken,
    /// Previews: every `preview_every` steps (and at the last step) a backend that can make one
    /// passes a picture of the image so far in [`ImageEvent::Step::preview`]; 0 (the default)
    /// asks for none and costs nothing. The local backends make cheap ones (the sprite model: its
    /// current estimate of the finished sprite; Stable Diffusion: a linear latent-to-RGB
    /// approximation, no VAE decode); the HTTP backends make none.
    pub preview_every: usize,
}

impl ImageRequest {
    /// A 512×512 txt2img request: 20 steps, guidance 7.5, seed 0.
    pub fn new(prompt: impl Into<String>) -> Self {
        Self {
            prompt: prompt.into(),
            negative_prompt: String::new(),
            width: 512,
            height: 512,
            steps: 20,
            guidance: 7.5,
            seed: 0,
            init: None,
            cancel: CancelToken::new(),
            preview_every: 0,
        }
    }

    /// Sets the output size.
    #[must_use]
    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    /// Sets the number of denoising steps.
    #[must_use]
    pub fn with_steps(mut self, steps: usize) -> Self {
        self.steps = steps;
        self
    }

    /// Sets the guidance scale.
    #[must_use]
    pub fn with_guidance(mut self, guidance: f64) -> Self {
        self.guidance = guidance;
        self
    }

    /// Sets the seed.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the negative prompt.
    #[must_use]
    pub fn with_negative_prompt(mut self, negative: impl Into<String>) -> Self {
        self.negative_prompt = negative.into();
        self
    }

    /// Makes it an img2img request starting from `image`, changed by `strength` (`0.0..=1.0`).
    #[must_use]
    pub fn with_init(mut self, image: RgbaImage, strength: f64) -> Self {
        self.init = Some(InitImage { image, strength });
        self
    }

    /// Asks for a preview every `every` steps and at the last step (0: none).
    #[must_use]
    pub fn with_previews(mut self, every: usize) -> Self {
        self.preview_every = every;
        self
    }

    /// Whether step `step` (from 1) of `total` gets a preview: a multiple of
    /// [`preview_every`](Self::preview_every), or the last step; never when it is 0.
    pub fn preview_due(&self, step: usize, total: usize) -> bool {
        self.preview_every > 0 && (step.is_multiple_of(self.preview_every) || step == total)
    }

    /// Checks what every backend needs: a non-empty size, at least one step, a strength in range.
    /// Backends add their own rules (Stable Diffusion needs multiples of 8).
    pub fn validate(&self) -> Result<()> {
        if self.width == 0 || self.height == 0 {
            return Err(Error::InvalidRequest(format!(
                "size {}x{} is empty",
                self.width, self.height
            )));
        }
        if self.steps == 0 {
            return Err(Error::InvalidRequest("steps must be at least 1".into()));
        }
        if let Some(init) = &self.init
            && !(0.0..=1.0).contains(&init.strength)
        {
            return Err(Error::InvalidRequest(format!(
                "strength {} is outside 0..=1",
                init.strength
            )));
        }
        Ok(())
    }

    /// `Err(Error::Cancelled)` once the [`CancelToken`] is set; backends call it between steps.
    pub fn check_cancelled(&self) -> Result<()> {
        if self.cancel.is_cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }
}

/// What a backend reports while it works.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum ImageEvent<'a> {
    /// A denoising step finished.
    Step {
        /// Steps done, from 1.
        step: usize,
        /// Steps in all (for img2img: the steps actually run, fewer than requested).
        total: usize,
        /// A preview of the image so far, `width` × `height` of the request: only on the steps
        /// [`ImageRequest::preview_due`] names, and only from backends that make previews (see
        /// [`ImageRequest::preview_every`]).
        preview: Option<&'a RgbaImage>,
    },
}

/// What a backend draws best with: the art recipes use it where a job leaves a value open.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Native {
    /// Square size in pixels.
    pub size: u32,
    /// Denoising steps.
    pub steps: usize,
    /// Classifier-free guidance scale.
    pub guidance: f64,
}

/// An image engine: txt2img, and img2img when [`ImageRequest::init`] is set.
pub trait ImageBackend: Send {
    /// What runs, for logs and provenance: engine, model and device (`"sd-turbo (candle, cpu)"`).
    fn describe(&self) -> String;

    /// The size, steps and guidance it draws best with (default: 512×512, 20 steps, 7.5).
    fn native(&self) -> Native {
        Native {
            size: 512,
            steps: 20,
            guidance: 7.5,
        }
    }

    /// The model it runs, for provenance (id and weights hash), where it knows one.
    fn model_ref(&self) -> Option<crate::content::ModelRef> {
        None
    }

    /// Generates one image of `req.width` × `req.height`, reporting each step to `on_event`.
    /// Returns [`Error::Cancelled`] if `req.cancel` is set before it finishes.
    fn generate(
        &mut self,
        req: &ImageRequest,
        on_event: &mut dyn FnMut(ImageEvent<'_>),
    ) -> Result<RgbaImage>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_checked_before_any_work() {
        assert!(ImageRequest::new("a turnip").validate().is_ok());
        let empty = ImageRequest::new("a turnip").with_size(0, 64);
        assert!(matches!(empty.validate(), Err(Error::InvalidRequest(_))));
        let no_steps = ImageRequest::new("a turnip").with_steps(0);
        assert!(matches!(no_steps.validate(), Err(Error::InvalidRequest(_))));
        let strong = ImageRequest::new("a turnip").with_init(RgbaImage::new(8, 8), 1.5);
        assert!(matches!(strong.validate(), Err(Error::InvalidRequest(_))));
        let req = ImageRequest::new("a turnip");
        assert!(req.check_cancelled().is_ok());
        req.cancel.cancel();
        assert!(matches!(req.check_cancelled(), Err(Error::Cancelled)));
    }

    #[test]
    fn previews_are_due_at_the_cadence_and_the_last_step() {
        let due = |every: usize, total: usize| -> Vec<usize> {
            let req = ImageRequest::new("a turnip").with_previews(every);
            (1..=total).filter(|&s| req.preview_due(s, total)).collect()
        };
        assert_eq!(due(0, 20), Vec::<usize>::new());
        assert_eq!(due(6, 20), [6, 12, 18, 20]);
        assert_eq!(due(5, 20), [5, 10, 15, 20]);
        assert_eq!(due(1, 3), [1, 2, 3]);
        assert_eq!(due(50, 4), [4]);
    }
}
