//! Image servers over HTTP as [`ImageBackend`]s: AUTOMATIC1111/Forge (`/sdapi/v1/txt2img` and
//! `/sdapi/v1/img2img`), `ComfyUI` (a workflow JSON with `{{prompt}}`, `{{seed}}`... slots, queued
//! on `/prompt`, polled on `/history/{id}`, fetched from `/view`) and the `OpenAI`-style images API
//! (`/v1/images/generations`, base64 PNG answers).
//!
//! Timeouts on connect and on the whole request, retries with exponential backoff on connection
//! errors, 429 and 5xx; API keys only from the environment (`api_key_env`). Each call blocks on
//! the backend's own Tokio runtime: call it from a worker thread, not from inside another runtime.
//!
//! No step previews: these servers answer with the finished image only, so every
//! [`ImageEvent::Step`] they report has `preview: None`, whatever
//! [`ImageRequest::preview_every`] asks.

use std::time::Duration;

use base64::Engine;
use image::RgbaImage;
use serde_json::{Value, json};

use super::backend::{Error, ImageBackend, ImageEvent, ImageRequest, Result};

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

/// Connection settings.
#[derive(Debug, Clone)]
pub struct HttpImageConfig {
    /// Server base URL, e.g. `http://127.0.0.1:7860`.
    pub base_url: String,
    /// The protocol.
    pub protocol: Protocol,
    /// Environment variable holding the API key (sent as `Authorization: Bearer`), if set.
    pub api_key_env: String,
    /// Whole-request timeout (image generation is slow).
    pub timeout: Duration,
    /// Connection timeout.
    pub connect_timeout: Duration,
    /// Retries after the first try.
    pub max_retries: u32,
    /// First backoff; doubles each retry.
    pub backoff: Duration,
    /// `ComfyUI`: time between history polls.
    pub poll_interval: Duration,
}

impl HttpImageConfig {
    /// Defaults: 10 min timeout, 5 s connect timeout, 3 retries from 500 ms, key from
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
            max_retries: 3,
            backoff: Duration::from_millis(500),
            poll_interval: Duration::from_millis(500),
        }
    }
}

/// An image server as an [`ImageBackend`].
pub struct HttpImageBackend {
    config: HttpImageConfig,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl HttpImageBackend {
    /// A backend for `config` (no request is made yet).
    pub fn new(config: HttpImageConfig) -> Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .build()
            .map_err(|e| backend_err(&config, e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| Error::Io {
                path: "<tokio runtime>".into(),
                source,
            })?;
        Ok(Self {
            config,
            client,
            runtime,
        })
    }

    fn name(&self) -> &'static str {
        self.config.protocol_name()
    }

    fn err(&self, message: impl Into<String>) -> Error {
        backend_err(&self.config, message.into())
    }

    /// Sends one request with retries; `body` is JSON for POST, `None` for GET. Returns the bytes.
    async fn send(&self, path: &str, body: Option<&Value>) -> Result<Vec<u8>> {
        let url = format!("{}{path}", self.config.base_url);
        let mut backoff = self.config.backoff;
        let mut attempt = 0;
        loop {
            let mut req = match body {
                Some(b) => self.client.post(&url).json(b),
                None => self.client.get(&url),
            };
            if let Ok(key) = std::env::var(&self.config.api_key_env)
                && !key.is_empty()
            {
                req = req.bearer_auth(key);
            }
            let why = match req.send().await {
                Ok(resp) if resp.status().is_success() => {
                    return resp
                        .bytes()
                        .await
                        .map(|b| b.to_vec())
                        .map_err(|e| self.err(format!("{url}: {e}")));
                }
                Ok(resp) if resp.status().as_u16() == 429 || resp.status().is_server_error() => {
                    format!("{url}: HTTP {}", resp.status())
                }
                Ok(resp) => {
                    let status = resp.status();
                    let text = resp.text().await.unwrap_or_default();
                    return Err(self.err(format!(
                        "{url}: HTTP {status}: {}",
                        text.chars().take(300).collect::<String>()
                    )));
                }
                Err(e) if e.is_connect() || e.is_timeout() || e.is_request() => {
                    format!("{url}: {e}")
                }
                Err(e) => return Err(self.err(format!("{url}: {e}"))),
            };
            if attempt >= self.config.max_retries {
                return Err(self.err(format!("{why} (gave up after {attempt} retries)")));
            }
            attempt += 1;
            tracing::warn!("{why}; retry {attempt} in {backoff:?}");
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }

    async fn send_json(&self, path: &str, body: Option<&Value>) -> Result<Value> {
        let bytes = self.send(path, body).await?;
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
        let answer = self.send_json(path, Some(&body)).await?;
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
            )
            .await?;
        let id = queued["prompt_id"]
            .as_str()
            .ok_or_else(|| self.err("/prompt: no `prompt_id` in the answer"))?
            .to_owned();
        let started = std::time::Instant::now();
        let image = loop {
            req.check_cancelled()?;
            let history = self.send_json(&format!("/history/{id}"), None).await?;
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
            .send_json("/v1/images/generations", Some(&body))
            .await?;
        let b64 = answer["data"][0]["b64_json"].as_str().ok_or_else(|| {
            self.err("/v1/images/generations: no `data[0].b64_json` in the answer")
        })?;
        self.decode_b64_png(b64)
    }
}

fn backend_err(config: &HttpImageConfig, message: String) -> Error {
    Error::Backend {
        backend: format!("{} at {}", config.protocol_name(), config.base_url),
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
        format!("{}{what} at {}", self.name(), self.config.base_url)
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
mod tests {
    use super::*;
    use image::Rgba;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    /// A scripted server on loopback: answers each connection with the next (status, content
    /// type, body) and records every request (head + body).
    fn serve(replies: Vec<(u16, &'static str, Vec<u8>)>) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        std::thread::spawn(move || {
            for (status, ctype, body) in replies {
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
                    if line == "\r\n" || line.is_empty() {
                        break;
                    }
                }
                let mut req = vec![0; len];
                r.read_exact(&mut req).unwrap();
                seen2
                    .lock()
                    .unwrap()
                    .push(format!("{head}{}", String::from_utf8_lossy(&req)));
                let _ = write!(
                    s,
                    "HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(&body);
            }
        });
        (format!("http://{addr}"), seen)
    }

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = RgbaImage::from_fn(w, h, |x, y| Rgba([(x * 10) as u8, (y * 10) as u8, 77, 255]));
        let mut out = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn config(url: String, protocol: Protocol) -> HttpImageConfig {
        let mut c = HttpImageConfig::new(url, protocol);
        c.backoff = Duration::from_millis(10);
        c.poll_interval = Duration::from_millis(10);
        c.api_key_env = "SPROUT_TEST_IMAGE_KEY_NOT_SET".into();
        c
    }

    fn body(request: &str) -> Value {
        serde_json::from_str(request.split("\r\n\r\n").nth(1).unwrap()).unwrap()
    }

    #[test]
    fn automatic1111_txt2img_and_img2img_follow_the_sdapi_contract_and_retry_5xx() {
        let answer = |w, h| {
            json!({ "images": [b64(&png(w, h))], "parameters": {}, "info": "{}" })
                .to_string()
                .into_bytes()
        };
        let (url, seen) = serve(vec![
            (503, "text/plain", b"busy".to_vec()),
            (200, "application/json", answer(16, 8)),
            (200, "application/json", answer(16, 8)),
        ]);
        let mut b = HttpImageBackend::new(config(url, Protocol::Automatic1111)).unwrap();
        let req = ImageRequest::new("a turnip")
            .with_size(16, 8)
            .with_steps(12)
            .with_seed(42)
            .with_negative_prompt("blurry");
        let mut events = 0;
        let img = b.generate(&req, &mut |_| events += 1).unwrap();
        assert_eq!(img.dimensions(), (16, 8));
        assert_eq!(img.get_pixel(3, 2), &Rgba([30, 20, 77, 255]));
        assert_eq!(events, 1);
        let init = RgbaImage::from_pixel(16, 8, Rgba([1, 2, 3, 255]));
        b.generate(&req.clone().with_init(init, 0.4), &mut |_| {})
            .unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 3, "one retry after the 503");
        assert!(
            seen[1].starts_with("POST /sdapi/v1/txt2img "),
            "{}",
            seen[1]
        );
        let t = body(&seen[1]);
        assert_eq!(
            (t["prompt"].as_str(), t["negative_prompt"].as_str()),
            (Some("a turnip"), Some("blurry"))
        );
        assert_eq!(
            (
                t["width"].as_u64(),
                t["height"].as_u64(),
                t["steps"].as_u64(),
                t["seed"].as_u64()
            ),
            (Some(16), Some(8), Some(12), Some(42))
        );
        assert!(
            seen[2].starts_with("POST /sdapi/v1/img2img "),
            "{}",
            seen[2]
        );
        let i = body(&seen[2]);
        assert_eq!(i["denoising_strength"].as_f64(), Some(0.4));
        let sent = base64::engine::general_purpose::STANDARD
            .decode(i["init_images"][0].as_str().unwrap())
            .unwrap();
        assert_eq!(
            image::load_from_memory(&sent)
                .unwrap()
                .to_rgba8()
                .get_pixel(0, 0),
            &Rgba([1, 2, 3, 255])
        );
    }

    #[test]
    fn comfyui_queues_the_filled_workflow_polls_history_and_views_the_image() {
        let (url, seen) = serve(vec![
            (200, "application/json", json!({ "prompt_id": "p1", "number": 0 }).to_string().into_bytes()),
            (200, "application/json", b"{}".to_vec()),
            (200, "application/json", json!({ "p1": { "outputs": { "9": { "images": [{ "filename": "sprout 1.png", "subfolder": "", "type": "output" }] } } } }).to_string().into_bytes()),
            (200, "image/png", png(8, 8)),
        ]);
        let protocol = Protocol::ComfyUi {
            workflow: COMFYUI_TXT2IMG.into(),
            checkpoint: "sd_turbo.safetensors".into(),
        };
        let mut b = HttpImageBackend::new(config(url, protocol)).unwrap();
        let req = ImageRequest::new("a fence")
            .with_size(8, 8)
            .with_steps(3)
            .with_seed(9);
        let img = b.generate(&req, &mut |_| {}).unwrap();
        assert_eq!(img.dimensions(), (8, 8));
        let seen = seen.lock().unwrap();
        assert!(seen[0].starts_with("POST /prompt "));
        let graph = &body(&seen[0])["prompt"];
        assert_eq!(graph["3"]["inputs"]["seed"], 9);
        assert_eq!(graph["3"]["inputs"]["steps"], 3);
        assert_eq!(graph["5"]["inputs"]["width"], 8);
        assert_eq!(graph["6"]["inputs"]["text"], "a fence");
        assert_eq!(graph["4"]["inputs"]["ckpt_name"], "sd_turbo.safetensors");
        assert!(seen[1].starts_with("GET /history/p1 ") && seen[2].starts_with("GET /history/p1 "));
        assert!(
            seen[3].starts_with("GET /view?filename=sprout%201.png&subfolder=&type=output "),
            "{}",
            seen[3]
        );
    }

    #[test]
    fn openai_images_api_sends_the_key_from_the_environment_and_decodes_b64() {
        let (url, seen) = serve(vec![(
            200,
            "application/json",
            json!({ "created": 1, "data": [{ "b64_json": b64(&png(32, 32)) }] })
                .to_string()
                .into_bytes(),
        )]);
        let mut c = config(
            url,
            Protocol::OpenAi {
                model: "img-test".into(),
            },
        );
        c.api_key_env = "PATH".into(); // any variable that is set
        let mut b = HttpImageBackend::new(c).unwrap();
        let img = b
            .generate(&ImageRequest::new("a tree").with_size(16, 16), &mut |_| {})
            .unwrap();
        assert_eq!(img.dimensions(), (16, 16), "resized to the request");
        let seen = seen.lock().unwrap();
        assert!(seen[0].starts_with("POST /v1/images/generations "));
        assert!(
            seen[0]
                .to_ascii_lowercase()
                .contains("authorization: bearer "),
            "{}",
            seen[0]
        );
        let g = body(&seen[0]);
        assert_eq!(
            (
                g["model"].as_str(),
                g["size"].as_str(),
                g["response_format"].as_str()
            ),
            (Some("img-test"), Some("16x16"), Some("b64_json"))
        );
    }

    #[test]
    fn unreachable_servers_fail_after_bounded_retries() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut c = config(format!("http://127.0.0.1:{port}"), Protocol::Automatic1111);
        c.max_retries = 2;
        let mut b = HttpImageBackend::new(c).unwrap();
        let err = b
            .generate(&ImageRequest::new("x").with_size(8, 8), &mut |_| {})
            .unwrap_err();
        assert!(err.to_string().contains("gave up after 2 retries"), "{err}");
    }
}
