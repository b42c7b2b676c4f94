//! Image servers over HTTP as [`ImageBackend`]s: AUTOMATIC1111/Forge (`/sdapi/v1/txt2img` and
//! `/sdapi/v1/img2img`), `ComfyUI` (a workflow JSON with `{{prompt}}`, `{{seed}}`... slots, queued
//! on `/prompt`, polled on `/history/{id}`, fetched from `/view`) and the `OpenAI`-style images API
//! (`/v1/images/generations`, base64 PNG answers).
//!
//! Three timeouts (connect; idle, the longest silence before the answer's head and between its
//! chunks; total, one request), a cap on an answer's size, retries with exponential backoff on
//! connection errors, 429 and 5xx, but not on a stall; and a circuit breaker: after
//! [`breaker_threshold`](HttpImageConfig::breaker_threshold) consecutive connection failures,
//! stalls or 5xx, requests fail fast for [`breaker_cooldown`](HttpImageConfig::breaker_cooldown).
//!
//! Secrets: API keys only from the environment (`api_key_env`); credentials in the URL
//! (`http://user:pass@127.0.0.1:7860`, AUTOMATIC1111's `--api-auth`) are sent as HTTP basic auth
//! (they win over the key) and appear nowhere else: [`ImageBackend::describe`], which the CLI
//! writes into provenance and PNG text, and every error and log line use
//! [`redact_url`](crate::endpoint::redact_url)'s form. Either goes only over `https` or to a
//! loopback host unless [`HttpImageConfig::allow_plain_http_secrets`] (or
//! [`PLAIN_HTTP_SECRETS_ENV`](crate::endpoint::PLAIN_HTTP_SECRETS_ENV)`=1`) says otherwise.
//!
//! Each call blocks on the backend's own Tokio runtime: call it from a worker thread, not from
//! inside another runtime.
//!
//! No step previews: these servers answer with the finished image only, so every
//! [`ImageEvent::Step`] they report has `preview: None`, whatever
//! [`ImageRequest::preview_every`] asks.

use std::time::Duration;

use base64::Engine;
use image::RgbaImage;
use serde_json::{Value, json};

use super::backend::{CancelToken, Error, ImageBackend, ImageEvent, ImageRequest, Result};
use crate::endpoint::wire::{self, BodyError, Waited};
use crate::endpoint::{Breaker, Endpoint};

/// Which server protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protocol {
    /// AUTOMATIC1111 / Forge web UI API.
    Automatic1111,
    /// `ComfyUI` with this workflow (API format) holding the slots.
    ComfyUi {
        /// The workflow JSON text with `"{{prompt}}"`, `"{{negative_prompt}}"`, `"{{seed}}"`,
        /// `"{{width}}"`, `"{{height}}"`, `"{{steps}}"`, `"{{guidance}}"`, `"{{checkpoint}}"` slots.
        workflow: String,
        /// The checkpoint file name for `{{checkpoint}}`.
        checkpoint: String,
    },
    /// `OpenAI`-style images API with this model name.
    OpenAi {
        /// The model, e.g. `gpt-image-1` or whatever the compatible server serves.
        model: String,
    },
}

/// The default `ComfyUI` txt2img workflow (checkpoint → CLIP encode ×2 → `KSampler` → VAE decode
/// → save), in API format with slots.
pub const COMFYUI_TXT2IMG: &str = include_str!("comfyui_txt2img.json");

/// Connection settings, and the limits that bound a broken server. `Debug` shows the URL without
/// credentials.
#[derive(Clone)]
pub struct HttpImageConfig {
    /// Server base URL, e.g. `http://127.0.0.1:7860`. Userinfo (`http://user:pass@host`) is sent
    /// as HTTP basic auth and shown nowhere.
    pub base_url: String,
    /// The protocol.
    pub protocol: Protocol,
    /// Environment variable holding the API key (sent as `Authorization: Bearer`), if set and
    /// the URL carries no credentials.
    pub api_key_env: String,
    /// Total time one request may take, from connect to the last byte (image generation is
    /// slow).
    pub timeout: Duration,
    /// Connection timeout.
    pub connect_timeout: Duration,
    /// The longest silence: from sending a request to the answer's head, then between chunks.
    /// AUTOMATIC1111 and the `OpenAI` images API send nothing until the image is done, so this
    /// also bounds one image's time there. A stall fails once and is not retried.
    pub idle_timeout: Duration,
    /// Bytes one answer may have; more ends the request with an error.
    pub max_response_bytes: usize,
    /// Retries after the first try.
    pub max_retries: u32,
    /// First backoff; doubles each retry.
    pub backoff: Duration,
    /// `ComfyUI`: time between history polls.
    pub poll_interval: Duration,
    /// Consecutive failures (connection refused or reset, connect or idle timeout, 5xx) that
    /// open the circuit breaker.
    pub breaker_threshold: u32,
    /// How long an open breaker fails requests at once, before one is let through to try.
    pub breaker_cooldown: Duration,
    /// Send the API key or URL credentials over plain `http` to a host that is not loopback
    /// (default: whether [`PLAIN_HTTP_SECRETS_ENV`](crate::endpoint::PLAIN_HTTP_SECRETS_ENV) is
    /// `1`). Without it such a request fails with an error saying so.
    pub allow_plain_http_secrets: bool,
}

impl core::fmt::Debug for HttpImageConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HttpImageConfig")
            .field("base_url", &crate::endpoint::redact_url(&self.base_url))
            .field("protocol", &self.protocol_name())
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

impl HttpImageConfig {
    /// Defaults: 10 min total, 5 s connect and 5 min idle timeouts, answers up to 64 MiB, 3
    /// retries from 500 ms, the breaker open for 30 s after 3 failures in a row, key from
    /// `SPROUT_IMAGE_API_KEY` (`OPENAI_API_KEY` for the `OpenAI` protocol).
    pub fn new(base_url: impl Into<String>, protocol: Protocol) -> Self {
        let api_key_env = match protocol {
            Protocol::OpenAi { .. } => "OPENAI_API_KEY",
            _ => "SPROUT_IMAGE_API_KEY",
        };
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            protocol,
            api_key_env: api_key_env.into(),
            timeout: Duration::from_secs(600),
            connect_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(300),
            max_response_bytes: 64 << 20,
            max_retries: 3,
            backoff: Duration::from_millis(500),
            poll_interval: Duration::from_millis(500),
            breaker_threshold: 3,
            breaker_cooldown: Duration::from_secs(30),
            allow_plain_http_secrets: crate::endpoint::plain_http_secrets_allowed_by_env(),
        }
    }
}

/// How much of an error answer is read (and 300 characters of it shown).
const ERROR_BODY_BYTES: usize = 8 << 10;

/// An image server as an [`ImageBackend`].
pub struct HttpImageBackend {
    config: HttpImageConfig,
    endpoint: Endpoint,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    breaker: Breaker,
}

impl HttpImageBackend {
    /// A backend for `config` (no request is made yet). Fails when the URL carries credentials
    /// that may not be sent to it (plain `http`, not loopback, not allowed).
    pub fn new(config: HttpImageConfig) -> Result<Self> {
        let endpoint = Endpoint::parse(&config.base_url);
        if endpoint.credentials().is_some() {
            endpoint
                .check_secret(
                    "the credentials in the URL",
                    config.allow_plain_http_secrets,
                )
                .map_err(|m| backend_err(&config, &endpoint, m))?;
        }
        // The total and idle limits are enforced in `send`, each with its own message.
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| backend_err(&config, &endpoint, wire::describe(e)))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| Error::Io {
                path: "<tokio runtime>".into(),
                source,
            })?;
        let breaker = Breaker::new(config.breaker_threshold, config.breaker_cooldown);
        Ok(Self {
            config,
            endpoint,
            client,
            runtime,
            breaker,
        })
    }

    fn name(&self) -> &'static str {
        self.config.protocol_name()
    }

    fn err(&self, message: impl Into<String>) -> Error {
        backend_err(&self.config, &self.endpoint, message.into())
    }

    /// Counts a failure that says the server is down; returns `why`.
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
    fn stalled(&self, path: &str) -> Error {
        let why = self.failed(format!(
            "{path}: no byte for {:?} (the idle timeout)",
            self.config.idle_timeout
        ));
        self.err(why)
    }

    /// Sends one request with retries; `body` is JSON for POST, `None` for GET. Returns the bytes.
    async fn send(
        &self,
        path: &str,
        body: Option<&Value>,
        cancel: &CancelToken,
    ) -> Result<Vec<u8>> {
        let url = format!("{}{path}", self.endpoint.url());
        // As shown: without the query (ComfyUI's /view names files there).
        let shown = path.split('?').next().unwrap_or(path);
        let mut backoff = self.config.backoff;
        let mut attempt = 0;
        loop {
            if let Err(open) = self.breaker.check() {
                return Err(self.err(format!("{shown}: {open}")));
            }
            let mut req = match body {
                Some(b) => self.client.post(&url).json(b),
                None => self.client.get(&url),
            };
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
                    .map_err(|m| self.err(m))?;
                req = req.bearer_auth(key);
            }
            let total = self.config.timeout;
            let why = match tokio::time::timeout(total, self.once(req, shown, cancel)).await {
                Ok(Ok(Ok(bytes))) => return Ok(bytes),
                Ok(Ok(Err(why))) => why,
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    return Err(self.err(format!(
                        "{shown}: no complete answer in {total:?}, the total timeout (HttpImageConfig::timeout)"
                    )));
                }
            };
            if attempt >= self.config.max_retries {
                return Err(self.err(format!("{why} (gave up after {attempt} retries)")));
            }
            attempt += 1;
            tracing::warn!(
                "{}{why}; retry {attempt} in {backoff:?}",
                self.endpoint.shown()
            );
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }

    /// One request: the body, `Ok(Err(why))` for a failure worth a retry, or `Err` for one that
    /// is not.
    async fn once(
        &self,
        req: reqwest::RequestBuilder,
        shown: &str,
        cancel: &CancelToken,
    ) -> Result<core::result::Result<Vec<u8>, String>> {
        let idle = self.config.idle_timeout;
        let resp = match wire::within(req.send(), idle, cancel).await {
            Waited::Done(Ok(r)) => r,
            Waited::Done(Err(e)) if e.is_builder() => {
                return Err(self.err(format!("{shown}: {}", wire::describe(e))));
            }
            Waited::Done(Err(e)) => {
                return Ok(Err(self.failed(format!("{shown}: {}", wire::describe(e)))));
            }
            Waited::TimedOut => return Err(self.stalled(shown)),
            Waited::Cancelled => return Err(Error::Cancelled),
        };
        let status = resp.status();
        if status.is_success() {
            self.breaker.success();
            let cap = self.config.max_response_bytes;
            return match wire::read_body(resp, cap, idle, cancel).await {
                Ok(bytes) => Ok(Ok(bytes)),
                Err(BodyError::TooBig(_)) => Err(self.err(format!(
                    "{shown}: the answer passed {cap} bytes (HttpImageConfig::max_response_bytes)"
                ))),
                Err(BodyError::Idle) => Err(self.stalled(shown)),
                Err(BodyError::Cancelled) => Err(Error::Cancelled),
                // Nothing reached the caller yet: worth another try.
                Err(BodyError::Broken(why)) => Ok(Err(self.failed(format!("{shown}: {why}")))),
            };
        }
        if status.is_server_error() {
            return Ok(Err(self.failed(format!("{shown}: HTTP {status}"))));
        }
        self.breaker.success();
        if status.as_u16() == 429 {
            return Ok(Err(format!("{shown}: HTTP {status}")));
        }
        let text = match wire::read_body(resp, ERROR_BODY_BYTES, idle, cancel).await {
            Ok(b) | Err(BodyError::TooBig(b)) => String::from_utf8_lossy(&b).into_owned(),
            Err(_) => String::new(),
        };
        Err(self.err(format!(
            "{shown}: HTTP {status}: {}",
            text.chars().take(300).collect::<String>()
        )))
    }

    async fn send_json(
        &self,
        path: &str,
        body: Option<&Value>,
        cancel: &CancelToken,
    ) -> Result<Value> {
        let bytes = self.send(path, body, cancel).await?;
        serde_json::from_slice(&bytes).map_err(|e| self.err(format!("{path}: not JSON: {e}")))
    }

    fn decode_b64_png(&self, b64: &str) -> Result<RgbaImage> {
        // A1111 may prefix a data URL.
        let b64 = b64.rsplit(',').next().unwrap_or(b64);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|e| self.err(format!("image is not base64: {e}")))?;
        Ok(image::load_from_memory(&bytes)?.to_rgba8())
    }

    async fn automatic1111(&self, req: &ImageRequest) -> Result<RgbaImage> {
        let mut body = json!({
            "prompt": req.prompt,
            "negative_prompt": req.negative_prompt,
            "width": req.width,
            "height": req.height,
            "steps": req.steps,
            "cfg_scale": req.guidance,
            "seed": req.seed,
            "batch_size": 1,
            "n_iter": 1,
        });
        let path = match &req.init {
            Some(init) => {
                let mut png = Vec::new();
                init.image
                    .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
                body["init_images"] =
                    json!([base64::engine::general_purpose::STANDARD.encode(&png)]);
                body["denoising_strength"] = json!(init.strength);
                "/sdapi/v1/img2img"
            }
            None => "/sdapi/v1/txt2img",
        };
        let answer = self.send_json(path, Some(&body), &req.cancel).await?;
        let first = answer["images"][0]
            .as_str()
            .ok_or_else(|| self.err(format!("{path}: no `images` in the answer")))?;
        self.decode_b64_png(first)
    }

    async fn comfyui(
        &self,
        req: &ImageRequest,
        workflow: &str,
        checkpoint: &str,
        on_event: &mut dyn FnMut(ImageEvent<'_>),
    ) -> Result<RgbaImage> {
        if req.init.is_some() {
            return Err(Error::InvalidRequest("img2img over ComfyUI needs a workflow with an image loader; use txt2img or another backend".into()));
        }
        let template: Value = serde_json::from_str(workflow)
            .map_err(|e| self.err(format!("workflow is not JSON: {e}")))?;
        let graph = fill_slots(template, req, checkpoint);
        let queued = self
            .send_json(
                "/prompt",
                Some(&json!({ "prompt": graph, "client_id": "sprout" })),
                &req.cancel,
            )
            .await?;
        let id = queued["prompt_id"]
            .as_str()
            .ok_or_else(|| self.err("/prompt: no `prompt_id` in the answer"))?
            .to_owned();
        let started = std::time::Instant::now();
        let image = loop {
            req.check_cancelled()?;
            let history = self
                .send_json(&format!("/history/{id}"), None, &req.cancel)
                .await?;
            let images = history[&id]["outputs"].as_object().and_then(|outs| {
                outs.values()
                    .find_map(|o| o["images"].as_array().and_then(|a| a.first().cloned()))
            });
            if let Some(image) = images {
                break image;
            }
            if started.elapsed() > self.config.timeout {
                return Err(self.err(format!(
                    "prompt {id} did not finish in {:?}",
                    self.config.timeout
                )));
            }
            tokio::time::sleep(self.config.poll_interval).await;
        };
        let q = |k: &str| urlencode(image[k].as_str().unwrap_or(""));
        let bytes = self
            .send(
                &format!(
                    "/view?filename={}&subfolder={}&type={}",
                    q("filename"),
                    q("subfolder"),
                    q("type")
                ),
                None,
                &req.cancel,
            )
            .await?;
        on_event(ImageEvent::Step {
            step: req.steps,
            total: req.steps,
            preview: None,
        });
        Ok(image::load_from_memory(&bytes)?.to_rgba8())
    }

    async fn openai(&self, req: &ImageRequest, model: &str) -> Result<RgbaImage> {
        if req.init.is_some() {
            return Err(Error::InvalidRequest(
                "img2img is not part of the OpenAI-style generations API".into(),
            ));
        }
        let body = json!({
            "model": model,
            "prompt": req.prompt,
            "n": 1,
            "size": format!("{}x{}", req.width, req.height),
            "response_format": "b64_json",
        });
        let answer = self
            .send_json("/v1/images/generations", Some(&body), &req.cancel)
            .await?;
        let b64 = answer["data"][0]["b64_json"].as_str().ok_or_else(|| {
            self.err("/v1/images/generations: no `data[0].b64_json` in the answer")
        })?;
        self.decode_b64_png(b64)
    }
}

fn backend_err(config: &HttpImageConfig, endpoint: &Endpoint, message: String) -> Error {
    Error::Backend {
        backend: format!("{} at {}", config.protocol_name(), endpoint.shown()),
        message,
    }
}

impl HttpImageConfig {
    fn protocol_name(&self) -> &'static str {
        match self.protocol {
            Protocol::Automatic1111 => "automatic1111",
            Protocol::ComfyUi { .. } => "comfyui",
            Protocol::OpenAi { .. } => "openai",
        }
    }
}

/// Replaces every string value that is exactly a slot (`"{{seed}}"`) with the request's value
/// (numbers as numbers), recursively.
pub fn fill_slots(value: Value, req: &ImageRequest, checkpoint: &str) -> Value {
    match value {
        Value::String(s) => match s.as_str() {
            "{{prompt}}" => json!(req.prompt),
            "{{negative_prompt}}" => json!(req.negative_prompt),
            "{{seed}}" => json!(req.seed),
            "{{width}}" => json!(req.width),
            "{{height}}" => json!(req.height),
            "{{steps}}" => json!(req.steps),
            "{{guidance}}" => json!(req.guidance),
            "{{checkpoint}}" => json!(checkpoint),
            _ => Value::String(s),
        },
        Value::Array(a) => Value::Array(
            a.into_iter()
                .map(|v| fill_slots(v, req, checkpoint))
                .collect(),
        ),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| (k, fill_slots(v, req, checkpoint)))
                .collect(),
        ),
        other => other,
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl ImageBackend for HttpImageBackend {
    fn describe(&self) -> String {
        let what = match &self.config.protocol {
            Protocol::Automatic1111 => String::new(),
            Protocol::ComfyUi { checkpoint, .. } => format!(" {checkpoint}"),
            Protocol::OpenAi { model } => format!(" {model}"),
        };
        format!("{}{what} at {}", self.name(), self.endpoint.shown())
    }

    fn generate(
        &mut self,
        req: &ImageRequest,
        on_event: &mut dyn FnMut(ImageEvent<'_>),
    ) -> Result<RgbaImage> {
        req.validate()?;
        req.check_cancelled()?;
        let img = match &self.config.protocol {
            Protocol::Automatic1111 => {
                let img = self.runtime.block_on(self.automatic1111(req))?;
                on_event(ImageEvent::Step {
                    step: req.steps,
                    total: req.steps,
                    preview: None,
                });
                img
            }
            Protocol::ComfyUi {
                workflow,
                checkpoint,
            } => self
                .runtime
                .block_on(self.comfyui(req, workflow, checkpoint, on_event))?,
            Protocol::OpenAi { model } => {
                let img = self.runtime.block_on(self.openai(req, model))?;
                on_event(ImageEvent::Step {
                    step: req.steps,
                    total: req.steps,
                    preview: None,
                });
                img
            }
        };
        if img.dimensions() != (req.width, req.height) {
            tracing::info!(
                "{} answered {}x{}, resizing to {}x{}",
                self.describe(),
                img.width(),
                img.height(),
                req.width,
                req.height
            );
            return Ok(image::imageops::resize(
                &img,
                req.width,
                req.height,
                image::imageops::FilterType::Lanczos3,
            ));
        }
        Ok(img)
    }
}

#[cfg(test)]
mod tests;
