//! Stable Diffusion as an [`ImageBackend`].

use image::RgbaImage;

use crate::diffusion::backend::{ImageBackend, ImageEvent, ImageRequest, Native, Result};

use super::model::*;

/// Stable Diffusion as an [`ImageBackend`].
pub struct SdBackend {
    model: SdModel,
}

impl SdBackend {
    /// Wraps a loaded model.
    pub fn new(model: SdModel) -> Self {
        Self { model }
    }

    /// The model.
    pub fn model(&self) -> &SdModel {
        &self.model
    }
}

impl ImageBackend for SdBackend {
    fn native(&self) -> Native {
        let (size, steps, guidance) = self.model.config().defaults;
        Native {
            size,
            steps,
            guidance,
        }
    }

    fn describe(&self) -> String {
        let device = if self.model.device.is_cpu() {
            "cpu"
        } else {
            "gpu"
        };
        let dir = self
            .model
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!(
            "{} {dir} (candle, {device})",
            self.model.config.version.name()
        )
    }

    fn generate(
        &mut self,
        req: &ImageRequest,
        on_event: &mut dyn FnMut(ImageEvent<'_>),
    ) -> Result<RgbaImage> {
        self.model.generate(req, on_event)
    }
}
