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
    /// An HTTP backend error (connection, status, protocol).
    #[error("http backend: {0}")]
    Http(String),
    /// A request parameter is out of range.
    #[error("invalid request: {0}")]
    Request(String),
}

/// Result with the LLM engine's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}
