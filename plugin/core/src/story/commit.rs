//! The last step of a job: decide the outcome against the content set as it is now, then write
//! a valid asset with its provenance sidecar (into the assets, or into a staging folder for
//! review), cache it, and draw the placeholder art it needs; or file the candidate under
//! `rejected/` with its reasons.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::content::provenance::{now_rfc3339, sha256_hex, sidecar_path, write_with_sidecar};
use crate::content::{ContentSet, Provenance};
use crate::format::to_ron;
use crate::fs::write_atomic;

use super::cache::{self, CacheEntry, cache_path};
use super::check::check;
use super::job::max_tokens;
use super::run::{Candidate, Outcome, Prepared, Scored, Status};
use super::{Error, GENERATOR_PREFIX, Result};

impl Candidate {
    /// Whether the model was called (false: up to date, kept, or cached).
    pub fn used_model(&self) -> bool {
        self.attempts > 0
    }

    /// Best-of-N's first answers, as scored, the kept one marked (empty when the model was
    /// not called). The editor lists them; keeping another is a new job with its
    /// [`pick`](super::JobSpec::pick).
    pub fn scored(&self) -> &[Scored] {
        &self.scored
    }

    /// Writes the asset (atomically: temp file + rename), its provenance sidecar and the cache
    /// entry, adds it to `set`, and draws placeholder art it needs; or writes a rejected
    /// candidate and its reasons to `rejected/`. Existing files are only replaced by a valid
    /// asset, and hand-edited ones only with `force`.
    pub fn commit(self, set: &mut ContentSet) -> Result<Outcome> {
        let started = Instant::now();
        let (mut outcome, valid) = self.settle(set)?;
        if let Some(Valid {
            path,
            ron,
            provenance,
        }) = valid
        {
            let sidecar = to_ron(&provenance)?;
            write_with_sidecar(&path, ron.as_bytes(), &sidecar)?;
            set.remove(&path);
            set.remove(&sidecar_path(&path));
            set.add_source(path.clone(), ron)
                .map_err(|d| Error::Request(d.to_string()))?;
            set.add_source(sidecar_path(&path), sidecar)
                .map_err(|d| Error::Request(d.to_string()))?;
            if !outcome.spec.job.art_paths().is_empty() {
                crate::placeholder::draw_missing(set, false)?;
            }
        }
        outcome.times.write = started.elapsed();
        Ok(outcome)
    }

    /// Like [`commit`](Self::commit), but a valid asset goes to the staging folder `dir` (which
    /// mirrors the asset folder's layout) for review instead of into the assets, with the
    /// placeholder art it needs; `set` is not changed. [`Staged::files`] lists what was written,
    /// in the order to move it into the assets (art first, the asset itself last).
    pub fn stage(self, set: &ContentSet, dir: &Path) -> Result<Staged> {
        let started = Instant::now();
        let assets = self.prepared.project.assets.clone();
        let (mut outcome, valid) = self.settle(set)?;
        let mut staged = Staged {
            outcome: outcome.clone(),
            dir: dir.to_owned(),
            files: Vec::new(),
            text: None,
            provenance: None,
        };
        if let Some(Valid {
            path,
            ron,
            provenance,
        }) = valid
        {
            let rel = path
                .strip_prefix(&assets)
                .map_err(|_| Error::Request(format!("{} is outside the assets", path.display())))?
                .to_owned();
            let art = outcome.spec.job.art_paths();
            let mut all = set.clone();
            all.remove(&path);
            all.add_source(path.clone(), ron.clone())
                .map_err(|d| Error::Request(d.to_string()))?;
            for w in crate::placeholder::wanted(&all) {
                if art.contains(&w.path) && !w.path.under(&set.root).exists() {
                    crate::placeholder::draw_to(&w, &w.path.under(dir))?;
                    let file = PathBuf::from(w.path.as_str());
                    staged.files.push(sidecar_path(&file));
                    staged.files.push(file);
                }
            }
            write_atomic(
                &sidecar_path(&dir.join(&rel)),
                to_ron(&provenance)?.as_bytes(),
            )?;
            write_atomic(&dir.join(&rel), ron.as_bytes())?;
            staged.files.push(sidecar_path(&rel));
            staged.files.push(rel);
            staged.text = Some(ron);
            staged.provenance = Some(provenance);
        }
        outcome.times.write = started.elapsed();
        staged.outcome = outcome;
        Ok(staged)
    }

    /// Decides the outcome: validates a new asset again against `set` as it is now (a
    /// concurrent job may have added something that conflicts), files rejects, writes the cache
    /// entry, and returns the asset and its provenance when it is good.
    fn settle(self, set: &ContentSet) -> Result<(Outcome, Option<Valid>)> {
        let p = &self.prepared;
        let mut outcome = Outcome {
            spec: p.spec.clone(),
            path: p.path.clone(),
            key: p.key.clone(),
            status: Status::Made,
            output_sha256: None,
            attempts: self.attempts,
            tokens: self.tokens,
            times: self.times,
            picked: self.picked,
        };
        if let Some((status, sha)) = &p.early {
            outcome.status = status.clone();
            outcome.output_sha256.clone_from(sha);
            return Ok((outcome, None));
        }
        match self.result {
            Ok(ron) => {
                let mut now = set.clone();
                now.remove(&p.path);
                let again = check(
                    &now,
                    &p.path,
                    &p.spec.job,
                    &p.messages,
                    p.topic.as_ref(),
                    &ron,
                );
                if let Err(problems) = again {
                    reject(p, &problems, &ron)?;
                    outcome.status = Status::Rejected(problems);
                    return Ok((outcome, None));
                }
                let sha = sha256_hex(ron.as_bytes());
                if !self.cached {
                    let entry = CacheEntry {
                        output: ron.clone(),
                        attempts: self.attempts,
                        tokens: self.tokens,
                    };
                    cache::write(&cache_path(&p.project, &p.key), &entry)?;
                }
                let provenance = provenance(p, &sha, self.attempts, self.tokens);
                outcome.output_sha256 = Some(sha);
                outcome.status = if self.cached {
                    Status::Cached
                } else if self.repairs > 0 {
                    Status::Repaired(self.repairs)
                } else {
                    Status::Made
                };
                Ok((
                    outcome,
                    Some(Valid {
                        path: p.path.clone(),
                        ron,
                        provenance,
                    }),
                ))
            }
            Err((problems, text)) => {
                reject(p, &problems, &text)?;
                outcome.status = Status::Rejected(problems);
                Ok((outcome, None))
            }
        }
    }
}

/// A good asset, ready to write.
struct Valid {
    path: PathBuf,
    ron: String,
    provenance: Provenance,
}

/// A job's result written to a staging folder for review ([`Candidate::stage`]).
#[derive(Debug, Clone)]
pub struct Staged {
    /// What happened.
    pub outcome: Outcome,
    /// The staging folder; it mirrors the asset folder's layout.
    pub dir: PathBuf,
    /// The files written, relative to `dir` (and to the asset folder they belong in), in the
    /// order to move them: art and sidecars first, the asset itself last. Empty when nothing
    /// valid was made.
    pub files: Vec<PathBuf>,
    /// The asset's RON text, for a preview.
    pub text: Option<String>,
    /// The asset's provenance, as written into its staged sidecar.
    pub provenance: Option<Provenance>,
}

/// Files a candidate that failed, with its reasons, under `rejected/`.
fn reject(p: &Prepared, problems: &[String], text: &str) -> Result<()> {
    let name = p
        .path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let dir = p.project.rejected_dir();
    write_atomic(&dir.join(format!("{name}.candidate")), text.as_bytes())?;
    let mut reasons = format!(
        "{} rejected {}\nrequest key {}\n",
        p.path.display(),
        now_rfc3339(),
        p.key
    );
    for r in problems {
        reasons.push_str("- ");
        reasons.push_str(r);
        reasons.push('\n');
    }
    write_atomic(&dir.join(format!("{name}.reasons.txt")), reasons.as_bytes())?;
    tracing::warn!("{}: rejected: {}", p.path.display(), problems.join("; "));
    Ok(())
}

fn provenance(p: &Prepared, sha: &str, attempts: u32, tokens: usize) -> Provenance {
    let s = &p.options.sampling;
    let job = to_ron(&p.spec)
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    let mut provenance = Provenance {
        generator: format!("{GENERATOR_PREFIX} {}", p.spec.job.stage().name()),
        generator_version: env!("CARGO_PKG_VERSION").into(),
        model: Some(p.model.clone()),
        template: Some(p.template.clone()),
        inputs_sha256: p.inputs_sha256.clone(),
        output_sha256: sha.to_owned(),
        seed: p.spec.seed,
        parameters: BTreeMap::from([
            ("job".into(), job),
            ("request_key".into(), p.key.clone()),
            ("temperature".into(), s.temperature.to_string()),
            ("top_k".into(), s.top_k.to_string()),
            ("top_p".into(), s.top_p.to_string()),
            ("repeat_penalty".into(), s.repeat_penalty.to_string()),
            ("repeat_last_n".into(), s.repeat_last_n.to_string()),
            ("max_repairs".into(), p.options.max_repairs.to_string()),
            ("candidates".into(), p.options.candidates.max(1).to_string()),
            ("example_lines".into(), p.options.example_lines.to_string()),
            ("topic_lead".into(), p.options.topic_lead.to_string()),
            ("max_tokens".into(), max_tokens(&p.spec.job).to_string()),
            ("attempts".into(), attempts.to_string()),
            ("tokens".into(), tokens.to_string()),
        ]),
        created: now_rfc3339(),
    };
    if let Some(t) = &p.topic {
        // What the tree was asked to mention: `sprout report` counts trees that do.
        provenance
            .parameters
            .insert("topic".into(), t.label.clone());
        provenance
            .parameters
            .insert("topic_keys".into(), t.keys.join("|"));
    }
    provenance
}
