//! The generation worker: one thread that owns the models (loaded on first use, kept for the
//! session) and runs jobs one at a time, reporting progress and staging results. It only
//! dispatches: a story job goes to the story pipeline ([`sprout_core::story`]), an art job to
//! the art recipes ([`sprout_core::art`]), the functions `sprout gen` calls too. A job that
//! panics (a model file that lies about itself, a bug) fails with the panic's message; the models
//! are dropped and loaded afresh for the next job, and the worker goes on.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};
use std::time::Instant;

use sprout_core::art::{self, ArtJob};
use sprout_core::content::{ContentSet, DialogueTree, ModelRef, Provenance};
use sprout_core::diffusion::sprite::SpriteBackend;
use sprout_core::diffusion::{ImageBackend, ImageEvent};
use sprout_core::format::parse;
use sprout_core::llm::{
    CancelToken, Event, LoadOptions, LocalModel, ModelManager, PullProgress, StorySettings,
};
use sprout_core::story::{self, JobSpec, Project, Scored, Status, Templates};

use super::error::{Error, Result};
use super::staging::StagedFiles;
use super::{GenerationUpdate, GeneratorSettings, Job, JobId, Preview};

/// One job for the worker, with a snapshot of the content it is made against.
pub(super) struct Command {
    pub id: JobId,
    pub job: Job,
    /// The LLM to use (registry id; `None`: the default), from [`GeneratorSettings::model`] when
    /// the job was submitted.
    pub model: Option<String>,
    /// The sprite model folder (`None`: the compiled-in model), from
    /// [`GeneratorSettings::sprite_model`] when the job was submitted.
    pub sprite_model: Option<PathBuf>,
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
        candidates: Vec<Scored>,
    },
}

type Send<'a> = &'a dyn Fn(GenerationUpdate);

/// A staged job: its preview, the main file's provenance, the files, and best-of-N's scored
/// candidates (story jobs of a model that draws several; empty otherwise).
struct Done {
    preview: Preview,
    provenance: Provenance,
    files: StagedFiles,
    candidates: Vec<Scored>,
}

/// The models, loaded on first use; each is reloaded when a job asks for another one.
#[derive(Default)]
struct Models {
    /// The loaded model, its reference and story defaults, and the id it was asked for.
    llm: Option<(LocalModel, ModelRef, StorySettings, Option<String>)>,
    /// The loaded sprite model and the folder it was asked for (`None`: the compiled-in one).
    sprite: Option<(SpriteBackend, Option<PathBuf>)>,
}

pub(super) fn run(
    settings: GeneratorSettings,
    asset_dir: PathBuf,
    inbox: Receiver<Command>,
    outbox: Sender<Reply>,
) {
    let threads = settings.inference_threads();
    if !sprout_core::llm::native::set_threads(threads) {
        bevy::log::warn!(
            "the local model's threads had already started; {threads} thread(s) asked for"
        );
    }
    let mut models = Models::default();
    let send = |u: GenerationUpdate| {
        let _ = outbox.send(Reply::Update(u));
    };
    while let Ok(Command {
        id,
        job,
        model,
        sprite_model,
        content,
        cancel,
    }) = inbox.recv()
    {
        if cancel.is_cancelled() {
            send(GenerationUpdate::Cancelled { job: id });
            continue;
        }
        let ctx = Ctx {
            model: model.as_deref(),
            sprite_model: sprite_model.as_deref(),
            settings: &settings,
            asset_dir: &asset_dir,
            id,
            content: &content,
            cancel: &cancel,
            send: &send,
        };
        let result = contained(&mut models, |models| match &job {
            Job::Story(spec) => ctx.story(models, spec),
            Job::Art(art) => ctx.art(models, art),
        });
        match result {
            Ok(done) => {
                let _ = outbox.send(Reply::Staged {
                    job: id,
                    preview: Box::new(done.preview),
                    provenance: Box::new(done.provenance),
                    files: done.files,
                    candidates: done.candidates,
                });
            }
            Err(e) if e.is_cancelled() || cancel.is_cancelled() => {
                send(GenerationUpdate::Cancelled { job: id });
            }
            Err(e) => send(GenerationUpdate::Failed {
                job: id,
                error: e.to_string(),
            }),
        }
    }
}

/// Runs one job with the models, turning a panic into the job's error: the models (which may be
/// half-built) are dropped, to be loaded afresh by the next job, and the worker goes on.
fn contained<T>(models: &mut Models, job: impl FnOnce(&mut Models) -> Result<T>) -> Result<T> {
    let run = std::panic::AssertUnwindSafe(|| job(models));
    std::panic::catch_unwind(run).unwrap_or_else(|panic| {
        *models = Models::default();
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_owned());
        bevy::log::error!("a generation job panicked: {why}");
        Err(Error::Crashed(why))
    })
}

/// One job's context.
struct Ctx<'a> {
    model: Option<&'a str>,
    sprite_model: Option<&'a Path>,
    settings: &'a GeneratorSettings,
    asset_dir: &'a Path,
    id: JobId,
    content: &'a ContentSet,
    cancel: &'a CancelToken,
    send: Send<'a>,
}

impl Ctx<'_> {
    /// The job's LLM, fetched and loaded on first use (or when the job asks for another).
    fn llm<'m>(
        &self,
        models: &'m mut Models,
    ) -> Result<(&'m LocalModel, &'m ModelRef, StorySettings)> {
        let wanted = self.model.map(str::to_owned);
        if models
            .llm
            .as_ref()
            .is_none_or(|(_, _, _, id)| *id != wanted)
        {
            models.llm = None;
            let (model, reference, story) = self.load_llm()?;
            models.llm = Some((model, reference, story, wanted));
        }
        let (m, r, s, _) = models.llm.as_ref().expect("loaded above");
        Ok((m, r, *s))
    }

    fn load_llm(&self) -> Result<(LocalModel, ModelRef, StorySettings)> {
        let manager = ModelManager::new();
        let mut last = Instant::now();
        let (entry, path) = manager.ensure(self.model, &mut |p: PullProgress| {
            if last.elapsed().as_millis() > 200 {
                last = Instant::now();
                (self.send)(GenerationUpdate::Loading {
                    job: self.id,
                    what: format!("fetching the model: {p:?}"),
                });
            }
        })?;
        (self.send)(GenerationUpdate::Loading {
            job: self.id,
            what: format!("loading {}", entry.id),
        });
        let model = LocalModel::load(&path, &LoadOptions::default())?;
        Ok((
            model,
            ModelRef {
                id: entry.id.clone(),
                sha256: entry.sha256.clone(),
            },
            entry.story,
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
                        job: self.id,
                        tokens,
                        tokens_per_second: tokens as f32
                            / started.elapsed().as_secs_f32().max(1e-3),
                    });
                }
            }
        }
    }

    /// A story job through the story pipeline, staged instead of committed.
    fn story(&self, models: &mut Models, spec: &JobSpec) -> Result<Done> {
        let (model, model_ref, defaults) = self.llm(models)?;
        let templates = Templates::load_or_builtin(&self.settings.prompts_dir)?;
        let project = Project {
            assets: self.asset_dir.to_owned(),
            state: self.settings.state_dir.clone(),
        };
        // The model's own story defaults (best of three for the default model).
        let options = story::Options {
            cancel: self.cancel.clone(),
            ..story::Options::for_model(&defaults)
        };
        let generator = story::Generator {
            project: &project,
            templates: &templates,
            model: model_ref,
            options: &options,
        };
        let mut backend = model.backend();
        // As `sprout gen` does (`Generator::generate`), but staged for review, not committed.
        let candidate = generator
            .prepare(self.content, spec)?
            .run(&mut backend, &mut self.token_progress())?;
        let candidates = candidate.scored().to_vec();
        let mut files = StagedFiles::for_job(&self.settings.staging_dir, self.id);
        let staged = candidate.stage(self.content, &files.dir)?;
        match &staged.outcome.status {
            Status::Rejected(problems) => {
                return Err(Error::NothingStaged(format!(
                    "no valid result after {} attempt(s): {}",
                    staged.outcome.attempts,
                    problems.join("; ")
                )));
            }
            Status::Kept(why) => {
                return Err(Error::NothingStaged(format!(
                    "kept the existing file: {why}"
                )));
            }
            Status::UpToDate => {
                return Err(Error::NothingStaged(
                    "the existing file is already up to date".into(),
                ));
            }
            _ => {}
        }
        files.files = staged.files;
        let provenance = staged
            .provenance
            .ok_or_else(|| Error::NothingStaged("the staged file has no provenance".into()))?;
        let text = staged.text.unwrap_or_default();
        let preview = match &spec.job {
            story::Job::Dialogue { .. } => parse::<DialogueTree>(&text)
                .map_or_else(|_| Preview::Text(text.clone()), Preview::Dialogue),
            _ => Preview::Text(text),
        };
        Ok(Done {
            preview,
            provenance,
            files,
            candidates,
        })
    }

    /// An art job through the art recipes, written into the job's staging folder.
    fn art(&self, models: &mut Models, job: &ArtJob) -> Result<Done> {
        let backend: Option<&mut dyn ImageBackend> = if job.recipe.needs_backend() {
            if models
                .sprite
                .as_ref()
                .is_none_or(|(_, dir)| dir.as_deref() != self.sprite_model)
            {
                models.sprite = None;
                (self.send)(GenerationUpdate::Loading {
                    job: self.id,
                    what: match self.sprite_model {
                        Some(dir) => format!("loading the sprite model in {}", dir.display()),
                        None => "loading the sprite model".into(),
                    },
                });
                let mut sprite = match self.sprite_model {
                    Some(dir) => SpriteBackend::from_dir(dir)?,
                    None => SpriteBackend::embedded()?,
                };
                // The recipes finish (background, grid, palette) themselves.
                sprite.finish = None;
                models.sprite = Some((sprite, self.sprite_model.map(Path::to_path_buf)));
            }
            models
                .sprite
                .as_mut()
                .map(|(s, _)| s as &mut dyn ImageBackend)
        } else {
            None
        };
        let palettes = self.asset_dir.join("palettes");
        let cx = art::Context {
            root: self.asset_dir,
            palettes: &palettes,
            content: self.content,
            cancel: self.cancel.clone(),
            // A sprite preview costs one tensor op: show every step.
            previews: 1,
        };
        let made = art::make(job, &cx, backend, &mut |e| {
            if let ImageEvent::Step {
                step,
                total,
                preview,
            } = e
            {
                (self.send)(GenerationUpdate::Step {
                    job: self.id,
                    step,
                    total,
                    preview: preview.map(|p| Arc::new(p.clone())),
                });
            }
        })?;
        let mut files = StagedFiles::for_job(&self.settings.staging_dir, self.id);
        files.files = made.write(&files.dir)?;
        let provenance = made
            .main()
            .map(|f| f.provenance.clone())
            .ok_or_else(|| Error::NothingStaged("the recipe made no file".into()))?;
        let preview = Preview::Images {
            images: made
                .previews
                .into_iter()
                .map(|(label, img)| (label, Arc::new(img)))
                .collect(),
            note: made.note,
        };
        Ok(Done {
            preview,
            provenance,
            files,
            candidates: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_job_fails_with_its_message_and_the_models_start_afresh() {
        let mut models = Models {
            llm: None,
            sprite: Some((SpriteBackend::embedded().unwrap(), None)),
        };
        let r: Result<()> = contained(&mut models, |_| panic!("head_count is zero"));
        let e = r.unwrap_err().to_string();
        assert!(
            e.contains("head_count is zero") && e.contains("restarted"),
            "{e}"
        );
        assert!(
            models.sprite.is_none(),
            "the half-built models were dropped"
        );
        // The next job runs as usual.
        assert_eq!(contained(&mut models, |_| Ok(7)).unwrap(), 7);
    }
}
