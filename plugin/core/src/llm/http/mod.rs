//! `OpenAI`-compatible chat servers: llama.cpp's server, Ollama, `vLLM`, `OpenAI`.
//!
//! Streaming (server-sent events), `response_format: json_schema` where the server takes it
//! (otherwise the schema goes into the prompt and the output is checked against it, with
//! retries), and a limit on concurrent requests shared by clones.
//!
//! Hostile or broken servers cost a bounded time and memory: the shared client
//! ([`crate::endpoint`]'s `client.rs`) bounds every wait and body by [`HttpConfig::limits`], retries
//! connection errors, 429 and 5xx before the first token (never a stall) and keeps a circuit
//! breaker per backend (clones share it). Here, in `stream.rs`: an answer may be
//! [`Limits::max_response_bytes`] long and twice `max_tokens` plus 16 tokens; the event stream is
//! split into lines in linear time (`sse.rs`: a cursor, never a re-scan) and one line may be
//! [`MAX_LINE_BYTES`].
//!
//! A failure that means the endpoint is down is [`Error::Unavailable`]
//! ([`Error::is_unavailable`]): a batch over several endpoints moves the job elsewhere.
//!
//! Secrets: the API key is read from an environment variable at request time and never stored,
//! logged or written; credentials in the URL (`http://user:pass@host`) are sent as HTTP basic
//! auth (they win over the key) and shown nowhere: every message and [`TextBackend::describe`]
//! use [`redact_url`](crate::endpoint::redact_url)'s form. Either goes only over `https` or to a
//! loopback host unless [`HttpConfig::allow_plain_http_secrets`] (or
//! [`PLAIN_HTTP_SECRETS_ENV`](crate::endpoint::PLAIN_HTTP_SECRETS_ENV)`=1`) says otherwise.
//!
//! [`HttpBackend::generate`] blocks on its own Tokio runtime: call it from a worker thread, not
//! from inside another async runtime.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::backend::{
    Constraint, Event, FinishReason, Generation, GenerationRequest, Role, TextBackend, Timings,
};
use super::{Error, Result};
use crate::endpoint::Limits;
use crate::endpoint::client::{Client, Sent, Try};

mod sse;
mod stream;

/// Whether to send `response_format: json_schema`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaSupport {
    /// Try `json_schema`; if the server refuses it, `json_object` with a `schema` (llama-cpp-python's
    /// dialect); if that is refused too, the schema in the prompt and a check of the output.
    Auto,
    /// Always send it.
    Always,
    /// Never send it: prompt + check + retry.
    Never,
}

/// The longest line of an event stream (one event's `data:`); a longer one ends the request.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// How to reach a server, and the limits that bound a broken one. `Debug` shows the URL without
/// credentials.
#[derive(Clone)]
pub struct HttpConfig {
    /// Base URL up to and including `/v1`, e.g. `http://127.0.0.1:8080/v1`. Userinfo
    /// (`http://user:pass@host/v1`) is sent as HTTP basic auth and shown nowhere.
    pub base_url: String,
    /// The model name the server expects.
    pub model: String,
    /// Name of the environment variable that holds the API key (none sent when unset or empty,
    /// or when the URL carries credentials).
    pub api_key_env: String,
    /// The bounds on every request (default [`Limits::default`]: 10 min total, 5 s connect, 60 s
    /// idle, 8 MiB answers, 3 retries from 250 ms, the breaker open for 30 s after 3 failures).
    pub limits: Limits,
    /// Requests in flight at once (over all clones of the backend).
    pub max_concurrency: usize,
    /// Structured output mode.
    pub schema_support: SchemaSupport,
    /// Attempts at a valid output when the schema is only in the prompt.
    pub validation_attempts: u32,
    /// Send the API key or URL credentials over plain `http` to a host that is not loopback
    /// (default: whether [`PLAIN_HTTP_SECRETS_ENV`](crate::endpoint::PLAIN_HTTP_SECRETS_ENV) is
    /// `1`). Without it such a request fails with an error saying so.
    pub allow_plain_http_secrets: bool,
}

impl core::fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HttpConfig")
            .field("base_url", &crate::endpoint::redact_url(&self.base_url))
            .field("model", &self.model)
            .field("api_key_env", &self.api_key_env)
            .field("limits", &self.limits)
            .field("allow_plain_http_secrets", &self.allow_plain_http_secrets)
            .finish_non_exhaustive()
    }
}

impl HttpConfig {
    /// Defaults for a server at `base_url` serving `model`.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            api_key_env: "SPROUT_LLM_API_KEY".into(),
            limits: Limits::default(),
            max_concurrency: 4,
            schema_support: SchemaSupport::Auto,
            validation_attempts: 3,
            allow_plain_http_secrets: crate::endpoint::plain_http_secrets_allowed_by_env(),
        }
    }
}

/// A backend over an OpenAI-compatible server. Clones share the connection pool, the runtime,
/// the concurrency limit and the circuit breaker.
#[derive(Clone)]
pub struct HttpBackend {
    config: HttpConfig,
    client: Client,
    permits: Arc<tokio::sync::Semaphore>,
    /// One of the `STYLE_*` constants: how structured output is asked for.
    schema_state: Arc<AtomicU8>,
}

impl core::fmt::Debug for HttpBackend {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HttpBackend")
            .field("base_url", &self.client.endpoint().shown())
            .field("model", &self.config.model)
            .finish_non_exhaustive()
    }
}

/// `response_format: {type: json_schema, json_schema: {schema}}` (`OpenAI`, vLLM, llama.cpp).
const STYLE_JSON_SCHEMA: u8 = 0;
/// The schema in the prompt only; the output is checked.
const STYLE_PROMPT: u8 = 2;
/// `response_format: {type: json_object, schema}` (llama-cpp-python).
const STYLE_JSON_OBJECT: u8 = 3;

/// How one exchange ended, when it is not an error or a retry.
enum Attempt {
    /// An answer (whole, cut at `max_tokens`, or cancelled).
    Done(Generation),
    /// The server refused the `response_format` asked for: ask again the next way.
    SchemaRefused(String),
}

impl HttpBackend {
    /// A backend for `config`. Fails when the URL carries credentials that may not be sent to
    /// it (plain `http`, not loopback, not allowed).
    pub fn new(config: HttpConfig) -> Result<Self> {
        let client = Client::new(
            &config.base_url,
            &config.api_key_env,
            config.allow_plain_http_secrets,
            &config.limits,
        )
        .map_err(Error::Http)?;
        let permits = Arc::new(tokio::sync::Semaphore::new(config.max_concurrency.max(1)));
        let schema_state = Arc::new(AtomicU8::new(match config.schema_support {
            SchemaSupport::Auto | SchemaSupport::Always => STYLE_JSON_SCHEMA,
            SchemaSupport::Never => STYLE_PROMPT,
        }));
        Ok(Self {
            config,
            client,
            permits,
            schema_state,
        })
    }

    fn body(&self, request: &GenerationRequest, style: u8) -> Value {
        let mut messages: Vec<Value> = request
            .messages
            .iter()
            .map(|m| {
                let role = match m.role {
                    Role::System => "system",
                    Role::User => "user",
                    Role::Assistant => "assistant",
                };
                json!({"role": role, "content": m.content})
            })
            .collect();
        let s = &request.sampling;
        let mut body = json!({
            "model": self.config.model,
            "messages": [],
            "stream": true,
            "max_tokens": request.max_tokens,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "seed": s.seed,
        });
        // Not in OpenAI's API; llama.cpp, vLLM and Ollama's OpenAI endpoint read them.
        if s.top_k > 0 {
            body["top_k"] = json!(s.top_k);
        }
        if s.repeat_penalty != 1.0 {
            body["repeat_penalty"] = json!(s.repeat_penalty);
        }
        match &request.constraint {
            Some(Constraint::JsonSchema(schema)) if style == STYLE_JSON_SCHEMA => {
                body["response_format"] = json!({
                    "type": "json_schema",
                    "json_schema": {"name": "output", "strict": true, "schema": schema},
                });
            }
            Some(Constraint::JsonSchema(schema)) if style == STYLE_JSON_OBJECT => {
                body["response_format"] = json!({"type": "json_object", "schema": schema});
            }
            Some(Constraint::JsonSchema(schema)) => {
                messages.push(json!({
                    "role": "system",
                    "content": format!("Reply with one JSON value only, no prose, matching this JSON schema:\n{schema}"),
                }));
            }
            Some(Constraint::Lark(_)) | None => {}
        }
        body["messages"] = Value::Array(messages);
        body
    }

    /// The chat URL as it may be shown.
    fn shown_url(&self) -> String {
        format!("{}/chat/completions", self.client.endpoint().shown())
    }

    /// `message` as an [`Error::Unavailable`] of this endpoint.
    fn unavailable(&self, message: String) -> Error {
        Error::Unavailable {
            endpoint: self.client.endpoint().shown().to_owned(),
            message,
        }
    }

    /// A stall `when`: counted by the breaker, not retried.
    fn stalled(&self, when: &str) -> Error {
        self.unavailable(self.client.stalled(when))
    }

    /// One attempt within the total timeout.
    async fn attempt(
        &self,
        request: &GenerationRequest,
        style: u8,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<Try<Attempt>> {
        let total = self.config.limits.timeout;
        let mut answered = false;
        let exchange = self.exchange(request, style, on_event, &mut answered);
        match tokio::time::timeout(total, exchange).await {
            Ok(r) => r,
            // Nothing at all in the whole time (the idle timeout is longer than the total).
            Err(_) if !answered => Err(self.stalled("of an answer")),
            Err(_) => Err(Error::Http(format!(
                "{}: the answer was still arriving after {total:?}, the total timeout (raise HttpConfig::limits.timeout for longer answers)",
                self.shown_url()
            ))),
        }
    }

    /// Sends the request and reads the answer's head; a success goes on to [`Self::stream`].
    async fn exchange(
        &self,
        request: &GenerationRequest,
        style: u8,
        on_event: &mut dyn FnMut(Event<'_>),
        answered: &mut bool,
    ) -> Result<Try<Attempt>> {
        let with_schema = style != STYLE_PROMPT && request.constraint.is_some();
        let started = Instant::now();
        let shown = self.shown_url();
        let req = self
            .client
            .request("/chat/completions", Some(&self.body(request, style)))
            .map_err(Error::Http)?;
        let resp = match self.client.send(req, &request.cancel).await {
            Sent::Ok(r) => r,
            Sent::Status(status, text) => {
                *answered = true;
                // Servers refuse an unknown response_format with 400 or 422, some
                // (llama-cpp-python) with 500 and a validation message naming it.
                if with_schema && status.is_client_error() && status.as_u16() != 429
                    || with_schema && status.is_server_error() && text.contains("response_format")
                {
                    self.client.alive();
                    return Ok(Try::Done(Attempt::SchemaRefused(format!(
                        "HTTP {status}: {text}"
                    ))));
                }
                return match self.client.refused(status, &text) {
                    Try::Again(why) => Ok(Try::Again(why)),
                    Try::Done(why) => Err(Error::Http(format!("{shown}: {why}"))),
                };
            }
            Sent::Down(why) => return Ok(Try::Again(why)),
            Sent::Invalid(why) => return Err(Error::Http(format!("{shown}: {why}"))),
            Sent::Stalled(why) => return Err(self.unavailable(why)),
            Sent::Cancelled => {
                return Ok(Try::Done(Attempt::Done(cancelled(
                    started,
                    String::new(),
                    0,
                ))));
            }
        };
        *answered = true;
        self.stream(resp, request, started, on_event).await
    }

    async fn generate_async(
        &self,
        request: &GenerationRequest,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<Generation> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| Error::Http(e.to_string()))?;
        let schema = match &request.constraint {
            Some(Constraint::Lark(_)) => {
                return Err(Error::Request(
                    "Lark grammars need the local backend; servers take JSON schemas".into(),
                ));
            }
            Some(Constraint::JsonSchema(s)) => Some(s.clone()),
            None => None,
        };
        let mut tries_left = self.config.validation_attempts.max(1);
        let mut req = request.clone();
        loop {
            let style = self.schema_state.load(Ordering::Relaxed);
            let shown = self.shown_url();
            let attempt = self
                .client
                .retrying(
                    &shown,
                    async || self.attempt(&req, style, on_event).await,
                    |message| self.unavailable(message),
                )
                .await?;
            let generation = match attempt {
                Attempt::Done(g) => g,
                Attempt::SchemaRefused(why) => {
                    if self.config.schema_support == SchemaSupport::Always {
                        return Err(Error::Http(format!(
                            "{shown}: the server refused response_format: {why}"
                        )));
                    }
                    let next = if style == STYLE_JSON_SCHEMA {
                        STYLE_JSON_OBJECT
                    } else {
                        STYLE_PROMPT
                    };
                    tracing::info!(
                        "server refused this response_format ({why}); trying the next way"
                    );
                    self.schema_state.store(next, Ordering::Relaxed);
                    continue;
                }
            };
            let Some(schema) = &schema else {
                return Ok(generation);
            };
            match check_json(schema, &generation.text) {
                Ok(()) => return Ok(generation),
                Err(why) if tries_left > 1 && generation.finish != FinishReason::Cancelled => {
                    tries_left -= 1;
                    tracing::info!("output does not match the schema ({why}); asking again");
                    req.sampling.seed = req.sampling.seed.wrapping_add(1);
                }
                Err(why) => {
                    return Err(Error::Output {
                        what: "JSON matching the schema",
                        message: why,
                        output: generation.text,
                    });
                }
            }
        }
    }
}

/// Checks `text` against `schema` exactly (llguidance over bytes, any whitespace).
pub fn check_json(schema: &Value, text: &str) -> core::result::Result<(), String> {
    use llguidance::api::TopLevelGrammar;
    let env = toktrie::ApproximateTokEnv::single_byte_env();
    let mut factory = llguidance::ParserFactory::new_simple(&env).map_err(|e| e.to_string())?;
    factory.set_stderr_log_level(0);
    let parser = factory
        .create_parser(TopLevelGrammar::from_json_schema(schema.clone()))
        .map_err(|e| e.to_string())?;
    let mut m = llguidance::Matcher::new(Ok(parser));
    let text = text.trim();
    for (i, t) in env.tokenize_bytes(text.as_bytes()).into_iter().enumerate() {
        if m.consume_token(t).is_err() {
            let at: String = text.chars().take(i + 1).collect();
            return Err(format!("does not match the schema after {at:?}"));
        }
    }
    match m.is_accepting() {
        Ok(true) => Ok(()),
        _ => Err("incomplete JSON".into()),
    }
}

/// What a cancelled exchange returns: the text so far, `pieces` tokens, all time counted as
/// prompt time.
fn cancelled(started: Instant, text: String, pieces: usize) -> Generation {
    let at = started.elapsed();
    Generation {
        text,
        tokens: Vec::new(),
        mean_logprob: None,
        finish: FinishReason::Cancelled,
        timings: Timings {
            prompt_tokens: 0,
            cached_tokens: 0,
            prompt: at,
            generated_tokens: pieces,
            generation: Duration::ZERO,
            first_token: at,
        },
    }
}

impl TextBackend for HttpBackend {
    fn describe(&self) -> String {
        format!(
            "{} at {}",
            self.config.model,
            self.client.endpoint().shown()
        )
    }

    fn generate(
        &mut self,
        request: &GenerationRequest,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<Generation> {
        self.client.block_on(self.generate_async(request, on_event))
    }
}

#[cfg(test)]
mod tests;
