//! The LLM engine's errors.

use std::path::PathBuf;

/// Errors of the LLM engine: fetching, loading, generating and parsing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The model registry could not be parsed.
    #[error("model registry {path}: {message}")]
    Registry {
        /// The registry file (or `<built-in>`).
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// No model with this id in the registry.
    #[error("no model `{id}` in the registry; `sprout models list` shows the known ones")]
    UnknownModel {
        /// The id asked for.
        id: String,
    },
    /// The model is not in the cache and may not be fetched now.
    #[error("model `{id}` is not downloaded (looked for {}); run `sprout models pull {id}` once, with network access", path.display())]
    NotDownloaded {
        /// The model id.
        id: String,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// Fetching a model failed.
    #[error("could not fetch model `{id}`: {message}")]
    Fetch {
        /// The model id.
        id: String,
        /// What went wrong (with the command that failed, where there was one).
        message: String,
    },
    /// A model file does not have the hash the registry records.
    #[error("{}: sha256 is {actual}, the registry expects {expected}; the file is corrupt or not this model: delete it and run `sprout models pull {id}`", path.display())]
    HashMismatch {
        /// The model id.
        id: String,
        /// The file.
        path: PathBuf,
        /// The hash the registry records.
        expected: String,
        /// The hash of the file.
        actual: String,
    },
    /// A model file has the wrong size.
    #[error("{}: {actual} bytes, the registry expects {expected}; the file is truncated or not this model: delete it and run `sprout models pull {id}`", path.display())]
    SizeMismatch {
        /// The model id.
        id: String,
        /// The file.
        path: PathBuf,
        /// The size the registry records.
        expected: u64,
        /// The size of the file.
        actual: u64,
    },
    /// A GGUF file is broken, truncated or of an unsupported kind.
    #[error("{}: not a usable GGUF model: {message}", path.display())]
    BadModel {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A GGUF file's header holds a value out of bounds or inconsistent with the rest of the file
    /// (a damaged file, or one that lies about itself): found before anything trusts it.
    #[error("{}: not a usable GGUF model: {field} {message}", path.display())]
    BadModelFile {
        /// The file.
        path: PathBuf,
        /// The header field: a metadata key (`general.alignment`), ``tensor `name` ``,
        /// `tensor count`, `metadata key 3`...
        field: String,
        /// What is wrong with it, as a predicate (`is 0; must be a power of two, at most 65536`).
        message: String,
    },
    /// The tokenizer could not be built or used.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The chat template could not be rendered.
    #[error("chat template: {0}")]
    Template(String),
    /// Inference failed inside candle.
    #[error("inference: {0}")]
    Inference(#[from] candle_core::Error),
    /// The constraint (schema or grammar) could not be compiled or followed.
    #[error("constraint: {0}")]
    Constraint(String),
    /// The prompt does not fit in the model's context.
    #[error(
        "the prompt is {prompt} tokens and {max_new} more were asked for, the model's context is {context}"
    )]
    ContextOverflow {
        /// Prompt tokens.
        prompt: usize,
        /// Tokens asked for.
        max_new: usize,
        /// The context length.
        context: usize,
    },
    /// Generation was cancelled through its [`CancelToken`](super::CancelToken).
    #[error("generation cancelled")]
    Cancelled,
    /// The model's output did not parse into the requested type.
    #[error("output is not a valid {what}: {message}\noutput was: {output}")]
    Output {
        /// The type asked for.
        what: &'static str,
        /// Why it did not parse.
        message: String,
        /// The text the model wrote.
        output: String,
    },
    /// The output parsed but failed Sprout's validator.
    #[error("generated content failed validation: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<crate::validate::Diagnostic>),
    /// An HTTP backend error: the server answered, but not usefully (a client error status, a
    /// refused secret, a malformed or oversized answer, the total timeout of a long answer).
    #[error("http backend: {0}")]
    Http(String),
    /// An HTTP endpoint is down or unreachable: see [`Error::is_unavailable`]. Another endpoint
    /// may serve the same request.
    #[error("http backend: {endpoint} is unavailable: {message}")]
    Unavailable {
        /// The endpoint, without credentials ([`crate::endpoint::redact_url`]).
        endpoint: String,
        /// What happened: connection refused, no byte for the idle timeout, circuit open...
        message: String,
    },
    /// A request parameter is out of range.
    #[error("invalid request: {0}")]
    Request(String),
}

/// Result with the LLM engine's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

impl Error {
    /// Whether the failure means the endpoint is down or unreachable, so the same request may
    /// go to another endpoint: connection refused or reset, a connect or idle timeout (a stall),
    /// a stream cut off mid-answer, the endpoint's circuit breaker open, or retries exhausted on
    /// 5xx or 429. False for everything else: a client error (4xx), a refused secret, a bad or
    /// oversized answer, output that does not parse or validate, the total timeout of an answer
    /// that was still arriving, and cancellation.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Error::Unavailable { .. })
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}
