//! Batches: a manifest says what to make (e.g. six situations × every NPC × four seasons); the
//! runner makes it, one job after another on a local model or several at once over a fleet of
//! servers, and keeps a journal so that a batch killed at any moment resumes where it stopped,
//! with no job done twice and none lost.
//!
//! Journal: `.sprout/batch/<name>.journal`, one JSON line per finished job, written and synced
//! after the asset itself. It records outcomes: on resume a job is skipped only when its last line
//! delivered a file (made, repaired, cached, up to date) with the same request key and the file on
//! disk still has the recorded hash, or kept a file that is still there. Rejected jobs, failed
//! ones (never journaled) and files deleted since are made again. A job killed between its write
//! and its journal line finds its file up to date and costs no model work. A damaged line (a kill
//! mid-write, even inside a multi-byte character) is skipped with a warning; reading a journal
//! (`read_journal`, for reports) never writes to it.
//!
//! Endpoint pools: with several servers, each worker holds one endpoint. A job whose endpoint is
//! down ([`crate::llm::Error::is_unavailable`]) goes back to the front of the queue for the other
//! workers and that worker retires; no job is lost or done twice. Only when every worker has
//! retired do the jobs left fail (and a rerun does them).
//!
//! Files: `manifest.rs` (what to make), `journal.rs` (what was made), `pool.rs` (the workers'
//! queue); the runner, [`Batch`], is here.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::content::ContentSet;
use crate::llm::{Event, TextBackend};

use super::job::JobSpec;
use super::pipeline::{Generator, Outcome, StageTimes, Status};
use super::{Error, Result};

mod journal;
mod manifest;
mod pool;

pub use journal::{Journal, JournalEntry, read_journal};
pub use manifest::{DialogueMatrix, Manifest, NpcSelection, output_ids};

use pool::{JobEnd, Pool, PoolState, poisoned};

/// What the runner reports while it works.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchEvent {
    /// The batch starts: this many jobs, of which this many were done by an earlier run.
    Started {
        /// Jobs in the manifest.
        total: usize,
        /// Done earlier (journal).
        resumed: usize,
    },
    /// A job starts on a worker.
    JobStarted {
        /// The worker.
        worker: usize,
        /// The job's label.
        label: String,
        /// Whether it needs the model.
        needs_model: bool,
    },
    /// Tokens so far for the job on a worker.
    Tokens {
        /// The worker.
        worker: usize,
        /// Tokens generated so far (all attempts).
        tokens: usize,
        /// Tokens per second of this job so far.
        tokens_per_second: f64,
    },
    /// A job finished.
    JobFinished {
        /// The worker.
        worker: usize,
        /// The job's label.
        label: String,
        /// What happened.
        status: Status,
    },
    /// A worker's endpoint is down: its job went back to the queue for the others, and the
    /// worker stopped.
    WorkerRetired {
        /// The worker.
        worker: usize,
        /// Why (the backend's error).
        error: String,
        /// Workers still running.
        left: usize,
    },
    /// A job failed (backend error); it is not journaled, so a rerun tries it again.
    JobFailed {
        /// The worker.
        worker: usize,
        /// The job's label.
        label: String,
        /// Why.
        error: String,
    },
}

/// How a batch went.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Jobs in the manifest.
    pub total: usize,
    /// Done by an earlier run (journal).
    pub resumed: usize,
    /// Made, valid on the first try.
    pub made: usize,
    /// Made after repairs.
    pub repaired: usize,
    /// From the cache or already up to date.
    pub cached: usize,
    /// Existing files kept (hand-edited).
    pub kept: usize,
    /// No valid candidate.
    pub rejected: usize,
    /// Backend errors.
    pub failed: usize,
    /// Jobs whose file is not in the folder after the run (rejected, failed, or deleted and not
    /// made again).
    pub missing: usize,
    /// Workers retired because their endpoint went down.
    pub retired: usize,
    /// Tokens generated.
    pub tokens: usize,
    /// Wall time of this run.
    pub elapsed: Duration,
    /// Time per stage over this run's jobs.
    pub times: StageTimes,
    /// Errors of failed jobs.
    pub errors: Vec<String>,
}

impl Summary {
    fn count(&mut self, o: &Outcome) {
        match &o.status {
            Status::Made => self.made += 1,
            Status::Repaired(_) => self.repaired += 1,
            Status::Cached | Status::UpToDate => self.cached += 1,
            Status::Kept(_) => self.kept += 1,
            Status::Rejected(_) => self.rejected += 1,
        }
        self.tokens += o.tokens;
        self.times.add(&o.times);
    }

    /// Whether every job delivered (or kept) a valid file, and every job's file is there now.
    pub fn ok(&self) -> bool {
        self.rejected == 0 && self.failed == 0 && self.missing == 0
    }
}

/// A batch to run.
pub struct Batch<'a> {
    /// The project, templates, model and options every job runs with.
    pub generator: Generator<'a>,
    /// The batch's name (journal file name).
    pub name: String,
    /// The jobs.
    pub jobs: Vec<JobSpec>,
}

impl Batch<'_> {
    /// The journal's path.
    pub fn journal_path(&self) -> PathBuf {
        self.generator
            .project
            .batch_dir()
            .join(format!("{}.journal", self.name))
    }

    /// Runs the jobs not done yet on `workers` (one backend each: one for a local model, several
    /// for servers), adding what is made to `set`. A worker whose endpoint goes down hands its job
    /// back and retires (see the module docs).
    pub fn run(
        &self,
        set: &mut ContentSet,
        workers: Vec<Box<dyn TextBackend + '_>>,
        on_event: &(dyn Fn(BatchEvent) + Sync),
    ) -> Result<Summary> {
        let started = Instant::now();
        let journal = Mutex::new(Journal::open(&self.journal_path())?);
        let mut summary = Summary {
            total: self.jobs.len(),
            ..Summary::default()
        };
        // What earlier runs finished, judged against the content as it is now.
        let mut queue = VecDeque::new();
        {
            let j = journal.lock().map_err(|_| poisoned())?;
            for (i, spec) in self.jobs.iter().enumerate() {
                let id = spec.job.output_id()?.to_string();
                let done = j.entries().contains_key(&id)
                    && self
                        .generator
                        .prepare(set, spec)
                        .is_ok_and(|p| j.is_done(&id, &p.key));
                if done {
                    summary.resumed += 1;
                } else {
                    queue.push_back(i);
                }
            }
        }
        on_event(BatchEvent::Started {
            total: summary.total,
            resumed: summary.resumed,
        });
        let pool = Pool {
            state: Mutex::new(PoolState {
                queue,
                in_flight: 0,
                alive: workers.len(),
            }),
            changed: Condvar::new(),
        };
        let shared = Mutex::new((std::mem::take(set), summary));
        let results: Vec<Result<()>> = std::thread::scope(|scope| {
            let handles: Vec<_> = workers
                .into_iter()
                .enumerate()
                .map(|(worker, mut backend)| {
                    let (pool, shared, journal) = (&pool, &shared, &journal);
                    scope.spawn(move || -> Result<()> {
                        while let Some(i) = pool.take()? {
                            let end = self.run_job(
                                worker,
                                i,
                                backend.as_mut(),
                                shared,
                                journal,
                                on_event,
                            );
                            let retire = match &end {
                                Ok(JobEnd::Unavailable(error)) => Some(error.clone()),
                                _ => None,
                            };
                            let cancelled = matches!(end, Ok(JobEnd::Cancelled));
                            let stranded = pool.finish(i, retire.is_some(), cancelled)?;
                            if let Some(error) = retire {
                                let left = pool.alive()?;
                                shared.lock().map_err(|_| poisoned())?.1.retired += 1;
                                on_event(BatchEvent::WorkerRetired {
                                    worker,
                                    error: error.clone(),
                                    left,
                                });
                                // The last worker standing fails what is left, for a rerun.
                                for j in stranded {
                                    let label = self.jobs[j].job.label();
                                    let error = format!("every endpoint is down (last: {error})");
                                    {
                                        let mut g = shared.lock().map_err(|_| poisoned())?;
                                        g.1.failed += 1;
                                        g.1.errors.push(format!("{label}: {error}"));
                                    }
                                    on_event(BatchEvent::JobFailed {
                                        worker,
                                        label,
                                        error,
                                    });
                                }
                                return Ok(());
                            }
                            end?;
                        }
                        Ok(())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(poisoned())))
                .collect()
        });
        results.into_iter().collect::<Result<Vec<()>>>()?;
        let (content, mut summary) = shared.into_inner().map_err(|_| poisoned())?;
        *set = content;
        // What the folder holds now, whatever this run or an earlier one did.
        summary.missing = self
            .jobs
            .iter()
            .filter(|spec| {
                self.generator
                    .prepare(set, spec)
                    .map_or(true, |p| !p.path.is_file())
            })
            .count();
        summary.elapsed = started.elapsed();
        Ok(summary)
    }

    /// Runs job `i` on one worker: prepare, generate, commit, journal.
    fn run_job(
        &self,
        worker: usize,
        i: usize,
        backend: &mut dyn TextBackend,
        shared: &Mutex<(ContentSet, Summary)>,
        journal: &Mutex<Journal>,
        on_event: &(dyn Fn(BatchEvent) + Sync),
    ) -> Result<JobEnd> {
        let spec = &self.jobs[i];
        let label = spec.job.label();
        // Prepared again, not kept from the pass above: the jobs committed since change the
        // prompt (cast, ids), the schema's known ids, the request key and the content the answer
        // is validated against.
        let prepared = {
            let g = shared.lock().map_err(|_| poisoned())?;
            self.generator.prepare(&g.0, spec)
        };
        let result = prepared.and_then(|p| {
            on_event(BatchEvent::JobStarted {
                worker,
                label: label.clone(),
                needs_model: p.needs_model(),
            });
            let t = Instant::now();
            let mut tokens = 0usize;
            let mut watch = |e: Event<'_>| {
                if let Event::Token { .. } = e {
                    tokens += 1;
                    on_event(BatchEvent::Tokens {
                        worker,
                        tokens,
                        tokens_per_second: tokens as f64 / t.elapsed().as_secs_f64().max(1e-3),
                    });
                }
            };
            p.run(backend, &mut watch)
        });
        let committed = result.and_then(|c| {
            let mut g = shared.lock().map_err(|_| poisoned())?;
            c.commit(&mut g.0)
        });
        match committed {
            Ok(outcome) => {
                journal
                    .lock()
                    .map_err(|_| poisoned())?
                    .record(JournalEntry {
                        job: outcome.spec.job.output_id()?.to_string(),
                        key: outcome.key.clone(),
                        status: outcome.status.word().into(),
                        file: outcome.path.clone(),
                        sha256: outcome.output_sha256.clone(),
                        attempts: outcome.attempts,
                        tokens: outcome.tokens,
                        reasons: match &outcome.status {
                            Status::Rejected(r) => r.clone(),
                            _ => Vec::new(),
                        },
                        times: outcome.times,
                        picked: outcome.picked,
                    })?;
                shared.lock().map_err(|_| poisoned())?.1.count(&outcome);
                on_event(BatchEvent::JobFinished {
                    worker,
                    label,
                    status: outcome.status,
                });
                Ok(JobEnd::Done)
            }
            Err(Error::Llm(e)) if e.is_unavailable() => Ok(JobEnd::Unavailable(e.to_string())),
            Err(e) => {
                let error = e.to_string();
                {
                    let mut g = shared.lock().map_err(|_| poisoned())?;
                    g.1.failed += 1;
                    g.1.errors.push(format!("{label}: {error}"));
                }
                on_event(BatchEvent::JobFailed {
                    worker,
                    label,
                    error,
                });
                Ok(if matches!(e, Error::Llm(crate::llm::Error::Cancelled)) {
                    JobEnd::Cancelled
                } else {
                    JobEnd::Done
                })
            }
        }
    }
}
