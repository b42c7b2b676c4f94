//! Generation from a Bevy app, headless: asks for a dialogue tree from the local default model
//! (fetched on first use) through the story pipeline, prints the progress, accepts the staged
//! result into a copy of the starter assets and waits until hot reload has loaded it, then prints
//! the new tree and its provenance.
//!
//! `cargo run -p bevy_sprout --features llm --example generate -- pim "the first warm day"`

use bevy::asset::AssetPlugin;
use bevy::prelude::*;
use bevy_sprout::generate::GeneratorSettings;
use bevy_sprout::library::ContentIndex;
use bevy_sprout::prelude::*;
use sprout_core::content::Situation;
use sprout_core::story::{Job as Story, JobSpec};

#[derive(Resource)]
struct Plan {
    npc: String,
    brief: String,
    job: Option<JobId>,
    accepted: bool,
}

fn main() -> AppExit {
    let mut args = std::env::args().skip(1);
    let npc = args.next().unwrap_or_else(|| "pim".into());
    let brief = args.next().unwrap_or_default();
    // Work on a copy: accepting writes into the asset folder.
    let tmp = tempfile::tempdir().expect("a temporary folder");
    let assets = tmp.path().join("assets");
    sprout_core::fs::copy_tree(&bevy_sprout::default_asset_dir(), &assets)
        .expect("a copy of the assets");
    println!("working on a copy of the assets in {}", assets.display());
    let mut app = App::new();
    bevy_sprout::hot_reload::register_fast_watcher(&mut app, &assets);
    let code = app
        .insert_resource(GeneratorSettings::for_assets(&assets))
        .add_plugins((
            MinimalPlugins,
            AssetPlugin {
                file_path: assets.to_string_lossy().into_owned(),
                watch_for_changes_override: Some(true),
                ..default()
            },
            SproutPlugin::default()
                .with_asset_dir(&assets)
                .with_notice(false),
        ))
        .insert_resource(Plan {
            npc,
            brief,
            job: None,
            accepted: false,
        })
        .add_systems(Update, run)
        .run();
    drop(tmp);
    code
}

fn run(
    mut plan: ResMut<Plan>,
    status: Res<ContentStatus>,
    index: Res<ContentIndex>,
    library: Library,
    jobs: Res<Generations>,
    mut updates: MessageReader<GenerationUpdate>,
    mut writers: (
        MessageWriter<Generate>,
        MessageWriter<AcceptGenerated>,
        MessageWriter<AppExit>,
    ),
) {
    let (generate, accept, exit) = &mut writers;
    if !status.settled {
        return;
    }
    let id = format!("{}_example", plan.npc);
    if plan.job.is_none() {
        let (Ok(npc), Ok(tree)) = (Id::new(plan.npc.clone()), Id::new(id.clone())) else {
            eprintln!("`{}` is not a valid id", plan.npc);
            exit.write(AppExit::error());
            return;
        };
        let request = Generate::new(Job::Story(JobSpec {
            job: Story::Dialogue {
                npc,
                situation: Situation::Daily,
                season: None,
                nodes: 3,
                brief: plan.brief.clone(),
                id: Some(tree),
            },
            seed: 1,
            pick: None,
        }));
        plan.job = Some(request.id);
        generate.write(request);
    }
    for u in updates.read() {
        match u {
            GenerationUpdate::Loading { what, .. } => println!("{what}"),
            GenerationUpdate::Progress {
                tokens,
                tokens_per_second,
                ..
            } => println!("{tokens} tokens ({tokens_per_second:.1} tok/s)"),
            GenerationUpdate::Staged { job, path } => {
                println!("staged {}; accepting", path.display());
                accept.write(AcceptGenerated(*job));
            }
            GenerationUpdate::Accepted { path, .. } => {
                println!("accepted into {}", path.display());
                plan.accepted = true;
            }
            GenerationUpdate::Failed { error, .. } => {
                eprintln!("failed: {error}");
                exit.write(AppExit::error());
            }
            _ => {}
        }
    }
    if plan.accepted && index.dialogues.contains_key(&id) {
        if let Some(tree) = library.dialogue(&id) {
            println!("hot reload loaded {}:", tree.id);
            for node in &tree.nodes {
                println!("  {}: {}", node.speaker, node.text);
            }
        }
        if let Some(p) = plan
            .job
            .and_then(|j| jobs.records.get(&j))
            .and_then(|r| r.provenance.as_ref())
        {
            println!(
                "made by {} with {:?}, seed {}",
                p.generator,
                p.model.as_ref().map(|m| &m.id),
                p.seed
            );
        }
        exit.write(AppExit::Success);
    }
}
