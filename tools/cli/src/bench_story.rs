//! `sprout bench story`: dialogue trees per minute with a model on this machine, time per stage,
//! and the cache-hit path, on a scratch copy of the asset folder (the real one is not touched).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use sprout_core::content::provenance::{ModelRef, sha256_hex};
use sprout_core::content::{Id, Season, Situation};
use sprout_core::story::batch::{DialogueMatrix, NpcSelection};
use sprout_core::story::{
    Batch, Generator, JobSpec, Manifest, Options, Project, Summary, Templates,
};

use crate::story::{BackendArgs, load_content, print_summary};

/// A scratch copy of the asset folder and the batch of dialogue jobs to run on it.
struct Scratch {
    _dir: tempfile::TempDir,
    copy: PathBuf,
    project: Project,
    jobs: Vec<JobSpec>,
}

impl Scratch {
    /// Copies `assets` and plans `trees` dialogue jobs (every NPC × daily/gift-liked × the
    /// seasons, cut to `trees`).
    fn new(assets: &Path, trees: usize, nodes: usize) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let copy = dir.path().join("assets");
        sprout_core::fs::copy_tree(assets, &copy)?;
        let set = load_content(&copy)?;
        let npcs: Vec<Id> = {
            let mut v: Vec<Id> = set.characters.iter().map(|c| c.value.id.clone()).collect();
            v.sort();
            v
        };
        let manifest = Manifest {
            name: Some("bench".into()),
            seed: 1,
            jobs: Vec::new(),
            dialogue: vec![DialogueMatrix {
                npcs: NpcSelection::Only(npcs),
                situations: vec![Situation::Daily, Situation::GiftLiked],
                seasons: vec![
                    Season::Spring,
                    Season::Summer,
                    Season::Autumn,
                    Season::Winter,
                ],
                nodes,
                brief: String::new(),
            }],
        };
        let mut jobs = manifest.expand(&set)?;
        anyhow::ensure!(
            jobs.len() >= trees,
            "only {} trees to make from this content",
            jobs.len()
        );
        jobs.truncate(trees);
        Ok(Self {
            project: Project::new(&copy),
            copy,
            jobs,
            _dir: dir,
        })
    }

    fn batch<'a>(
        &'a self,
        templates: &'a Templates,
        model: &'a ModelRef,
        options: &'a Options,
    ) -> Batch<'a> {
        Batch {
            generator: Generator {
                project: &self.project,
                templates,
                model,
                options,
            },
            name: "bench".into(),
            jobs: self.jobs.clone(),
        }
    }

    /// The SHA-256 of each job's file (`None` where it has none).
    fn outputs(&self) -> anyhow::Result<Vec<Option<String>>> {
        self.jobs
            .iter()
            .map(|j| {
                let path = j.job.output_path(&self.copy)?;
                Ok(std::fs::read(path).ok().map(|b| sha256_hex(&b)))
            })
            .collect()
    }
}

/// Runs `trees` dialogue jobs (every NPC × daily/gift-liked × the seasons, cut to `trees`), then
/// the same batch again from the cache with the outputs deleted. With `compare_prefix_reuse`
/// (local model), the same jobs first run on a backend that computes every prompt in full, and
/// the time to first token and the outputs of both runs are compared.
pub fn run(
    assets: &Path,
    trees: usize,
    nodes: usize,
    backend: &BackendArgs,
    compare_prefix_reuse: bool,
) -> anyhow::Result<ExitCode> {
    let templates = backend.templates()?;
    let quiet = |_| {};
    let full = if compare_prefix_reuse {
        anyhow::ensure!(
            backend.endpoints.is_empty(),
            "--compare-prefix-reuse measures the local model"
        );
        let scratch = Scratch::new(assets, trees, nodes)?;
        let args = BackendArgs {
            no_prefix_reuse: true,
            ..backend.clone()
        };
        let backends = args.open(true)?;
        let options = backend.options(false, &backends.story);
        let batch = scratch.batch(&templates, &backends.model, &options);
        let mut set = load_content(&scratch.copy)?;
        let summary = batch.run(&mut set, backends.workers, &quiet)?;
        println!("-- generation, every prompt computed in full");
        print_summary(&summary);
        per_tree(&summary);
        Some((summary, scratch.outputs()?))
    } else {
        None
    };
    let scratch = Scratch::new(assets, trees, nodes)?;
    let backends = backend.open(true)?;
    let options = backend.options(false, &backends.story);
    let batch = scratch.batch(&templates, &backends.model, &options);
    println!(
        "model: {} on {} worker(s); {trees} trees of {nodes} lines",
        backends.model.id,
        backends.workers.len()
    );
    let mut set = load_content(&scratch.copy)?;
    let first = batch.run(&mut set, backends.workers, &quiet)?;
    println!("-- generation");
    print_summary(&first);
    per_tree(&first);
    if let Some((full, outputs)) = &full {
        let same = scratch.outputs()? == *outputs;
        let (a, b) = (full.times.first_token, first.times.first_token);
        println!(
            "prefix reuse: time to first token {:.2} s -> {:.2} s over the batch ({:.0} % saved; {} of {} prompt tokens reused); generation {:.1} s -> {:.1} s; outputs {}",
            a.as_secs_f64(),
            b.as_secs_f64(),
            (1.0 - b.as_secs_f64() / a.as_secs_f64().max(1e-9)) * 100.0,
            first.times.reused_tokens,
            first.times.prompt_tokens,
            full.times.generate.as_secs_f64(),
            first.times.generate.as_secs_f64(),
            if same { "identical" } else { "DIFFER" },
        );
    }
    // The cache path: outputs and journal gone, cache kept.
    let paths: Vec<_> = batch
        .jobs
        .iter()
        .map(|j| j.job.output_path(&scratch.copy))
        .collect::<Result<_, _>>()?;
    for p in &paths {
        let _ = std::fs::remove_file(p);
        let _ = std::fs::remove_file(sprout_core::content::provenance::sidecar_path(p));
    }
    std::fs::remove_file(batch.journal_path())?;
    let mut set = load_content(&scratch.copy)?;
    let started = Instant::now();
    let backends = backend.open(true)?;
    let load = started.elapsed();
    let second = batch.run(&mut set, backends.workers, &quiet)?;
    println!(
        "-- cache hits (model load {:.2} s not included)",
        load.as_secs_f64()
    );
    print_summary(&second);
    println!(
        "cache-hit path: {:.1} ms per tree ({}/{} from cache)",
        second.elapsed.as_secs_f64() * 1e3 / trees.max(1) as f64,
        second.cached,
        trees
    );
    let ab_ok = full.as_ref().is_none_or(|(s, _)| s.ok());
    Ok(if first.ok() && second.ok() && ab_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn per_tree(s: &Summary) {
    let n = (s.made + s.repaired + s.rejected).max(1) as f64;
    println!(
        "per tree: {:.1} s ({:.2} trees/min); render {:.0} ms, generate {:.1} s, validate {:.0} ms, write {:.1} ms; {:.1} tok/s",
        s.elapsed.as_secs_f64() / n,
        n * 60.0 / s.elapsed.as_secs_f64().max(1e-9),
        s.times.render.as_secs_f64() * 1e3 / n,
        s.times.generate.as_secs_f64() / n,
        s.times.validate.as_secs_f64() * 1e3 / n,
        s.times.write.as_secs_f64() * 1e3 / n,
        s.tokens as f64 / s.times.generate.as_secs_f64().max(1e-9),
    );
}
