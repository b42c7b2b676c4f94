//! What a batch makes: a [`Manifest`] of single jobs and dialogue matrices (every NPC ×
//! situation × season listed), expanded to jobs with stable seeds.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::content::provenance::sha256_hex;
use crate::content::{ContentSet, Id, Season, Situation};
use crate::format::parse;
use crate::story::job::{Job, JobSpec};
use crate::story::{Error, Result};

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
        let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
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
            specs.push(JobSpec {
                job,
                seed,
                pick: None,
            });
        }
        Ok(specs)
    }
}

/// Ids made by a list of jobs (for checks).
pub fn output_ids(jobs: &[JobSpec]) -> Result<HashSet<String>> {
    jobs.iter()
        .map(|j| j.job.output_id().map(|i| i.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

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
    fn the_story_evaluation_manifest_covers_briefs_situations_and_seasons() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let m = Manifest::load(&repo.join("prompts/eval_story.manifest.ron")).unwrap();
        let (set, problems) = ContentSet::load_dir(&repo.join("assets"));
        assert!(problems.is_empty(), "{problems:?}");
        let jobs = m.expand(&set).unwrap();
        assert_eq!(jobs.len(), 23);
        let npcs = jobs
            .iter()
            .filter(|j| matches!(j.job, Job::Npc { .. }))
            .count();
        assert_eq!(npcs, 2);
        let mut situations = HashSet::new();
        let mut seasons = HashSet::new();
        for j in &jobs {
            if let Job::Dialogue {
                situation, season, ..
            } = &j.job
            {
                situations.insert(format!("{situation:?}"));
                seasons.insert(format!("{season:?}"));
            }
        }
        assert!(situations.len() >= 5, "{situations:?}");
        assert!(seasons.len() >= 4, "{seasons:?}");
    }
}
