//! The queue a batch's workers share, and how one job ended for it.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};

use crate::story::{Error, Result};

/// How one job ended, for the pool.
pub(super) enum JobEnd {
    /// Finished, failed or rejected: journaled or counted.
    Done,
    /// The batch was cancelled: the jobs left are dropped.
    Cancelled,
    /// The worker's endpoint is down: the job goes back to the queue.
    Unavailable(String),
}

/// The queue the workers share. A worker whose queue is empty waits while jobs are in flight on
/// others: one of them may come back.
pub(super) struct Pool {
    pub(super) state: Mutex<PoolState>,
    pub(super) changed: Condvar,
}

pub(super) struct PoolState {
    pub(super) queue: VecDeque<usize>,
    pub(super) in_flight: usize,
    pub(super) alive: usize,
}

impl Pool {
    /// The next job, or `None` when there is none and none can come back.
    pub(super) fn take(&self) -> Result<Option<usize>> {
        let mut st = self.state.lock().map_err(|_| poisoned())?;
        loop {
            if let Some(i) = st.queue.pop_front() {
                st.in_flight += 1;
                return Ok(Some(i));
            }
            if st.in_flight == 0 {
                return Ok(None);
            }
            st = self.changed.wait(st).map_err(|_| poisoned())?;
        }
    }

    /// Job `i` is over on its worker: handed back when the worker `retires` (who then gets the
    /// queue's jobs to fail if it was the last one alive), or the queue cleared when `cancelled`.
    pub(super) fn finish(&self, i: usize, retires: bool, cancelled: bool) -> Result<Vec<usize>> {
        let mut st = self.state.lock().map_err(|_| poisoned())?;
        st.in_flight -= 1;
        let mut stranded = Vec::new();
        if cancelled {
            st.queue.clear();
        }
        if retires {
            st.queue.push_front(i);
            st.alive -= 1;
            if st.alive == 0 {
                stranded = st.queue.drain(..).collect();
            }
        }
        self.changed.notify_all();
        Ok(stranded)
    }

    pub(super) fn alive(&self) -> Result<usize> {
        Ok(self.state.lock().map_err(|_| poisoned())?.alive)
    }
}

pub(super) fn poisoned() -> Error {
    Error::Request("a batch worker panicked".into())
}
