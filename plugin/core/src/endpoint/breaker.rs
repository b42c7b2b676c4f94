//! A circuit breaker for one endpoint: after so many consecutive failures the endpoint is open for
//! a cool-down, and requests fail fast instead of waiting out timeouts again.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A circuit breaker for one endpoint: after `threshold` consecutive failures (connection
/// refused or reset, connect or idle timeout, 5xx) the endpoint is open for `cooldown`, and
/// requests fail fast instead of waiting out timeouts again. After the cool-down one request is
/// let through (half-open): a success closes the breaker, a failure opens it for another
/// cool-down. Clones of a backend share one breaker.
#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<BreakerState>,
}

#[derive(Debug, Default)]
struct BreakerState {
    failures: u32,
    open_until: Option<Instant>,
    last: String,
}

/// Why [`Breaker::check`] refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// Consecutive failures so far.
    pub failures: u32,
    /// Time left in the cool-down.
    pub retry_in: Duration,
    /// The last failure's message.
    pub last: String,
}

impl core::fmt::Display for Open {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "circuit open after {} consecutive failures (last: {}); failing fast for {:.1} s more",
            self.failures,
            self.last,
            self.retry_in.as_secs_f32()
        )
    }
}

impl Breaker {
    /// Opens after `threshold` (at least 1) consecutive failures, for `cooldown`.
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cooldown,
            state: Mutex::new(BreakerState::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, BreakerState> {
        // The state is a few counters, consistent after any panic: keep using it.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `Err` while the breaker is open; `Ok` when closed or when the cool-down is over (the next
    /// request is the trial).
    pub fn check(&self) -> Result<(), Open> {
        self.check_at(Instant::now())
    }

    fn check_at(&self, now: Instant) -> Result<(), Open> {
        let s = self.state();
        match s.open_until {
            Some(until) if now < until => Err(Open {
                failures: s.failures,
                retry_in: until - now,
                last: s.last.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// The endpoint answered: closes the breaker.
    pub fn success(&self) {
        let mut s = self.state();
        s.failures = 0;
        s.open_until = None;
    }

    /// A failure that says the endpoint is down; returns whether the breaker is now open.
    pub fn failure(&self, why: &str) -> bool {
        self.failure_at(why, Instant::now())
    }

    fn failure_at(&self, why: &str, now: Instant) -> bool {
        let mut s = self.state();
        s.failures = s.failures.saturating_add(1);
        s.last = why.to_owned();
        if s.failures >= self.threshold {
            s.open_until = Some(now + self.cooldown);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_opens_after_consecutive_failures_and_half_opens_after_the_cooldown() {
        let b = Breaker::new(3, Duration::from_secs(10));
        let t = Instant::now();
        assert!(!b.failure_at("refused", t));
        b.success();
        assert!(!b.failure_at("refused", t));
        assert!(!b.failure_at("refused", t));
        assert!(b.check_at(t).is_ok(), "two in a row is not three");
        assert!(b.failure_at("connection refused", t));
        let open = b.check_at(t + Duration::from_secs(4)).unwrap_err();
        assert_eq!(open.failures, 3);
        assert_eq!(open.retry_in, Duration::from_secs(6));
        assert!(open.to_string().contains("connection refused"), "{open}");
        // Cool-down over: one trial; its failure opens the breaker again at once.
        assert!(b.check_at(t + Duration::from_secs(10)).is_ok());
        assert!(b.failure_at("refused", t + Duration::from_secs(10)));
        assert!(b.check_at(t + Duration::from_secs(11)).is_err());
        b.success();
        assert!(b.check_at(t + Duration::from_secs(11)).is_ok());
    }
}
