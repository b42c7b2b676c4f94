//! The journal: `.sprout/batch/<name>.journal`, one JSON line per finished job, appended and
//! synced after the asset itself; what it says a job left behind must still be in the folder for
//! the job to count as done.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::content::provenance::sha256_hex;
use crate::story::pipeline::{Picked, StageTimes};
use crate::story::{Error, Result};

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
    /// How best-of-N chose (absent in journals written before it).
    #[serde(default)]
    pub picked: Picked,
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
        let io = |source| Error::io(path)(source);
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
        let io = |source| Error::io(&self.path)(source);
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

/// The journal entries of a batch, for reports.
/// Read-only: the file is not created, repaired or appended to.
pub fn read_journal(path: &Path) -> Result<Vec<JournalEntry>> {
    let bytes = std::fs::read(path).map_err(Error::io(path))?;
    let mut v: Vec<_> = read_entries(path, &bytes).into_values().collect();
    v.sort_by(|a, b| a.job.cmp(&b.job));
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
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
            picked: Picked::default(),
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
                    picked: Picked::default(),
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
            picked: Picked::default(),
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
