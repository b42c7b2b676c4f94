//! The one HTTP client under both server backends (`llm::http`, `diffusion::http`): how a
//! request is authorised, how long each wait may be, how much of an answer is read, which
//! failures are retried and which count towards the endpoint's [`Breaker`].
//!
//! Hostile or broken servers cost a bounded time and memory ([`Limits`]):
//! - three timeouts: connect; idle (the longest silence: before the answer's head, then between
//!   chunks), checked here; total (one attempt), checked by each backend around its exchange;
//! - a body is read up to a cap ([`Client::body`]); an error answer's first 8 KiB only;
//! - connection errors, 429 and 5xx are retried with exponential backoff ([`Client::retrying`]);
//!   a stall (idle timeout) is not;
//! - connection failures, stalls and 5xx count towards the breaker; any other answer closes it.
//!
//! Credentials in the URL go as HTTP basic auth, else the API key from the environment as a
//! bearer token, and either only where [`Endpoint::check_secret`] allows.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::{Breaker, Endpoint};
use crate::cancel::CancelToken;

/// The bounds on one server's requests: the same fields for the text and the image backends,
/// with each backend's own defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Total time one attempt may take, from connect to the last byte: a bound on answers that
    /// keep arriving. Stalls are caught sooner by `idle_timeout`.
    pub timeout: Duration,
    /// Connection timeout.
    pub connect_timeout: Duration,
    /// The longest silence: from sending a request to the answer's head (the server's work
    /// included), then between chunks. A stall fails once, counts towards the breaker and is not
    /// retried.
    pub idle_timeout: Duration,
    /// Bytes one answer may have; more ends the request with an error.
    pub max_response_bytes: usize,
    /// Retries after the first attempt (connection errors, 429 and 5xx).
    pub max_retries: u32,
    /// First backoff; doubles each retry.
    pub backoff: Duration,
    /// Consecutive failures (connection refused or reset, connect or idle timeout, 5xx) that
    /// open the circuit breaker.
    pub breaker_threshold: u32,
    /// How long an open breaker fails requests at once, before one is let through to try.
    pub breaker_cooldown: Duration,
}

impl Default for Limits {
    /// 10 min total, 5 s connect, 60 s idle, 8 MiB answers, 3 retries from 250 ms, the breaker
    /// open for 30 s after 3 failures in a row.
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(600),
            connect_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(60),
            max_response_bytes: 8 << 20,
            max_retries: 3,
            backoff: Duration::from_millis(250),
            breaker_threshold: 3,
            breaker_cooldown: Duration::from_secs(30),
        }
    }
}

/// How often a wait looks at the cancel token.
const CANCEL_POLL: Duration = Duration::from_millis(100);

/// How much of an error answer is read.
const ERROR_BODY_BYTES: usize = 8 << 10;

/// How much of an error answer is shown, in characters.
const ERROR_BODY_CHARS: usize = 400;

/// One server: its endpoint, a connection pool, a Tokio runtime to block on, its breaker. Clones
/// share all four.
#[derive(Clone)]
pub(crate) struct Client {
    endpoint: Endpoint,
    http: reqwest::Client,
    runtime: Arc<tokio::runtime::Runtime>,
    breaker: Arc<Breaker>,
    limits: Limits,
    api_key_env: String,
    allow_plain_http_secrets: bool,
}

/// How a wait ended.
pub(crate) enum Waited<T> {
    /// The future finished.
    Done(T),
    /// Nothing within the limit.
    TimedOut,
    /// The token was cancelled meanwhile.
    Cancelled,
}

/// Why [`Client::body`] stopped early.
pub(crate) enum BodyError {
    /// More than the cap arrived; what was read (the cap's worth) comes along.
    TooBig(Vec<u8>),
    /// No byte for the idle limit.
    Idle,
    /// The token was cancelled.
    Cancelled,
    /// The connection broke.
    Broken(String),
}

/// What became of sending a request, up to the answer's head. The messages name no URL: the
/// caller names the endpoint, redacted.
pub(crate) enum Sent {
    /// A 2xx head; the breaker is closed again.
    Ok(reqwest::Response),
    /// Another status, with the start of its body as text. Not counted yet: see
    /// [`Client::refused`].
    Status(reqwest::StatusCode, String),
    /// The request did not get through (refused, reset, DNS...): worth a retry, counted by the
    /// breaker.
    Down(String),
    /// The request itself is wrong (reqwest could not build it): not worth a retry.
    Invalid(String),
    /// No head within the idle limit: counted by the breaker, not worth a retry.
    Stalled(String),
    /// The token was cancelled while waiting.
    Cancelled,
}

/// One attempt's outcome for [`Client::retrying`].
pub(crate) enum Try<T> {
    /// Finished (well or not, as `T` says): no retry.
    Done(T),
    /// Failed in a way that may pass: try again after a backoff, unless the retries are used up.
    Again(String),
}

impl Client {
    /// A client for the server at `base_url`. Fails with a message when the URL carries
    /// credentials that may not be sent to it (plain `http`, not loopback, not allowed), or when
    /// the connection pool or the runtime cannot start.
    pub(crate) fn new(
        base_url: &str,
        api_key_env: &str,
        allow_plain_http_secrets: bool,
        limits: &Limits,
    ) -> Result<Self, String> {
        let endpoint = Endpoint::parse(base_url);
        if endpoint.credentials().is_some() {
            endpoint.check_secret("the credentials in the URL", allow_plain_http_secrets)?;
        }
        // The total and idle limits are enforced per attempt and per chunk, so that each ends
        // with its own message and classification.
        let http = reqwest::Client::builder()
            .connect_timeout(limits.connect_timeout)
            .build()
            .map_err(describe)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the Tokio runtime: {e}"))?;
        Ok(Self {
            endpoint,
            http,
            runtime: Arc::new(runtime),
            breaker: Arc::new(Breaker::new(
                limits.breaker_threshold,
                limits.breaker_cooldown,
            )),
            limits: limits.clone(),
            api_key_env: api_key_env.to_owned(),
            allow_plain_http_secrets,
        })
    }

    /// The server's address.
    pub(crate) fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Runs `fut` to completion on the client's runtime (from a worker thread, never from inside
    /// another runtime).
    pub(crate) fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.runtime.block_on(fut)
    }

    /// A request to `path` below the base URL (POST with `body` as JSON, else GET), with the
    /// URL's credentials as basic auth, else the API key from the environment as a bearer token.
    /// `Err` says why a key may not be sent here.
    pub(crate) fn request(
        &self,
        path: &str,
        body: Option<&Value>,
    ) -> Result<reqwest::RequestBuilder, String> {
        let url = format!("{}{path}", self.endpoint.url());
        let mut req = match body {
            Some(b) => self.http.post(&url).json(b),
            None => self.http.get(&url),
        };
        if let Some(c) = self.endpoint.credentials() {
            req = req.basic_auth(&c.user, c.password.as_ref());
        } else if let Ok(key) = std::env::var(&self.api_key_env)
            && !key.is_empty()
        {
            self.endpoint.check_secret(
                &format!("the API key in ${}", self.api_key_env),
                self.allow_plain_http_secrets,
            )?;
            req = req.bearer_auth(key);
        }
        Ok(req)
    }

    /// Sends `req` and waits at most the idle limit for the answer's head; for a status that is
    /// not success, reads the start of the body too.
    pub(crate) async fn send(&self, req: reqwest::RequestBuilder, cancel: &CancelToken) -> Sent {
        let resp = match self.wait(req.send(), cancel).await {
            Waited::Done(Ok(r)) => r,
            Waited::Done(Err(e)) if e.is_builder() => return Sent::Invalid(describe(e)),
            Waited::Done(Err(e)) => return Sent::Down(self.failed(describe(e))),
            Waited::TimedOut => return Sent::Stalled(self.stalled("of an answer")),
            Waited::Cancelled => return Sent::Cancelled,
        };
        let status = resp.status();
        if status.is_success() {
            self.breaker.success();
            return Sent::Ok(resp);
        }
        let text = match self.body(resp, ERROR_BODY_BYTES, cancel).await {
            Ok(b) | Err(BodyError::TooBig(b)) => String::from_utf8_lossy(&b).into_owned(),
            Err(BodyError::Broken(why)) => format!("(the error body broke off: {why})"),
            Err(BodyError::Idle | BodyError::Cancelled) => String::new(),
        };
        Sent::Status(status, text.chars().take(ERROR_BODY_CHARS).collect())
    }

    /// What a [`Sent::Status`] means: 5xx (counted by the breaker) and 429 (the server is up and
    /// busy) are worth a retry, any other status is final. The message is `HTTP {status}: {text}`.
    pub(crate) fn refused(&self, status: reqwest::StatusCode, text: &str) -> Try<String> {
        let why = format!("HTTP {status}: {text}");
        if status.is_server_error() {
            return Try::Again(self.failed(why));
        }
        self.alive();
        if status.as_u16() == 429 {
            Try::Again(why)
        } else {
            Try::Done(why)
        }
    }

    /// The server answered (whatever it said): closes the breaker.
    pub(crate) fn alive(&self) {
        self.breaker.success();
    }

    /// Counts a failure that says the endpoint is down; returns `why`.
    pub(crate) fn failed(&self, why: String) -> String {
        if self.breaker.failure(&why) {
            tracing::warn!(
                "{}: {} consecutive failures, failing fast for {:?}",
                self.endpoint.shown(),
                self.limits.breaker_threshold,
                self.limits.breaker_cooldown
            );
        }
        why
    }

    /// A stall `when` (`"of an answer"`, `"after 3 tokens"`): counted by the breaker; the message.
    pub(crate) fn stalled(&self, when: &str) -> String {
        self.failed(format!(
            "no byte {when} for {:?} (the idle timeout)",
            self.limits.idle_timeout
        ))
    }

    /// Runs `fut` for at most the idle limit, looking at `cancel` every 100 ms.
    pub(crate) async fn wait<F: Future>(&self, fut: F, cancel: &CancelToken) -> Waited<F::Output> {
        let mut fut = std::pin::pin!(fut);
        let until = tokio::time::Instant::now() + self.limits.idle_timeout;
        loop {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Waited::TimedOut;
            }
            if let Ok(v) = tokio::time::timeout(left.min(CANCEL_POLL), fut.as_mut()).await {
                return Waited::Done(v);
            }
            if cancel.is_cancelled() {
                return Waited::Cancelled;
            }
        }
    }

    /// Reads `resp`'s body: at most `cap` bytes, at most the idle limit between chunks.
    pub(crate) async fn body(
        &self,
        mut resp: reqwest::Response,
        cap: usize,
        cancel: &CancelToken,
    ) -> Result<Vec<u8>, BodyError> {
        let mut out = Vec::new();
        loop {
            match self.wait(resp.chunk(), cancel).await {
                Waited::Done(Ok(Some(chunk))) => {
                    if out.len() + chunk.len() > cap {
                        let room = cap - out.len();
                        out.extend_from_slice(&chunk[..room]);
                        return Err(BodyError::TooBig(out));
                    }
                    out.extend_from_slice(&chunk);
                }
                Waited::Done(Err(e)) => return Err(BodyError::Broken(describe(e))),
                Waited::Done(Ok(None)) => return Ok(out),
                Waited::TimedOut => return Err(BodyError::Idle),
                Waited::Cancelled => return Err(BodyError::Cancelled),
            }
        }
    }

    /// Runs `attempt` until it is [`Try::Done`]: after a [`Try::Again`], waits the backoff
    /// (doubling each time) and tries again, up to [`Limits::max_retries`] times. While the
    /// breaker is open no attempt is made. `error` makes the error for an open breaker or for
    /// retries used up; `shown` names the endpoint in the retry warnings.
    pub(crate) async fn retrying<T, E>(
        &self,
        shown: &str,
        mut attempt: impl AsyncFnMut() -> Result<Try<T>, E>,
        error: impl Fn(String) -> E,
    ) -> Result<T, E> {
        let mut backoff = self.limits.backoff;
        let mut retries = 0;
        loop {
            if let Err(open) = self.breaker.check() {
                return Err(error(open.to_string()));
            }
            match attempt().await? {
                Try::Done(v) => return Ok(v),
                Try::Again(why) if retries < self.limits.max_retries => {
                    retries += 1;
                    tracing::warn!("{shown}: {why}; retry {retries} in {backoff:?}");
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                }
                Try::Again(why) => {
                    return Err(error(format!("{why} (gave up after {retries} retries)")));
                }
            }
        }
    }
}

/// A reqwest error with its causes (`error sending request: client error (Connect): tcp connect
/// error: Connection refused`) and without its URL (the caller names the endpoint, redacted).
pub(crate) fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut s = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        let c_text = c.to_string();
        if !s.contains(&c_text) {
            s.push_str(": ");
            s.push_str(&c_text);
        }
        cause = c.source();
    }
    s
}
