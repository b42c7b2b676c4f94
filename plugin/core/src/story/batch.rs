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

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::content::provenance::sha256_hex;
use crate::content::{ContentSet, Id, Season, Situation};
use crate::format::parse;
use crate::llm::{Event, TextBackend};

use super::job::{Job, JobSpec};
use super::pipeline::{Generator, Outcome, StageTimes, Status};
use super::{Error, Result};

fn three() -> usize {
    3
}

/// What a batch makes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The batch's name (its journal's name); the manifest's file stem when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// Base seed; each job's seed is derived from it and the job's output id, so adding a job
    /// never changes the others'.
    #[serde(default)]
    pub seed: u64,
    /// Single jobs, made first, in order.
    #[serde(default)]
    pub jobs: Vec<Job>,
    /// Dialogue matrices: every NPC × situation × season listed.
    #[serde(default)]
    pub dialogue: Vec<DialogueMatrix>,
}

/// Dialogue trees for several NPCs, situations and seasons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialogueMatrix {
    /// Whose.
    pub npcs: NpcSelection,
    /// Which situations.
    pub situations: Vec<Situation>,
    /// Which seasons (one tree per season); all year when empty.
    #[serde(default)]
    pub seasons: Vec<Season>,
    /// Lines per tree.
    #[serde(default = "three")]
    pub nodes: usize,
    /// What they are about.
    #[serde(default)]
    pub brief: String,
}

/// Which NPCs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum NpcSelection {
    /// Every character in the assets, and those the manifest's own jobs make.
    All,
    /// These.
    Only(Vec<Id>),
}

impl Manifest {
    /// Reads a manifest; parse errors name the file, line and field.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        parse(&text).map_err(|error| Error::Manifest {
            path: path.to_owned(),
            error,
        })
    }

    /// The batch's name: `name`, else the manifest's file name up to its first dot. It names the
    /// journal file, so it must be a plain file stem: 1 to 64 ASCII letters, digits, `_` or `-`
    /// (no separators, dots or `..`); anything else is an error naming the manifest.
    pub fn name_for(&self, path: &Path) -> Result<String> {
        let name = self.name.clone().unwrap_or_else(|| {
            path.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.split('.').next())
                .filter(|n| !n.is_empty())
                .unwrap_or("batch")
                .to_owned()
        });
        let ok = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(name)
        } else {
            Err(Error::Request(format!(
                "{}: batch name {name:?} must be 1 to 64 ASCII letters, digits, `_` or `-` (it names the journal file)",
                path.display()
            )))
        }
    }

    /// Every job, in order, with its seed. Two jobs that would write the same file are an error.
    pub fn expand(&self, set: &ContentSet) -> Result<Vec<JobSpec>> {
        let mut jobs = self.jobs.clone();
        let mut made_npcs: Vec<Id> = self
            .jobs
            .iter()
            .filter_map(|j| match j {
                Job::Npc { id, .. } => Some(id.clone()),
                _ => None,
            })
            .collect();
        let mut all: Vec<Id> = set.characters.iter().map(|c| c.value.id.clone()).collect();
        all.sort();
        all.append(&mut made_npcs);
        all.dedup();
        for m in &self.dialogue {
            let npcs = match &m.npcs {
                NpcSelection::All => all.clone(),
                NpcSelection::Only(ids) => ids.clone(),
            };
            let seasons: Vec<Option<Season>> = if m.seasons.is_empty() {
                vec![None]
            } else {
                m.seasons.iter().copied().map(Some).collect()
            };
            for npc in &npcs {
                for situation in &m.situations {
                    for season in &seasons {
                        jobs.push(Job::Dialogue {
                            npc: npc.clone(),
                            situation: situation.clone(),
                            season: *season,
                            nodes: m.nodes,
                            brief: m.brief.clone(),
                            id: None,
                        });
                    }
                }
            }
        }
        let mut seen: HashMap<Id, usize> = HashMap::new();
        let mut specs = Vec::with_capacity(jobs.len());
        for (i, job) in jobs.into_iter().enumerate() {
            let id = job.output_id()?;
            if let Some(first) = seen.insert(id.clone(), i) {
                return Err(Error::Request(format!(
                    "jobs {} and {} would both write `{id}`",
                    first + 1,
                    i + 1
                )));
            }
            let digest = sha256_hex(format!("{}:{}", self.seed, job.label()).as_bytes());
            let seed = u64::from_str_radix(&digest[..16], 16).unwrap_or(self.seed);
            specs.push(JobSpec { job, seed });
        }
        Ok(specs)
    }
}

/// One finished job, as the journal records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// The output id.
    pub job: String,
    /// The request key.
    pub key: String,
    /// `made`, `repaired`, `cached`, `up_to_date`, `kept` or `rejected`.
    pub status: String,
    /// The asset's path.
    pub file: PathBuf,
    /// SHA-256 of the asset as written.
    pub sha256: Option<String>,
    /// Model calls.
    pub attempts: u32,
    /// Tokens generated.
    pub tokens: usize,
    /// Reasons, for rejected jobs.
    #[serde(default)]
    pub reasons: Vec<String>,
    /// Time per stage.
    pub times: StageTimes,
}

/// The append-only journal of a batch.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: std::fs::File,
    entries: HashMap<String, JournalEntry>,
}

impl Journal {
    /// Opens (or creates) the journal at `path` for appending, reading what it has. A damaged
    /// line (cut short by a kill, even inside a multi-byte character) is skipped with a warning:
    /// that job is simply done again.
    pub fn open(path: &Path) -> Result<Self> {
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let (entries, ends_with_newline) = match std::fs::read(path) {
            Ok(bytes) => (
                read_entries(path, &bytes),
                bytes.last().is_none_or(|b| *b == b'\n'),
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (HashMap::new(), true),
            Err(e) => return Err(io(e)),
        };
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        // A line cut short by a kill must not swallow the next one.
        if !ends_with_newline {
            file.write_all(b"\n").map_err(io)?;
        }
        Ok(Self {
            path: path.to_owned(),
            file,
            entries,
        })
    }

    /// The entries read or written so far, by job.
    pub fn entries(&self) -> &HashMap<String, JournalEntry> {
        &self.entries
    }

    /// Whether `job` is done: its last line has `key`, delivered a file that is still as
    /// written, or kept a file that is still there. A rejected job is never done.
    pub fn is_done(&self, job: &str, key: &str) -> bool {
        self.entries
            .get(job)
            .is_some_and(|e| e.key == key && entry_holds(e))
    }

    /// Appends and syncs one entry.
    pub fn record(&mut self, entry: JournalEntry) -> Result<()> {
        let mut line = serde_json::to_string(&entry).map_err(|e| Error::Request(e.to_string()))?;
        line.push('\n');
        let io = |source| Error::Io {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(line.as_bytes()).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.entries.insert(entry.job.clone(), entry);
        Ok(())
    }
}

/// Whether what `e` says the job left behind is still in the folder.
fn entry_holds(e: &JournalEntry) -> bool {
    match e.status.as_str() {
        "made" | "repaired" | "cached" | "up_to_date" => match &e.sha256 {
            Some(sha) => std::fs::read(&e.file).is_ok_and(|b| &sha256_hex(&b) == sha),
            None => e.file.is_file(),
        },
        // A torn generated pair reads as kept; the marker says it is not a person's work.
        "kept" => e.file.is_file() && !crate::content::provenance::write_interrupted(&e.file),
        _ => false,
    }
}

/// The entries of a journal's bytes, the last line per job winning; damaged lines are skipped
/// with a warning naming the file and line.
fn read_entries(path: &Path, bytes: &[u8]) -> HashMap<String, JournalEntry> {
    let mut entries = HashMap::new();
    for (n, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<JournalEntry>(line) {
            Ok(e) => {
                entries.insert(e.job.clone(), e);
            }
            Err(e) => tracing::warn!(
                "{}:{}: skipping a damaged journal line ({e}); that job will be done again",
                path.display(),
                n + 1
            ),
        }
    }
    entries
}

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

/// How one job ended, for the pool.
enum JobEnd {
    /// Finished, failed or rejected: journaled or counted.
    Done,
    /// The batch was cancelled: the jobs left are dropped.
    Cancelled,
    /// The worker's endpoint is down: the job goes back to the queue.
    Unavailable(String),
}

/// The queue the workers share. A worker whose queue is empty waits while jobs are in flight on
/// others: one of them may come back.
struct Pool {
    state: Mutex<PoolState>,
    changed: Condvar,
}

struct PoolState {
    queue: VecDeque<usize>,
    in_flight: usize,
    alive: usize,
}

impl Pool {
    /// The next job, or `None` when there is none and none can come back.
    fn take(&self) -> Result<Option<usize>> {
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
    fn finish(&self, i: usize, retires: bool, cancelled: bool) -> Result<Vec<usize>> {
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

    fn alive(&self) -> Result<usize> {
        Ok(self.state.lock().map_err(|_| poisoned())?.alive)
    }
}

fn poisoned() -> Error {
    Error::Request("a batch worker panicked".into())
}

/// The journal entries of a batch, for reports.
/// Read-only: the file is not created, repaired or appended to.
pub fn read_journal(path: &Path) -> Result<Vec<JournalEntry>> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut v: Vec<_> = read_entries(path, &bytes).into_values().collect();
    v.sort_by(|a, b| a.job.cmp(&b.job));
    Ok(v)
}

/// Ids made by a list of jobs (for checks).
pub fn output_ids(jobs: &[JobSpec]) -> Result<HashSet<String>> {
    jobs.iter()
        .map(|j| j.job.output_id().map(|i| i.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_expands_to_a_matrix_with_stable_seeds() {
        let text = r#"Manifest(
            seed: 3,
            jobs: [Npc(id: "wren", brief: "a beekeeper")],
            dialogue: [(npcs: All, situations: [Daily, GiftLiked], seasons: [Spring, Winter])],
        )"#;
        let m: Manifest = parse(text).unwrap();
        let mut set = ContentSet::new("assets");
        set.add_source(
            PathBuf::from("assets/npcs/pim.npc.ron"),
            std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../assets/npcs/pim.npc.ron"
            ))
            .unwrap(),
        )
        .unwrap();
        let jobs = m.expand(&set).unwrap();
        assert_eq!(jobs.len(), 1 + 2 * 2 * 2);
        let labels: Vec<String> = jobs.iter().map(|j| j.job.label()).collect();
        assert!(
            labels.contains(&"dialogue wren_gift_liked_winter".to_owned()),
            "{labels:?}"
        );
        assert!(
            labels.contains(&"dialogue pim_daily_spring".to_owned()),
            "{labels:?}"
        );
        // Seeds depend on the job, not its position.
        let mut fewer = m.clone();
        fewer.jobs.clear();
        let again = fewer.expand(&set).unwrap();
        let seed_of = |v: &[JobSpec], l: &str| v.iter().find(|j| j.job.label() == l).unwrap().seed;
        assert_eq!(
            seed_of(&jobs, "dialogue pim_daily_spring"),
            seed_of(&again, "dialogue pim_daily_spring")
        );
        assert_ne!(
            seed_of(&jobs, "dialogue pim_daily_spring"),
            seed_of(&jobs, "dialogue pim_daily_winter")
        );
    }

    #[test]
    fn duplicate_outputs_are_an_error() {
        let m: Manifest = parse(r#"Manifest(jobs: [Item(id: "pear"), Item(id: "pear")])"#).unwrap();
        let e = m
            .expand(&ContentSet::new("assets"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("jobs 1 and 2") && e.contains("`pear`"), "{e}");
    }

    #[test]
    fn a_bad_manifest_names_file_line_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.manifest.ron");
        std::fs::write(
            &p,
            "Manifest(\n  seed: 1,\n  jobs: [Item(id: \"../../x\")],\n)",
        )
        .unwrap();
        let e = Manifest::load(&p).unwrap_err().to_string();
        assert!(e.contains("x.manifest.ron:3:"), "{e}");
    }

    #[test]
    fn batch_names_must_be_plain_file_stems() {
        let p = Path::new("dir/story.manifest.ron");
        let named = |n: &str| Manifest {
            name: Some(n.into()),
            seed: 0,
            jobs: vec![],
            dialogue: vec![],
        };
        assert_eq!(named("spring-2").name_for(p).unwrap(), "spring-2");
        assert_eq!(
            Manifest {
                name: None,
                ..named("x")
            }
            .name_for(p)
            .unwrap(),
            "story"
        );
        for bad in ["../x", "a/b", "", ".hidden", "a b", "é", &"x".repeat(65)] {
            let e = named(bad).name_for(p).unwrap_err().to_string();
            assert!(
                e.contains("story.manifest.ron") && e.contains("batch name"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn only_delivered_or_still_kept_files_are_done() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.ron");
        let entry = |status: &str, sha256: Option<String>| JournalEntry {
            job: "a".into(),
            key: "k".into(),
            status: status.into(),
            file: file.clone(),
            sha256,
            attempts: 1,
            tokens: 0,
            reasons: vec![],
            times: StageTimes::default(),
        };
        std::fs::write(&file, "x").unwrap();
        assert!(entry_holds(&entry("made", Some(sha256_hex(b"x")))));
        assert!(entry_holds(&entry("kept", None)));
        assert!(
            !entry_holds(&entry("rejected", None)),
            "a rejection is never done"
        );
        assert!(!entry_holds(&entry("made", Some(sha256_hex(b"y")))));
        std::fs::remove_file(&file).unwrap();
        assert!(
            !entry_holds(&entry("kept", None)),
            "a kept file since deleted"
        );
        assert!(!entry_holds(&entry("up_to_date", None)));
    }

    #[test]
    fn a_line_torn_inside_a_character_is_skipped_and_reading_never_writes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.journal");
        let good = r#"{"job":"a","key":"k","status":"kept","file":"a.ron","sha256":null,"attempts":0,"tokens":0,"reasons":[],"times":{"render":{"secs":0,"nanos":0},"generate":{"secs":0,"nanos":0},"validate":{"secs":0,"nanos":0},"write":{"secs":0,"nanos":0}}}"#;
        let mut bytes = format!(
            "{good}
"
        )
        .into_bytes();
        bytes.extend_from_slice(b"{\"job\":\"b\",\"reasons\":[\"caf\xC3");
        std::fs::write(&p, &bytes).unwrap();
        let read = read_journal(&p).unwrap();
        assert_eq!(read.len(), 1, "{read:?}");
        assert_eq!(
            std::fs::read(&p).unwrap(),
            bytes,
            "a read wrote to the journal"
        );
        // Opened for a run: the torn line is closed off so the next line stands alone.
        let mut j = Journal::open(&p).unwrap();
        assert_eq!(j.entries().len(), 1);
        j.record(JournalEntry {
            job: "c".into(),
            ..read[0].clone()
        })
        .unwrap();
        assert_eq!(read_journal(&p).unwrap().len(), 2);
        // A missing journal is an error for a reader, and is not created.
        let none = dir.path().join("none.journal");
        assert!(read_journal(&none).is_err());
        assert!(!none.exists());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Fuzz: any bytes after whole lines (a kill mid-write, a disk error, a hostile edit) never
        /// panic the reader and never lose a whole line before them.
        #[test]
        fn journal_reading_survives_any_trailing_bytes(
            jobs in proptest::collection::btree_set("[a-z_é]{1,12}", 0..6),
            tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            cut in 0usize..400,
        ) {
            let mut bytes = Vec::new();
            for job in &jobs {
                let e = JournalEntry {
                    job: job.clone(),
                    key: "k".into(),
                    status: "made".into(),
                    file: PathBuf::from(format!("{job}.ron")),
                    sha256: None,
                    attempts: 1,
                    tokens: 2,
                    reasons: vec![format!("{job} café")],
                    times: StageTimes::default(),
                };
                bytes.extend_from_slice(serde_json::to_string(&e).unwrap().as_bytes());
                bytes.push(b'\n');
            }
            let path = Path::new("fuzz.journal");
            let whole = read_entries(path, &bytes);
            proptest::prop_assert_eq!(whole.len(), jobs.len());
            let mut torn = bytes.clone();
            torn.extend_from_slice(&tail);
            let read = read_entries(path, &torn);
            proptest::prop_assert!(whole.iter().all(|(job, e)| read.get(job) == Some(e)));
            // Cut anywhere (inside a character too): every line that ended before the cut is kept
            // (and the last one too when only its newline was cut off).
            let cut = cut.min(bytes.len());
            let kept = read_entries(path, &bytes[..cut]);
            let ended = bytes[..cut].iter().filter(|b| **b == b'\n').count();
            proptest::prop_assert!(kept.len() == ended || kept.len() == ended + 1);
        }
    }

    #[test]
    fn the_journal_survives_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.journal");
        let entry = JournalEntry {
            job: "a".into(),
            key: "k".into(),
            status: "made".into(),
            file: dir.path().join("a.ron"),
            sha256: Some(sha256_hex(b"x")),
            attempts: 1,
            tokens: 3,
            reasons: vec![],
            times: StageTimes::default(),
        };
        std::fs::write(dir.path().join("a.ron"), "x").unwrap();
        {
            let mut j = Journal::open(&p).unwrap();
            j.record(entry.clone()).unwrap();
        }
        // A kill in the middle of the second line.
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"job\":\"b\",\"ke").unwrap();
        drop(f);
        let mut j = Journal::open(&p).unwrap();
        assert!(j.is_done("a", "k"));
        assert!(!j.is_done("a", "other key"));
        assert!(!j.is_done("b", "k"));
        j.record(JournalEntry {
            job: "b".into(),
            ..entry.clone()
        })
        .unwrap();
        let j = Journal::open(&p).unwrap();
        assert_eq!(j.entries().len(), 2);
        // An edited file is not done.
        std::fs::write(dir.path().join("a.ron"), "y").unwrap();
        assert!(!j.is_done("a", "k"));
    }
}
