//! `sprout bench story`: dialogue trees per minute with a model on this machine, time per stage,
//! and the cache-hit path, on a scratch copy of the asset folder (the real one is not touched).

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use sprout_core::content::{Id, Season, Situation};
use sprout_core::story::batch::{DialogueMatrix, NpcSelection};
use sprout_core::story::{Batch, Generator, Manifest, Project, Summary};

use crate::story::{BackendArgs, load_content, print_summary};

/// Runs `trees` dialogue jobs (every NPC × daily/gift-liked × the seasons, cut to `trees`), then
/// the same batch again from the cache with the outputs deleted.
pub fn run(
    assets: &Path,
    trees: usize,
    nodes: usize,
    backend: &BackendArgs,
) -> anyhow::Result<ExitCode> {
    let scratch = tempfile::tempdir()?;
    let copy = scratch.path().join("assets");
    sprout_core::fs::copy_tree(assets, &copy)?;
    let mut set = load_content(&copy)?;
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
    let project = Project::new(&copy);
    let templates = backend.templates()?;
    let options = backend.options(false);
    let backends = backend.open(true)?;
    let batch = Batch {
        generator: Generator {
            project: &project,
            templates: &templates,
            model: &backends.model,
            options: &options,
        },
        name: "bench".into(),
        jobs,
    };
    let quiet = |_| {};
    println!(
        "model: {} on {} worker(s); {trees} trees of {nodes} lines",
        backends.model.id,
        backends.workers.len()
    );
    let first = batch.run(&mut set, backends.workers, &quiet)?;
    println!("-- generation");
    print_summary(&first);
    per_tree(&first);
    // The cache path: outputs and journal gone, cache kept.
    let paths: Vec<_> = batch
        .jobs
        .iter()
        .map(|j| j.job.output_path(&copy))
        .collect::<Result<_, _>>()?;
    for p in &paths {
        let _ = std::fs::remove_file(p);
        let _ = std::fs::remove_file(sprout_core::content::provenance::sidecar_path(p));
    }
    std::fs::remove_file(batch.journal_path())?;
    let mut set = load_content(&copy)?;
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
    Ok(if first.ok() && second.ok() {
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
