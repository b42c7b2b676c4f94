//! Prepare and run one job: render its prompt and schema against the content set, compute the
//! request key, decide what the existing file and the cache already settle, then generate with a
//! bounded repair loop that feeds the validator's messages back to the model.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::content::provenance::{
    ModelRef, TemplateRef, sha256_hex, sidecar_path, write_interrupted,
};
use crate::content::{ContentSet, Provenance};
use crate::format::{parse, to_ron};
use crate::llm::{
    CancelToken, ChatMessage, Constraint, Event, FinishReason, GenerationRequest, SamplingParams,
    StorySettings, TextBackend,
};

pub use super::best::{Picked, Scored};
use super::best::{Verdict, distinct_1};
use super::cache::{self, Budget, cache_path, inputs_sha256, request_key};
use super::check::{check, to_asset};
use super::context::{StoryContext, without_quotes};
use super::job::{Job, JobSpec, max_tokens};
use super::project::Project;
use super::schema::schema_for_job;
use super::templates::Templates;
use super::topic::Topic;
use super::{Error, GENERATOR_PREFIX, Result};

/// How to generate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Sampling; the seed is each job's own.
    pub sampling: SamplingParams,
    /// Repairs after the first try (0: one try only).
    pub max_repairs: u32,
    /// Candidates per job (best-of-N): each is checked and scored, the best kept and only it
    /// repaired. 1: one answer, as before; N costs about N times the model time.
    pub candidates: u32,
    /// Hand-written lines a dialogue prompt shows for the voice (0: none, for models that
    /// copy them; see [`StorySettings::example_lines`]).
    pub example_lines: usize,
    /// Whether one of the NPC's lines must open with the topic's name (see
    /// [`StorySettings::topic_lead`]).
    pub topic_lead: bool,
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
            candidates: 1,
            example_lines: 3,
            topic_lead: true,
            force: false,
            cancel: CancelToken::new(),
        }
    }
}

impl Options {
    /// The defaults for a model, from its registry entry (`story`: sampling and best-of-N).
    pub fn for_model(settings: &StorySettings) -> Self {
        let mut o = Self {
            candidates: settings.candidates.max(1),
            example_lines: settings.example_lines as usize,
            topic_lead: settings.topic_lead,
            ..Self::default()
        };
        o.sampling.temperature = settings.temperature;
        o.sampling.repeat_penalty = settings.repeat_penalty;
        o
    }
}

/// How long each stage took, and how much prompt the model processed.
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
    /// Of `generate`: from each request to its first generated token (the prompt's share).
    #[serde(default)]
    pub first_token: Duration,
    /// Prompt tokens over all attempts.
    #[serde(default)]
    pub prompt_tokens: usize,
    /// Of those, the tokens whose keys and values the backend kept from its previous request
    /// (a shared system prompt and world context) instead of computing them again.
    #[serde(default)]
    pub reused_tokens: usize,
}

impl StageTimes {
    /// Adds `other` to `self`.
    pub fn add(&mut self, other: &StageTimes) {
        self.render += other.render;
        self.generate += other.generate;
        self.validate += other.validate;
        self.write += other.write;
        self.first_token += other.first_token;
        self.prompt_tokens += other.prompt_tokens;
        self.reused_tokens += other.reused_tokens;
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
    /// How best-of-N chose.
    pub picked: Picked,
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
    /// What a dialogue tree must mention (picked by the seed from what the game knows).
    pub topic: Option<Topic>,
    /// The content the output is validated with (the target file itself left out).
    pub(super) base: ContentSet,
    /// Decided before any model work (up to date, kept, cached).
    pub(super) early: Option<(Status, Option<String>)>,
    pub(super) options: Options,
    pub(super) project: Project,
    pub(super) render: Duration,
}

/// A generated (or cached) asset, or the reasons there is none.
#[derive(Debug)]
pub struct Candidate {
    pub(super) prepared: Prepared,
    pub(super) result: core::result::Result<String, (Vec<String>, String)>,
    /// Best-of-N's first answers as scored (empty when the model was not called).
    pub(super) scored: Vec<Scored>,
    pub(super) cached: bool,
    pub(super) attempts: u32,
    /// Repairs of the kept candidate.
    pub(super) repairs: u32,
    pub(super) picked: Picked,
    pub(super) tokens: usize,
    pub(super) times: StageTimes,
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
        let mut ctx = StoryContext::new(&base, job, spec.seed)?;
        if matches!(job, Job::Dialogue { .. }) {
            ctx.examples.truncate(options.example_lines);
            if !options.topic_lead {
                ctx.topic_line = None;
            }
            // A model shown no example lines is not shown the ones quoted in the card either.
            if options.example_lines == 0
                && let Some(npc) = &mut ctx.npc
            {
                npc.speech_style = without_quotes(&npc.speech_style);
            }
        }
        let messages = templates.render(job.stage(), &ctx)?;
        let schema = schema_for_job(job, &base, &ctx)?;
        let template = templates.reference(job.stage());
        let job_ron = to_ron(spec).map_err(|e| Error::Request(e.to_string()))?;
        let inputs_sha256 = inputs_sha256(&job_ron, &messages, &schema);
        let key = request_key(
            model,
            &template,
            &inputs_sha256,
            spec.seed,
            &options.sampling,
            Budget {
                max_repairs: options.max_repairs,
                candidates: options.candidates,
                pick: spec.pick,
                max_tokens: max_tokens(job),
            },
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
            topic: ctx.topic.clone(),
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

    /// Validates `ron` as this job's asset against the content it was prepared with.
    pub(super) fn check(&self, ron: &str) -> core::result::Result<(), Vec<String>> {
        check(
            &self.base,
            &self.path,
            &self.spec.job,
            &self.messages,
            self.topic.as_ref(),
            ron,
        )
    }

    /// Whether the job needs the model (false: up to date, kept, or a cache hit).
    pub fn needs_model(&self) -> bool {
        self.early.is_none()
            && (self.options.force || !cache_path(&self.project, &self.key).is_file())
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
            && let Some(entry) = cache::read(&cache_path(&self.project, &self.key))
        {
            let t = Instant::now();
            let checked = self.check(&entry.output);
            times.validate = t.elapsed();
            if checked.is_ok() {
                return Ok(Candidate {
                    result: Ok(entry.output),
                    scored: Vec::new(),
                    cached: true,
                    attempts: 0,
                    repairs: 0,
                    picked: Picked::default(),
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
                scored: Vec::new(),
                cached: false,
                attempts: 0,
                repairs: 0,
                picked: Picked::default(),
                tokens: 0,
                times,
                prepared: self,
            });
        }
        let mut tally = Tally {
            times,
            ..Tally::default()
        };
        // Best-of-N: N first answers on seeds of their own (the first is what N = 1 gives),
        // the best kept; only it is repaired. A pick generates only the candidate it names.
        let n = self.options.candidates.max(1);
        let numbers: Vec<u32> = match self.spec.pick {
            Some(k) => vec![k.max(1)],
            None => (1..=n).collect(),
        };
        let mut picked = Picked {
            candidates: numbers.len() as u32,
            ..Picked::default()
        };
        let mut firsts: Vec<(u32, Attempt)> = Vec::new();
        let mut draw = |number: u32,
                        firsts: &mut Vec<(u32, Attempt)>,
                        tally: &mut Tally,
                        on_event: &mut dyn FnMut(Event<'_>)|
         -> Result<()> {
            let seed = self
                .spec
                .seed
                .wrapping_add(u64::from(number - 1).wrapping_mul(CANDIDATE_SEED_STRIDE));
            let a = self.attempt(backend, &self.messages, seed, tally, on_event)?;
            if n > 1 {
                tracing::info!(
                    "{}: candidate {number} (best of {n}) scores {:.3}",
                    self.spec.job.label(),
                    a.score
                );
            }
            firsts.push((number, a));
            Ok(())
        };
        for &number in &numbers {
            draw(number, &mut firsts, &mut tally, on_event)?;
        }
        // None of N valid: N more on fresh seeds before repairing (a repair keeps most of a
        // bad answer; a fresh draw often has none of its faults). Not for a pick.
        if n > 1 && self.spec.pick.is_none() && firsts.iter().all(|(_, a)| a.verdict.is_err()) {
            tracing::info!(
                "{}: none of {n} candidates is valid; drawing {n} more",
                self.spec.job.label()
            );
            for number in n + 1..=2 * n {
                draw(number, &mut firsts, &mut tally, on_event)?;
                if firsts.last().is_some_and(|(_, a)| a.verdict.is_ok()) {
                    break;
                }
            }
            picked.candidates = firsts.len() as u32;
        }
        picked.first_score = firsts.first().map(|(_, a)| a.score);
        // The first of the best scores: ties keep the earlier candidate.
        let best_at = (0..firsts.len())
            .reduce(|b, i| {
                if firsts[i].1.score > firsts[b].1.score {
                    i
                } else {
                    b
                }
            })
            .ok_or_else(|| Error::Request("internal: no candidate".into()))?;
        let scored: Vec<Scored> = firsts
            .iter()
            .enumerate()
            .map(|(i, (number, a))| Scored {
                number: *number,
                score: a.score,
                kept: i == best_at,
                answer: a.verdict.clone(),
            })
            .collect();
        let (kept_number, mut current) = firsts.swap_remove(best_at);
        picked.best_score = Some(current.score);
        picked.kept = kept_number;
        let mut repairs = 0;
        loop {
            let problems = match current.verdict {
                Ok(ron) => {
                    return Ok(Candidate {
                        result: Ok(ron),
                        scored,
                        cached: false,
                        attempts: tally.attempts,
                        repairs,
                        picked,
                        tokens: tally.tokens,
                        times: tally.times,
                        prepared: self,
                    });
                }
                Err(p) => p,
            };
            tracing::info!(
                "{}: answer invalid after {repairs} repairs: {}",
                self.spec.job.label(),
                problems.join("; ")
            );
            if repairs >= self.options.max_repairs {
                return Ok(Candidate {
                    result: Err((problems, current.text)),
                    scored,
                    cached: false,
                    attempts: tally.attempts,
                    repairs,
                    picked,
                    tokens: tally.tokens,
                    times: tally.times,
                    prepared: self,
                });
            }
            repairs += 1;
            // The repair keeps the prompt short (a small model loses the thread in a long
            // conversation, and prefill time grows with it): the original request, the
            // rejected answer and the validator's messages, on the next seed.
            let mut conversation = self.messages.clone();
            conversation.push(ChatMessage::assistant(clip(&current.text, 1500)));
            conversation.push(ChatMessage::user(repair_message(&problems)));
            let seed = current.seed.wrapping_add(1);
            current = self.attempt(backend, &conversation, seed, &mut tally, on_event)?;
        }
    }

    /// One model call on `conversation` with `seed`, checked and scored. Backend failures
    /// (unreachable, timed out, cancelled) are errors; an answer that does not fit is a verdict.
    fn attempt(
        &self,
        backend: &mut dyn TextBackend,
        conversation: &[ChatMessage],
        seed: u64,
        tally: &mut Tally,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<Attempt> {
        tally.attempts += 1;
        let mut sampling = self.options.sampling.clone();
        sampling.seed = seed;
        let mut request = GenerationRequest::new(conversation.to_vec())
            .with_sampling(sampling)
            .with_max_tokens(max_tokens(&self.spec.job))
            .with_constraint(Constraint::JsonSchema(self.schema.clone()));
        request.cancel = self.options.cancel.clone();
        let t = Instant::now();
        let generated = backend.generate(&request, on_event);
        tally.times.generate += t.elapsed();
        let (text, verdict, parsed, mean_logprob) = match generated {
            Ok(g) if g.finish == FinishReason::Cancelled => {
                return Err(crate::llm::Error::Cancelled.into());
            }
            Ok(g) => {
                tally.tokens += g.timings.generated_tokens;
                tally.times.first_token += g.timings.first_token;
                tally.times.prompt_tokens += g.timings.prompt_tokens;
                tally.times.reused_tokens += g.timings.cached_tokens;
                let t = Instant::now();
                let (verdict, parsed) = if g.finish == FinishReason::Length {
                    let cut = format!(
                        "the answer was cut off after {} tokens: keep every text shorter",
                        g.timings.generated_tokens
                    );
                    (Err(vec![cut]), false)
                } else {
                    match to_asset(&self.spec.job, &g.text) {
                        Ok(ron) => (self.check(&ron).map(|()| ron), true),
                        Err(p) => (Err(p), false),
                    }
                };
                tally.times.validate += t.elapsed();
                (g.text, verdict, parsed, g.mean_logprob)
            }
            // A server that answers with something that is not what was asked for.
            Err(crate::llm::Error::Output {
                message, output, ..
            }) => (output, Err(vec![message]), false, None),
            Err(e) => return Err(e.into()),
        };
        let score = Verdict {
            parsed,
            problems: verdict.as_ref().map_or_else(Vec::len, |_| 0),
            distinct_1: distinct_1(&text),
            mean_logprob,
        }
        .score();
        Ok(Attempt {
            text,
            verdict,
            score,
            seed,
        })
    }
}

/// How far apart the seeds of a job's candidates are: far enough that no candidate's repairs
/// (seed + 1, + 2, ...) reuse another candidate's seed.
const CANDIDATE_SEED_STRIDE: u64 = 0x0001_0000;

/// What a job's model calls added up to.
#[derive(Debug, Default)]
struct Tally {
    attempts: u32,
    tokens: usize,
    times: StageTimes,
}

/// One answer and its verdict: the asset's RON, or the problems to repair.
struct Attempt {
    text: String,
    verdict: core::result::Result<String, Vec<String>>,
    score: f64,
    seed: u64,
}

fn clip(s: &str, max: usize) -> String {
    s.char_indices()
        .nth(max)
        .map_or_else(|| s.to_owned(), |(i, _)| s[..i].to_owned())
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
