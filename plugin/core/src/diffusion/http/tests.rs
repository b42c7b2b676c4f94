//! The image server backends against scripted servers on loopback: each protocol's contract,
//! retries, credentials, stalls, oversized answers and dead servers.

use super::*;
use crate::endpoint::test_server::{Server, dead_port, full};
use image::Rgba;
use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// What the scripted server does with one connection.
enum Reply {
    /// (status, content type, body) with a content length.
    Full(u16, &'static str, Vec<u8>),
    /// 200 with the image from [`answer`] if the request carries this `Authorization`
    /// header, else 401.
    IfAuthorized(&'static str),
    /// Reads the request and never answers (the connection stays open).
    Stall,
    /// A 200 JSON head, then bytes until `limit` are written or the client hangs up.
    Endless(usize),
    /// Reads the request and closes the connection without a word.
    Hangup,
}

fn reply(s: &mut TcpStream, request: &str, reply: Reply, written: &AtomicUsize) {
    match reply {
        Reply::Full(status, ctype, body) => full(s, status, ctype, &body),
        Reply::IfAuthorized(header) => {
            if request.lines().any(|l| l.eq_ignore_ascii_case(header)) {
                full(s, 200, "application/json", &answer(8, 8));
            } else {
                full(
                    s,
                    401,
                    "application/json",
                    br#"{"detail":"Not authenticated"}"#,
                );
            }
        }
        Reply::Stall => std::thread::sleep(Duration::from_secs(30)),
        Reply::Endless(limit) => {
            let _ = s.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n",
            );
            let chunk = [b'a'; 64 << 10];
            let mut sent = 0;
            while sent < limit && s.write_all(&chunk).is_ok() {
                sent += chunk.len();
                written.fetch_add(chunk.len(), Ordering::SeqCst);
            }
        }
        Reply::Hangup => {}
    }
}

/// A scripted image server on loopback.
fn serve_replies(replies: Vec<Reply>) -> Server {
    Server::start(replies, reply)
}

/// Whole answers, one per connection.
fn serve(replies: Vec<(u16, &'static str, Vec<u8>)>) -> (String, Arc<Mutex<Vec<String>>>) {
    let s = serve_replies(
        replies
            .into_iter()
            .map(|(status, ctype, body)| Reply::Full(status, ctype, body))
            .collect(),
    );
    (s.url, s.seen)
}

/// An AUTOMATIC1111 answer with a `w`×`h` image.
fn answer(w: u32, h: u32) -> Vec<u8> {
    json!({ "images": [b64(&png(w, h))], "parameters": {}, "info": "{}" })
        .to_string()
        .into_bytes()
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
    c.limits.backoff = Duration::from_millis(10);
    c.poll_interval = Duration::from_millis(10);
    c.api_key_env = "SPROUT_TEST_IMAGE_KEY_NOT_SET".into();
    c.allow_plain_http_secrets = false;
    c
}

fn body(request: &str) -> Value {
    serde_json::from_str(request.split("\r\n\r\n").nth(1).unwrap()).unwrap()
}

#[test]
fn automatic1111_txt2img_and_img2img_follow_the_sdapi_contract_and_retry_5xx() {
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
    let mut c = config(
        format!("http://127.0.0.1:{}", dead_port()),
        Protocol::Automatic1111,
    );
    c.limits.max_retries = 2;
    let mut b = HttpImageBackend::new(c).unwrap();
    let err = b
        .generate(&ImageRequest::new("x").with_size(8, 8), &mut |_| {})
        .unwrap_err();
    assert!(err.to_string().contains("gave up after 2 retries"), "{err}");
}

fn a1111(url: String) -> HttpImageConfig {
    config(url, Protocol::Automatic1111)
}

fn small() -> ImageRequest {
    ImageRequest::new("a turnip").with_size(8, 8)
}

#[test]
fn credentials_in_the_url_go_as_basic_auth_and_never_into_describe_or_errors() {
    // AUTOMATIC1111 started with --api-auth artist:hunter2.
    let server = serve_replies(vec![
        Reply::IfAuthorized("authorization: Basic YXJ0aXN0Omh1bnRlcjI="),
        Reply::Full(500, "text/plain", b"boom".to_vec()),
        Reply::Full(401, "application/json", b"{}".to_vec()),
    ]);
    let url = server.url.replace("http://", "http://artist:hunter2@");
    let mut c = a1111(url);
    c.limits.max_retries = 0;
    let mut b = HttpImageBackend::new(c.clone()).unwrap();
    let img = b.generate(&small(), &mut |_| {}).unwrap();
    assert_eq!(
        img.dimensions(),
        (8, 8),
        "the server saw the right credentials"
    );
    let five = b.generate(&small(), &mut |_| {}).unwrap_err();
    let four = b.generate(&small(), &mut |_| {}).unwrap_err();
    let describe = b.describe();
    assert_eq!(describe, format!("automatic1111 at {}", server.url));
    for shown in [
        describe,
        five.to_string(),
        four.to_string(),
        format!("{c:?}"),
    ] {
        assert!(
            !shown.contains("hunter2") && !shown.contains("artist"),
            "{shown}"
        );
    }
    let seen = server.seen.lock().unwrap();
    assert!(seen.iter().all(|r| !r.contains("hunter2")));
}

#[test]
fn secrets_are_refused_over_plain_http_to_other_hosts() {
    let e = HttpImageBackend::new(a1111("http://artist:hunter2@192.0.2.1:7860".into()))
        .err()
        .unwrap();
    assert!(
        e.to_string().contains("refusing to send the credentials")
            && e.to_string()
                .contains(crate::endpoint::PLAIN_HTTP_SECRETS_ENV)
            && !e.to_string().contains("hunter2"),
        "{e}"
    );
    // An API key to a plain-http host on the network: refused before any connection.
    let mut c = config(
        "http://192.0.2.1:9".into(),
        Protocol::OpenAi { model: "m".into() },
    );
    c.api_key_env = "PATH".into(); // any variable that is set
    c.limits.max_retries = 0;
    c.limits.connect_timeout = Duration::from_millis(100);
    let e = HttpImageBackend::new(c)
        .unwrap()
        .generate(&small(), &mut |_| {})
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("refusing to send the API key in $PATH"),
        "{e}"
    );
    let mut c = a1111("http://artist:hunter2@192.0.2.1:7860".into());
    c.allow_plain_http_secrets = true;
    assert!(HttpImageBackend::new(c).is_ok(), "the opt-in allows it");
}

#[test]
fn a_stalled_image_server_fails_after_one_idle_timeout_and_is_not_retried() {
    let server = serve_replies(vec![Reply::Stall, Reply::Stall]);
    let mut c = a1111(server.url.clone());
    c.limits.idle_timeout = Duration::from_millis(300);
    let e = HttpImageBackend::new(c)
        .unwrap()
        .generate(&small(), &mut |_| {})
        .unwrap_err();
    assert!(e.to_string().contains("idle timeout"), "{e}");
    assert_eq!(server.connections(), 1, "a stall is not retried");
}

#[test]
fn an_endless_answer_is_cut_at_the_size_cap() {
    let limit = 64 << 20;
    let server = serve_replies(vec![Reply::Endless(limit)]);
    let mut c = a1111(server.url.clone());
    c.limits.max_response_bytes = 1 << 20;
    let mut b = HttpImageBackend::new(c).unwrap();
    let e = b.generate(&small(), &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("max_response_bytes"), "{e}");
    drop(b);
    server.assert_cut_short(limit);
}

#[test]
fn a_dead_image_server_opens_the_breaker_and_the_next_call_fails_fast() {
    let server = serve_replies(vec![Reply::Hangup, Reply::Hangup, Reply::Hangup]);
    let mut c = a1111(server.url.clone());
    c.limits.max_retries = 2;
    c.limits.breaker_threshold = 3;
    let mut b = HttpImageBackend::new(c).unwrap();
    let e = b.generate(&small(), &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("gave up after 2 retries"), "{e}");
    assert_eq!(server.connections(), 3);
    let e = b.generate(&small(), &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("circuit open"), "{e}");
    assert_eq!(
        server.connections(),
        3,
        "no connection while the circuit is open"
    );
}
