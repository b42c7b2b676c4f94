//! The in-process engine: a GGUF model on candle's CPU backend.
//!
//! [`LocalModel`] holds the weights, the tokenizer and the chat template; it is cheap to clone
//! (weights are shared). [`LocalBackend`] is one generation stream over it with its own KV cache:
//! make one per worker thread. Both are `Send`; nothing is global except candle's CPU thread pool.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_transformers::models::{quantized_llama, quantized_qwen2};

use super::backend::{Event, FinishReason, Generation, GenerationRequest, TextBackend, Timings};
use super::constrain::ConstraintEngine;
use super::gguf::{self, GgufFile};
use super::native;
use super::registry::Architecture;
use super::sampling::Sampler;
use super::template::{CHATML, ChatTemplate};
use super::tokenizer::{TextStream, Tokenizer};
use super::{Error, Result};

/// Which forward pass runs the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Sprout's own engine ([`super::native`]) for the architectures it runs (Llama, Qwen2).
    Auto,
    /// candle-transformers' quantised models.
    Candle,
}

/// How to load a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// The forward pass.
    pub engine: Engine,
    /// candle engine: convert weights without a fast CPU kernel (`Q4_1`, `Q5_x`) to `Q8_0` at load (about 5x faster
    /// generation for `Q4_1` models, 1.6x the weight memory). On by default.
    pub requantize: bool,
    /// Prompt tokens per forward pass.
    pub batch: usize,
    /// Native engine: keep the keys and values of the start a prompt shares with the backend's
    /// previous request (its prompt and output) instead of computing them again. On by
    /// default; off only to measure what it saves (the output is the same either way).
    pub reuse_prefix: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            engine: Engine::Auto,
            requantize: true,
            batch: 512,
            reuse_prefix: true,
        }
    }
}

/// The network. Llama weights clone cheaply (shared tensors, own KV cache); candle's qwen2 model
/// does not clone, so its backends share one behind a lock and take turns.
#[derive(Clone)]
enum Weights {
    Native(Arc<native::Weights>, Box<native::State>),
    Llama(Box<quantized_llama::ModelWeights>),
    Qwen2(Arc<Mutex<quantized_qwen2::ModelWeights>>),
}

impl Weights {
    fn forward(&mut self, x: &Tensor, pos: usize) -> candle_core::Result<Tensor> {
        match self {
            Weights::Native(..) => Err(candle_core::Error::Msg(
                "native weights run through forward_native".into(),
            )),
            Weights::Llama(m) => m.forward(x, pos),
            Weights::Qwen2(m) => m
                .lock()
                .map_err(|_| candle_core::Error::Msg("model lock poisoned".into()))?
                .forward(x, pos),
        }
    }

    fn clear_kv_cache(&mut self) {
        match self {
            Weights::Native(_, st) => st.clear(),
            Weights::Llama(m) => m.clear_kv_cache(),
            Weights::Qwen2(m) => {
                if let Ok(mut m) = m.lock() {
                    m.clear_kv_cache();
                }
            }
        }
    }
}

/// A loaded GGUF model. Clones share the weights.
#[derive(Clone)]
pub struct LocalModel {
    weights: Weights,
    tokenizer: Tokenizer,
    template: Arc<ChatTemplate>,
    context: usize,
    architecture: Architecture,
    name: String,
    path: PathBuf,
    options: LoadOptions,
    constraints: Arc<OnceLock<core::result::Result<Arc<ConstraintEngine>, String>>>,
}

impl core::fmt::Debug for LocalModel {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LocalModel")
            .field("name", &self.name)
            .field("architecture", &self.architecture)
            .field("context", &self.context)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl LocalModel {
    /// Loads a GGUF model: weights, tokenizer and chat template all come from the file.
    ///
    /// The header is checked first ([`gguf::check`]); a file that is damaged or lies about itself
    /// gives an error naming the file and the field, and a panic left anywhere in the loaders is
    /// contained and returned as an error ([`gguf::contain`]).
    pub fn load(path: &Path, options: &LoadOptions) -> Result<Self> {
        gguf::contain(path, || Self::load_unguarded(path, options))
    }

    fn load_unguarded(path: &Path, options: &LoadOptions) -> Result<Self> {
        let started = Instant::now();
        let mut file = GgufFile::open(path)?;
        let bad = |message: String| Error::BadModel {
            path: path.to_owned(),
            message,
        };
        let arch_name = file
            .string("general.architecture")
            .ok_or_else(|| bad("no `general.architecture`".into()))?
            .to_owned();
        let architecture = Architecture::from_gguf_name(&arch_name).ok_or_else(|| {
            bad(format!(
                "architecture `{arch_name}` is not supported (supported: llama, qwen2)"
            ))
        })?;
        let name = file.string("general.name").unwrap_or(&arch_name).to_owned();
        let context = file
            .u32(&format!("{arch_name}.context_length"))
            .map_or(2048, |c| c as usize)
            .min(quantized_llama::MAX_SEQ_LEN);
        let tokenizer = Tokenizer::from_gguf(&file.content)?;
        let template_src = file
            .string("tokenizer.chat_template")
            .unwrap_or(CHATML)
            .to_owned();
        let bos = tokenizer
            .bos()
            .and_then(|b| tokenizer.token(b))
            .unwrap_or_default()
            .to_owned();
        let eos = tokenizer
            .token(tokenizer.eos()[0])
            .unwrap_or_default()
            .to_owned();
        let template = ChatTemplate::new(&template_src, &bos, &eos)?;
        let native = options.engine == Engine::Auto;
        if options.requantize && !native {
            let n = file.requantize_slow_types()?;
            if n > 0 {
                tracing::info!("requantised {n} tensors to Q8_0");
            }
        }
        let device = Device::Cpu;
        let weights = match architecture {
            _ if native => {
                let w = Arc::new(native::Weights::load(&mut file, context)?);
                let st = Box::new(native::State::new(&w));
                Weights::Native(w, st)
            }
            Architecture::Llama => Weights::Llama(Box::new(
                quantized_llama::ModelWeights::from_gguf(file.content, &mut file.reader, &device)
                    .map_err(|e| bad(e.to_string()))?,
            )),
            Architecture::Qwen2 => Weights::Qwen2(Arc::new(Mutex::new(
                quantized_qwen2::ModelWeights::from_gguf(file.content, &mut file.reader, &device)
                    .map_err(|e| bad(e.to_string()))?,
            ))),
        };
        tracing::info!(
            "loaded {name} ({arch_name}, {} tokens) from {} in {:.2?}",
            tokenizer.vocab_size(),
            path.display(),
            started.elapsed()
        );
        Ok(Self {
            weights,
            tokenizer,
            template: Arc::new(template),
            context,
            architecture,
            name,
            path: path.to_owned(),
            options: options.clone(),
            constraints: Arc::new(OnceLock::new()),
        })
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The context length used (the model's, at most 4096).
    pub fn context_length(&self) -> usize {
        self.context
    }

    /// The model's name from its metadata.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Renders a conversation with the model's chat template.
    pub fn render(&self, messages: &[super::ChatMessage]) -> Result<String> {
        self.template.render(messages)
    }

    /// The constraint engine (built on first use: ~0.2 s).
    pub fn constraints(&self) -> Result<Arc<ConstraintEngine>> {
        self.constraints
            .get_or_init(|| {
                ConstraintEngine::new(&self.tokenizer)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(Error::Constraint)
    }

    /// A generation stream with its own KV cache.
    pub fn backend(&self) -> LocalBackend {
        LocalBackend {
            model: self.clone(),
        }
    }
}

/// One generation stream over a [`LocalModel`], with its own KV cache.
#[derive(Debug, Clone)]
pub struct LocalBackend {
    model: LocalModel,
}

impl LocalBackend {
    /// The model.
    pub fn model(&self) -> &LocalModel {
        &self.model
    }

    /// Runs the model over `tokens` at position `pos` (the KV cache holds `pos` tokens) and
    /// returns the logits after the last one.
    pub fn forward(&mut self, tokens: &[u32], pos: usize) -> Result<Vec<f32>> {
        if let Weights::Native(w, st) = &mut self.model.weights {
            return native::forward(w, st, tokens, pos);
        }
        let input = Tensor::new(tokens, &Device::Cpu)?.unsqueeze(0)?;
        let logits = self.model.weights.forward(&input, pos)?;
        Ok(logits.squeeze(0)?.to_dtype(DType::F32)?.to_vec1::<f32>()?)
    }

    /// Processes a prompt in batches and returns the last logits. The native engine keeps the
    /// keys and values of the longest start this prompt shares with what the cache holds (the
    /// previous request's prompt and output) and computes only the rest; other engines start
    /// from an empty cache.
    pub fn prefill(
        &mut self,
        tokens: &[u32],
        on_event: &mut dyn FnMut(Event<'_>),
        cancel: &super::CancelToken,
    ) -> Result<Vec<f32>> {
        self.prefill_reusing(tokens, on_event, cancel)
            .map(|(l, _)| l)
    }

    /// [`prefill`](Self::prefill), also returning how many leading tokens came from the cache.
    fn prefill_reusing(
        &mut self,
        tokens: &[u32],
        on_event: &mut dyn FnMut(Event<'_>),
        cancel: &super::CancelToken,
    ) -> Result<(Vec<f32>, usize)> {
        let kept = match &self.model.weights {
            Weights::Native(_, st) if self.model.options.reuse_prefix => st.reusable(tokens),
            _ => 0,
        };
        if kept == 0 {
            self.model.weights.clear_kv_cache();
        }
        let batch = self.model.options.batch.max(1);
        let mut logits = Vec::new();
        let mut pos = kept;
        for chunk in tokens[kept..].chunks(batch) {
            if cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            logits = self.forward(chunk, pos)?;
            pos += chunk.len();
            on_event(Event::Prompt {
                done: pos,
                total: tokens.len(),
            });
        }
        Ok((logits, kept))
    }
}

impl TextBackend for LocalBackend {
    fn describe(&self) -> String {
        format!(
            "{} ({}, local, {})",
            self.model.name,
            self.model
                .path
                .file_name()
                .map(|f| f.to_string_lossy())
                .unwrap_or_default(),
            match (&self.model.weights, self.model.options.requantize) {
                (Weights::Native(..), _) => "native engine, weights as stored",
                (_, true) => "candle, slow quant types converted to Q8_0 at load",
                (_, false) => "candle, weights as stored",
            }
        )
    }

    fn generate(
        &mut self,
        request: &GenerationRequest,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<Generation> {
        let started = Instant::now();
        let prompt_text = self.model.render(&request.messages)?;
        let prompt = self.model.tokenizer.encode(&prompt_text)?;
        if prompt.is_empty() {
            return Err(Error::Request("the prompt is empty".into()));
        }
        if prompt.len() + request.max_tokens > self.model.context {
            return Err(Error::ContextOverflow {
                prompt: prompt.len(),
                max_new: request.max_tokens,
                context: self.model.context,
            });
        }
        let mut matcher = match &request.constraint {
            Some(c) => Some(self.model.constraints()?.matcher(c)?),
            None => None,
        };
        let (mut logits, cached_tokens) =
            self.prefill_reusing(&prompt, on_event, &request.cancel)?;
        let prompt_done = Instant::now();
        let mut timings = Timings {
            prompt_tokens: prompt.len(),
            cached_tokens,
            prompt: prompt_done - started,
            ..Timings::default()
        };

        let tok = self.model.tokenizer.clone();
        let mut sampler = Sampler::new(request.sampling.clone());
        let mut history: Vec<u32> = prompt.clone();
        let mut out: Vec<u32> = Vec::new();
        let mut stream = TextStream::default();
        let mut text = String::new();
        let mut pos = prompt.len();
        let mut finish = FinishReason::Length;
        let (mut logprob_sum, mut sampled) = (0.0f64, 0usize);
        let mut emit = |id: u32, stream: &mut TextStream, text: &mut String| {
            let piece = stream.push(&tok, id);
            text.push_str(&piece);
            on_event(Event::Token { id, text: &piece });
        };

        while out.len() < request.max_tokens {
            if request.cancel.is_cancelled() {
                finish = FinishReason::Cancelled;
                break;
            }
            // The model's own distribution, before penalties and the grammar's mask.
            let raw = logits.clone();
            let next = match matcher.as_mut() {
                Some(m) => {
                    let mask = m
                        .compute_mask()
                        .map_err(|e| Error::Constraint(e.to_string()))?;
                    let allowed = |i: usize| mask.is_allowed(i as u32);
                    sampler.sample(&mut logits, Some(&allowed), &history)
                }
                None => sampler.sample(&mut logits, None, &history),
            };
            let Some(next) = next else {
                return Err(Error::Constraint(
                    "no token is allowed: the constraint cannot be continued".into(),
                ));
            };
            if out.is_empty() {
                timings.first_token = started.elapsed();
            }
            if let Some(l) = raw.get(next as usize) {
                logprob_sum += f64::from(*l) - log_sum_exp(&raw);
                sampled += 1;
            }
            if tok.eos().contains(&next) {
                finish = FinishReason::Stop;
                break;
            }
            let mut fed = vec![next];
            if let Some(m) = matcher.as_mut() {
                m.consume_token(next)
                    .map_err(|e| Error::Constraint(e.to_string()))?;
                if m.is_stopped() {
                    // The grammar is complete with this token: keep it and stop.
                    out.push(next);
                    emit(next, &mut stream, &mut text);
                    finish = FinishReason::Stop;
                    break;
                }
                // Tokens the grammar forces are fed in one batch, without sampling.
                let ff = m.compute_ff_tokens();
                let room = request.max_tokens - out.len() - 1;
                let ff = &ff[..ff.len().min(room)];
                if !ff.is_empty() {
                    m.consume_tokens(ff)
                        .map_err(|e| Error::Constraint(e.to_string()))?;
                    fed.extend_from_slice(ff);
                }
            }
            for &t in &fed {
                out.push(t);
                history.push(t);
                emit(t, &mut stream, &mut text);
            }
            if matcher
                .as_ref()
                .is_some_and(llguidance::Matcher::is_stopped)
            {
                finish = FinishReason::Stop;
                break;
            }
            if out.len() >= request.max_tokens {
                break;
            }
            logits = self.forward(&fed, pos)?;
            pos += fed.len();
        }
        text.push_str(&stream.flush());
        timings.generated_tokens = out.len();
        timings.generation = prompt_done.elapsed();
        Ok(Generation {
            text,
            tokens: out,
            finish,
            timings,
            mean_logprob: (sampled > 0).then(|| (logprob_sum / sampled as f64) as f32),
        })
    }
}

/// `ln Σ exp(x)` over the finite logits, computed stably.
fn log_sum_exp(logits: &[f32]) -> f64 {
    let max = logits
        .iter()
        .copied()
        .filter(|l| l.is_finite())
        .fold(f32::NEG_INFINITY, f32::max);
    if !max.is_finite() {
        return 0.0;
    }
    let sum: f64 = logits
        .iter()
        .filter(|l| l.is_finite())
        .map(|l| f64::from(l - max).exp())
        .sum();
    f64::from(max) + sum.ln()
}
