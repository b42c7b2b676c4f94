//! `sprout gen sprite|portrait|texture|prop`: images from the image backends, finished for games
//! (pixel art, palettes, transparent backgrounds, seamless tiles), and props as glTF.
//!
//! Every output is written atomically with a provenance sidecar (`<file>.prov.ron`); PNGs also
//! carry their parameters in `tEXt` chunks (through [`crate::files`], shared with `sprout
//! finish`). Sprites take the look options of [`crate::finish::SpriteLook`] (`--outline`,
//! `--shadow`). Backends are chosen by name in [`backend`]: add an arm there for a new engine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use sprout_core::diffusion::http::{self, HttpImageBackend, HttpImageConfig, Protocol};
use sprout_core::diffusion::sd::{self, SdBackend, SdConfig, SdModel, SdVersion};
use sprout_core::diffusion::sprite::{self, SpriteBackend, SpriteModel};
use sprout_core::diffusion::{ImageBackend, ImageEvent, ImageRequest, RgbaImage};
use sprout_core::finish::{
    self, BackgroundRemoval, Generated, Palette, PaletteChoice, PixelArt, make_seamless,
    remove_background, seam_error,
};
use sprout_core::mesh::{self, Material};

use crate::files::{read_image, stem, write_bytes, write_png};
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
#[derive(Debug, Args)]
pub struct GenArgs {
    /// Random seed: the same seed gives the same image with the local backends.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Image backend (see `backend` for the names).
    #[arg(long)]
    backend: Option<String>,
    /// Model folder (local backends) or server URL (HTTP backends).
    #[arg(long)]
    model: Option<String>,
    /// Palette in assets/palettes (e.g. farm32) or `adaptive-N` for N colours picked from the image.
    #[arg(long)]
    palette: Option<String>,
    /// Output size in pixels (square); sprites default to 32, portraits to 64, textures keep the
    /// generated size.
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
    /// The project root (palettes are read from ROOT/assets/palettes).
    #[arg(long, default_value = ".")]
    root: PathBuf,
}

/// The backend a sprite uses when `--backend` is absent: the embedded sprite model (weights compiled
/// in, 16×16, about a second on a CPU, no download).
pub const DEFAULT_SPRITE_BACKEND: &str = "sprite";
/// The backend portraits and textures use when `--backend` is absent (`sd` is SD-Turbo).
pub const DEFAULT_BACKEND: &str = "sd";

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
            let model = match model {
                Some(dir) => SpriteModel::from_dir(Path::new(dir))?,
                None => SpriteModel::embedded()?,
            };
            let mut backend = SpriteBackend::new(model);
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

/// Runs one image command.
pub fn run(command: ImageGen) -> anyhow::Result<ExitCode> {
    match command {
        ImageGen::Sprite { prompted: p, look } => {
            prompted("sprite", &p, DEFAULT_SPRITE_BACKEND, 32, Some(&look))
        }
        ImageGen::Portrait(p) => prompted("portrait", &p, DEFAULT_BACKEND, 64, None),
        ImageGen::Texture {
            prompt,
            from,
            seamless,
            ground,
            opts,
            out,
        } => texture(
            prompt,
            from.as_deref(),
            seamless,
            ground.as_deref(),
            &opts,
            &out,
        ),
        ImageGen::Prop {
            from,
            depth,
            pixel_size,
            relief,
            out,
        } => prop(&from, depth, pixel_size, relief, &out),
    }
}

fn prompted(
    kind: &str,
    p: &Prompted,
    default_backend: &str,
    default_size: u32,
    look: Option<&SpriteLook>,
) -> anyhow::Result<ExitCode> {
    let g = &p.opts;
    let (raw, mut params) = generate(&p.prompt, g, default_backend, 512)?;
    let size = g.size.unwrap_or(default_size);
    let mut img = raw;
    // Backends that draw alpha themselves (the sprite model) keep it.
    if kind == "sprite" && img.pixels().all(|p| p[3] == 255) {
        img = remove_background(&img, &BackgroundRemoval::default());
        params.insert("background".into(), "removed (border flood)".into());
    }
    let palette = palette(g, 16)?;
    params.insert("palette".into(), palette_name(&palette));
    params.insert("size".into(), format!("{size}x{size}"));
    let mut img = finish::pixelate(
        &img,
        &PixelArt {
            palette,
            ..PixelArt::new(size, size)
        },
    )?;
    if let Some(look) = look {
        img = look.apply(img, &mut params);
    }
    let generated = Generated {
        generator: format!("sprout gen {kind}"),
        seed: g.seed,
        parameters: params,
        input_bytes: vec![],
    };
    write_png(&generated, &p.out, &img)?;
    eprintln!("wrote {} ({size}x{size})", p.out.display());
    Ok(ExitCode::SUCCESS)
}

fn texture(
    prompt: Option<String>,
    from: Option<&Path>,
    seamless: bool,
    ground: Option<&Path>,
    g: &GenArgs,
    out: &Path,
) -> anyhow::Result<ExitCode> {
    let mut inputs = Vec::new();
    let (mut img, mut params) = match (prompt, from) {
        (_, Some(path)) => {
            let (img, bytes) = read_image(path)?;
            inputs.push(bytes);
            (
                img,
                BTreeMap::from([("from".to_owned(), path.display().to_string())]),
            )
        }
        (Some(prompt), None) => generate(&prompt, g, DEFAULT_BACKEND, 512)?,
        (None, None) => bail!("give a prompt or --from IMAGE"),
    };
    if let Some(size) = g.size {
        img = image::imageops::resize(&img, size, size, image::imageops::FilterType::Lanczos3);
        params.insert("size".into(), format!("{size}x{size}"));
    }
    if seamless {
        let before = seam_error(&img);
        img = make_seamless(&img);
        let after = seam_error(&img);
        params.insert(
            "seamless".into(),
            format!(
                "seam/interior {:.2} -> {:.2}",
                before.ratio(),
                after.ratio()
            ),
        );
        eprintln!(
            "seam error (seam/interior step): {:.2} -> {:.2}",
            before.ratio(),
            after.ratio()
        );
    }
    if g.palette.is_some() {
        let palette = palette(g, 16)?;
        params.insert("palette".into(), palette_name(&palette));
        let p = match palette {
            PaletteChoice::Fixed(p) => p,
            PaletteChoice::Adaptive(n) => Palette::median_cut(&img, n),
        };
        img = finish::pixel::quantize(&img, &p, 0.0, 0);
    }
    let generated = Generated {
        generator: "sprout gen texture".into(),
        seed: g.seed,
        parameters: params,
        input_bytes: inputs,
    };
    write_png(&generated, out, &img)?;
    eprintln!("wrote {} ({}x{})", out.display(), img.width(), img.height());
    if let Some(ground) = ground {
        let (m, material) = mesh::ground_tile(&img, 4.0, 4.0, 4)?;
        let name = stem(ground);
        let glb = mesh::write_glb(&m, &material, &name, "sprout gen texture")?;
        write_bytes(&generated, ground, &glb)?;
        eprintln!(
            "wrote {} (4 m ground tile, texture repeated 4x)",
            ground.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn prop(
    from: &Path,
    depth: usize,
    pixel_size: f32,
    relief: bool,
    out: &Path,
) -> anyhow::Result<ExitCode> {
    let (sprite, bytes) = read_image(from)?;
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
    let glb = mesh::write_glb(&m, &material, &name, "sprout gen prop")?;
    let generated = Generated {
        generator: "sprout gen prop".into(),
        seed: 0,
        parameters: BTreeMap::from([
            ("from".to_owned(), from.display().to_string()),
            ("kind".to_owned(), kind.to_owned()),
            ("depth".to_owned(), depth.to_string()),
            ("pixel_size".to_owned(), pixel_size.to_string()),
        ]),
        input_bytes: vec![bytes],
    };
    write_bytes(&generated, out, &glb)?;
    eprintln!(
        "wrote {} ({kind}, {} triangles, {} bytes)",
        out.display(),
        m.triangles(),
        glb.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs the backend and returns the raw image with the parameters that made it.
fn generate(
    prompt: &str,
    g: &GenArgs,
    default_backend: &str,
    gen_size: u32,
) -> anyhow::Result<(RgbaImage, BTreeMap<String, String>)> {
    let name = g.backend.as_deref().unwrap_or(default_backend);
    let mut backend = backend(name, g.model.as_deref(), Some(g))?;
    let mut req = ImageRequest::new(prompt)
        .with_seed(g.seed)
        .with_size(gen_size, gen_size)
        .with_negative_prompt(g.negative.clone());
    if name == "sprite" {
        // The sprite model draws at its native size; the finishing scales to --size.
        req = req
            .with_size(sprite::NATIVE_SIZE, sprite::NATIVE_SIZE)
            .with_steps(sprite::DEFAULT_STEPS)
            .with_guidance(sprite::DEFAULT_GUIDANCE);
    }
    if let Some(version) = sd_version(name) {
        // Each version has its own native size, steps and guidance.
        let (size, steps, guidance) = SdConfig::for_version(version).defaults;
        req = req
            .with_size(size, size)
            .with_steps(steps)
            .with_guidance(guidance);
    }
    if let Some(steps) = g.steps {
        req = req.with_steps(steps);
    }
    let described = backend.describe();
    eprintln!("generating with {described}");
    let img = backend.generate(&req, &mut |e| {
        if let ImageEvent::Step { step, total, .. } = e {
            eprint!("\rstep {step}/{total}");
        }
    })?;
    eprintln!();
    let params = BTreeMap::from([
        ("prompt".to_owned(), prompt.to_owned()),
        ("negative_prompt".to_owned(), req.negative_prompt.clone()),
        ("backend".to_owned(), described),
        ("steps".to_owned(), req.steps.to_string()),
        ("guidance".to_owned(), req.guidance.to_string()),
        (
            "generated_size".to_owned(),
            format!("{}x{}", req.width, req.height),
        ),
    ]);
    Ok((img, params))
}

fn palette(g: &GenArgs, default_colors: usize) -> anyhow::Result<PaletteChoice> {
    Ok(match g.palette.as_deref() {
        None => PaletteChoice::Adaptive(default_colors),
        Some(name) => match name.strip_prefix("adaptive-").map(str::parse::<usize>) {
            Some(Ok(n)) if n > 0 => PaletteChoice::Adaptive(n),
            Some(_) => bail!("`{name}`: adaptive palettes are written adaptive-N with N > 0"),
            None => PaletteChoice::Fixed(Palette::named(&Palette::dir(&g.root), name)?),
        },
    })
}

fn palette_name(p: &PaletteChoice) -> String {
    match p {
        PaletteChoice::Adaptive(n) => format!("adaptive-{n}"),
        PaletteChoice::Fixed(p) => p.name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
