//! Making an art job: draw with the image backend (or read the source file), finish for the game,
//! and return the files in memory with their provenance. Nothing is written here: the caller
//! writes the [`Made`] where it belongs (the asset folder, or a staging folder for review).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use image::RgbaImage;

use crate::cancel::CancelToken;
use crate::content::{AssetPath, ContentSet};
use crate::diffusion::{ImageBackend, ImageEvent, ImageRequest};
use crate::finish::{
    self, BackgroundRemoval, Generated, Palette, PaletteChoice, PixelArt, drop_shadow,
    make_seamless, outline, remove_background, seam_error,
};
use crate::mesh::{self, Material};

use super::job::{ArtJob, Look, Recipe, SHADOW};
use super::made::{Made, MadeFile};
use super::{Error, Result};

/// The largest default size of sprites, icons and crops (the size drawn when smaller).
pub const SPRITE_SIZE: u32 = 32;
/// The largest default size of portraits.
pub const PORTRAIT_SIZE: u32 = 64;
/// Colours of the default adaptive palette.
pub const ADAPTIVE_COLORS: usize = 16;

/// What a job is made against.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The folder the recipe's paths are relative to: the asset folder in the game, the working
    /// folder for `sprout gen`.
    pub root: &'a Path,
    /// Where named palettes live (`assets/palettes`).
    pub palettes: &'a Path,
    /// The content, for the recipes that look up an item or a crop.
    pub content: &'a ContentSet,
    /// Stops the job at the next sampling step.
    pub cancel: CancelToken,
    /// Ask the backend for a preview every this many steps (0: none). Previews never change the
    /// result.
    pub previews: usize,
}

/// Makes `job`: draws with `backend` when the recipe draws ([`Recipe::needs_backend`]), reporting
/// each sampling step to `on_event`, and finishes the result for the game.
pub fn make<'o>(
    job: &ArtJob,
    cx: &Context<'_>,
    backend: Option<&mut (dyn ImageBackend + 'o)>,
    on_event: &mut dyn FnMut(ImageEvent<'_>),
) -> Result<Made> {
    let mut maker = Maker {
        job,
        cx,
        backend,
        on_event,
    };
    match &job.recipe {
        Recipe::Sprite { out } => maker.sprite(out.clone(), SPRITE_SIZE, true),
        Recipe::Portrait { out } => maker.sprite(out.clone(), PORTRAIT_SIZE, false),
        Recipe::ItemIcon { item } => {
            let icon = cx
                .content
                .items
                .iter()
                .find(|d| d.value.id == *item)
                .map(|d| d.value.icon.clone())
                .ok_or_else(|| Error::Unknown {
                    kind: "item",
                    id: item.to_string(),
                })?;
            maker.sprite(asset_file(&icon), SPRITE_SIZE, true)
        }
        Recipe::CropStages { crop } => maker.crop(crop.as_str()),
        Recipe::Texture {
            out,
            from,
            seamless,
            ground,
        } => maker.texture(out, from.as_deref(), *seamless, ground.as_deref()),
        Recipe::Prop {
            out,
            from,
            depth,
            pixel_size,
            relief,
        } => maker.prop(out, from, *depth, *pixel_size, *relief),
    }
}

/// An asset path as a file path relative to the asset folder.
fn asset_file(path: &AssetPath) -> PathBuf {
    PathBuf::from(path.as_str())
}

struct Maker<'j, 'b, 'o> {
    job: &'j ArtJob,
    cx: &'j Context<'j>,
    backend: Option<&'b mut (dyn ImageBackend + 'o)>,
    on_event: &'j mut dyn FnMut(ImageEvent<'_>),
}

impl Maker<'_, '_, '_> {
    /// The provenance maker for this job's files.
    fn generated(&self, params: BTreeMap<String, String>, inputs: Vec<Vec<u8>>) -> Generated {
        Generated {
            generator: format!("sprout art {}", self.job.recipe.name()),
            seed: self.job.seed,
            model: self.backend.as_ref().and_then(|b| b.model_ref()),
            parameters: params,
            input_bytes: inputs,
        }
    }

    fn png(&self, path: PathBuf, img: &RgbaImage, g: &Generated) -> Result<MadeFile> {
        let bytes = g.png(img)?;
        Ok(MadeFile {
            provenance: g.provenance(&bytes),
            path,
            bytes,
        })
    }

    /// Draws the job's prompt at the backend's native size; returns the raw image and the
    /// parameters that made it.
    fn draw(&mut self) -> Result<(RgbaImage, BTreeMap<String, String>)> {
        let job = self.job;
        let backend = self.backend.as_deref_mut().ok_or_else(|| {
            Error::Invalid(format!(
                "`{}` draws with an image backend, and none was given",
                job.recipe.name()
            ))
        })?;
        let native = backend.native();
        let mut req = ImageRequest::new(job.prompt.clone())
            .with_seed(job.seed)
            .with_size(native.size, native.size)
            .with_steps(job.steps.unwrap_or(native.steps))
            .with_guidance(job.guidance.unwrap_or(native.guidance))
            .with_negative_prompt(job.negative.clone())
            .with_previews(self.cx.previews);
        req.cancel = self.cx.cancel.clone();
        let img = backend.generate(&req, &mut *self.on_event)?;
        let params = BTreeMap::from([
            ("prompt".to_owned(), job.prompt.clone()),
            ("negative_prompt".to_owned(), job.negative.clone()),
            ("backend".to_owned(), backend.describe()),
            ("steps".to_owned(), req.steps.to_string()),
            ("guidance".to_owned(), req.guidance.to_string()),
            (
                "generated_size".to_owned(),
                format!("{}x{}", req.width, req.height),
            ),
        ]);
        Ok((img, params))
    }

    /// The job's palette; `default` when it names none.
    fn palette(&self, default: usize) -> Result<PaletteChoice> {
        Ok(match self.job.palette.as_deref() {
            None => PaletteChoice::Adaptive(default),
            Some(name) => match name.strip_prefix("adaptive-").map(str::parse::<usize>) {
                Some(Ok(n)) if n > 0 => PaletteChoice::Adaptive(n),
                Some(_) => {
                    return Err(Error::Invalid(format!(
                        "`{name}`: adaptive palettes are written adaptive-N with N > 0"
                    )));
                }
                None => PaletteChoice::Fixed(Palette::named(self.cx.palettes, name)?),
            },
        })
    }

    /// A drawn sprite finished for the game: background removed (when `cutout` and the backend
    /// drew none), reduced to the pixel grid and the palette, outlined and shadowed as asked.
    fn finished_sprite(
        &mut self,
        max_size: u32,
        cutout: bool,
    ) -> Result<(RgbaImage, BTreeMap<String, String>)> {
        let (mut img, mut params) = self.draw()?;
        let size = self.job.size.unwrap_or(img.width().min(max_size));
        if cutout && img.pixels().all(|p| p[3] == 255) {
            img = remove_background(&img, &BackgroundRemoval::default());
            params.insert("background".into(), "removed (border flood)".into());
        }
        let palette = self.palette(ADAPTIVE_COLORS)?;
        params.insert("palette".into(), palette_name(&palette));
        params.insert("size".into(), format!("{size}x{size}"));
        let img = finish::pixelate(
            &img,
            &PixelArt {
                palette,
                ..PixelArt::new(size, size)
            },
        )?;
        let img = look(img, &self.job.look);
        self.job.look.record(&mut params);
        Ok((img, params))
    }

    fn sprite(&mut self, out: PathBuf, max_size: u32, cutout: bool) -> Result<Made> {
        let (img, mut params) = self.finished_sprite(max_size, cutout)?;
        if let Recipe::ItemIcon { item } = &self.job.recipe {
            params.insert("item".into(), item.to_string());
        }
        let g = self.generated(params, vec![]);
        let file = self.png(out, &img, &g)?;
        Ok(Made {
            note: format!(
                "{} colours, {}×{}",
                finish::pixel::distinct_colors(&img).len(),
                img.width(),
                img.height()
            ),
            previews: vec![(file.path.display().to_string(), img)],
            files: vec![file],
        })
    }

    fn crop(&mut self, id: &str) -> Result<Made> {
        let crop = self
            .cx
            .content
            .crops
            .iter()
            .find(|d| d.value.id.as_str() == id)
            .map(|d| d.value.clone())
            .ok_or_else(|| Error::Unknown {
                kind: "crop",
                id: id.to_owned(),
            })?;
        let (ripe, mut params) = self.finished_sprite(SPRITE_SIZE, true)?;
        params.insert("crop".into(), id.to_owned());
        params.insert("stages".into(), crop.stages.len().to_string());
        let frames = finish::growth_stages(&ripe, crop.stages.len() + 1)?;
        let paths = crop
            .stages
            .iter()
            .map(|s| s.sprite.clone())
            .chain([crop.ripe_sprite.clone()]);
        // One file per distinct path (a later stage wins a shared path); the ripe sprite comes
        // last, as the main file.
        let mut stages: Vec<(AssetPath, RgbaImage)> = Vec::new();
        for (path, frame) in paths.zip(frames) {
            stages.retain(|(p, _)| *p != path);
            stages.push((path, frame));
        }
        let g = self.generated(params, vec![]);
        let mut made = Made {
            files: vec![],
            previews: vec![],
            note: format!(
                "{} growth stages and the ripe crop, derived from one sample",
                crop.stages.len()
            ),
        };
        for (path, frame) in stages {
            made.files.push(self.png(asset_file(&path), &frame, &g)?);
            made.previews.push((path.to_string(), frame));
        }
        Ok(made)
    }

    fn texture(
        &mut self,
        out: &Path,
        from: Option<&Path>,
        seamless: bool,
        ground: Option<&Path>,
    ) -> Result<Made> {
        let mut inputs = Vec::new();
        let (img, mut params) = match from {
            Some(path) => {
                let (img, bytes) = read_image(&self.cx.root.join(path))?;
                inputs.push(bytes);
                let params = BTreeMap::from([("from".to_owned(), path.display().to_string())]);
                (img, params)
            }
            None => self.draw()?,
        };
        // A ground tile has no holes.
        let mut img = opaque(&img);
        if let Some(size) = self.job.size {
            img = image::imageops::resize(&img, size, size, image::imageops::FilterType::Lanczos3);
            params.insert("size".into(), format!("{size}x{size}"));
        }
        let mut note = String::new();
        if seamless {
            let before = seam_error(&img);
            img = make_seamless(&img);
            let after = seam_error(&img);
            note = format!(
                "seam error (seam/interior step) {:.2} -> {:.2}",
                before.ratio(),
                after.ratio()
            );
            params.insert(
                "seamless".into(),
                format!(
                    "seam/interior {:.2} -> {:.2}",
                    before.ratio(),
                    after.ratio()
                ),
            );
        }
        if self.job.palette.is_some() {
            let palette = self.palette(ADAPTIVE_COLORS)?;
            params.insert("palette".into(), palette_name(&palette));
            let p = match palette {
                PaletteChoice::Fixed(p) => p,
                PaletteChoice::Adaptive(n) => Palette::median_cut(&img, n),
            };
            img = finish::pixel::quantize(&img, &p, 0.0, 0);
        }
        let g = self.generated(params, inputs);
        let mut made = Made {
            files: vec![],
            previews: vec![],
            note,
        };
        if let Some(ground) = ground {
            let (m, material) = mesh::ground_tile(&img, 4.0, 4.0, 4)?;
            let glb = mesh::write_glb(&m, &material, &stem(ground), &g.generator)?;
            made.files.push(MadeFile {
                provenance: g.provenance(&glb),
                path: ground.to_owned(),
                bytes: glb,
            });
        }
        let file = self.png(out.to_owned(), &img, &g)?;
        made.previews
            .push((file.path.display().to_string(), img.clone()));
        made.previews.push(("tiled 3×3".into(), tiled(&img, 3)));
        made.files.push(file);
        Ok(made)
    }

    fn prop(
        &mut self,
        out: &Path,
        from: &Path,
        depth: usize,
        pixel_size: f32,
        relief: bool,
    ) -> Result<Made> {
        let (sprite, bytes) = read_image(&self.cx.root.join(from))?;
        let name = stem(out);
        let (m, material, kind) = if relief {
            let width = sprite.width() as f32 * pixel_size;
            let (m, material) = mesh::relief(&sprite, width, width / 8.0, 128)?;
            (m, material, "relief")
        } else {
            (
                mesh::extrude_sprite(&sprite, depth, pixel_size)?,
                Material::matte(name.clone()),
                "voxel",
            )
        };
        let params = BTreeMap::from([
            ("from".to_owned(), from.display().to_string()),
            ("kind".to_owned(), kind.to_owned()),
            ("depth".to_owned(), depth.to_string()),
            ("pixel_size".to_owned(), pixel_size.to_string()),
        ]);
        let g = self.generated(params, vec![bytes]);
        let glb = mesh::write_glb(&m, &material, &name, &g.generator)?;
        let (lo, hi) = m.bounds();
        Ok(Made {
            note: format!(
                "{kind}, {} triangles, {:.2}×{:.2}×{:.2} m, {} bytes of glTF",
                m.triangles(),
                hi[0] - lo[0],
                hi[1] - lo[1],
                hi[2] - lo[2],
                glb.len()
            ),
            previews: vec![(from.display().to_string(), sprite)],
            files: vec![MadeFile {
                provenance: g.provenance(&glb),
                path: out.to_owned(),
                bytes: glb,
            }],
        })
    }
}

/// The outline, then the shadow, as `look` asks.
fn look(img: RgbaImage, look: &Look) -> RgbaImage {
    let mut img = img;
    if let Some(c) = look.outline {
        img = outline(&img, c, 1);
    }
    if look.shadow {
        let (dx, dy, c) = SHADOW;
        img = drop_shadow(&img, dx, dy, c);
    }
    img
}

/// A palette's name in provenance.
fn palette_name(p: &PaletteChoice) -> String {
    match p {
        PaletteChoice::Adaptive(n) => format!("adaptive-{n}"),
        PaletteChoice::Fixed(p) => p.name.clone(),
    }
}

/// Reads and decodes the picture at `path`, with its bytes (hashed into the provenance).
pub fn read_image(path: &Path) -> Result<(RgbaImage, Vec<u8>)> {
    let bytes = std::fs::read(path).map_err(crate::Error::io(path))?;
    let img = image::load_from_memory(&bytes)
        .map_err(|e| Error::Decode {
            path: path.to_owned(),
            message: e.to_string(),
        })?
        .to_rgba8();
    Ok((img, bytes))
}

/// The file name of `path` without its extension (`prop` when it has none), for asset names.
pub fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "prop".into())
}

/// `img` with every pixel opaque: transparent ones take the mean colour of the opaque ones.
fn opaque(img: &RgbaImage) -> RgbaImage {
    let (mut sum, mut n) = ([0u64; 3], 0u64);
    for p in img.pixels().filter(|p| p[3] >= 128) {
        for c in 0..3 {
            sum[c] += u64::from(p[c]);
        }
        n += 1;
    }
    let mean = sum.map(|s| (s / n.max(1)) as u8);
    let mut out = img.clone();
    for p in out.pixels_mut() {
        if p[3] < 128 {
            p.0 = [mean[0], mean[1], mean[2], 255];
        } else {
            p[3] = 255;
        }
    }
    out
}

/// `tile` repeated `n`×`n` times, to show that it wraps.
fn tiled(tile: &RgbaImage, n: u32) -> RgbaImage {
    let mut out = RgbaImage::new(tile.width() * n, tile.height() * n);
    for ty in 0..n {
        for tx in 0..n {
            image::imageops::replace(
                &mut out,
                tile,
                i64::from(tx * tile.width()),
                i64::from(ty * tile.height()),
            );
        }
    }
    out
}
