//! One request, start to finish: render the template → constrained generation → validation
//! against the whole content set → a bounded repair loop that feeds the validator's messages
//! back → an atomic write with provenance, or the candidate in `rejected/` with its reasons.
//!
//! The three phases are separate so a batch can run generation on several workers while the
//! content set is only touched to [`Prepared::new`] and [`Candidate::commit`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::content::provenance::{
    ModelRef, TemplateRef, now_rfc3339, sha256_hex, sidecar_path, write_interrupted,
    write_with_sidecar,
};
use crate::content::{Character, ContentSet, DialogueTree, Item, Provenance, Quest, World};
use crate::format::{parse, to_ron};
use crate::fs::write_atomic;
use crate::llm::structured::complete_tree;
use crate::llm::{
    CancelToken, ChatMessage, Constraint, Event, FinishReason, GenerationRequest, SamplingParams,
    TextBackend,
};
use crate::validate::{DiagnosticKind, Severity, validate_set};

use super::context::StoryContext;
use super::job::{Job, JobSpec};
use super::report::{Phrases, words};
use super::schema::{dialogue_request, schema_for_job};
use super::templates::Templates;
use super::{Error, GENERATOR_PREFIX, Result};

/// Where a project keeps its assets and Sprout's own state (cache, rejected candidates, batch
/// journals): `.sprout/` next to the asset folder, never inside it, so the game never loads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The asset folder.
    pub assets: PathBuf,
    /// Sprout's state folder.
    pub state: PathBuf,
}

impl Project {
    /// The project whose asset folder is `assets`; state goes to `<assets>/../.sprout`.
    pub fn new(assets: impl Into<PathBuf>) -> Self {
        let assets = assets.into();
        let state = assets
            .parent()
            .map_or_else(|| PathBuf::from(".sprout"), |p| p.join(".sprout"));
        Self { assets, state }
    }

    /// Content-addressed cache of generated assets.
    pub fn cache_dir(&self) -> PathBuf {
        self.state.join("cache").join("story")
    }

    /// Candidates that failed validation, with their reasons.
    pub fn rejected_dir(&self) -> PathBuf {
        self.state.join("rejected")
    }

    /// Batch journals.
    pub fn batch_dir(&self) -> PathBuf {
        self.state.join("batch")
    }
}

/// How to generate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Sampling; the seed is each job's own.
    pub sampling: SamplingParams,
    /// Repairs after the first try (0: one try only).
    pub max_repairs: u32,
    /// Regenerate even when the cache has the answer or the file is up to date, and replace
    /// files that were not generated or were edited since.
    pub force: bool,
    /// Stops the generation in progress.
    pub cancel: CancelToken,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            // A stronger repetition penalty over a longer window than chat defaults: small
            // models otherwise say the same line on every node.
            sampling: SamplingParams {
                repeat_penalty: 1.3,
                repeat_last_n: 256,
                ..SamplingParams::default()
            },
            max_repairs: 2,
            force: false,
            cancel: CancelToken::new(),
        }
    }
}

/// How long each stage took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct StageTimes {
    /// Context, template rendering and schema.
    pub render: Duration,
    /// Model time (all attempts).
    pub generate: Duration,
    /// Parsing and validation (all attempts).
    pub validate: Duration,
    /// Writing the asset, its sidecar and the cache entry.
    pub write: Duration,
}

impl StageTimes {
    /// Adds `other` to `self`.
    pub fn add(&mut self, other: &StageTimes) {
        self.render += other.render;
        self.generate += other.generate;
        self.validate += other.validate;
        self.write += other.write;
    }
}

/// What happened to a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// Generated, valid on the first try.
    Made,
    /// Generated, valid after this many repairs.
    Repaired(u32),
    /// Taken from the cache: no model work.
    Cached,
    /// The file is already the output of this very request.
    UpToDate,
    /// An existing file was kept: it was not generated, or was edited since (`--force` replaces it).
    Kept(String),
    /// No valid candidate; the last one is in `rejected/` with these reasons.
    Rejected(Vec<String>),
}

impl Status {
    /// A one-word name, for summaries and journals.
    pub fn word(&self) -> &'static str {
        match self {
            Status::Made => "made",
            Status::Repaired(_) => "repaired",
            Status::Cached => "cached",
            Status::UpToDate => "up_to_date",
            Status::Kept(_) => "kept",
            Status::Rejected(_) => "rejected",
        }
    }

    /// Whether the asset on disk is this job's valid output.
    pub fn delivered(&self) -> bool {
        matches!(
            self,
            Status::Made | Status::Repaired(_) | Status::Cached | Status::UpToDate
        )
    }
}

/// The result of one job.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The job.
    pub spec: JobSpec,
    /// The asset's path.
    pub path: PathBuf,
    /// The request's cache key.
    pub key: String,
    /// What happened.
    pub status: Status,
    /// SHA-256 of the file as written (delivered jobs).
    pub output_sha256: Option<String>,
    /// Model calls made (0 for cache hits).
    pub attempts: u32,
    /// Tokens generated over all attempts.
    pub tokens: usize,
    /// Time per stage.
    pub times: StageTimes,
}

/// A cache entry: the asset text a request produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CacheEntry {
    output: String,
    attempts: u32,
    tokens: usize,
}

/// A job ready to run: its prompt, schema and key.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The job.
    pub spec: JobSpec,
    /// Where the asset goes.
    pub path: PathBuf,
    /// The rendered messages.
    pub messages: Vec<ChatMessage>,
    /// The output schema.
    pub schema: Value,
    /// The template used.
    pub template: TemplateRef,
    /// The model used.
    pub model: ModelRef,
    /// SHA-256 of the inputs (job, messages, schema).
    pub inputs_sha256: String,
    /// The request's content address: model, template, inputs, seed and parameters.
    pub key: String,
    /// The content the output is validated with (the target file itself left out).
    base: ContentSet,
    /// Decided before any model work (up to date, kept, cached).
    early: Option<(Status, Option<String>)>,
    options: Options,
    project: Project,
    render: Duration,
}

/// A generated (or cached) asset, or the reasons there is none.
#[derive(Debug)]
pub struct Candidate {
    prepared: Prepared,
    result: core::result::Result<String, (Vec<String>, String)>,
    cached: bool,
    attempts: u32,
    tokens: usize,
    times: StageTimes,
}

/// The token budget of one attempt at `job`.
pub fn max_tokens(job: &Job) -> usize {
    match job {
        Job::World { .. } => 1600,
        Job::Npc { .. } => 800,
        Job::Dialogue { nodes, .. } => 120 + 90 * nodes,
        Job::Quest { .. } => 400,
        Job::Item { .. } => 220,
    }
}

impl Prepared {
    /// Renders `spec`'s prompt against `set` and decides whether model work is needed.
    pub fn new(
        templates: &Templates,
        project: &Project,
        set: &ContentSet,
        spec: &JobSpec,
        model: &ModelRef,
        options: &Options,
    ) -> Result<Self> {
        let started = Instant::now();
        let job = &spec.job;
        let path = job.output_path(&project.assets)?;
        let mut base = set.clone();
        base.remove(&path);
        base.remove(&sidecar_path(&path));
        let ctx = StoryContext::new(&base, job)?;
        let messages = templates.render(job.stage(), &ctx)?;
        let schema = schema_for_job(job, &base, &ctx)?;
        let template = templates.reference(job.stage());
        let job_ron = to_ron(spec).map_err(|e| Error::Request(e.to_string()))?;
        let inputs_sha256 = sha256_hex(
            serde_json::to_string(
                &json!({"job": job_ron, "messages": messages_json(&messages), "schema": schema}),
            )
            .unwrap_or_default()
            .as_bytes(),
        );
        let s = &options.sampling;
        let key = sha256_hex(
            json!({
                "model": model.sha256, "model_id": model.id, "template": template.sha256,
                "inputs": inputs_sha256, "seed": spec.seed,
                "sampling": [s.temperature, s.top_k as f64, s.top_p, s.repeat_penalty, s.repeat_last_n as f64],
                "max_repairs": options.max_repairs, "max_tokens": max_tokens(job),
            })
            .to_string()
            .as_bytes(),
        );
        let mut prepared = Self {
            spec: spec.clone(),
            path,
            messages,
            schema,
            template,
            model: model.clone(),
            inputs_sha256,
            key,
            base,
            early: None,
            options: options.clone(),
            project: project.clone(),
            render: Duration::ZERO,
        };
        prepared.early = prepared.decide_early();
        prepared.render = started.elapsed();
        Ok(prepared)
    }

    /// The existing file: up to date, to be kept, or to be replaced.
    fn decide_early(&self) -> Option<(Status, Option<String>)> {
        if self.options.force || write_interrupted(&self.path) {
            return None;
        }
        let bytes = std::fs::read(&self.path).ok()?;
        let sha = sha256_hex(&bytes);
        let prov = std::fs::read_to_string(sidecar_path(&self.path))
            .ok()
            .and_then(|s| parse::<Provenance>(&s).ok());
        match prov {
            Some(p) if p.generator.starts_with(GENERATOR_PREFIX) && p.output_sha256 == sha => {
                (p.parameters.get("request_key") == Some(&self.key))
                    .then_some((Status::UpToDate, Some(sha)))
            }
            Some(p) if p.generator.starts_with(GENERATOR_PREFIX) => Some((
                Status::Kept("edited by hand since it was generated; --force replaces it".into()),
                None,
            )),
            _ => Some((
                Status::Kept("not generated by Sprout (hand-written); --force replaces it".into()),
                None,
            )),
        }
    }

    /// Whether the job needs the model (false: up to date, kept, or a cache hit).
    pub fn needs_model(&self) -> bool {
        self.early.is_none() && (self.options.force || !self.cache_path().is_file())
    }

    fn cache_path(&self) -> PathBuf {
        self.project.cache_dir().join(format!("{}.ron", self.key))
    }

    /// Generates (or takes from the cache) and validates, repairing up to `max_repairs` times.
    /// Backend failures (unreachable, timed out, cancelled) are errors and nothing is written;
    /// output that does not parse or validate is repaired, then rejected.
    pub fn run(
        self,
        backend: &mut dyn TextBackend,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<Candidate> {
        let mut times = StageTimes {
            render: self.render,
            ..StageTimes::default()
        };
        if !self.options.force
            && self.early.is_none()
            && let Ok(text) = std::fs::read_to_string(self.cache_path())
            && let Ok(entry) = parse::<CacheEntry>(&text)
        {
            let t = Instant::now();
            let checked = self.check(&entry.output);
            times.validate = t.elapsed();
            if checked.is_ok() {
                return Ok(Candidate {
                    result: Ok(entry.output),
                    cached: true,
                    attempts: 0,
                    tokens: 0,
                    times,
                    prepared: self,
                });
            }
            tracing::warn!("cache entry {} no longer validates; regenerating", self.key);
        }
        if self.early.is_some() {
            return Ok(Candidate {
                result: Ok(String::new()),
                cached: false,
                attempts: 0,
                tokens: 0,
                times,
                prepared: self,
            });
        }
        let mut conversation = self.messages.clone();
        let mut attempts = 0;
        let mut tokens = 0;
        let mut sampling = self.options.sampling.clone();
        sampling.seed = self.spec.seed;
        loop {
            attempts += 1;
            let mut request = GenerationRequest::new(conversation.clone())
                .with_sampling(sampling.clone())
                .with_max_tokens(max_tokens(&self.spec.job))
                .with_constraint(Constraint::JsonSchema(self.schema.clone()));
            request.cancel = self.options.cancel.clone();
            let t = Instant::now();
            let generated = backend.generate(&request, on_event);
            times.generate += t.elapsed();
            let (text, problems) = match generated {
                Ok(g) if g.finish == FinishReason::Cancelled => {
                    return Err(crate::llm::Error::Cancelled.into());
                }
                Ok(g) => {
                    tokens += g.timings.generated_tokens;
                    let t = Instant::now();
                    let checked = if g.finish == FinishReason::Length {
                        Err(vec![format!(
                            "the answer was cut off after {} tokens: keep every text shorter",
                            g.timings.generated_tokens
                        )])
                    } else {
                        self.to_asset(&g.text)
                            .and_then(|ron| self.check(&ron).map(|()| ron))
                    };
                    times.validate += t.elapsed();
                    match checked {
                        Ok(ron) => {
                            return Ok(Candidate {
                                result: Ok(ron),
                                cached: false,
                                attempts,
                                tokens,
                                times,
                                prepared: self,
                            });
                        }
                        Err(p) => (g.text, p),
                    }
                }
                // A server that answers with something that is not what was asked for.
                Err(crate::llm::Error::Output {
                    message, output, ..
                }) => (output, vec![message]),
                Err(e) => return Err(e.into()),
            };
            tracing::info!(
                "{}: attempt {attempts} invalid: {}",
                self.spec.job.label(),
                problems.join("; ")
            );
            if attempts > self.options.max_repairs {
                return Ok(Candidate {
                    result: Err((problems, text)),
                    cached: false,
                    attempts,
                    tokens,
                    times,
                    prepared: self,
                });
            }
            // The repair keeps the prompt short (a small model loses the thread in a long
            // conversation, and prefill time grows with it): the original request, the
            // rejected answer and the validator's messages, on the next seed.
            conversation = self.messages.clone();
            conversation.push(ChatMessage::assistant(clip(&text, 1500)));
            conversation.push(ChatMessage::user(repair_message(&problems)));
            sampling.seed = sampling.seed.wrapping_add(1);
        }
    }

    /// Parses the model's JSON as the job's content type, applies what the game decides, and
    /// writes it as RON.
    fn to_asset(&self, text: &str) -> core::result::Result<String, Vec<String>> {
        fn typed<T: serde::de::DeserializeOwned + Serialize>(
            text: &str,
            fix: impl FnOnce(&mut T),
        ) -> core::result::Result<String, Vec<String>> {
            let de = &mut serde_json::Deserializer::from_str(text);
            let mut value: T = serde_path_to_error::deserialize(de)
                .map_err(|e| vec![format!("the JSON does not fit: {e}")])?;
            fix(&mut value);
            to_ron(&value).map_err(|e| vec![e.to_string()])
        }
        match &self.spec.job {
            Job::World { .. } => typed::<World>(text, |_| {}),
            Job::Npc { .. } => typed::<Character>(text, |_| {}),
            Job::Quest { .. } => typed::<Quest>(text, |_| {}),
            Job::Item { .. } => typed::<Item>(text, |_| {}),
            job @ Job::Dialogue { .. } => {
                let req = dialogue_request(job, self.spec.seed).map_err(|e| vec![e.to_string()])?;
                typed::<DialogueTree>(text, |t| complete_tree(&req, t))
            }
        }
    }

    /// Validates `ron` as the asset, together with all other content: errors in it, and names
    /// from other games.
    fn check(&self, ron: &str) -> core::result::Result<(), Vec<String>> {
        let mut all = self.base.clone();
        if let Err(d) = all.add_source(self.path.clone(), ron) {
            return Err(vec![d.to_string()]);
        }
        let art = art_paths(&self.spec.job);
        let mut problems: Vec<String> = validate_set(&all)
            .into_iter()
            .filter(|d| d.severity == Severity::Error && d.file == self.path)
            // Art that the stage draws itself (placeholders) once the asset is written.
            .filter(|d| {
                !(d.kind == DiagnosticKind::MissingFile
                    && art.iter().any(|a| d.message.contains(a.as_str())))
            })
            .map(|d| match &d.field {
                Some(f) => format!("{f}: {} [{}]", d.message, d.kind.code()),
                None => format!("{} [{}]", d.message, d.kind.code()),
            })
            .collect();
        if let Job::Dialogue { .. } = &self.spec.job
            && let Ok(tree) = parse::<DialogueTree>(ron)
        {
            problems.extend(dialogue_craft(&tree, &self.examples()));
        }
        // A world lists the names it bans; everything else in it must not use them.
        let scanned = match &self.spec.job {
            Job::World { .. } => parse::<World>(ron)
                .ok()
                .and_then(|mut w| {
                    w.do_not_copy.clear();
                    to_ron(&w).ok()
                })
                .unwrap_or_default(),
            _ => ron.to_owned(),
        };
        let lower = scanned.to_lowercase();
        for name in super::context::DEFAULT_DO_NOT_COPY {
            if lower.contains(&name.to_lowercase()) {
                problems.push(format!(
                    "uses `{name}`, a name from another game: invent your own [copied_name]"
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

impl Prepared {
    /// The example lines the prompt showed (quoted in the user message).
    fn examples(&self) -> Vec<String> {
        self.messages
            .iter()
            .flat_map(|m| m.content.split('"').skip(1).step_by(2))
            .filter(|s| s.split_whitespace().count() >= 6)
            .map(str::to_owned)
            .collect()
    }
}

/// What the validator does not check but a writer would: no line said twice in one tree, and no
/// run of six words lifted from the examples the prompt showed.
fn dialogue_craft(tree: &DialogueTree, examples: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    let lifted = Phrases::of(examples.iter().map(String::as_str));
    for (i, n) in tree.nodes.iter().enumerate() {
        let w = words(&n.text);
        if let Some(j) = tree.nodes[..i].iter().position(|m| words(&m.text) == w) {
            problems.push(format!(
                "nodes[{i}].text: says the same as nodes[{j}].text; every line must move the conversation on [repeated_line]"
            ));
        }
        if lifted.lifted_by(&w) {
            problems.push(format!(
                "nodes[{i}].text: copies the example line; the example is for the voice only, write a new line [copied_line]"
            ));
        }
    }
    problems
}

/// Art paths a stage's asset refers to and that it draws placeholders for.
fn art_paths(job: &Job) -> Vec<String> {
    let Ok(id) = job.output_id() else {
        return Vec::new();
    };
    match job {
        Job::Npc { .. } => vec![
            format!("portraits/{id}.png"),
            format!("sprites/npcs/{id}.png"),
        ],
        Job::Item { .. } => vec![format!("sprites/items/{id}.png")],
        _ => Vec::new(),
    }
}

fn clip(s: &str, max: usize) -> String {
    s.char_indices()
        .nth(max)
        .map_or_else(|| s.to_owned(), |(i, _)| s[..i].to_owned())
}

fn messages_json(messages: &[ChatMessage]) -> Value {
    serde_json::to_value(messages).unwrap_or(Value::Null)
}

fn repair_message(problems: &[String]) -> String {
    let mut m = String::from("The game's validator rejected that answer:\n");
    for p in problems {
        m.push_str("- ");
        m.push_str(p);
        m.push('\n');
    }
    m.push_str("Write the whole JSON again, fixing exactly these problems and keeping the rest.");
    m
}

impl Candidate {
    /// Whether the model was called (false: up to date, kept, or cached).
    pub fn used_model(&self) -> bool {
        self.attempts > 0
    }

    /// Writes the asset (atomically: temp file + rename), its provenance sidecar and the cache
    /// entry, adds it to `set`, and draws placeholder art it needs; or writes a rejected
    /// candidate and its reasons to `rejected/`. Existing files are only replaced by a valid
    /// asset, and hand-edited ones only with `force`.
    pub fn commit(self, set: &mut ContentSet) -> Result<Outcome> {
        let started = Instant::now();
        let (mut outcome, valid) = self.settle(set)?;
        if let Some(Valid {
            path,
            ron,
            provenance,
        }) = valid
        {
            let sidecar = to_ron(&provenance)?;
            write_with_sidecar(&path, ron.as_bytes(), &sidecar)?;
            set.remove(&path);
            set.remove(&sidecar_path(&path));
            set.add_source(path.clone(), ron)
                .map_err(|d| Error::Request(d.to_string()))?;
            set.add_source(sidecar_path(&path), sidecar)
                .map_err(|d| Error::Request(d.to_string()))?;
            if !art_paths(&outcome.spec.job).is_empty() {
                crate::placeholder::draw_missing(set, false)?;
            }
        }
        outcome.times.write = started.elapsed();
        Ok(outcome)
    }

    /// Like [`commit`](Self::commit), but a valid asset goes to the staging folder `dir` (which
    /// mirrors the asset folder's layout) for review instead of into the assets, with the
    /// placeholder art it needs; `set` is not changed. [`Staged::files`] lists what was written,
    /// in the order to move it into the assets (art first, the asset itself last).
    pub fn stage(self, set: &ContentSet, dir: &Path) -> Result<Staged> {
        let started = Instant::now();
        let assets = self.prepared.project.assets.clone();
        let (mut outcome, valid) = self.settle(set)?;
        let mut staged = Staged {
            outcome: outcome.clone(),
            dir: dir.to_owned(),
            files: Vec::new(),
            text: None,
        };
        if let Some(Valid {
            path,
            ron,
            provenance,
        }) = valid
        {
            let rel = path
                .strip_prefix(&assets)
                .map_err(|_| Error::Request(format!("{} is outside the assets", path.display())))?
                .to_owned();
            let art = art_paths(&outcome.spec.job);
            let mut all = set.clone();
            all.remove(&path);
            all.add_source(path.clone(), ron.clone())
                .map_err(|d| Error::Request(d.to_string()))?;
            for w in crate::placeholder::wanted(&all) {
                if art.iter().any(|a| a == w.path.as_str()) && !w.path.under(&set.root).exists() {
                    crate::placeholder::draw_to(&w, &w.path.under(dir))?;
                    let file = PathBuf::from(w.path.as_str());
                    staged.files.push(sidecar_path(&file));
                    staged.files.push(file);
                }
            }
            write_atomic(
                &sidecar_path(&dir.join(&rel)),
                to_ron(&provenance)?.as_bytes(),
            )?;
            write_atomic(&dir.join(&rel), ron.as_bytes())?;
            staged.files.push(sidecar_path(&rel));
            staged.files.push(rel);
            staged.text = Some(ron);
        }
        outcome.times.write = started.elapsed();
        staged.outcome = outcome;
        Ok(staged)
    }

    /// Decides the outcome: validates a new asset again against `set` as it is now (a
    /// concurrent job may have added something that conflicts), files rejects, writes the cache
    /// entry, and returns the asset and its provenance when it is good.
    fn settle(self, set: &ContentSet) -> Result<(Outcome, Option<Valid>)> {
        let p = &self.prepared;
        let mut outcome = Outcome {
            spec: p.spec.clone(),
            path: p.path.clone(),
            key: p.key.clone(),
            status: Status::Made,
            output_sha256: None,
            attempts: self.attempts,
            tokens: self.tokens,
            times: self.times,
        };
        if let Some((status, sha)) = &p.early {
            outcome.status = status.clone();
            outcome.output_sha256.clone_from(sha);
            return Ok((outcome, None));
        }
        match self.result {
            Ok(ron) => {
                let mut now = set.clone();
                now.remove(&p.path);
                let again = Prepared {
                    base: now,
                    ..p.clone()
                }
                .check(&ron);
                if let Err(problems) = again {
                    reject(p, &problems, &ron)?;
                    outcome.status = Status::Rejected(problems);
                    return Ok((outcome, None));
                }
                let sha = sha256_hex(ron.as_bytes());
                if !self.cached {
                    let entry = CacheEntry {
                        output: ron.clone(),
                        attempts: self.attempts,
                        tokens: self.tokens,
                    };
                    write_atomic(&p.cache_path(), to_ron(&entry)?.as_bytes())?;
                }
                let provenance = provenance(p, &sha, self.attempts, self.tokens);
                outcome.output_sha256 = Some(sha);
                outcome.status = if self.cached {
                    Status::Cached
                } else if self.attempts > 1 {
                    Status::Repaired(self.attempts - 1)
                } else {
                    Status::Made
                };
                Ok((
                    outcome,
                    Some(Valid {
                        path: p.path.clone(),
                        ron,
                        provenance,
                    }),
                ))
            }
            Err((problems, text)) => {
                reject(p, &problems, &text)?;
                outcome.status = Status::Rejected(problems);
                Ok((outcome, None))
            }
        }
    }
}

/// A good asset, ready to write.
struct Valid {
    path: PathBuf,
    ron: String,
    provenance: Provenance,
}

/// A job's result written to a staging folder for review ([`Candidate::stage`]).
#[derive(Debug, Clone)]
pub struct Staged {
    /// What happened.
    pub outcome: Outcome,
    /// The staging folder; it mirrors the asset folder's layout.
    pub dir: PathBuf,
    /// The files written, relative to `dir` (and to the asset folder they belong in), in the
    /// order to move them: art and sidecars first, the asset itself last. Empty when nothing
    /// valid was made.
    pub files: Vec<PathBuf>,
    /// The asset's RON text, for a preview.
    pub text: Option<String>,
}

/// Files a candidate that failed, with its reasons, under `rejected/`.
fn reject(p: &Prepared, problems: &[String], text: &str) -> Result<()> {
    let name = p
        .path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let dir = p.project.rejected_dir();
    write_atomic(&dir.join(format!("{name}.candidate")), text.as_bytes())?;
    let mut reasons = format!(
        "{} rejected {}\nrequest key {}\n",
        p.path.display(),
        now_rfc3339(),
        p.key
    );
    for r in problems {
        reasons.push_str("- ");
        reasons.push_str(r);
        reasons.push('\n');
    }
    write_atomic(&dir.join(format!("{name}.reasons.txt")), reasons.as_bytes())?;
    tracing::warn!("{}: rejected: {}", p.path.display(), problems.join("; "));
    Ok(())
}

fn provenance(p: &Prepared, sha: &str, attempts: u32, tokens: usize) -> Provenance {
    let s = &p.options.sampling;
    let job = to_ron(&p.spec)
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    Provenance {
        generator: format!("{GENERATOR_PREFIX} {}", p.spec.job.stage().name()),
        generator_version: env!("CARGO_PKG_VERSION").into(),
        model: Some(p.model.clone()),
        template: Some(p.template.clone()),
        inputs_sha256: p.inputs_sha256.clone(),
        output_sha256: sha.to_owned(),
        seed: p.spec.seed,
        parameters: BTreeMap::from([
            ("job".into(), job),
            ("request_key".into(), p.key.clone()),
            ("temperature".into(), s.temperature.to_string()),
            ("top_k".into(), s.top_k.to_string()),
            ("top_p".into(), s.top_p.to_string()),
            ("repeat_penalty".into(), s.repeat_penalty.to_string()),
            ("repeat_last_n".into(), s.repeat_last_n.to_string()),
            ("max_repairs".into(), p.options.max_repairs.to_string()),
            ("max_tokens".into(), max_tokens(&p.spec.job).to_string()),
            ("attempts".into(), attempts.to_string()),
            ("tokens".into(), tokens.to_string()),
        ]),
        created: now_rfc3339(),
    }
}

/// What every job of a run shares: the project, the templates, the model (for keys and
/// provenance) and the options. [`generate`](Self::generate) runs one job;
/// [`Batch`](super::Batch) runs many with one.
#[derive(Debug, Clone, Copy)]
pub struct Generator<'a> {
    /// The project.
    pub project: &'a Project,
    /// The templates.
    pub templates: &'a Templates,
    /// The model.
    pub model: &'a ModelRef,
    /// Generation options.
    pub options: &'a Options,
}

impl Generator<'_> {
    /// Renders `spec`'s prompt against `set` and decides whether model work is needed
    /// ([`Prepared::new`]).
    pub fn prepare(&self, set: &ContentSet, spec: &JobSpec) -> Result<Prepared> {
        Prepared::new(
            self.templates,
            self.project,
            set,
            spec,
            self.model,
            self.options,
        )
    }

    /// Runs one job start to finish on `set`: prepare, run on `backend`, commit.
    pub fn generate(
        &self,
        backend: &mut dyn TextBackend,
        set: &mut ContentSet,
        spec: &JobSpec,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<Outcome> {
        self.prepare(set, spec)?.run(backend, on_event)?.commit(set)
    }
}

/// The job and sampling recorded in a generated file's provenance, to remake it.
pub fn job_of(provenance: &Provenance) -> Result<(JobSpec, SamplingParams, u32)> {
    let p = &provenance.parameters;
    let get = |k: &str| {
        p.get(k).ok_or_else(|| {
            Error::Request(format!(
                "the provenance has no `{k}`: it was not made by `sprout gen`"
            ))
        })
    };
    let num = |k: &str| -> Result<f64> {
        get(k)?
            .parse::<f64>()
            .map_err(|e| Error::Request(format!("provenance `{k}`: {e}")))
    };
    let spec: JobSpec =
        parse(get("job")?).map_err(|e| Error::Request(format!("provenance `job`: {e}")))?;
    let sampling = SamplingParams {
        temperature: num("temperature")? as f32,
        top_k: num("top_k")? as usize,
        top_p: num("top_p")? as f32,
        repeat_penalty: num("repeat_penalty")? as f32,
        repeat_last_n: num("repeat_last_n")? as usize,
        seed: spec.seed,
    };
    Ok((spec, sampling, num("max_repairs")? as u32))
}

/// Remakes `file` from its provenance (no cache, nothing written) and returns the bytes the
/// request produces now, for `sprout regen --check`.
pub fn regenerate(
    backend: &mut dyn TextBackend,
    templates: &Templates,
    project: &Project,
    set: &ContentSet,
    file: &Path,
) -> Result<Regenerated> {
    let sidecar = sidecar_path(file);
    let text = std::fs::read_to_string(&sidecar).map_err(|source| Error::Io {
        path: sidecar.clone(),
        source,
    })?;
    let provenance: Provenance =
        parse(&text).map_err(|e| Error::Request(format!("{}:{e}", sidecar.display())))?;
    let (spec, sampling, max_repairs) = job_of(&provenance)?;
    let model = provenance
        .model
        .clone()
        .ok_or_else(|| Error::Request(format!("{}: no model recorded", sidecar.display())))?;
    let options = Options {
        sampling,
        max_repairs,
        force: true,
        cancel: CancelToken::new(),
    };
    let prepared = Prepared::new(templates, project, set, &spec, &model, &options)?;
    let same_template = provenance
        .template
        .as_ref()
        .is_some_and(|t| t.sha256 == prepared.template.sha256);
    let same_inputs = provenance.inputs_sha256 == prepared.inputs_sha256;
    let candidate = prepared.run(backend, &mut |_| {})?;
    let bytes = match candidate.result {
        Ok(ron) => ron.into_bytes(),
        Err((problems, _)) => {
            return Err(Error::Request(format!(
                "the request no longer gives a valid asset: {}",
                problems.join("; ")
            )));
        }
    };
    let current = std::fs::read(file).map_err(|source| Error::Io {
        path: file.to_owned(),
        source,
    })?;
    Ok(Regenerated {
        matches: bytes == current,
        same_template,
        same_inputs,
        recorded_sha256: provenance.output_sha256,
        file_sha256: sha256_hex(&current),
        regenerated_sha256: sha256_hex(&bytes),
        bytes,
    })
}

/// What `regenerate` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Regenerated {
    /// The regenerated bytes equal the file's.
    pub matches: bool,
    /// The template is the one recorded.
    pub same_template: bool,
    /// The inputs (job, prompt, schema) hash to the recorded value.
    pub same_inputs: bool,
    /// SHA-256 recorded in the provenance.
    pub recorded_sha256: String,
    /// SHA-256 of the file now.
    pub file_sha256: String,
    /// SHA-256 of the regenerated bytes.
    pub regenerated_sha256: String,
    /// The regenerated bytes.
    pub bytes: Vec<u8>,
}
