//! The native engine's worker threads: [`threads`] `- 1` of them beside the calling thread, which
//! works too. A decode step is hundreds of small products (tens of microseconds each), so a
//! general-purpose pool that puts its workers to sleep between them (rayon) spends more time
//! waking them than it saves: on two threads it made `SmolLM2`'s generation slower than one.
//! Here, as in llama.cpp's thread pool, workers spin for a short while after each job, so the
//! next one finds them awake, and park when the model goes quiet.
//!
//! Work is split into chunks claimed one at a time from a shared counter, so a worker the OS
//! has preempted (a game or a build sharing the cores) holds at most the chunk it is on; the
//! calling thread takes the rest. Two callers at once (two models, or a job inside a job) never
//! wait for each other: the one that does not get the pool runs its chunks itself.

#![expect(
    unsafe_code,
    reason = "the job a dispatch shares with the workers is borrowed, not 'static: its lifetime is erased while the dispatcher waits for every claimed chunk (see `Pool::run`)"
)]

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::panic::AssertUnwindSafe;
use std::sync::{Mutex, OnceLock, TryLockError};
use std::thread::Thread;

/// A job: called once per chunk index.
type Job = dyn Fn(usize) + Sync;

/// Spins (about 50-100 µs) a worker makes waiting for the next job before it parks.
const SPINS: u32 = 1 << 15;

/// The count [`set_threads`] chose (0: none).
static CHOSEN: AtomicUsize = AtomicUsize::new(0);

/// The pool, started at the first parallel job (`None` for one thread).
static POOL: OnceLock<Option<&'static Pool>> = OnceLock::new();

/// Chooses the engine's thread count, before its first parallel job: a game leaves cores to
/// itself (on a machine whose cores are all busy, two threads run slower than one, for
/// llama.cpp too). Returns `false`, changing nothing, once the threads have started with
/// another count.
pub fn set_threads(n: usize) -> bool {
    let n = n.max(1);
    CHOSEN.store(n, Ordering::Relaxed);
    match POOL.get() {
        None => true,
        Some(pool) => pool.map_or(1, |p| p.workers.get().map_or(0, Vec::len) + 1) == n,
    }
}

/// The engine's thread count: the one [`set_threads`] chose, else `CANDLE_NUM_THREADS` (the
/// setting candle's engine reads, so one setting serves both), else `RAYON_NUM_THREADS`, else
/// the available cores.
pub fn threads() -> usize {
    let chosen = CHOSEN.load(Ordering::Relaxed);
    if chosen > 0 {
        return chosen;
    }
    threads_from_env()
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
}

/// The thread count the environment asks for: `CANDLE_NUM_THREADS`, else `RAYON_NUM_THREADS`.
pub fn threads_from_env() -> Option<usize> {
    ["CANDLE_NUM_THREADS", "RAYON_NUM_THREADS"]
        .iter()
        .find_map(|k| {
            std::env::var(k)
                .ok()?
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
        })
}

/// The threads a parallel job runs on (the caller and the workers), starting them if need be.
pub fn running() -> usize {
    pool().map_or(1, |p| p.workers.get().map_or(0, Vec::len) + 1)
}

/// Calls `job(i)` for every `i` in `0..chunks`, spread over the engine's threads (the calling
/// thread among them), and returns when all are done. A panic in any chunk is raised here, after
/// every chunk has finished.
pub fn for_each<'a>(chunks: usize, job: &'a (dyn Fn(usize) + Sync + 'a)) {
    match pool() {
        Some(pool) if chunks > 1 => match pool.dispatch.try_lock() {
            Ok(_only_caller) => pool.run(chunks, job),
            // A chunk panicked in an earlier job: the pool itself is sound.
            Err(TryLockError::Poisoned(p)) => {
                let _only_caller = p.into_inner();
                pool.run(chunks, job);
            }
            Err(TryLockError::WouldBlock) => (0..chunks).for_each(job),
        },
        _ => (0..chunks).for_each(job),
    }
}

/// The pool, started at the first parallel job (none for one thread).
fn pool() -> Option<&'static Pool> {
    *POOL.get_or_init(|| {
        let n = threads();
        if n < 2 {
            return None;
        }
        let pool: &'static Pool = Box::leak(Box::new(Pool::default()));
        let mut workers = Vec::with_capacity(n - 1);
        for i in 0..n - 1 {
            let spawned = std::thread::Builder::new()
                .name(format!("sprout-llm-{i}"))
                .spawn(move || pool.work());
            match spawned {
                Ok(h) => workers.push(h.thread().clone()),
                Err(e) => {
                    tracing::warn!("could not start an inference thread: {e}");
                    break;
                }
            }
        }
        if workers.is_empty() {
            return None;
        }
        let _ = pool.workers.set(workers);
        Some(pool)
    })
}

#[derive(Default)]
struct Pool {
    /// The current job's epoch (high 32 bits) and its next unclaimed chunk (low 32 bits): a
    /// claim is one compare-and-swap, and a worker still looking at an old job cannot claim a
    /// chunk of the next one.
    state: AtomicU64,
    /// Chunks of the current job.
    chunks: AtomicUsize,
    /// Chunks of the current job finished (by any thread).
    done: AtomicUsize,
    /// Whether a chunk of the current job panicked.
    panicked: AtomicBool,
    /// The current job. Written by the dispatcher only while no chunk can be claimed (before the
    /// epoch is published); read by a thread only after it claimed a chunk of that epoch, which
    /// keeps the dispatcher waiting, so the borrow behind it is alive.
    job: UnsafeCell<Option<*const Job>>,
    /// Held by the one thread dispatching.
    dispatch: Mutex<()>,
    /// The workers, to wake them.
    workers: OnceLock<Vec<Thread>>,
}

// SAFETY: `job` is the only non-`Sync` field; see its comment for the protocol that orders the
// dispatcher's writes before every read (the epoch's release store and the claims' acquire).
unsafe impl Sync for Pool {}

fn epoch(state: u64) -> u32 {
    (state >> 32) as u32
}

impl Pool {
    /// Runs `job` over `chunks` chunks with the workers; the caller holds `dispatch`.
    fn run<'a>(&self, chunks: usize, job: &'a (dyn Fn(usize) + Sync + 'a)) {
        let e = epoch(self.state.load(Ordering::Relaxed)).wrapping_add(1);
        // SAFETY: erases the borrow's lifetime. Every use of the pointer comes after a claim of
        // epoch `e`, and this function does not return (nor unwind) before every claimed chunk
        // has finished (`done == chunks` below), so no use outlives the borrow.
        let erased: *const Job =
            unsafe { core::mem::transmute::<&'a (dyn Fn(usize) + Sync + 'a), &'static Job>(job) };
        // SAFETY: no thread reads `job` now: every chunk of the previous epoch has finished and
        // the new epoch is not yet published.
        unsafe { *self.job.get() = Some(erased) };
        self.chunks.store(chunks, Ordering::Relaxed);
        self.done.store(0, Ordering::Relaxed);
        self.state.store(u64::from(e) << 32, Ordering::Release);
        for w in self.workers.get().into_iter().flatten() {
            w.unpark();
        }
        self.claim(e);
        let mut spins = 0u32;
        while self.done.load(Ordering::Acquire) < chunks {
            // A worker preempted inside a chunk: let it have the core back.
            if spins < SPINS {
                spins += 1;
                core::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        if self.panicked.swap(false, Ordering::Relaxed) {
            panic!("a chunk of a parallel product panicked");
        }
    }

    /// Claims and runs chunks of epoch `e` until none is left.
    fn claim(&self, e: u32) {
        loop {
            let s = self.state.load(Ordering::Acquire);
            if epoch(s) != e {
                return;
            }
            let i = (s & u64::from(u32::MAX)) as usize;
            if i >= self.chunks.load(Ordering::Relaxed) {
                return;
            }
            if self
                .state
                .compare_exchange_weak(s, s + 1, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                continue;
            }
            // SAFETY: chunk `i` of epoch `e` is claimed and not finished, so the dispatcher is
            // still waiting and the job it published for `e` is alive (see `run`).
            let job = unsafe { (*self.job.get()).map(|p| &*p) };
            if let Some(job) = job
                && std::panic::catch_unwind(AssertUnwindSafe(|| job(i))).is_err()
            {
                self.panicked.store(true, Ordering::Relaxed);
            }
            self.done.fetch_add(1, Ordering::Release);
        }
    }

    /// A worker: waits for each new epoch (spinning, then parked) and claims its chunks.
    fn work(&self) {
        let mut seen = epoch(self.state.load(Ordering::Acquire));
        loop {
            let mut spins = 0u32;
            let e = loop {
                let e = epoch(self.state.load(Ordering::Acquire));
                if e != seen {
                    break e;
                }
                if spins < SPINS {
                    spins += 1;
                    core::hint::spin_loop();
                } else {
                    std::thread::park();
                }
            };
            seen = e;
            self.claim(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every chunk runs exactly once, jobs follow each other without mixing, a job inside a job
    /// runs (on its caller) instead of waiting for the pool, and a panic reaches the caller
    /// after the other chunks finished.
    #[test]
    fn every_chunk_runs_once_and_panics_reach_the_caller() {
        for n in [0usize, 1, 2, 7, 64, 1000] {
            let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
            for _ in 0..50 {
                for_each(n, &|i| {
                    hits[i].fetch_add(1, Ordering::Relaxed);
                });
            }
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 50), "{n}");
        }
        let total = AtomicUsize::new(0);
        for_each(8, &|_| {
            for_each(8, &|j| {
                total.fetch_add(j, Ordering::Relaxed);
            });
        });
        assert_eq!(total.load(Ordering::Relaxed), 8 * 28);
        let finished = AtomicUsize::new(0);
        let r = std::panic::catch_unwind(AssertUnwindSafe(|| {
            for_each(16, &|i| {
                assert!(i != 5, "chunk five");
                finished.fetch_add(1, Ordering::Relaxed);
            });
        }));
        assert!(r.is_err());
        assert_eq!(finished.load(Ordering::Relaxed), 15);
        // The pool still works after a panic.
        let after = AtomicUsize::new(0);
        for_each(10, &|_| {
            after.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(after.load(Ordering::Relaxed), 10);
    }
}
