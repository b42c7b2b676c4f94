//! The generation worker: one thread that owns the models (loaded on first use, kept for the
//! session) and runs jobs one at a time, reporting progress and staging results. A job that
//! panics (a model file that lies about itself, a bug) fails with the panic's message; the models
//! are dropped and loaded afresh for the next job, and the worker goes on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};
use std::time::Instant;

use sprout_core::content::provenance::{now_rfc3339, sha256_hex, sidecar_path};
use sprout_core::content::{
    AssetPath, ContentKind, ContentSet, DialogueTree, ModelRef, Provenance, TemplateRef,
};
use sprout_core::diffusion::sprite::SpriteBackend;
use sprout_core::diffusion::{ImageBackend, ImageEvent, ImageRequest, RgbaImage};
use sprout_core::finish::{
    self, Generated, Palette, PaletteChoice, PixelArt, make_seamless, seam_error,
};
use sprout_core::format::{parse, to_ron};
use sprout_core::llm::structured::{DialogueRequest, dialogue_messages, generate_dialogue};
use sprout_core::llm::{CancelToken, Event, LoadOptions, LocalModel, ModelManager, PullProgress};
use sprout_core::mesh::{self, Material};
use sprout_core::story::{self, JobSpec, Prepared, Project, Status, Templates};

use super::staging::StagedFiles;
use super::{GenerationUpdate, GeneratorSettings, ImageJob, ImageTarget, JobId, Preview, Request};

/// One job for the worker, with a snapshot of the content it is made against.
pub(super) struct Command {
    pub job: JobId,
    pub request: Request,
    /// The LLM to use (registry id; `None`: the default), from [`GeneratorSettings::model`] when
    /// the job was submitted.
    pub model: Option<String>,
    pub content: Box<ContentSet>,
    pub cancel: CancelToken,
}

/// What the worker sends back.
pub(super) enum Reply {
    Update(GenerationUpdate),
    Staged {
        job: JobId,
        preview: Box<Preview>,
        provenance: Box<Provenance>,
        files: StagedFiles,
    },
}

type Send<'a> = &'a dyn Fn(GenerationUpdate);

/// A staged job: its preview, the main file's provenance, the files.
type Done = (Preview, Provenance, StagedFiles);

/// The models, loaded on first use; the LLM is reloaded when a job asks for another one.
struct Models {
    llm: Option<(LocalModel, ModelRef, Option<String>)>,
    sprite: Option<SpriteBackend>,
}

pub(super) fn run(
    settings: GeneratorSettings,
    asset_dir: PathBuf,
    inbox: Receiver<Command>,
    outbox: Sender<Reply>,
) {
    let mut models = Models {
        llm: None,
        sprite: None,
    };
    let send = |u: GenerationUpdate| {
        let _ = outbox.send(Reply::Update(u));
    };
    while let Ok(Command {
        job,
        request,
        model,
        content,
        cancel,
    }) = inbox.recv()
    {
        if cancel.is_cancelled() {
            send(GenerationUpdate::Cancelled { job });
            continue;
        }
        let ctx = Ctx {
            model: model.as_deref(),
            settings: &settings,
            asset_dir: &asset_dir,
            job,
            content: &content,
            cancel: &cancel,
            send: &send,
        };
        let result = contained(&mut models, |models| match &request {
            Request::Dialogue(r) => ctx.llm(models).and_then(|(m, mr)| ctx.dialogue(m, mr, r)),
            Request::Story(spec) => ctx.llm(models).and_then(|(m, mr)| ctx.story(m, mr, spec)),
            Request::Image(r) => ctx.image(models, r),
        });
        match result {
            Ok((preview, provenance, files)) => {
                let _ = outbox.send(Reply::Staged {
                    job,
                    preview: Box::new(preview),
                    provenance: Box::new(provenance),
                    files,
                });
            }
            Err(_) if cancel.is_cancelled() => send(GenerationUpdate::Cancelled { job }),
            Err(error) => send(GenerationUpdate::Failed { job, error }),
        }
    }
}

/// Runs one job with the models, turning a panic into the job's error: the models (which may be
/// half-built) are dropped, to be loaded afresh by the next job, and the worker goes on.
fn contained<T>(
    models: &mut Models,
    job: impl FnOnce(&mut Models) -> Result<T, String>,
) -> Result<T, String> {
    let run = std::panic::AssertUnwindSafe(|| job(models));
    std::panic::catch_unwind(run).unwrap_or_else(|panic| {
        *models = Models {
            llm: None,
            sprite: None,
        };
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_owned());
        bevy::log::error!("a generation job panicked: {why}");
        Err(format!(
            "the generator crashed on this job ({why}); the worker restarted and loads the models afresh for the next job"
        ))
    })
}

/// One job's context.
struct Ctx<'a> {
    model: Option<&'a str>,
    settings: &'a GeneratorSettings,
    asset_dir: &'a Path,
    job: JobId,
    content: &'a ContentSet,
    cancel: &'a CancelToken,
    send: Send<'a>,
}

impl Ctx<'_> {
    /// The job's LLM, fetched and loaded on first use (or when the job asks for another).
    fn llm<'m>(&self, models: &'m mut Models) -> Result<(&'m LocalModel, &'m ModelRef), String> {
        let wanted = self.model.map(str::to_owned);
        if models.llm.as_ref().is_none_or(|(_, _, id)| *id != wanted) {
            models.llm = None;
            let (model, reference) = self.load_llm()?;
            models.llm = Some((model, reference, wanted));
        }
        let (m, r, _) = models.llm.as_ref().ok_or("no model")?;
        Ok((m, r))
    }

    fn load_llm(&self) -> Result<(LocalModel, ModelRef), String> {
        let manager = ModelManager::new();
        let mut last = Instant::now();
        let (entry, path) = manager
            .ensure(self.model, &mut |p: PullProgress| {
                if last.elapsed().as_millis() > 200 {
                    last = Instant::now();
                    (self.send)(GenerationUpdate::Loading {
                        job: self.job,
                        what: format!("fetching the model: {p:?}"),
                    });
                }
            })
            .map_err(|e| e.to_string())?;
        (self.send)(GenerationUpdate::Loading {
            job: self.job,
            what: format!("loading {}", entry.id),
        });
        let model = LocalModel::load(&path, &LoadOptions::default()).map_err(|e| e.to_string())?;
        Ok((
            model,
            ModelRef {
                id: entry.id.clone(),
                sha256: entry.sha256.clone(),
            },
        ))
    }

    /// Reports tokens as progress, at most every 100 ms.
    fn token_progress(&self) -> impl FnMut(Event<'_>) + '_ {
        let started = Instant::now();
        let mut tokens = 0usize;
        let mut last = Instant::now();
        move |e: Event<'_>| {
            if let Event::Token { .. } = e {
                tokens += 1;
                if last.elapsed().as_millis() >= 100 {
                    last = Instant::now();
                    (self.send)(GenerationUpdate::Progress {
                        job: self.job,
                        tokens,
                        tokens_per_second: tokens as f32
                            / started.elapsed().as_secs_f32().max(1e-3),
                    });
                }
            }
        }
    }

    fn dialogue(
        &self,
        model: &LocalModel,
        model_ref: &ModelRef,
        request: &DialogueRequest,
    ) -> Result<Done, String> {
        let mut backend = model.backend();
        let mut request = request.clone();
        request.cancel = self.cancel.clone();
        let (tree, generation) = generate_dialogue(
            &mut backend,
            self.content,
            &request,
            &mut self.token_progress(),
        )
        .map_err(|e| match e {
            sprout_core::llm::Error::Cancelled => "cancelled".to_owned(),
            e => e.to_string(),
        })?;
        let text = to_ron(&tree).map_err(|e| e.to_string())?;
        let messages = dialogue_messages(&request, self.content).map_err(|e| e.to_string())?;
        let inputs: String = messages.iter().map(|m| format!("{m:?}\n")).collect();
        let templates =
            Templates::load_or_builtin(&self.settings.prompts_dir).map_err(|e| e.to_string())?;
        let s = &request.sampling;
        let provenance = Provenance {
            generator: "bevy_sprout dialogue".into(),
            generator_version: env!("CARGO_PKG_VERSION").into(),
            model: Some(model_ref.clone()),
            template: Some(TemplateRef::clone(
                &templates.reference(story::Stage::Dialogue),
            )),
            inputs_sha256: sha256_hex(inputs.as_bytes()),
            output_sha256: sha256_hex(text.as_bytes()),
            seed: s.seed,
            parameters: BTreeMap::from([
                ("temperature".into(), s.temperature.to_string()),
                ("top_k".into(), s.top_k.to_string()),
                ("top_p".into(), s.top_p.to_string()),
                ("repeat_penalty".into(), s.repeat_penalty.to_string()),
                ("max_tokens".into(), request.max_tokens.to_string()),
                ("nodes".into(), request.nodes.to_string()),
                ("situation".into(), format!("{:?}", request.situation)),
                ("tokens".into(), generation.tokens.len().to_string()),
            ]),
            created: now_rfc3339(),
        };
        let rel = Path::new(ContentKind::Dialogue.folder())
            .join(ContentKind::Dialogue.file_name(&tree.id));
        let mut files = StagedFiles::for_job(&self.settings.staging_dir, self.job);
        let sidecar = to_ron(&provenance).map_err(|e| e.to_string())?;
        files
            .write(&rel, text.as_bytes(), Some(sidecar.as_bytes()))
            .map_err(|e| e.to_string())?;
        Ok((Preview::Dialogue(tree), provenance, files))
    }

    fn story(
        &self,
        model: &LocalModel,
        model_ref: &ModelRef,
        spec: &JobSpec,
    ) -> Result<Done, String> {
        let templates =
            Templates::load_or_builtin(&self.settings.prompts_dir).map_err(|e| e.to_string())?;
        let project = Project {
            assets: self.asset_dir.to_owned(),
            state: self.settings.state_dir.clone(),
        };
        let options = story::Options {
            cancel: self.cancel.clone(),
            ..story::Options::default()
        };
        let mut backend = model.backend();
        let candidate = Prepared::new(
            &templates,
            &project,
            self.content,
            spec,
            model_ref,
            &options,
        )
        .and_then(|p| p.run(&mut backend, &mut self.token_progress()))
        .map_err(|e| e.to_string())?;
        let mut files = StagedFiles::for_job(&self.settings.staging_dir, self.job);
        let staged = candidate
            .stage(self.content, &files.dir)
            .map_err(|e| e.to_string())?;
        match &staged.outcome.status {
            Status::Rejected(problems) => {
                return Err(format!(
                    "no valid result after {} attempt(s): {}",
                    staged.outcome.attempts,
                    problems.join("; ")
                ));
            }
            Status::Kept(why) => return Err(format!("kept the existing file: {why}")),
            Status::UpToDate => return Err("the existing file is already up to date".into()),
            _ => {}
        }
        files.files = staged.files;
        let main = files.main().ok_or("nothing was staged")?;
        let provenance = std::fs::read_to_string(sidecar_path(&main))
            .ok()
            .and_then(|s| parse::<Provenance>(&s).ok())
            .ok_or("the staged file has no provenance")?;
        let text = staged.text.unwrap_or_default();
        let preview = match &spec.job {
            story::Job::Dialogue { .. } => parse::<DialogueTree>(&text)
                .map_or_else(|_| Preview::Text(text.clone()), Preview::Dialogue),
            _ => Preview::Text(text),
        };
        Ok((preview, provenance, files))
    }

    fn image(&self, models: &mut Models, req: &ImageJob) -> Result<Done, String> {
        let mut files = StagedFiles::for_job(&self.settings.staging_dir, self.job);
        let mut params = BTreeMap::from([
            ("prompt".to_owned(), req.prompt.clone()),
            ("steps".to_owned(), req.steps.to_string()),
            ("guidance".to_owned(), req.guidance.to_string()),
            (
                "palette".to_owned(),
                req.palette.clone().unwrap_or_else(|| "adaptive".into()),
            ),
        ]);
        let preview = match &req.target {
            ImageTarget::ItemIcon { item } => {
                let icon = self
                    .content
                    .items
                    .iter()
                    .find(|d| d.value.id == *item)
                    .map(|d| d.value.icon.clone())
                    .ok_or_else(|| format!("no item `{item}`"))?;
                let (img, backend) = self.sample(models, req)?;
                params.insert("backend".into(), backend);
                params.insert("target".into(), format!("icon of {item}"));
                self.stage_png(&mut files, &icon, &img, req.seed, &params)?;
                Preview::Images {
                    note: format!(
                        "{} colours, 16×16",
                        finish::pixel::distinct_colors(&img).len()
                    ),
                    images: vec![(icon.to_string(), Arc::new(img))],
                }
            }
            ImageTarget::Crop { crop } => {
                let crop = self
                    .content
                    .crops
                    .iter()
                    .find(|d| d.value.id == *crop)
                    .map(|d| d.value.clone())
                    .ok_or_else(|| format!("no crop `{crop}`"))?;
                let (ripe, backend) = self.sample(models, req)?;
                params.insert("backend".into(), backend);
                params.insert("target".into(), format!("crop {}", crop.id));
                let frames = finish::growth_stages(&ripe, crop.stages.len() + 1)
                    .map_err(|e| e.to_string())?;
                let paths = crop
                    .stages
                    .iter()
                    .map(|s| s.sprite.clone())
                    .chain([crop.ripe_sprite.clone()]);
                // One file per distinct path (a later stage wins a shared path); the ripe
                // sprite comes last, as the main file.
                let mut stages: Vec<(AssetPath, RgbaImage)> = Vec::new();
                for (path, frame) in paths.zip(frames) {
                    stages.retain(|(p, _)| *p != path);
                    stages.push((path, frame));
                }
                let mut images = Vec::new();
                for (path, frame) in stages {
                    self.stage_png(&mut files, &path, &frame, req.seed, &params)?;
                    images.push((path.to_string(), Arc::new(frame)));
                }
                Preview::Images {
                    note: format!(
                        "{} growth stages and the ripe crop, derived from one sample",
                        crop.stages.len()
                    ),
                    images,
                }
            }
            ImageTarget::Texture { id } => {
                let (img, backend) = self.sample(models, req)?;
                params.insert("backend".into(), backend);
                let before = seam_error(&opaque(&img));
                let tile = make_seamless(&opaque(&img));
                let after = seam_error(&tile);
                params.insert("seamless".into(), "true".into());
                let path =
                    AssetPath::new(format!("textures/{id}.png")).map_err(|e| e.to_string())?;
                self.stage_png(&mut files, &path, &tile, req.seed, &params)?;
                let mut tiled = RgbaImage::new(tile.width() * 3, tile.height() * 3);
                for ty in 0..3 {
                    for tx in 0..3 {
                        image::imageops::replace(
                            &mut tiled,
                            &tile,
                            i64::from(tx * tile.width()),
                            i64::from(ty * tile.height()),
                        );
                    }
                }
                Preview::Images {
                    note: format!(
                        "seam error {:.4} before, {:.4} after making it tile",
                        before.ratio(),
                        after.ratio()
                    ),
                    images: vec![
                        (path.to_string(), Arc::new(tile)),
                        ("tiled 3×3".into(), Arc::new(tiled)),
                    ],
                }
            }
            ImageTarget::Prop { id, from, depth } => {
                let source = from.under(self.asset_dir);
                let bytes =
                    std::fs::read(&source).map_err(|e| format!("{}: {e}", source.display()))?;
                let sprite = image::load_from_memory(&bytes)
                    .map_err(|e| format!("{}: {e}", source.display()))?
                    .to_rgba8();
                let mesh =
                    mesh::extrude_sprite(&sprite, *depth, 1.0 / 16.0).map_err(|e| e.to_string())?;
                let generator = "bevy_sprout prop";
                let glb =
                    mesh::write_glb(&mesh, &Material::matte(id.as_str()), id.as_str(), generator)
                        .map_err(|e| e.to_string())?;
                let rel = PathBuf::from(format!("props/{id}.glb"));
                let generated = Generated {
                    generator: generator.into(),
                    seed: 0,
                    parameters: BTreeMap::from([
                        ("from".into(), from.to_string()),
                        ("depth".into(), depth.to_string()),
                        ("pixel_size".into(), (1.0f32 / 16.0).to_string()),
                    ]),
                    input_bytes: vec![bytes],
                };
                generated
                    .write_bytes(&files.dir.join(&rel), &glb)
                    .map_err(|e| e.to_string())?;
                files.files.push(sidecar_path(&rel));
                files.files.push(rel);
                let (lo, hi) = mesh.bounds();
                Preview::Images {
                    note: format!(
                        "{} triangles, {:.2}×{:.2}×{:.2} m, {} bytes of glTF",
                        mesh.triangles(),
                        hi[0] - lo[0],
                        hi[1] - lo[1],
                        hi[2] - lo[2],
                        glb.len()
                    ),
                    images: vec![(from.to_string(), Arc::new(sprite))],
                }
            }
        };
        let main = files.main().ok_or("nothing was staged")?;
        let provenance = std::fs::read_to_string(sidecar_path(&main))
            .ok()
            .and_then(|s| parse::<Provenance>(&s).ok())
            .ok_or("the staged file has no provenance")?;
        Ok((preview, provenance, files))
    }

    /// One 16×16 sample from the embedded sprite model, finished to the request's palette.
    /// Returns the image and the backend's description.
    fn sample(&self, models: &mut Models, req: &ImageJob) -> Result<(RgbaImage, String), String> {
        if models.sprite.is_none() {
            (self.send)(GenerationUpdate::Loading {
                job: self.job,
                what: "loading the sprite model".into(),
            });
            models.sprite = Some(SpriteBackend::embedded().map_err(|e| e.to_string())?);
        }
        let backend = models.sprite.as_mut().ok_or("no sprite model")?;
        let size = backend.model().config().size as u32;
        let mut finish = PixelArt::new(size, size);
        if let Some(name) = &req.palette {
            let palette = Palette::named(&self.asset_dir.join("palettes"), name)
                .map_err(|e| e.to_string())?;
            finish.palette = PaletteChoice::Fixed(palette);
        }
        backend.finish = Some(finish);
        let mut request = ImageRequest::new(req.prompt.clone())
            .with_size(size, size)
            .with_steps(req.steps)
            .with_guidance(req.guidance)
            .with_seed(req.seed)
            // A 16×16 preview costs one tensor op: show every step.
            .with_previews(1);
        request.cancel = self.cancel.clone();
        let img = backend
            .generate(&request, &mut |e| {
                if let ImageEvent::Step {
                    step,
                    total,
                    preview,
                } = e
                {
                    (self.send)(GenerationUpdate::Step {
                        job: self.job,
                        step,
                        total,
                        preview: preview.map(|p| Arc::new(p.clone())),
                    });
                }
            })
            .map_err(|e| e.to_string())?;
        Ok((img, backend.describe()))
    }

    /// Stages `img` as the PNG `path`, with its parameters in text chunks and a sidecar.
    fn stage_png(
        &self,
        files: &mut StagedFiles,
        path: &AssetPath,
        img: &RgbaImage,
        seed: u64,
        params: &BTreeMap<String, String>,
    ) -> Result<(), String> {
        let rel = PathBuf::from(path.as_str());
        let generated = Generated {
            generator: "bevy_sprout image".into(),
            seed,
            parameters: params.clone(),
            input_bytes: vec![],
        };
        generated
            .write_png(&files.dir.join(&rel), img)
            .map_err(|e| e.to_string())?;
        files.files.push(sidecar_path(&rel));
        files.files.push(rel);
        Ok(())
    }
}

/// `img` with every pixel opaque: transparent ones take the mean colour of the opaque ones (a
/// ground tile has no holes).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_job_fails_with_its_message_and_the_models_start_afresh() {
        let mut models = Models {
            llm: None,
            sprite: Some(SpriteBackend::embedded().unwrap()),
        };
        let r: Result<(), String> = contained(&mut models, |_| panic!("head_count is zero"));
        let e = r.unwrap_err();
        assert!(
            e.contains("head_count is zero") && e.contains("restarted"),
            "{e}"
        );
        assert!(
            models.sprite.is_none(),
            "the half-built models were dropped"
        );
        // The next job runs as usual.
        assert_eq!(contained(&mut models, |_| Ok(7)), Ok(7));
    }
}
