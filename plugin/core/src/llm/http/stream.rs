//! Reading a chat completion's event stream: tokens as they arrive, within the byte cap, the
//! token cap (twice `max_tokens` plus 16: a server that ignores `max_tokens` is cut off) and the
//! line cap, with a stall or a broken connection told apart from a bad answer.

use std::time::Instant;

use futures_util::StreamExt;
use serde_json::Value;

use super::sse::Lines;
use super::{Attempt, HttpBackend, MAX_LINE_BYTES, cancelled};
use crate::endpoint::client::{Try, Waited, describe};
use crate::llm::backend::{Event, FinishReason, Generation, GenerationRequest, Timings};
use crate::llm::{Error, Result};

impl HttpBackend {
    /// Reads the stream of a 2xx answer into a [`Generation`], streaming each token to
    /// `on_event`.
    pub(super) async fn stream(
        &self,
        resp: reqwest::Response,
        request: &GenerationRequest,
        started: Instant,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<Try<Attempt>> {
        let shown = self.shown_url();
        let cancel = &request.cancel;
        let max_bytes = self.config.limits.max_response_bytes;
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
            let chunk = match self.client.wait(stream.next(), cancel).await {
                Waited::Done(Some(Ok(c))) => c,
                Waited::Done(None) => break,
                Waited::Done(Some(Err(e))) if pieces == 0 => {
                    return Ok(Try::Again(self.client.failed(describe(e))));
                }
                Waited::Done(Some(Err(e))) => {
                    let why = format!("the stream broke after {pieces} tokens: {}", describe(e));
                    return Err(self.unavailable(self.client.failed(why)));
                }
                Waited::TimedOut if pieces == 0 => return Err(self.stalled("of the stream")),
                Waited::TimedOut => {
                    return Err(self.stalled(&format!("after {pieces} tokens")));
                }
                Waited::Cancelled => {
                    return Ok(Try::Done(Attempt::Done(cancelled(started, text, pieces))));
                }
            };
            if cancel.is_cancelled() {
                return Ok(Try::Done(Attempt::Done(cancelled(started, text, pieces))));
            }
            received += chunk.len();
            if received > max_bytes {
                return Err(Error::Http(format!(
                    "{shown}: the answer passed {max_bytes} bytes (HttpConfig::limits.max_response_bytes) after {pieces} tokens; is the server ignoring max_tokens?"
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
        Ok(Try::Done(Attempt::Done(Generation {
            text,
            tokens: Vec::new(),
            mean_logprob: None,
            finish,
            timings: Timings {
                prompt_tokens,
                cached_tokens: 0,
                prompt: first,
                generated_tokens: pieces,
                generation: started.elapsed().saturating_sub(first),
                first_token: first,
            },
        })))
    }
}
