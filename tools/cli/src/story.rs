//! The story commands' shared parts: which backend (local model or servers), the project, the
//! templates; and `sprout batch`, `sprout regen --check`, `sprout report`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use sprout_core::content::ContentSet;
use sprout_core::content::provenance::ModelRef;
use sprout_core::llm::http::{HttpBackend, HttpConfig};
use sprout_core::llm::{LoadOptions, LocalModel, ModelManager, StorySettings, TextBackend};
use sprout_core::story::{
    Batch, BatchEvent, Generator, Manifest, Options, Project, Status, Summary, Templates, batch,
    measure, regenerate,
};

/// Where generation runs and how.
#[derive(Debug, Clone, Args)]
pub struct BackendArgs {
    /// Registry id of the local model (the default model without it; downloaded on first use).
    #[arg(long)]
    pub model: Option<String>,
    /// An OpenAI-compatible server's base URL (up to `/v1`) instead of the local model; repeat
    /// it to spread a batch over several servers.
    #[arg(long = "endpoint")]
    pub endpoints: Vec<String>,
    /// The model name the servers expect.
    #[arg(long, default_value = "default")]
    pub endpoint_model: String,
    /// Requests in flight per server (batch only).
    #[arg(long, default_value_t = 2)]
    pub per_endpoint: usize,
    /// Seconds before a server request times out.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// Sampling temperature [default: the model's, from the registry; 0.7 for servers].
    #[arg(long)]
    pub temperature: Option<f32>,
    /// Repetition penalty over the last 256 tokens, prompt included (1: none) [default: the
    /// model's; 1.3 for servers]. Small models otherwise copy their prompt and repeat lines.
    #[arg(long)]
    pub repeat_penalty: Option<f32>,
    /// Repairs after the first try, each feeding the validator's messages back.
    #[arg(long, default_value_t = 2)]
    pub max_repairs: u32,
    /// Candidates per job (best-of-N): each is checked and scored (the writer's checks, word
    /// variety, the model's mean log-probability), the best kept; N costs about N times the
    /// model time [default: the model's (3 for the default model); 1 for servers].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=8))]
    pub candidates: Option<u32>,
    /// The prompt templates' folder (built-in templates for stages it lacks).
    #[arg(long, default_value = "prompts")]
    pub prompts: PathBuf,
    /// Local model: compute every prompt in full instead of keeping the keys and values of
    /// the start it shares with the previous request (only to measure what that saves).
    #[arg(long)]
    pub no_prefix_reuse: bool,
}

/// The backends to run on, and the model reference for keys and provenance.
pub struct Backends {
    /// One per worker.
    pub workers: Vec<Box<dyn TextBackend>>,
    /// The model.
    pub model: ModelRef,
    /// The model's story defaults (the registry's; the built-in defaults for servers).
    pub story: StorySettings,
}

impl BackendArgs {
    /// Loads the local model (pulling it with a progress bar if needed) or connects to servers.
    pub fn open(&self, concurrent: bool) -> anyhow::Result<Backends> {
        if self.endpoints.is_empty() {
            let manager = ModelManager::new();
            let (bar, mut progress) = crate::models::progress_bar();
            let (entry, path) = manager.ensure(self.model.as_deref(), &mut progress)?;
            bar.finish_and_clear();
            let options = LoadOptions {
                reuse_prefix: !self.no_prefix_reuse,
                ..LoadOptions::default()
            };
            let model = LocalModel::load(&path, &options)
                .with_context(|| format!("loading {}", path.display()))?;
            return Ok(Backends {
                workers: vec![Box::new(model.backend())],
                model: ModelRef {
                    id: entry.id.clone(),
                    sha256: entry.sha256.clone(),
                },
                story: entry.story,
            });
        }
        let mut workers: Vec<Box<dyn TextBackend>> = Vec::new();
        for url in &self.endpoints {
            let mut config = HttpConfig::new(url.clone(), self.endpoint_model.clone());
            config.limits.timeout = Duration::from_secs(self.timeout);
            config.max_concurrency = self.per_endpoint.max(1);
            let backend = HttpBackend::new(config)?;
            let n = if concurrent {
                self.per_endpoint.max(1)
            } else {
                1
            };
            for _ in 0..n {
                workers.push(Box::new(backend.clone()));
            }
        }
        let model = ModelRef {
            id: format!("server:{}", self.endpoint_model),
            sha256: String::from("unknown: served by an OpenAI-compatible server"),
        };
        Ok(Backends {
            workers,
            model,
            story: StorySettings::default(),
        })
    }

    /// Generation options: the model's story defaults (`story`, from [`Backends`]), then
    /// the flags given.
    pub fn options(&self, force: bool, story: &StorySettings) -> Options {
        let mut o = Options {
            max_repairs: self.max_repairs,
            force,
            ..Options::for_model(story)
        };
        if let Some(n) = self.candidates {
            o.candidates = n;
        }
        if let Some(t) = self.temperature {
            o.sampling.temperature = t;
        }
        if let Some(p) = self.repeat_penalty {
            o.sampling.repeat_penalty = p;
        }
        o
    }

    /// The templates, read now (edits are picked up without a rebuild).
    pub fn templates(&self) -> anyhow::Result<Templates> {
        Ok(Templates::load_or_builtin(&self.prompts)?)
    }
}

/// Takes the asset folder's lock for `holder`, or fails at once naming who has it.
pub fn lock_project(assets: &Path, holder: &str) -> anyhow::Result<sprout_core::fs::ProjectLock> {
    anyhow::ensure!(
        assets.is_dir(),
        "no asset folder at {} (pass --assets DIR)",
        assets.display()
    );
    Ok(Project::new(assets).try_lock(holder)?)
}

/// Loads the content under `assets`, failing on parse errors (a broken file would make every
/// validation fail).
pub fn load_content(assets: &Path) -> anyhow::Result<ContentSet> {
    anyhow::ensure!(
        assets.is_dir(),
        "no asset folder at {} (pass --assets DIR)",
        assets.display()
    );
    let (set, problems) = ContentSet::load_dir(assets);
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("{p}");
        }
        anyhow::bail!(
            "{} file(s) under {} do not load; fix them first (`sprout validate {}`)",
            problems.len(),
            assets.display(),
            assets.display()
        );
    }
    Ok(set)
}

/// `sprout batch MANIFEST`.
pub fn run_batch(
    manifest_path: &Path,
    assets: &Path,
    backend: &BackendArgs,
    force: bool,
) -> anyhow::Result<ExitCode> {
    let manifest = Manifest::load(manifest_path)?;
    let name = manifest.name_for(manifest_path)?;
    let project = Project::new(assets);
    let _lock = lock_project(assets, &format!("sprout batch {name}"))?;
    let mut set = load_content(assets)?;
    let jobs = manifest.expand(&set)?;
    let templates = backend.templates()?;
    let backends = backend.open(true)?;
    let options = backend.options(force, &backends.story);
    let batch = Batch {
        generator: Generator {
            project: &project,
            templates: &templates,
            model: &backends.model,
            options: &options,
        },
        name,
        jobs,
    };
    eprintln!(
        "batch `{}`: {} job(s) on {} worker(s) ({}); journal {}",
        batch.name,
        batch.jobs.len(),
        backends.workers.len(),
        backends.model.id,
        batch.journal_path().display()
    );
    let bars = BatchBars::new(backends.workers.len());
    let summary = batch.run(&mut set, backends.workers, &|e| bars.event(e))?;
    bars.finish();
    print_summary(&summary);
    let report = sprout_core::validate::validate_set(&set);
    let errors = report
        .iter()
        .filter(|d| d.severity == sprout_core::validate::Severity::Error)
        .count();
    println!("assets folder after the batch: {errors} error(s)");
    Ok(if summary.ok() && errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Prints a batch summary.
pub fn print_summary(s: &Summary) {
    let secs = s.elapsed.as_secs_f64();
    let made = s.made + s.repaired;
    println!(
        "{} job(s): {} made ({} first try, {} repaired), {} cached, {} done earlier, {} kept, {} rejected, {} failed",
        s.total, made, s.made, s.repaired, s.cached, s.resumed, s.kept, s.rejected, s.failed
    );
    if s.missing > 0 {
        println!(
            "{} job(s) have no file in the folder now; run the batch again to retry them",
            s.missing
        );
    }
    if s.retired > 0 {
        println!("{} worker(s) stopped: their endpoint went down", s.retired);
    }
    println!(
        "time {secs:.1} s; {} tokens; {:.2} asset(s)/min made; stages: render {:.2} s, generate {:.1} s, validate {:.2} s, write {:.2} s",
        s.tokens,
        made as f64 * 60.0 / secs.max(1e-9),
        s.times.render.as_secs_f64(),
        s.times.generate.as_secs_f64(),
        s.times.validate.as_secs_f64(),
        s.times.write.as_secs_f64(),
    );
    let t = &s.times;
    if t.prompt_tokens > 0 {
        println!(
            "prompts: {} tokens, {} ({:.0} %) reused from the previous request; time to first token {:.2} s in all",
            t.prompt_tokens,
            t.reused_tokens,
            t.reused_tokens as f64 * 100.0 / t.prompt_tokens as f64,
            t.first_token.as_secs_f64(),
        );
    }
    for e in &s.errors {
        println!("failed: {e}");
    }
}

/// Progress bars: the whole batch, and the current job of each worker.
struct BatchBars {
    multi: MultiProgress,
    overall: ProgressBar,
    workers: Vec<ProgressBar>,
    state: Mutex<()>,
}

impl BatchBars {
    fn new(workers: usize) -> Self {
        let multi = MultiProgress::new();
        let overall = multi.add(ProgressBar::new(0));
        overall.set_style(
            ProgressStyle::with_template(
                "batch [{bar:30}] {pos}/{len} jobs ({elapsed}, ETA {eta}) {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        let workers = (0..workers)
            .map(|_| {
                let b = multi.add(ProgressBar::new_spinner());
                b.set_style(
                    ProgressStyle::with_template("  {spinner} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                b
            })
            .collect();
        Self {
            multi,
            overall,
            workers,
            state: Mutex::new(()),
        }
    }

    fn event(&self, e: BatchEvent) {
        let _guard = self.state.lock();
        match e {
            BatchEvent::Started { total, resumed } => {
                self.overall.set_length(total as u64);
                self.overall.set_position(resumed as u64);
                self.overall.reset_eta();
                if resumed > 0 {
                    self.overall
                        .set_message(format!("resumed: {resumed} done earlier"));
                }
            }
            BatchEvent::JobStarted {
                worker,
                label,
                needs_model,
            } => {
                if let Some(b) = self.workers.get(worker) {
                    b.set_message(format!(
                        "{label}{}",
                        if needs_model { "" } else { " (cached)" }
                    ));
                    b.set_prefix(label);
                }
            }
            BatchEvent::Tokens {
                worker,
                tokens,
                tokens_per_second,
            } => {
                if let Some(b) = self.workers.get(worker) {
                    b.set_message(format!(
                        "{}: {tokens} tokens, {tokens_per_second:.1} tok/s",
                        b.prefix()
                    ));
                    b.tick();
                }
            }
            BatchEvent::JobFinished {
                worker,
                label,
                status,
            } => {
                self.overall.inc(1);
                let word = match &status {
                    Status::Rejected(r) => format!("rejected: {}", r.join("; ")),
                    Status::Kept(why) => format!("kept: {why}"),
                    s => s.word().to_owned(),
                };
                self.multi.suspend(|| eprintln!("{label}: {word}"));
                if let Some(b) = self.workers.get(worker) {
                    b.set_message("idle");
                }
            }
            BatchEvent::JobFailed { label, error, .. } => {
                self.overall.inc(1);
                self.multi.suspend(|| eprintln!("{label}: FAILED: {error}"));
            }
            BatchEvent::WorkerRetired {
                worker,
                error,
                left,
            } => {
                self.multi.suspend(|| {
                    eprintln!(
                        "worker {worker} stopped, its job goes to the others ({left} left): {error}"
                    );
                });
                if let Some(b) = self.workers.get(worker) {
                    b.finish_with_message("stopped: endpoint down");
                }
            }
        }
    }

    fn finish(&self) {
        self.overall.finish();
        for b in &self.workers {
            b.finish_and_clear();
        }
    }
}

/// `sprout regen --check PATH`: remakes a generated file from its provenance and compares bytes.
pub fn regen_check(file: &Path, assets: &Path, backend: &BackendArgs) -> anyhow::Result<ExitCode> {
    let set = load_content(assets)?;
    let project = Project::new(assets);
    let templates = backend.templates()?;
    let mut backends = backend.open(false)?;
    let worker = backends.workers.first_mut().context("no backend")?;
    let r = regenerate(worker.as_mut(), &templates, &project, &set, file)?;
    println!("{}", file.display());
    println!("  recorded sha256     {}", r.recorded_sha256);
    println!("  file sha256         {}", r.file_sha256);
    println!("  regenerated sha256  {}", r.regenerated_sha256);
    if !r.same_template {
        println!("  note: the prompt template changed since");
    }
    if !r.same_inputs {
        println!("  note: the inputs (content, prompt or schema) changed since");
    }
    if r.matches {
        println!("match: regenerating gives the same bytes");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("MISMATCH: regenerating gives different bytes");
        Ok(ExitCode::FAILURE)
    }
}

/// `sprout report`.
pub fn report(assets: &Path, manifest: Option<&Path>, json: bool) -> anyhow::Result<ExitCode> {
    let set = load_content(assets)?;
    let project = Project::new(assets);
    let (files, journal) = match manifest {
        Some(m) => {
            let name = Manifest::load(m)?.name_for(m)?;
            let path = project.batch_dir().join(format!("{name}.journal"));
            anyhow::ensure!(
                path.is_file(),
                "no journal at {}: run the batch first",
                path.display()
            );
            let entries = batch::read_journal(&path)?;
            let files: Vec<PathBuf> = entries
                .iter()
                .filter(|e| e.sha256.is_some())
                .map(|e| e.file.clone())
                .collect();
            (Some(files), Some(entries))
        }
        None => (None, None),
    };
    let r = measure(&set, files.as_deref(), journal.as_deref());
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!("{r}");
    }
    Ok(if r.invalid_files.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
