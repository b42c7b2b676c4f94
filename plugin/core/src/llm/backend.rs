//! The text backend trait: chat messages in, tokens streamed out.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Result;
use super::sampling::SamplingParams;
pub use crate::cancel::CancelToken;

/// Who says a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions.
    System,
    /// The person (or the game) asking.
    User,
    /// The model.
    Assistant,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Who says it.
    pub role: Role,
    /// What is said.
    pub content: String,
}

impl ChatMessage {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: content.into(),
        }
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }

    /// An assistant message (for few-shot examples).
    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// What the output must look like.
#[derive(Debug, Clone, PartialEq)]
pub enum Constraint {
    /// JSON matching this JSON schema (compact: no free whitespace).
    JsonSchema(serde_json::Value),
    /// Text matching this Lark grammar (llguidance's dialect; local backend only).
    Lark(String),
}

/// One generation request.
#[derive(Debug, Clone)]
pub struct GenerationRequest {
    /// The conversation so far.
    pub messages: Vec<ChatMessage>,
    /// Sampling parameters, seed included.
    pub sampling: SamplingParams,
    /// The most tokens to generate.
    pub max_tokens: usize,
    /// Output constraint, if any.
    pub constraint: Option<Constraint>,
    /// Set it to stop the generation early.
    pub cancel: CancelToken,
}

impl GenerationRequest {
    /// A request with default sampling and 256 new tokens at most.
    pub fn new(messages: Vec<ChatMessage>) -> Self {
        Self {
            messages,
            sampling: SamplingParams::default(),
            max_tokens: 256,
            constraint: None,
            cancel: CancelToken::new(),
        }
    }

    /// Sets the sampling parameters.
    #[must_use]
    pub fn with_sampling(mut self, sampling: SamplingParams) -> Self {
        self.sampling = sampling;
        self
    }

    /// Sets the token limit.
    #[must_use]
    pub fn with_max_tokens(mut self, max_tokens: usize) -> Self {
        self.max_tokens = max_tokens;
        self
    }

    /// Sets the output constraint.
    #[must_use]
    pub fn with_constraint(mut self, constraint: Constraint) -> Self {
        self.constraint = Some(constraint);
        self
    }
}

/// What a backend reports while it works.
#[derive(Debug, Clone, PartialEq)]
pub enum Event<'a> {
    /// Prompt tokens processed so far, out of `total`.
    Prompt {
        /// Done.
        done: usize,
        /// In all.
        total: usize,
    },
    /// A piece of generated text (one token, or less than one character's worth: then empty).
    Token {
        /// The token id (0 for backends that do not expose ids).
        id: u32,
        /// The text it completes.
        text: &'a str,
    },
}

/// Why a generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FinishReason {
    /// The model ended its turn, or the constraint was complete.
    Stop,
    /// `max_tokens` was reached.
    Length,
    /// The [`CancelToken`] was set.
    Cancelled,
}

/// How long the parts of a generation took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Timings {
    /// Prompt tokens.
    pub prompt_tokens: usize,
    /// Of those, the leading tokens whose keys and values were kept from the previous request
    /// on the same backend (a shared system prompt and world context), not computed again.
    pub cached_tokens: usize,
    /// Time to process the prompt.
    pub prompt: Duration,
    /// Generated tokens.
    pub generated_tokens: usize,
    /// Time from the end of the prompt to the last token.
    pub generation: Duration,
    /// Time from the request to the first generated token.
    pub first_token: Duration,
}

impl Timings {
    /// Prompt tokens per second.
    pub fn prompt_tps(&self) -> f64 {
        self.prompt_tokens as f64 / self.prompt.as_secs_f64().max(1e-9)
    }

    /// Generated tokens per second (the first token, sampled from the prompt's logits, excluded).
    pub fn generation_tps(&self) -> f64 {
        self.generated_tokens.saturating_sub(1) as f64 / self.generation.as_secs_f64().max(1e-9)
    }
}

/// A finished generation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Generation {
    /// The generated text.
    pub text: String,
    /// The generated token ids (empty for backends that do not expose them).
    pub tokens: Vec<u32>,
    /// Why it stopped.
    pub finish: FinishReason,
    /// Timings.
    pub timings: Timings,
    /// The mean natural-log probability the model gave the tokens it sampled (forced tokens
    /// left out), before penalties and constraints; `None` for backends that do not expose it.
    pub mean_logprob: Option<f32>,
}

/// A text generator: a local model or a server.
///
/// Same model, seed, parameters and prompt give the same text on the same machine (for the local
/// backend; servers decide for themselves). Generation blocks the calling thread: run it on a
/// worker (Bevy's `AsyncComputeTaskPool`, a thread) and pass events over a channel.
pub trait TextBackend: Send {
    /// A short description (model and where it runs), for logs and provenance.
    fn describe(&self) -> String;

    /// Generates a reply to `request.messages`, reporting progress and tokens to `on_event`.
    fn generate(
        &mut self,
        request: &GenerationRequest,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<Generation>;
}
