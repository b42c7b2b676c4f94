//! What an art job makes ([`Recipe`]) and how ([`ArtJob`], [`Look`]). Paths in a recipe are
//! relative to the folder the job is made against: the asset folder in the game, the working
//! folder for `sprout gen` (run it in the asset folder and the two agree byte for byte).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::content::Id;

/// What to make.
#[derive(Debug, Clone, PartialEq)]
pub enum Recipe {
    /// A game sprite: drawn, background removed, reduced to pixel art.
    Sprite {
        /// The PNG to write.
        out: PathBuf,
    },
    /// A character portrait: drawn and reduced to pixel art, background kept.
    Portrait {
        /// The PNG to write.
        out: PathBuf,
    },
    /// An item's inventory icon: a sprite written where the item's `icon` points.
    ItemIcon {
        /// The item.
        item: Id,
    },
    /// A crop's ripe sprite and its growth stages derived from it (one plant growing), written
    /// where the crop's `stages` and `ripe_sprite` point.
    CropStages {
        /// The crop.
        crop: Id,
    },
    /// A ground texture tile (opaque; made to wrap without a seam when `seamless`).
    Texture {
        /// The PNG to write.
        out: PathBuf,
        /// Start from this image instead of drawing one.
        from: Option<PathBuf>,
        /// Make it tile.
        seamless: bool,
        /// Also write a 4 m ground-tile prop (`.glb`) textured with it here.
        ground: Option<PathBuf>,
    },
    /// A 3D prop (`.glb`) from an existing sprite: voxels, or a heightfield relief.
    Prop {
        /// The `.glb` to write.
        out: PathBuf,
        /// The sprite (PNG with alpha; opaque pixels become voxels).
        from: PathBuf,
        /// Voxels deep.
        depth: usize,
        /// Metres per pixel.
        pixel_size: f32,
        /// A relief (brightness is height) instead of voxels.
        relief: bool,
    },
}

impl Recipe {
    /// The recipe's name, as in `sprout gen NAME` and the generator `sprout art NAME`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sprite { .. } => "sprite",
            Self::Portrait { .. } => "portrait",
            Self::ItemIcon { .. } => "icon",
            Self::CropStages { .. } => "crop",
            Self::Texture { .. } => "texture",
            Self::Prop { .. } => "prop",
        }
    }

    /// Whether it draws with an image backend (a prop, or a texture from a file, does not).
    pub fn needs_backend(&self) -> bool {
        match self {
            Self::Prop { .. } => false,
            Self::Texture { from, .. } => from.is_none(),
            _ => true,
        }
    }

    /// A one-line description for lists and logs.
    pub fn describe(&self, prompt: &str) -> String {
        match self {
            Self::Sprite { out } | Self::Portrait { out } => {
                format!("{} {}: \"{prompt}\"", self.name(), out.display())
            }
            Self::ItemIcon { item } => format!("icon of {item}: \"{prompt}\""),
            Self::CropStages { crop } => format!("crop {crop}: \"{prompt}\""),
            Self::Texture { out, from, .. } => match from {
                Some(from) => format!("texture {} from {}", out.display(), from.display()),
                None => format!("texture {}: \"{prompt}\"", out.display()),
            },
            Self::Prop { out, from, .. } => {
                format!("prop {} from {}", out.display(), from.display())
            }
        }
    }
}

/// Outline and shadow, drawn after the palette (sprites, icons and crops only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Look {
    /// A 1-pixel outline in this colour.
    pub outline: Option<[u8; 4]>,
    /// A drop shadow, black at 40 %, one pixel right and down.
    pub shadow: bool,
}

/// The drop shadow's offset and colour.
pub const SHADOW: (i32, i32, [u8; 4]) = (1, 1, [0, 0, 0, 102]);

impl Look {
    /// The look's parameters, for provenance.
    pub(crate) fn record(&self, params: &mut BTreeMap<String, String>) {
        if let Some(c) = self.outline {
            params.insert("outline".into(), hex(c));
        }
        if self.shadow {
            let (dx, dy, c) = SHADOW;
            params.insert("shadow".into(), format!("{dx},{dy} {}", hex(c)));
        }
    }
}

/// A colour as `#rrggbbaa`.
pub fn hex(c: [u8; 4]) -> String {
    format!("#{:02x}{:02x}{:02x}{:02x}", c[0], c[1], c[2], c[3])
}

/// One art job: the recipe and everything that shapes its pixels. The same job and backend give
/// the same files.
#[derive(Debug, Clone, PartialEq)]
pub struct ArtJob {
    /// What to make.
    pub recipe: Recipe,
    /// What to draw.
    pub prompt: String,
    /// What not to draw (backends with classifier-free guidance).
    pub negative: String,
    /// The seed of all randomness.
    pub seed: u64,
    /// Denoising steps (`None`: the backend's default).
    pub steps: Option<usize>,
    /// Classifier-free guidance (`None`: the backend's default).
    pub guidance: Option<f64>,
    /// Output size in pixels, square (`None`: the size drawn, at most 32 for sprites, icons and
    /// crops, 64 for portraits).
    pub size: Option<u32>,
    /// A palette by name from the palette folder (`farm32`), `adaptive-N` for N colours picked
    /// from the image, or `None`: `adaptive-16` for sprites and portraits, the colours drawn for
    /// textures.
    pub palette: Option<String>,
    /// Outline and shadow.
    pub look: Look,
}

impl ArtJob {
    /// A job with the defaults: seed 0, the backend's steps and guidance, no palette, no look.
    pub fn new(recipe: Recipe, prompt: impl Into<String>) -> Self {
        Self {
            recipe,
            prompt: prompt.into(),
            negative: String::new(),
            seed: 0,
            steps: None,
            guidance: None,
            size: None,
            palette: None,
            look: Look::default(),
        }
    }

    /// The same job with seed `seed`.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The same job with palette `name`.
    pub fn with_palette(mut self, name: impl Into<String>) -> Self {
        self.palette = Some(name.into());
        self
    }

    /// A one-line description for lists and logs.
    pub fn describe(&self) -> String {
        self.recipe.describe(&self.prompt)
    }
}
