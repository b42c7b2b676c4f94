//! `sprout gen sprite|portrait|icon|crop|texture|prop`: the arguments of the art recipes. Each
//! command fills a [`sprout_core::art::ArtJob`] and calls [`art::make()`], the one implementation
//! the game's editor calls too; the result is written with its provenance sidecars (PNGs also
//! carry their parameters in `tEXt` chunks). Backends are chosen by name in [`backend`]: add an
//! arm there for a new engine.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use sprout_core::art::{self, ArtJob, Context, Recipe};
use sprout_core::cancel::CancelToken;
use sprout_core::content::{ContentSet, Id};
use sprout_core::diffusion::http::{self, HttpImageBackend, HttpImageConfig, Protocol};
use sprout_core::diffusion::sd::{self, SdBackend, SdConfig, SdModel, SdVersion};
use sprout_core::diffusion::sprite::SpriteBackend;
use sprout_core::diffusion::{ImageBackend, ImageEvent};
use sprout_core::finish::Palette;

use crate::finish::SpriteLook;

/// Image and prop generation commands.
#[derive(Debug, Subcommand)]
pub enum ImageGen {
    /// A game sprite from a prompt: generated, background removed, reduced to pixel art, then
    /// optionally outlined and shadowed.
    Sprite {
        #[command(flatten)]
        prompted: Prompted,
        #[command(flatten)]
        look: SpriteLook,
    },
    /// A character portrait from a prompt: generated and reduced to pixel art (background kept).
    Portrait(Prompted),
    /// An item's inventory icon, written where the item's `icon` points in the asset folder
    /// (with `sprout gen` run in the asset folder, the same bytes as the editor's Generate).
    Icon {
        /// The item.
        #[arg(long)]
        item: Id,
        /// What to draw (default: the item's id as words).
        prompt: Option<String>,
        #[command(flatten)]
        opts: GenArgs,
        #[command(flatten)]
        look: SpriteLook,
        /// The asset folder (palettes are read from its `palettes/`).
        #[arg(long, default_value = "assets")]
        assets: PathBuf,
    },
    /// A crop's ripe sprite and its growth stages derived from it, written where the crop's
    /// `stages` and `ripe_sprite` point in the asset folder.
    Crop {
        /// The crop.
        #[arg(long)]
        crop: Id,
        /// What to draw (default: the crop's id as words).
        prompt: Option<String>,
        #[command(flatten)]
        opts: GenArgs,
        #[command(flatten)]
        look: SpriteLook,
        /// The asset folder (palettes are read from its `palettes/`).
        #[arg(long, default_value = "assets")]
        assets: PathBuf,
    },
    /// A texture tile, from a prompt or an existing image; `--seamless` makes it tile.
    Texture {
        /// What to draw (or use --from).
        #[arg(required_unless_present = "from", conflicts_with = "from")]
        prompt: Option<String>,
        /// Start from this image instead of generating one.
        #[arg(long)]
        from: Option<PathBuf>,
        /// Make the tile wrap without a seam.
        #[arg(long)]
        seamless: bool,
        /// Also write a ground-tile prop (`.glb`) textured with the tile here.
        #[arg(long)]
        ground: Option<PathBuf>,
        #[command(flatten)]
        opts: GenArgs,
        /// The PNG to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// A 3D prop (`.glb`) from a sprite: extruded into voxels (or a relief with --relief).
    Prop {
        /// The sprite (PNG with alpha; opaque pixels become voxels).
        #[arg(long)]
        from: PathBuf,
        /// Voxels deep.
        #[arg(long, default_value_t = 2)]
        depth: usize,
        /// Metres per pixel.
        #[arg(long, default_value_t = 1.0 / 16.0)]
        pixel_size: f32,
        /// A heightfield (brightness is height) textured with the image, instead of voxels.
        #[arg(long)]
        relief: bool,
        /// The `.glb` to write.
        #[arg(long)]
        out: PathBuf,
    },
}

/// A prompt and where to write the result.
#[derive(Debug, Args)]
pub struct Prompted {
    /// What to draw.
    prompt: String,
    #[command(flatten)]
    opts: GenArgs,
    /// The PNG to write.
    #[arg(long)]
    out: PathBuf,
}

/// Options shared by the generating commands.
#[derive(Debug, Default, Args)]
pub struct GenArgs {
    /// Random seed: the same seed gives the same image with the local backends.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Image backend (see `backend` for the names).
    #[arg(long)]
    backend: Option<String>,
    /// Model folder (local backends; for `sprite`, a v1 folder or `models/sprite/v2`, the 32×32
    /// model) or server URL (HTTP backends).
    #[arg(long)]
    model: Option<String>,
    /// Palette in assets/palettes (e.g. farm32) or `adaptive-N` for N colours picked from the image.
    #[arg(long)]
    palette: Option<String>,
    /// Output size in pixels (square); by default the size the backend draws, at most 32 for
    /// sprites, icons and crops and 64 for portraits; textures keep the drawn size.
    #[arg(long)]
    size: Option<u32>,
    /// Denoising steps (the backend's default when absent).
    #[arg(long)]
    steps: Option<usize>,
    /// What not to draw.
    #[arg(long, default_value = "")]
    negative: String,
    /// `ComfyUI`: the checkpoint file name the workflow loads.
    #[arg(long, default_value = "sd_turbo.safetensors")]
    checkpoint: String,
    /// `ComfyUI`: a workflow (API format JSON with `{{prompt}}`, `{{seed}}`... slots) instead of
    /// the built-in txt2img graph.
    #[arg(long)]
    workflow: Option<PathBuf>,
    /// The project root (palettes are read from ROOT/assets/palettes; `icon` and `crop` read
    /// them from their --assets folder).
    #[arg(long, default_value = ".")]
    root: PathBuf,
}

/// The backend sprites, icons and crops use when `--backend` is absent: the embedded sprite model
/// (weights compiled in, about a second on a CPU, no download).
pub const DEFAULT_SPRITE_BACKEND: &str = "sprite";
/// The backend portraits and textures use when `--backend` is absent: Stable Diffusion (SD-Turbo,
/// `sd`) when its weights are already on this machine (`$SPROUT_SD_DIR` or the hub's cache),
/// else the embedded sprite model, so every art command works offline as typed.
pub fn default_backend() -> &'static str {
    if SdModel::local(SdVersion::Turbo).is_some() {
        "sd"
    } else {
        DEFAULT_SPRITE_BACKEND
    }
}

/// Every backend name [`backend`] knows, for help and errors.
pub const BACKENDS: &[&str] = &[
    "sprite",
    "sd",
    "sd-1.5",
    "sd-2.1",
    "sd-turbo",
    "sdxl",
    "sdxl-turbo",
    "sd-tiny",
    "a1111",
    "comfyui",
    "openai",
];

/// The Stable Diffusion version a backend name stands for (`sd` is SD-Turbo: one step, no
/// guidance, the fastest on a CPU).
fn sd_version(name: &str) -> Option<SdVersion> {
    if name == "sd" {
        Some(SdVersion::Turbo)
    } else {
        SdVersion::from_name(name)
    }
}

/// Opens Stable Diffusion `version` from `--model DIR`, else `$SPROUT_SD_DIR`, else the hub.
fn sd_backend(version: SdVersion, model: Option<&str>) -> anyhow::Result<Box<dyn ImageBackend>> {
    let dir = match model
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("SPROUT_SD_DIR").map(PathBuf::from))
    {
        Some(dir) => dir,
        None if version == SdVersion::Tiny => {
            bail!("backend `sd-tiny` needs --model DIR (a tiny checkpoint)")
        }
        None => {
            eprintln!(
                "fetching {} from the Hugging Face hub (once; pass --model DIR or set SPROUT_SD_DIR to use a local folder)",
                version.name()
            );
            SdModel::fetch(version)?
        }
    };
    let model = SdModel::load(SdConfig::for_version(version), &dir, sd::default_device())
        .with_context(|| format!("loading {} from {}", version.name(), dir.display()))?;
    Ok(Box::new(SdBackend::new(model)))
}

/// Opens an image server: `a1111` (AUTOMATIC1111/Forge, default `http://127.0.0.1:7860`),
/// `comfyui` (default `http://127.0.0.1:8188`), `openai` (default `https://api.openai.com`, key
/// from `$OPENAI_API_KEY`); `url` overrides the address.
fn http_backend(
    name: &str,
    url: Option<&str>,
    workflow: Option<&Path>,
    checkpoint: &str,
) -> anyhow::Result<Box<dyn ImageBackend>> {
    let (default_url, protocol) = match name {
        "a1111" => ("http://127.0.0.1:7860", Protocol::Automatic1111),
        "comfyui" => {
            let workflow = match workflow {
                Some(path) => std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?,
                None => http::COMFYUI_TXT2IMG.to_owned(),
            };
            (
                "http://127.0.0.1:8188",
                Protocol::ComfyUi {
                    workflow,
                    checkpoint: checkpoint.to_owned(),
                },
            )
        }
        _ => (
            "https://api.openai.com",
            Protocol::OpenAi {
                model: std::env::var("SPROUT_OPENAI_IMAGE_MODEL")
                    .unwrap_or_else(|_| "gpt-image-1".into()),
            },
        ),
    };
    let config = HttpImageConfig::new(url.unwrap_or(default_url), protocol);
    Ok(Box::new(HttpImageBackend::new(config)?))
}

/// Opens the image backend called `name`; `model` is its model folder or server URL; `g`, when
/// given, supplies the server options (`ComfyUI` workflow and checkpoint).
pub fn backend(
    name: &str,
    model: Option<&str>,
    g: Option<&GenArgs>,
) -> anyhow::Result<Box<dyn ImageBackend>> {
    match name {
        "a1111" | "comfyui" | "openai" => http_backend(
            name,
            model,
            g.and_then(|g| g.workflow.as_deref()),
            g.map_or("sd_turbo.safetensors", |g| g.checkpoint.as_str()),
        ),
        "sprite" => {
            // A model folder holds either network (v1, or v2 at 32×32); its config says which.
            let mut backend = match model {
                Some(dir) => SpriteBackend::from_dir(Path::new(dir))?,
                None => SpriteBackend::embedded()?,
            };
            // The commands finish (palette, size) themselves.
            backend.finish = None;
            Ok(Box::new(backend))
        }
        name if sd_version(name).is_some() => {
            sd_backend(sd_version(name).unwrap_or(SdVersion::Turbo), model)
        }
        other => bail!(
            "unknown image backend `{other}` (known: {})",
            BACKENDS.join(", ")
        ),
    }
}

/// Runs one image command: the arguments become an [`ArtJob`], made by [`art::make()`] (the same
/// function the game's editor calls) and written with [`Made::write`](sprout_core::art::Made::write).
pub fn run(command: ImageGen) -> anyhow::Result<ExitCode> {
    match command {
        ImageGen::Sprite { prompted: p, look } => {
            let recipe = Recipe::Sprite { out: p.out.clone() };
            let job = ArtJob {
                look: look.look(),
                ..job(recipe, &p.prompt, &p.opts)
            };
            made(&job, &p.opts, Path::new("."), None)
        }
        ImageGen::Portrait(p) => {
            let job = job(Recipe::Portrait { out: p.out.clone() }, &p.prompt, &p.opts);
            made(&job, &p.opts, Path::new("."), None)
        }
        ImageGen::Icon {
            item,
            prompt,
            opts,
            look,
            assets,
        } => {
            let prompt = prompt.unwrap_or_else(|| item.as_str().replace('_', " "));
            let recipe = Recipe::ItemIcon { item };
            content_art(recipe, &prompt, &opts, &look, &assets)
        }
        ImageGen::Crop {
            crop,
            prompt,
            opts,
            look,
            assets,
        } => {
            let prompt = prompt.unwrap_or_else(|| crop.as_str().replace('_', " "));
            let recipe = Recipe::CropStages { crop };
            content_art(recipe, &prompt, &opts, &look, &assets)
        }
        ImageGen::Texture {
            prompt,
            from,
            seamless,
            ground,
            opts,
            out,
        } => {
            let recipe = Recipe::Texture {
                out,
                from,
                seamless,
                ground,
            };
            let job = job(recipe, prompt.as_deref().unwrap_or_default(), &opts);
            made(&job, &opts, Path::new("."), None)
        }
        ImageGen::Prop {
            from,
            depth,
            pixel_size,
            relief,
            out,
        } => {
            let recipe = Recipe::Prop {
                out,
                from,
                depth,
                pixel_size,
                relief,
            };
            made(
                &ArtJob::new(recipe, ""),
                &GenArgs::default(),
                Path::new("."),
                None,
            )
        }
    }
}

/// Art for content (an icon, a crop's stages) written into the asset folder `assets`.
fn content_art(
    recipe: Recipe,
    prompt: &str,
    g: &GenArgs,
    look: &SpriteLook,
    assets: &Path,
) -> anyhow::Result<ExitCode> {
    let job = ArtJob {
        look: look.look(),
        ..job(recipe, prompt, g)
    };
    made(&job, g, assets, Some(assets))
}

/// The job the shared options describe.
fn job(recipe: Recipe, prompt: &str, g: &GenArgs) -> ArtJob {
    ArtJob {
        negative: g.negative.clone(),
        seed: g.seed,
        steps: g.steps,
        size: g.size,
        palette: g.palette.clone(),
        ..ArtJob::new(recipe, prompt)
    }
}

/// Makes `job` against `root` and writes it there; `assets`, when the job writes into an asset
/// folder, is locked while it does and its content is what the job looks items and crops up in.
fn made(job: &ArtJob, g: &GenArgs, root: &Path, assets: Option<&Path>) -> anyhow::Result<ExitCode> {
    let _lock = assets
        .map(|a| crate::story::lock_project(a, &format!("sprout gen {}", job.recipe.name())))
        .transpose()?;
    let content = match assets {
        Some(a) => crate::story::load_content(a)?,
        None => ContentSet::default(),
    };
    let palettes = match assets {
        Some(a) => a.join("palettes"),
        None => Palette::dir(&g.root),
    };
    let mut backend = if job.recipe.needs_backend() {
        let name = g.backend.as_deref().unwrap_or(match job.recipe {
            Recipe::Portrait { .. } | Recipe::Texture { .. } => default_backend(),
            _ => DEFAULT_SPRITE_BACKEND,
        });
        let b = backend(name, g.model.as_deref(), Some(g))?;
        eprintln!("generating with {}", b.describe());
        Some(b)
    } else {
        None
    };
    let cx = Context {
        root,
        palettes: &palettes,
        content: &content,
        cancel: CancelToken::new(),
        previews: 0,
    };
    let made = art::make(job, &cx, backend.as_deref_mut(), &mut |e| {
        if let ImageEvent::Step { step, total, .. } = e {
            eprint!("\rstep {step}/{total}");
        }
    })
    .with_context(|| job.describe())?;
    if job.recipe.needs_backend() {
        eprintln!();
    }
    made.write(root)
        .with_context(|| format!("writing {}", job.describe()))?;
    for file in &made.files {
        eprintln!("wrote {}", root.join(&file.path).display());
    }
    if !made.note.is_empty() {
        eprintln!("{}", made.note);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::RgbaImage;
    use sprout_core::finish;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    fn b64(bytes: &[u8]) -> String {
        const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for c in bytes.chunks(3) {
            let n = c
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
            for i in 0..4 {
                out.push(if i <= c.len() {
                    ABC[((n >> (18 - 6 * i)) & 63) as usize] as char
                } else {
                    '='
                });
            }
        }
        out
    }

    /// AUTOMATIC1111 started with `--api-auth artist:hunter2`: a txt2img answer for requests
    /// with that basic auth, 401 for the rest. Returns its URL and every request's head.
    fn a1111_with_auth() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        let mut png = Vec::new();
        RgbaImage::from_fn(8, 8, |x, y| {
            image::Rgba([x as u8 * 30, y as u8 * 30, 90, 255])
        })
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
        let ok = format!(
            r#"{{"images": ["{}"], "parameters": {{}}, "info": "{{}}"}}"#,
            b64(&png)
        );
        std::thread::spawn(move || {
            while let Ok((mut s, _)) = listener.accept() {
                let mut r = BufReader::new(s.try_clone().unwrap());
                let (mut head, mut len) = (String::new(), 0);
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                    head.push_str(&line);
                }
                let _ = r.read_exact(&mut vec![0; len]);
                let authorized = head
                    .lines()
                    .any(|l| l.eq_ignore_ascii_case("authorization: Basic YXJ0aXN0Omh1bnRlcjI="));
                seen2.lock().unwrap().push(head);
                let (status, body) = if authorized {
                    (200, ok.as_str())
                } else {
                    (401, r#"{"detail":"Not authenticated"}"#)
                };
                let _ = write!(
                    s,
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (url, seen)
    }

    #[test]
    fn server_credentials_reach_the_server_but_not_the_png_or_its_provenance() {
        let (url, seen) = a1111_with_auth();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("portrait.png");
        let opts = GenArgs {
            seed: 1,
            backend: Some("a1111".into()),
            model: Some(url.replace("http://", "http://artist:hunter2@")),
            palette: None,
            size: Some(16),
            steps: Some(1),
            negative: String::new(),
            checkpoint: "sd_turbo.safetensors".into(),
            workflow: None,
            root: dir.path().to_owned(),
        };
        run(ImageGen::Portrait(Prompted {
            prompt: "a farmer".into(),
            opts,
            out: out.clone(),
        }))
        .unwrap();
        assert_eq!(seen.lock().unwrap().len(), 1, "authorized at the first try");
        let png = std::fs::read(&out).unwrap();
        let prov =
            std::fs::read_to_string(sprout_core::content::provenance::sidecar_path(&out)).unwrap();
        let text = finish::save::read_png_text(&png).unwrap();
        let backend = text
            .iter()
            .find(|(k, _)| k == "backend")
            .map(|(_, v)| v.as_str());
        assert_eq!(backend, Some(format!("automatic1111 at {url}").as_str()));
        assert!(prov.contains(&format!("automatic1111 at {url}")), "{prov}");
        for needle in ["hunter2", "artist"] {
            assert!(!prov.contains(needle), "{prov}");
            assert!(!png.windows(needle.len()).any(|w| w == needle.as_bytes()));
        }
    }
}
