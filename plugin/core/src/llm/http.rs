//! `OpenAI`-compatible chat servers: llama.cpp's server, Ollama, `vLLM`, `OpenAI`.
//!
//! Streaming (server-sent events), `response_format: json_schema` where the server takes it
//! (otherwise the schema goes into the prompt and the output is checked against it, with
//! retries), and a limit on concurrent requests shared by clones.
//!
//! Hostile or broken servers cost a bounded time and memory ([`HttpConfig`] holds the limits):
//! - three timeouts: connect, idle (the longest silence: before the answer's head, then between
//!   chunks) and total (one attempt, for answers that keep arriving);
//! - an answer may be [`HttpConfig::max_response_bytes`] long and twice `max_tokens` plus 16
//!   tokens; past that the request ends with an error;
//! - the event stream is split into lines in linear time (a cursor, never a re-scan) and one
//!   line may be 1 MiB;
//! - connection errors, 429 and 5xx before the first token are retried with exponential backoff;
//!   a stall (idle timeout) is not retried;
//! - a circuit breaker per backend (clones share it): after
//!   [`breaker_threshold`](HttpConfig::breaker_threshold) consecutive connection failures,
//!   stalls or 5xx, requests fail fast for [`breaker_cooldown`](HttpConfig::breaker_cooldown).
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

use futures_util::StreamExt;
use serde_json::{Value, json};

use super::backend::{
    Constraint, Event, FinishReason, Generation, GenerationRequest, Role, TextBackend, Timings,
};
use super::{Error, Result};
use crate::endpoint::wire::{self, BodyError, Waited};
use crate::endpoint::{Breaker, Endpoint};
use sse::Lines;

mod sse;

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
    /// Total time one attempt may take, from connect to the last byte (default 10 min): a bound
    /// on answers that keep arriving. Stalls are caught sooner by `idle_timeout`.
    pub timeout: Duration,
    /// Connection timeout (default 5 s).
    pub connect_timeout: Duration,
    /// The longest silence (default 60 s): from sending the request to the answer's head (the
    /// server's prompt processing included), then between chunks of the stream. A stall fails
    /// once, counts towards the breaker and is not retried.
    pub idle_timeout: Duration,
    /// Bytes one answer may have (default 8 MiB); more ends the request with an error.
    pub max_response_bytes: usize,
    /// Retries after the first attempt (connection errors, 429 and 5xx before the first token).
    pub max_retries: u32,
    /// First backoff; doubles each retry.
    pub backoff: Duration,
    /// Requests in flight at once (over all clones of the backend).
    pub max_concurrency: usize,
    /// Structured output mode.
    pub schema_support: SchemaSupport,
    /// Attempts at a valid output when the schema is only in the prompt.
    pub validation_attempts: u32,
    /// Consecutive failures (connection refused or reset, connect or idle timeout, 5xx) that
    /// open the circuit breaker (default 3).
    pub breaker_threshold: u32,
    /// How long an open breaker fails requests at once, before one is let through to try
    /// (default 30 s).
    pub breaker_cooldown: Duration,
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
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("max_retries", &self.max_retries)
            .field("breaker_threshold", &self.breaker_threshold)
            .field("breaker_cooldown", &self.breaker_cooldown)
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
            timeout: Duration::from_secs(600),
            connect_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(60),
            max_response_bytes: 8 << 20,
            max_retries: 3,
            backoff: Duration::from_millis(250),
            max_concurrency: 4,
            schema_support: SchemaSupport::Auto,
            validation_attempts: 3,
            breaker_threshold: 3,
            breaker_cooldown: Duration::from_secs(30),
            allow_plain_http_secrets: crate::endpoint::plain_http_secrets_allowed_by_env(),
        }
    }
}

/// A backend over an OpenAI-compatible server. Clones share the connection pool, the runtime,
/// the concurrency limit and the circuit breaker.
#[derive(Clone)]
pub struct HttpBackend {
    config: HttpConfig,
    endpoint: Endpoint,
    client: reqwest::Client,
    runtime: Arc<tokio::runtime::Runtime>,
    permits: Arc<tokio::sync::Semaphore>,
    /// One of the `STYLE_*` constants: how structured output is asked for.
    schema_state: Arc<AtomicU8>,
    breaker: Arc<Breaker>,
}

impl core::fmt::Debug for HttpBackend {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HttpBackend")
            .field("base_url", &self.endpoint.shown())
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

/// How much of an error answer is read (and 400 characters of it shown).
const ERROR_BODY_BYTES: usize = 8 << 10;

enum Attempt {
    Done(Generation),
    /// Nothing was streamed yet and the failure may pass: try again after a backoff.
    Retry(String),
    SchemaRefused(String),
}

impl HttpBackend {
    /// A backend for `config`. Fails when the URL carries credentials that may not be sent to
    /// it (plain `http`, not loopback, not allowed).
    pub fn new(config: HttpConfig) -> Result<Self> {
        let endpoint = Endpoint::parse(&config.base_url);
        if endpoint.credentials().is_some() {
            endpoint
                .check_secret(
                    "the credentials in the URL",
                    config.allow_plain_http_secrets,
                )
                .map_err(Error::Http)?;
        }
        // The total and idle limits are enforced here, per attempt and per chunk, so that each
        // ends with its own message and classification.
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| Error::Http(wire::describe(e)))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Http(e.to_string()))?;
        let permits = Arc::new(tokio::sync::Semaphore::new(config.max_concurrency.max(1)));
        let schema_state = Arc::new(AtomicU8::new(match config.schema_support {
            SchemaSupport::Auto | SchemaSupport::Always => STYLE_JSON_SCHEMA,
            SchemaSupport::Never => STYLE_PROMPT,
        }));
        let breaker = Arc::new(Breaker::new(
            config.breaker_threshold,
            config.breaker_cooldown,
        ));
        Ok(Self {
            config,
            endpoint,
            client,
            runtime: Arc::new(runtime),
            permits,
            schema_state,
            breaker,
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
        format!("{}/chat/completions", self.endpoint.shown())
    }

    /// `message` as an [`Error::Unavailable`] of this endpoint.
    fn unavailable(&self, message: String) -> Error {
        Error::Unavailable {
            endpoint: self.endpoint.shown().to_owned(),
            message,
        }
    }

    /// Counts a failure that says the endpoint is down; returns `why`.
    fn failed(&self, why: String) -> String {
        if self.breaker.failure(&why) {
            tracing::warn!(
                "{}: {} consecutive failures, failing fast for {:?}",
                self.endpoint.shown(),
                self.config.breaker_threshold,
                self.config.breaker_cooldown
            );
        }
        why
    }

    /// A stall: counted by the breaker, not retried.
    fn stalled(&self, when: &str) -> Error {
        let why = self.failed(format!(
            "no byte {when} for {:?} (the idle timeout)",
            self.config.idle_timeout
        ));
        self.unavailable(why)
    }

    /// One attempt within the total timeout.
    async fn attempt(
        &self,
        request: &GenerationRequest,
        style: u8,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<Attempt> {
        let total = self.config.timeout;
        let mut answered = false;
        let exchange = self.exchange(request, style, on_event, &mut answered);
        match tokio::time::timeout(total, exchange).await {
            Ok(r) => r,
            // Nothing at all in the whole time (the idle timeout is longer than the total).
            Err(_) if !answered => Err(self.stalled("of an answer")),
            Err(_) => Err(Error::Http(format!(
                "{}: the answer was still arriving after {total:?}, the total timeout (raise HttpConfig::timeout for longer answers)",
                self.shown_url()
            ))),
        }
    }

    async fn exchange(
        &self,
        request: &GenerationRequest,
        style: u8,
        on_event: &mut dyn FnMut(Event<'_>),
        answered: &mut bool,
    ) -> Result<Attempt> {
        let with_schema = style != STYLE_PROMPT && request.constraint.is_some();
        let started = Instant::now();
        let shown = self.shown_url();
        let idle = self.config.idle_timeout;
        let cancel = &request.cancel;
        let cancelled = |text: String, pieces| {
            let at = started.elapsed();
            Attempt::Done(Generation {
                text,
                tokens: Vec::new(),
                finish: FinishReason::Cancelled,
                timings: Timings {
                    prompt_tokens: 0,
                    prompt: at,
                    generated_tokens: pieces,
                    generation: Duration::ZERO,
                    first_token: at,
                },
            })
        };
        let url = format!("{}/chat/completions", self.endpoint.url());
        let mut req = self.client.post(&url).json(&self.body(request, style));
        if let Some(c) = self.endpoint.credentials() {
            req = req.basic_auth(&c.user, c.password.as_ref());
        } else if let Ok(key) = std::env::var(&self.config.api_key_env)
            && !key.is_empty()
        {
            self.endpoint
                .check_secret(
                    &format!("the API key in ${}", self.config.api_key_env),
                    self.config.allow_plain_http_secrets,
                )
                .map_err(Error::Http)?;
            req = req.bearer_auth(key);
        }
        let resp = match wire::within(req.send(), idle, cancel).await {
            Waited::Done(Ok(r)) => r,
            Waited::Done(Err(e)) if e.is_builder() => {
                return Err(Error::Http(format!("{shown}: {}", wire::describe(e))));
            }
            Waited::Done(Err(e)) => {
                return Ok(Attempt::Retry(self.failed(wire::describe(e))));
            }
            Waited::TimedOut => return Err(self.stalled("of an answer")),
            Waited::Cancelled => return Ok(cancelled(String::new(), 0)),
        };
        *answered = true;
        let status = resp.status();
        if !status.is_success() {
            let text = match wire::read_body(resp, ERROR_BODY_BYTES, idle, cancel).await {
                Ok(b) | Err(BodyError::TooBig(b)) => String::from_utf8_lossy(&b).into_owned(),
                Err(BodyError::Broken(why)) => format!("(the error body broke off: {why})"),
                Err(BodyError::Idle | BodyError::Cancelled) => String::new(),
            };
            let text: String = text.chars().take(400).collect();
            // Servers refuse an unknown response_format with 400 or 422, some (llama-cpp-python)
            // with 500 and a validation message naming it.
            if with_schema && status.is_client_error() && status.as_u16() != 429
                || with_schema && status.is_server_error() && text.contains("response_format")
            {
                self.breaker.success();
                return Ok(Attempt::SchemaRefused(format!("HTTP {status}: {text}")));
            }
            if status.is_server_error() {
                return Ok(Attempt::Retry(
                    self.failed(format!("HTTP {status}: {text}")),
                ));
            }
            self.breaker.success();
            if status.as_u16() == 429 {
                return Ok(Attempt::Retry(format!("HTTP {status}: {text}")));
            }
            return Err(Error::Http(format!("{shown}: HTTP {status}: {text}")));
        }
        self.breaker.success();
        let max_bytes = self.config.max_response_bytes;
        let max_pieces = request.max_tokens.saturating_mul(2).saturating_add(16);
        let mut stream = resp.bytes_stream();
        let mut lines = Lines::new(MAX_LINE_BYTES.min(max_bytes));
        let mut received = 0usize;
        let mut text = String::new();
        let mut pieces = 0usize;
        let mut first_token = None;
        let mut finish = FinishReason::Length;
        let mut prompt_tokens = 0;
        'stream: loop {
            let chunk = match wire::within(stream.next(), idle, cancel).await {
                Waited::Done(Some(Ok(c))) => c,
                Waited::Done(None) => break,
                Waited::Done(Some(Err(e))) if pieces == 0 => {
                    return Ok(Attempt::Retry(self.failed(wire::describe(e))));
                }
                Waited::Done(Some(Err(e))) => {
                    let why = format!(
                        "the stream broke after {pieces} tokens: {}",
                        wire::describe(e)
                    );
                    return Err(self.unavailable(self.failed(why)));
                }
                Waited::TimedOut if pieces == 0 => return Err(self.stalled("of the stream")),
                Waited::TimedOut => {
                    return Err(self.stalled(&format!("after {pieces} tokens")));
                }
                Waited::Cancelled => return Ok(cancelled(text, pieces)),
            };
            if cancel.is_cancelled() {
                return Ok(cancelled(text, pieces));
            }
            received += chunk.len();
            if received > max_bytes {
                return Err(Error::Http(format!(
                    "{shown}: the answer passed {max_bytes} bytes (HttpConfig::max_response_bytes) after {pieces} tokens; is the server ignoring max_tokens?"
                )));
            }
            lines.push(&chunk);
            loop {
                let line = match lines.next_line() {
                    Ok(Some(line)) => line,
                    Ok(None) => break,
                    Err(len) => {
                        return Err(Error::Http(format!(
                            "{shown}: a line of {len} bytes without an end (at most {MAX_LINE_BYTES}); not an event stream"
                        )));
                    }
                };
                let line = String::from_utf8_lossy(line);
                let line = line.trim();
                let Some(data) = line.strip_prefix("data:") else {
                    continue;
                };
                let data = data.trim();
                if data == "[DONE]" {
                    break 'stream;
                }
                let v: Value = serde_json::from_str(data).map_err(|e| {
                    let data: String = data.chars().take(200).collect();
                    Error::Http(format!("{shown}: bad event from server: {e}: {data}"))
                })?;
                if let Some(err) = v.get("error") {
                    let err: String = err.to_string().chars().take(400).collect();
                    return Err(Error::Http(format!("{shown}: server error: {err}")));
                }
                let choice = &v["choices"][0];
                if let Some(piece) = choice["delta"]["content"].as_str()
                    && !piece.is_empty()
                {
                    pieces += 1;
                    if pieces > max_pieces {
                        return Err(Error::Http(format!(
                            "{shown}: the server sent more than {max_pieces} tokens for max_tokens {}",
                            request.max_tokens
                        )));
                    }
                    first_token.get_or_insert_with(|| started.elapsed());
                    text.push_str(piece);
                    on_event(Event::Token { id: 0, text: piece });
                }
                match choice["finish_reason"].as_str() {
                    Some("stop") => finish = FinishReason::Stop,
                    Some("length") => finish = FinishReason::Length,
                    _ => {}
                }
                if let Some(p) = v["usage"]["prompt_tokens"].as_u64() {
                    prompt_tokens = p as usize;
                }
            }
        }
        let first = first_token.unwrap_or_else(|| started.elapsed());
        Ok(Attempt::Done(Generation {
            text,
            tokens: Vec::new(),
            finish,
            timings: Timings {
                prompt_tokens,
                prompt: first,
                generated_tokens: pieces,
                generation: started.elapsed().saturating_sub(first),
                first_token: first,
            },
        }))
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
            let mut backoff = self.config.backoff;
            let mut attempt = 0;
            let generation = loop {
                if let Err(open) = self.breaker.check() {
                    return Err(self.unavailable(open.to_string()));
                }
                match self.attempt(&req, style, on_event).await? {
                    Attempt::Done(g) => break Some(g),
                    Attempt::SchemaRefused(why) => {
                        if self.config.schema_support == SchemaSupport::Always {
                            return Err(Error::Http(format!(
                                "{}: the server refused response_format: {why}",
                                self.shown_url()
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
                        break None;
                    }
                    Attempt::Retry(why) if attempt < self.config.max_retries => {
                        attempt += 1;
                        tracing::warn!(
                            "{}: {why}; retry {attempt} in {backoff:?}",
                            self.shown_url()
                        );
                        tokio::time::sleep(backoff).await;
                        backoff *= 2;
                    }
                    Attempt::Retry(why) => {
                        return Err(
                            self.unavailable(format!("{why} (gave up after {attempt} retries)"))
                        );
                    }
                }
            };
            // The server refused the structured-output request: ask again the next way.
            let Some(generation) = generation else {
                continue;
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

impl TextBackend for HttpBackend {
    fn describe(&self) -> String {
        format!("{} at {}", self.config.model, self.endpoint.shown())
    }

    fn generate(
        &mut self,
        request: &GenerationRequest,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<Generation> {
        let rt = self.runtime.clone();
        rt.block_on(self.generate_async(request, on_event))
    }
}

#[cfg(test)]
mod tests;
