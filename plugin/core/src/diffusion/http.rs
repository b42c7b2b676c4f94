//! Image servers over HTTP as [`ImageBackend`]s: AUTOMATIC1111/Forge (`/sdapi/v1/txt2img` and
//! `/sdapi/v1/img2img`), `ComfyUI` (a workflow JSON with `{{prompt}}`, `{{seed}}`... slots, queued
//! on `/prompt`, polled on `/history/{id}`, fetched from `/view`) and the `OpenAI`-style images API
//! (`/v1/images/generations`, base64 PNG answers).
//!
//! Hostile or broken servers cost a bounded time and memory: requests go through the shared
//! client ([`crate::endpoint`]'s `client.rs`), which bounds every wait and body by
//! [`HttpImageConfig::limits`] (connect, idle and total timeouts, a cap on an answer's size),
//! retries connection errors, 429 and 5xx with exponential backoff but not a stall, and keeps a
//! circuit breaker that fails requests fast while the server is down.
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
use crate::endpoint::Limits;
use crate::endpoint::client::{BodyError, Client, Sent, Try};

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
    /// The bounds on every request (image generation is slow: AUTOMATIC1111 and the `OpenAI`
    /// images API send nothing until the image is done, so the idle timeout also bounds one
    /// image's time there).
    pub limits: Limits,
    /// `ComfyUI`: time between history polls.
    pub poll_interval: Duration,
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
            .field("limits", &self.limits)
            .field("poll_interval", &self.poll_interval)
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
            limits: Limits {
                idle_timeout: Duration::from_secs(300),
                max_response_bytes: 64 << 20,
                backoff: Duration::from_millis(500),
                ..Limits::default()
            },
            poll_interval: Duration::from_millis(500),
            allow_plain_http_secrets: crate::endpoint::plain_http_secrets_allowed_by_env(),
        }
    }
}

/// An image server as an [`ImageBackend`].
pub struct HttpImageBackend {
    config: HttpImageConfig,
    client: Client,
}

impl HttpImageBackend {
    /// A backend for `config` (no request is made yet). Fails when the URL carries credentials
    /// that may not be sent to it (plain `http`, not loopback, not allowed).
    pub fn new(config: HttpImageConfig) -> Result<Self> {
        let client = Client::new(
            &config.base_url,
            &config.api_key_env,
            config.allow_plain_http_secrets,
            &config.limits,
        )
        .map_err(|m| backend_err(&config, &crate::endpoint::redact_url(&config.base_url), m))?;
        Ok(Self { config, client })
    }

    fn name(&self) -> &'static str {
        self.config.protocol_name()
    }

    fn err(&self, message: impl Into<String>) -> Error {
        backend_err(&self.config, self.client.endpoint().shown(), message.into())
    }

    /// Sends one request with retries; `body` is JSON for POST, `None` for GET. Returns the bytes.
    async fn send(
        &self,
        path: &str,
        body: Option<&Value>,
        cancel: &CancelToken,
    ) -> Result<Vec<u8>> {
        // As shown: without the query (ComfyUI's /view names files there).
        let shown = path.split('?').next().unwrap_or(path);
        let total = self.config.limits.timeout;
        self.client
            .retrying(
                self.client.endpoint().shown(),
                async || {
                    let req = self.client.request(path, body).map_err(|m| self.err(m))?;
                    match tokio::time::timeout(total, self.once(req, shown, cancel)).await {
                        Ok(r) => r,
                        Err(_) => Err(self.err(format!(
                            "{shown}: no complete answer in {total:?}, the total timeout (HttpImageConfig::limits.timeout)"
                        ))),
                    }
                },
                |message| self.err(message),
            )
            .await
    }

    /// One request: the body, [`Try::Again`] for a failure worth a retry, or `Err` for one that
    /// is not.
    async fn once(
        &self,
        req: reqwest::RequestBuilder,
        shown: &str,
        cancel: &CancelToken,
    ) -> Result<Try<Vec<u8>>> {
        let resp = match self.client.send(req, cancel).await {
            Sent::Ok(r) => r,
            Sent::Status(status, text) => {
                return match self.client.refused(status, &text) {
                    Try::Again(why) => Ok(Try::Again(format!("{shown}: {why}"))),
                    Try::Done(why) => Err(self.err(format!("{shown}: {why}"))),
                };
            }
            Sent::Down(why) => return Ok(Try::Again(format!("{shown}: {why}"))),
            Sent::Invalid(why) | Sent::Stalled(why) => {
                return Err(self.err(format!("{shown}: {why}")));
            }
            Sent::Cancelled => return Err(Error::Cancelled),
        };
        let cap = self.config.limits.max_response_bytes;
        match self.client.body(resp, cap, cancel).await {
            Ok(bytes) => Ok(Try::Done(bytes)),
            Err(BodyError::TooBig(_)) => Err(self.err(format!(
                "{shown}: the answer passed {cap} bytes (HttpImageConfig::limits.max_response_bytes)"
            ))),
            Err(BodyError::Idle) => Err(self.err(format!(
                "{shown}: {}",
                self.client.stalled("of the answer's body")
            ))),
            Err(BodyError::Cancelled) => Err(Error::Cancelled),
            // Nothing reached the caller yet: worth another try.
            Err(BodyError::Broken(why)) => Ok(Try::Again(format!(
                "{shown}: {}",
                self.client.failed(why)
            ))),
        }
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
            if started.elapsed() > self.config.limits.timeout {
                return Err(self.err(format!(
                    "prompt {id} did not finish in {:?}",
                    self.config.limits.timeout
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

/// `message` as an error of the server `shown` speaking `config`'s protocol.
fn backend_err(config: &HttpImageConfig, shown: &str, message: String) -> Error {
    Error::Backend {
        backend: format!("{} at {shown}", config.protocol_name()),
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
        format!(
            "{}{what} at {}",
            self.name(),
            self.client.endpoint().shown()
        )
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
                let img = self.client.block_on(self.automatic1111(req))?;
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
                .client
                .block_on(self.comfyui(req, workflow, checkpoint, on_event))?,
            Protocol::OpenAi { model } => {
                let img = self.client.block_on(self.openai(req, model))?;
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
