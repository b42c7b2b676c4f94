//! The HTTP backend against scripted servers on loopback: streaming, retries, structured
//! output fallbacks, and hostile or broken servers (endless streams, lines without end, stalls,
//! slow streams, dead endpoints, leaked credentials).

use super::*;
use crate::endpoint::test_server::{Server, dead_port, full};
use crate::llm::ChatMessage;
use std::io::Write;
use std::net::TcpStream;
use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;

/// What the scripted server does with one connection.
enum Reply {
    /// A whole answer with a content length.
    Full(u16, String),
    /// A 200 event stream in these chunks, `gap` apart, then the connection closes.
    Chunks(Vec<String>, Duration),
    /// Reads the request and never answers (the connection stays open).
    Stall,
    /// Events carrying `piece` until `limit` bytes are written or the client hangs up, then
    /// the stream's end.
    Endless { piece: String, limit: usize },
    /// Reads the request and closes the connection without a word.
    Hangup,
}

fn answer(s: &mut TcpStream, _request: &str, reply: Reply, written: &AtomicUsize) {
    const STREAM_HEAD: &str =
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
    match reply {
        Reply::Full(status, body) => {
            let ctype = if status == 200 {
                "text/event-stream"
            } else {
                "application/json"
            };
            full(s, status, ctype, body.as_bytes());
        }
        Reply::Chunks(chunks, gap) => {
            let _ = s.write_all(STREAM_HEAD.as_bytes());
            for c in chunks {
                std::thread::sleep(gap);
                if s.write_all(c.as_bytes()).and_then(|()| s.flush()).is_err() {
                    return;
                }
                written.fetch_add(c.len(), Ordering::SeqCst);
            }
        }
        Reply::Stall => std::thread::sleep(Duration::from_secs(30)),
        Reply::Endless { piece, limit } => {
            let _ = s.write_all(STREAM_HEAD.as_bytes());
            let event = event(&piece);
            let mut sent = 0;
            while sent < limit {
                if s.write_all(event.as_bytes()).is_err() {
                    return;
                }
                sent += event.len();
                written.fetch_add(event.len(), Ordering::SeqCst);
            }
            let _ = s.write_all(sse(&[]).as_bytes());
        }
        Reply::Hangup => {}
    }
}

/// A scripted OpenAI-style server on loopback, its URL ending in `/v1`.
fn serve_replies(replies: Vec<Reply>) -> Server {
    let mut server = Server::start(replies, answer);
    server.url.push_str("/v1");
    server
}

/// Whole answers, one per connection.
fn serve(replies: Vec<(u16, String)>) -> (String, Arc<Mutex<Vec<String>>>) {
    let s = serve_replies(
        replies
            .into_iter()
            .map(|(status, body)| Reply::Full(status, body))
            .collect(),
    );
    (s.url, s.seen)
}

fn event(piece: &str) -> String {
    format!(
        "data: {}\n\n",
        json!({"choices": [{"delta": {"content": piece}, "finish_reason": null}]})
    )
}

fn sse(pieces: &[&str]) -> String {
    let mut s: String = pieces.iter().map(|p| event(p)).collect();
    s.push_str(&format!(
        "data: {}\n\n",
        json!({"choices": [{"delta": {}, "finish_reason": "stop"}]})
    ));
    s.push_str("data: [DONE]\n\n");
    s
}

fn config(url: String) -> HttpConfig {
    let mut c = HttpConfig::new(url, "test-model");
    c.limits.backoff = Duration::from_millis(10);
    c.api_key_env = "SPROUT_TEST_NO_SUCH_KEY_VAR".into();
    c.allow_plain_http_secrets = false;
    c
}

fn hi() -> GenerationRequest {
    GenerationRequest::new(vec![ChatMessage::user("hi")])
}

#[test]
fn streams_tokens_and_retries_server_errors() {
    let (url, seen) = serve(vec![(503, "{}".into()), (200, sse(&["Hel", "lo"]))]);
    let mut b = HttpBackend::new(config(url)).unwrap();
    let mut streamed = Vec::new();
    let req = hi().with_max_tokens(5);
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
    let e = b.generate(&hi(), &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("401"), "{e}");
    assert!(!e.is_unavailable(), "{e}");
    assert_eq!(seen.lock().unwrap().len(), 1);

    // Nothing listens on this port: bounded retries, then a clear error.
    let mut c = config(format!("http://127.0.0.1:{}/v1", dead_port()));
    c.limits.max_retries = 2;
    let mut b = HttpBackend::new(c).unwrap();
    let e = b.generate(&hi(), &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("gave up after 2 retries"), "{e}");
    assert!(e.is_unavailable(), "{e}");
}

#[test]
fn an_endless_stream_is_cut_at_the_byte_cap_with_bounded_memory() {
    // 4 KiB a token, far past the 8 MiB default cap; max_tokens is no limit here.
    let limit = 64 << 20;
    let server = serve_replies(vec![Reply::Endless {
        piece: "x".repeat(4096),
        limit,
    }]);
    let c = config(server.url.clone());
    let cap = c.limits.max_response_bytes;
    let mut b = HttpBackend::new(c).unwrap();
    let mut streamed = 0usize;
    let e = b
        .generate(&hi().with_max_tokens(1_000_000), &mut |e| {
            if let Event::Token { text, .. } = e {
                streamed += text.len();
            }
        })
        .unwrap_err();
    assert!(e.to_string().contains("max_response_bytes"), "{e}");
    assert!(
        !e.is_unavailable(),
        "a bad answer, not a dead endpoint: {e}"
    );
    assert!(streamed > 0 && streamed <= cap, "{streamed} bytes of text");
    // The client hung up: the server could not write its 64 MiB.
    drop(b);
    server.assert_cut_short(limit);
}

#[test]
fn a_server_that_ignores_max_tokens_is_cut_at_the_token_cap() {
    let server = serve_replies(vec![Reply::Endless {
        piece: "la".into(),
        limit: 16 << 20,
    }]);
    let mut b = HttpBackend::new(config(server.url.clone())).unwrap();
    let mut tokens = 0;
    let e = b
        .generate(&hi().with_max_tokens(10), &mut |e| {
            if let Event::Token { .. } = e {
                tokens += 1;
            }
        })
        .unwrap_err();
    assert!(e.to_string().contains("more than 36 tokens"), "{e}");
    assert_eq!(tokens, 36, "2 × max_tokens + 16 reached the caller");
}

#[test]
fn a_newline_free_stream_ends_at_the_line_cap() {
    // 4 MiB without a newline, in 64 KiB chunks: refused once the line passes 1 MiB.
    let chunk = "a".repeat(64 << 10);
    let server = serve_replies(vec![Reply::Chunks(vec![chunk; 64], Duration::ZERO)]);
    let mut b = HttpBackend::new(config(server.url.clone())).unwrap();
    let e = b.generate(&hi(), &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("without an end"), "{e}");
    assert!(!e.is_unavailable(), "{e}");
}

#[test]
fn a_one_megabyte_event_in_small_chunks_is_parsed() {
    let piece = "a".repeat(1_000_000);
    let body = sse(&[&piece]);
    let chunks: Vec<String> = body
        .as_bytes()
        .chunks(1000)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    let server = serve_replies(vec![Reply::Chunks(chunks, Duration::ZERO)]);
    let mut b = HttpBackend::new(config(server.url.clone())).unwrap();
    let g = b.generate(&hi(), &mut |_| {}).unwrap();
    assert_eq!(g.text, piece);
}

#[test]
fn a_stalled_server_fails_after_one_idle_timeout_and_is_not_retried() {
    let server = serve_replies(vec![Reply::Stall, Reply::Stall]);
    let mut c = config(server.url.clone());
    c.limits.idle_timeout = Duration::from_millis(300);
    let mut b = HttpBackend::new(c).unwrap();
    let e = b.generate(&hi(), &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("idle timeout"), "{e}");
    assert!(e.is_unavailable(), "{e}");
    assert_eq!(server.connections(), 1, "a stall is not retried");

    // A stall mid-stream, after a token: the same.
    let stream = vec![event("one"), sse(&["two"])];
    let server = serve_replies(vec![Reply::Chunks(stream, Duration::from_secs(20))]);
    let mut c = config(server.url.clone());
    c.limits.idle_timeout = Duration::from_millis(300);
    let mut b = HttpBackend::new(c).unwrap();
    let e = b.generate(&hi(), &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("idle timeout"), "{e}");
    assert!(e.is_unavailable(), "{e}");
    assert_eq!(server.connections(), 1);
}

#[test]
fn a_slow_but_healthy_stream_outlives_the_idle_timeout() {
    // 8 chunks 200 ms apart: 1.6 s in all, each gap well under the 500 ms idle timeout.
    let mut chunks: Vec<String> = ["a", "b", "c", "d", "e", "f", "g"]
        .iter()
        .map(|p| event(p))
        .collect();
    chunks.push(sse(&["h"]));
    let server = serve_replies(vec![Reply::Chunks(chunks, Duration::from_millis(200))]);
    let mut c = config(server.url.clone());
    c.limits.idle_timeout = Duration::from_millis(500);
    let mut b = HttpBackend::new(c).unwrap();
    let g = b.generate(&hi(), &mut |_| {}).unwrap();
    assert_eq!(g.text, "abcdefgh");
    assert_eq!(g.finish, FinishReason::Stop);
}

#[test]
fn a_dead_endpoint_opens_the_breaker_and_the_next_call_fails_fast() {
    let server = serve_replies(vec![Reply::Hangup, Reply::Hangup, Reply::Hangup]);
    let mut c = config(server.url.clone());
    c.limits.max_retries = 2;
    c.limits.breaker_threshold = 3;
    let mut b = HttpBackend::new(c).unwrap();
    let e = b.generate(&hi(), &mut |_| {}).unwrap_err();
    assert!(e.is_unavailable(), "{e}");
    assert!(e.to_string().contains("gave up after 2 retries"), "{e}");
    assert_eq!(server.connections(), 3);
    // A clone shares the breaker: this call fails at once, without a connection.
    let mut clone = b.clone();
    let e = clone.generate(&hi(), &mut |_| {}).unwrap_err();
    assert!(e.is_unavailable(), "{e}");
    assert!(e.to_string().contains("circuit open"), "{e}");
    assert_eq!(
        server.connections(),
        3,
        "no connection while the circuit is open"
    );
}

#[test]
fn credentials_in_the_url_go_as_basic_auth_and_nowhere_else() {
    let server = serve_replies(vec![
        Reply::Full(200, sse(&["ok"])),
        Reply::Full(400, r#"{"error":"bad"}"#.into()),
    ]);
    let url = server.url.replace("http://", "http://artist:hunter2@");
    let mut c = config(url.clone());
    c.api_key_env = "PATH".into(); // set, but the URL's credentials win
    let mut b = HttpBackend::new(c.clone()).unwrap();
    assert_eq!(b.generate(&hi(), &mut |_| {}).unwrap().text, "ok");
    let e = b.generate(&hi(), &mut |_| {}).unwrap_err();
    let seen = server.seen.lock().unwrap().clone();
    assert!(
        seen[0].contains("authorization: Basic YXJ0aXN0Omh1bnRlcjI=")
            || seen[0].contains("Authorization: Basic YXJ0aXN0Omh1bnRlcjI="),
        "{}",
        seen[0]
    );
    assert!(!seen[0].contains("hunter2") && !seen[0].contains("Bearer"));
    // A dead endpoint with credentials: the errors and retry warnings show none either.
    let dead = format!("http://artist:hunter2@127.0.0.1:{}/v1", dead_port());
    let mut dead_config = config(dead);
    dead_config.limits.max_retries = 0;
    let dead_err = HttpBackend::new(dead_config.clone())
        .unwrap()
        .generate(&hi(), &mut |_| {})
        .unwrap_err();
    for shown in [
        e.to_string(),
        dead_err.to_string(),
        b.describe(),
        format!("{b:?}"),
        format!("{c:?}"),
        format!("{dead_config:?}"),
    ] {
        assert!(
            !shown.contains("hunter2") && !shown.contains("artist"),
            "{shown}"
        );
    }
    assert!(b.describe().contains(&server.url), "{}", b.describe());
}

#[test]
fn secrets_are_refused_over_plain_http_to_other_hosts() {
    // TEST-NET-1: nothing answers there; the refusal comes before any connection.
    let mut c = config("http://192.0.2.1:9/v1".into());
    c.api_key_env = "PATH".into(); // any variable that is set
    c.limits.max_retries = 0;
    c.limits.connect_timeout = Duration::from_millis(100);
    let mut b = HttpBackend::new(c.clone()).unwrap();
    let e = b.generate(&hi(), &mut |_| {}).unwrap_err();
    assert!(
        e.to_string()
            .contains("refusing to send the API key in $PATH")
            && e.to_string()
                .contains(crate::endpoint::PLAIN_HTTP_SECRETS_ENV),
        "{e}"
    );
    assert!(!e.is_unavailable(), "{e}");
    // Credentials in such a URL are refused when the backend is made.
    let mut c = config("http://artist:hunter2@192.0.2.1:9/v1".into());
    c.limits.max_retries = 0;
    let e = HttpBackend::new(c.clone()).unwrap_err();
    assert!(
        e.to_string().contains("refusing to send the credentials"),
        "{e}"
    );
    assert!(!e.to_string().contains("hunter2"), "{e}");
    c.allow_plain_http_secrets = true;
    assert!(HttpBackend::new(c).is_ok(), "the opt-in allows it");
}

#[test]
fn unavailable_means_down_or_unreachable_only() {
    let server = serve_replies(vec![
        Reply::Full(503, "{}".into()),
        Reply::Full(502, "{}".into()),
        Reply::Full(429, "{}".into()),
        Reply::Full(429, "{}".into()),
        Reply::Full(200, "data: {not json\n\n".into()),
        Reply::Full(200, format!("data: {}\n\n", json!({"error": "boom"}))),
        Reply::Full(404, "{}".into()),
    ]);
    let mut c = config(server.url.clone());
    c.limits.max_retries = 1;
    c.limits.breaker_threshold = 10;
    let mut b = HttpBackend::new(c).unwrap();
    let mut next = || b.generate(&hi(), &mut |_| {}).unwrap_err();
    let five = next();
    assert!(
        five.is_unavailable() && five.to_string().contains("HTTP 502"),
        "{five}"
    );
    let busy = next();
    assert!(
        busy.is_unavailable() && busy.to_string().contains("429"),
        "{busy}"
    );
    for bad in [next(), next(), next()] {
        assert!(!bad.is_unavailable(), "{bad}");
    }
    let refused = HttpBackend::new(config(format!("http://127.0.0.1:{}/v1", dead_port())))
        .unwrap()
        .generate(&hi(), &mut |_| {})
        .unwrap_err();
    assert!(refused.is_unavailable(), "{refused}");
    for not in [
        Error::Cancelled,
        Error::Http("HTTP 400".into()),
        Error::Request("x".into()),
        Error::Output {
            what: "JSON",
            message: "no".into(),
            output: String::new(),
        },
    ] {
        assert!(!not.is_unavailable(), "{not}");
    }
}

#[test]
fn cancelling_ends_a_stalled_wait() {
    let server = serve_replies(vec![Reply::Stall]);
    let mut b = HttpBackend::new(config(server.url.clone())).unwrap();
    let req = hi();
    req.cancel.cancel();
    // The idle timeout is 60 s; the cancel ends the wait within 100 ms.
    let g = b.generate(&req, &mut |_| {}).unwrap();
    assert_eq!(g.finish, FinishReason::Cancelled);
}

#[test]
fn check_json_follows_the_schema() {
    let schema =
        json!({"type": "object", "properties": {"who": {"enum": ["ana"]}}, "required": ["who"]});
    assert!(check_json(&schema, r#"{ "who" : "ana" }"#).is_ok());
    assert!(check_json(&schema, r#"{"who": "bob"}"#).is_err());
    assert!(check_json(&schema, r#"{"who": "ana""#).is_err());
}
