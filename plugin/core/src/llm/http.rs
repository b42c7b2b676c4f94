//! `OpenAI`-compatible chat servers: llama.cpp's server, Ollama, `vLLM`, `OpenAI`.
//!
//! Streaming (server-sent events), `response_format: json_schema` where the server takes it
//! (otherwise the schema goes into the prompt and the output is checked against it, with
//! retries), timeouts, retries with exponential backoff on connection errors, 429 and 5xx, and a
//! limit on concurrent requests shared by clones. The API key is read from an environment
//! variable at request time and never stored, logged or written.
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

/// How to reach a server.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Base URL up to and including `/v1`, e.g. `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    /// The model name the server expects.
    pub model: String,
    /// Name of the environment variable that holds the API key (none sent when unset or empty).
    pub api_key_env: String,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Connection timeout.
    pub connect_timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff; doubles each retry.
    pub backoff: Duration,
    /// Requests in flight at once (over all clones of the backend).
    pub max_concurrency: usize,
    /// Structured output mode.
    pub schema_support: SchemaSupport,
    /// Attempts at a valid output when the schema is only in the prompt.
    pub validation_attempts: u32,
}

impl HttpConfig {
    /// Defaults for a server at `base_url` serving `model`.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            api_key_env: "SPROUT_LLM_API_KEY".into(),
            timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(5),
            max_retries: 3,
            backoff: Duration::from_millis(250),
            max_concurrency: 4,
            schema_support: SchemaSupport::Auto,
            validation_attempts: 3,
        }
    }
}

/// A backend over an OpenAI-compatible server. Clones share the connection pool, the runtime
/// and the concurrency limit.
#[derive(Clone)]
pub struct HttpBackend {
    config: HttpConfig,
    client: reqwest::Client,
    runtime: Arc<tokio::runtime::Runtime>,
    permits: Arc<tokio::sync::Semaphore>,
    /// One of the `STYLE_*` constants: how structured output is asked for.
    schema_state: Arc<AtomicU8>,
}

impl core::fmt::Debug for HttpBackend {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HttpBackend")
            .field("base_url", &self.config.base_url)
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

enum Attempt {
    Done(Generation),
    Retry(String),
    SchemaRefused(String),
}

impl HttpBackend {
    /// A backend for `config`.
    pub fn new(config: HttpConfig) -> Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .build()
            .map_err(|e| Error::Http(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Http(e.to_string()))?;
        let permits = Arc::new(tokio::sync::Semaphore::new(config.max_concurrency.max(1)));
        let schema_state = Arc::new(AtomicU8::new(match config.schema_support {
            SchemaSupport::Auto | SchemaSupport::Always => STYLE_JSON_SCHEMA,
            SchemaSupport::Never => STYLE_PROMPT,
        }));
        Ok(Self {
            config,
            client,
            runtime: Arc::new(runtime),
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

    async fn attempt(
        &self,
        request: &GenerationRequest,
        style: u8,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<Attempt> {
        let with_schema = style != STYLE_PROMPT && request.constraint.is_some();
        let started = Instant::now();
        let url = format!(
            "{}/chat/completions",
            self.config.base_url.trim_end_matches('/')
        );
        let mut req = self.client.post(&url).json(&self.body(request, style));
        if let Ok(key) = std::env::var(&self.config.api_key_env)
            && !key.is_empty()
        {
            req = req.bearer_auth(key);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return Ok(Attempt::Retry(format!("{url}: {}", without_url(&e)))),
        };
        let status = resp.status();
        if !status.is_success() {
            let text = resp.text().await.unwrap_or_default();
            let text: String = text.chars().take(400).collect();
            // Servers refuse an unknown response_format with 400 or 422, some (llama-cpp-python)
            // with 500 and a validation message naming it.
            if with_schema && status.is_client_error() && status.as_u16() != 429
                || with_schema && status.is_server_error() && text.contains("response_format")
            {
                return Ok(Attempt::SchemaRefused(format!("HTTP {status}: {text}")));
            }
            if status.as_u16() == 429 || status.is_server_error() {
                return Ok(Attempt::Retry(format!("{url}: HTTP {status}: {text}")));
            }
            return Err(Error::Http(format!("{url}: HTTP {status}: {text}")));
        }
        let mut stream = resp.bytes_stream();
        let mut buf: Vec<u8> = Vec::new();
        let mut text = String::new();
        let mut pieces = 0usize;
        let mut first_token = None;
        let mut finish = FinishReason::Length;
        let mut prompt_tokens = 0;
        let mut done = false;
        while let Some(chunk) = stream.next().await {
            if request.cancel.is_cancelled() {
                finish = FinishReason::Cancelled;
                break;
            }
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) if text.is_empty() => {
                    return Ok(Attempt::Retry(format!("{url}: {}", without_url(&e))));
                }
                Err(e) => {
                    return Err(Error::Http(format!(
                        "{url}: stream broke: {}",
                        without_url(&e)
                    )));
                }
            };
            buf.extend_from_slice(&chunk);
            while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = buf.drain(..=nl).collect();
                let line = String::from_utf8_lossy(&line);
                let line = line.trim();
                let Some(data) = line.strip_prefix("data:") else {
                    continue;
                };
                let data = data.trim();
                if data == "[DONE]" {
                    done = true;
                    break;
                }
                let v: Value = serde_json::from_str(data)
                    .map_err(|e| Error::Http(format!("bad event from server: {e}: {data}")))?;
                if let Some(err) = v.get("error") {
                    return Err(Error::Http(format!("server error: {err}")));
                }
                let choice = &v["choices"][0];
                if let Some(piece) = choice["delta"]["content"].as_str()
                    && !piece.is_empty()
                {
                    first_token.get_or_insert_with(|| started.elapsed());
                    text.push_str(piece);
                    pieces += 1;
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
            if done {
                break;
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
                match self.attempt(&req, style, on_event).await? {
                    Attempt::Done(g) => break Some(g),
                    Attempt::SchemaRefused(why) => {
                        if self.config.schema_support == SchemaSupport::Always {
                            return Err(Error::Http(format!(
                                "the server refused response_format: {why}"
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
                        tracing::warn!("{why}; retry {attempt} in {backoff:?}");
                        tokio::time::sleep(backoff).await;
                        backoff *= 2;
                    }
                    Attempt::Retry(why) => {
                        return Err(Error::Http(format!(
                            "{why} (gave up after {attempt} retries)"
                        )));
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

/// A reqwest error without the URL's query (which could hold secrets in some setups).
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url()
        && let Some(q) = u.query()
    {
        s = s.replace(q, "…");
    }
    s
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
        format!("{} at {}", self.config.model, self.config.base_url)
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
mod tests {
    use super::*;
    use crate::llm::ChatMessage;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::Mutex;

    /// A scripted OpenAI-style server on loopback: answers each connection with the next reply.
    fn serve(replies: Vec<(u16, String)>) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        std::thread::spawn(move || {
            for (status, body) in replies {
                let Ok((mut s, _)) = listener.accept() else {
                    return;
                };
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut len = 0;
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    r.read_line(&mut line).unwrap();
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                    head.push_str(&line);
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut req = vec![0; len];
                r.read_exact(&mut req).unwrap();
                seen2
                    .lock()
                    .unwrap()
                    .push(format!("{head}{}", String::from_utf8_lossy(&req)));
                let ctype = if status == 200 {
                    "text/event-stream"
                } else {
                    "application/json"
                };
                let _ = write!(
                    s,
                    "HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (format!("http://{addr}/v1"), seen)
    }

    fn sse(pieces: &[&str]) -> String {
        let mut s = String::new();
        for p in pieces {
            s.push_str(&format!(
                "data: {}\n\n",
                json!({"choices": [{"delta": {"content": p}, "finish_reason": null}]})
            ));
        }
        s.push_str(&format!(
            "data: {}\n\n",
            json!({"choices": [{"delta": {}, "finish_reason": "stop"}]})
        ));
        s.push_str("data: [DONE]\n\n");
        s
    }

    fn config(url: String) -> HttpConfig {
        let mut c = HttpConfig::new(url, "test-model");
        c.backoff = Duration::from_millis(10);
        c.api_key_env = "SPROUT_TEST_NO_SUCH_KEY_VAR".into();
        c
    }

    #[test]
    fn streams_tokens_and_retries_server_errors() {
        let (url, seen) = serve(vec![(503, "{}".into()), (200, sse(&["Hel", "lo"]))]);
        let mut b = HttpBackend::new(config(url)).unwrap();
        let mut streamed = Vec::new();
        let req = GenerationRequest::new(vec![ChatMessage::user("hi")]).with_max_tokens(5);
        let g = b
            .generate(&req, &mut |e| {
                if let Event::Token { text, .. } = e {
                    streamed.push(text.to_owned());
                }
            })
            .unwrap();
        assert_eq!(g.text, "Hello");
        assert_eq!(streamed, ["Hel", "lo"]);
        assert_eq!(g.finish, FinishReason::Stop);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "one retry after the 503");
        assert!(seen[1].contains(r#""stream":true"#) && seen[1].contains(r#""max_tokens":5"#));
        assert!(!seen[1].to_ascii_lowercase().contains("authorization"));
    }

    #[test]
    fn refused_response_format_falls_back_to_prompt_and_check_with_retry() {
        let schema = json!({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"], "additionalProperties": false});
        let (url, seen) = serve(vec![
            (400, r#"{"error":"response_format not supported"}"#.into()),
            (
                500,
                r#"{"error":"response_format: input should be 'text'"}"#.into(),
            ),
            (200, sse(&["{\"n\": \"x\"}"])),
            (200, sse(&["{\"n\": ", "4}"])),
        ]);
        let mut b = HttpBackend::new(config(url)).unwrap();
        let req = GenerationRequest::new(vec![ChatMessage::user("a number")])
            .with_constraint(Constraint::JsonSchema(schema));
        let g = b.generate(&req, &mut |_| {}).unwrap();
        assert_eq!(g.text, r#"{"n": 4}"#);
        let seen = seen.lock().unwrap();
        assert!(seen[0].contains(r#""type":"json_schema""#));
        assert!(seen[1].contains(r#""type":"json_object""#), "{}", seen[1]);
        assert!(!seen[2].contains("response_format") && seen[2].contains("JSON schema"));
        assert_eq!(
            seen.len(),
            4,
            "one more try after the output failed the check"
        );
    }

    #[test]
    fn client_errors_are_not_retried_and_connection_errors_give_up() {
        let (url, seen) = serve(vec![(401, r#"{"error":"no key"}"#.into())]);
        let mut b = HttpBackend::new(config(url)).unwrap();
        let req = GenerationRequest::new(vec![ChatMessage::user("hi")]);
        let e = b.generate(&req, &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("401"), "{e}");
        assert_eq!(seen.lock().unwrap().len(), 1);

        // Nothing listens on this port: bounded retries, then a clear error.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut c = config(format!("http://127.0.0.1:{port}/v1"));
        c.max_retries = 2;
        let mut b = HttpBackend::new(c).unwrap();
        let e = b.generate(&req, &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("gave up after 2 retries"), "{e}");
    }

    #[test]
    fn check_json_follows_the_schema() {
        let schema = json!({"type": "object", "properties": {"who": {"enum": ["ana"]}}, "required": ["who"]});
        assert!(check_json(&schema, r#"{ "who" : "ana" }"#).is_ok());
        assert!(check_json(&schema, r#"{"who": "bob"}"#).is_err());
        assert!(check_json(&schema, r#"{"who": "ana""#).is_err());
    }
}
