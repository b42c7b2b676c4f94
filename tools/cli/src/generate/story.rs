//! `sprout gen world|npc|dialogue|quest|item`: one story asset, validated against the whole
//! asset folder, written atomically with provenance (or put in `.sprout/rejected/` with reasons).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use sprout_core::content::{Id, ItemCategory, Season, Situation};
use sprout_core::story::{Generator, Job, JobSpec, Project, Status};

use crate::story::{BackendArgs, load_content};

/// Story generation commands.
#[derive(Debug, Subcommand)]
pub enum StoryGen {
    /// A story bible for a new game (into an asset folder that has none).
    #[command(mut_arg("id", |a| a.help("The world's id")))]
    #[command(mut_arg("brief", |a| a.help("The idea, in a few words")))]
    World {
        #[command(flatten)]
        about: About,
        #[command(flatten)]
        common: Common,
    },
    /// A villager, with placeholder portrait and sprite.
    #[command(mut_arg("id", |a| a.help("The character's id")))]
    #[command(mut_arg("brief", |a| a.help("Who they are, in a few words")))]
    Npc {
        #[command(flatten)]
        about: About,
        #[command(flatten)]
        common: Common,
    },
    /// A dialogue tree for an NPC.
    Dialogue {
        /// The NPC's id.
        #[arg(long)]
        npc: Id,
        /// first, daily, gift-liked, gift-disliked, offer:QUEST, complete:QUEST or hearts:N (or
        /// as the tree ids spell them).
        #[arg(long, default_value = "daily", value_parser = parse_situation)]
        situation: Situation,
        /// Only in this season: spring, summer, autumn or winter.
        #[arg(long, value_parser = parse_season)]
        season: Option<Season>,
        /// Lines, 1 to 8.
        #[arg(long, default_value_t = 3)]
        nodes: usize,
        /// What it is about.
        #[arg(long, default_value = "")]
        brief: String,
        /// The tree's id (made from the NPC, situation and season without it).
        #[arg(long)]
        id: Option<Id>,
        #[command(flatten)]
        common: Common,
    },
    /// A quest an NPC gives.
    Quest {
        /// The quest's id.
        #[arg(long)]
        id: Id,
        /// Who gives it.
        #[arg(long)]
        giver: Id,
        /// The favour, in a few words.
        #[arg(long, default_value = "")]
        brief: String,
        #[command(flatten)]
        common: Common,
    },
    /// An item and its description, with a placeholder icon.
    Item {
        /// The item's id.
        #[arg(long)]
        id: Id,
        /// Seed, Produce, Forage, Food, Artisan, Material or Tool.
        #[arg(long, value_parser = parse_category)]
        category: Option<ItemCategory>,
        /// What it is.
        #[arg(long, default_value = "")]
        brief: String,
        #[command(flatten)]
        common: Common,
    },
}

/// The asset's id and what it is about; each command words their help for its asset.
#[derive(Debug, Clone, Args)]
pub struct About {
    /// The asset's id.
    #[arg(long)]
    id: Id,
    /// What it is about, in a few words.
    #[arg(long, default_value = "")]
    brief: String,
}

/// Options of every story command.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// The sampling seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The asset folder.
    #[arg(long, default_value = "assets")]
    assets: PathBuf,
    /// Regenerate even on a cache hit, and replace a hand-edited file.
    #[arg(long)]
    force: bool,
    /// Keep best-of-N's candidate N instead of the best-scored one (1 is the first); the
    /// candidates and their scores are listed after each run.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pick: Option<u32>,
    #[command(flatten)]
    backend: BackendArgs,
}

fn parse_situation(s: &str) -> Result<Situation, String> {
    Situation::from_slug(s).map_err(|e| e.to_string())
}

fn parse_season(s: &str) -> Result<Season, String> {
    sprout_core::format::parse(&capitalise(s)).map_err(|_| format!("unknown season `{s}`"))
}

fn parse_category(s: &str) -> Result<ItemCategory, String> {
    sprout_core::format::parse(&capitalise(s)).map_err(|_| format!("unknown category `{s}`"))
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Runs one story command.
pub fn run(command: StoryGen) -> anyhow::Result<ExitCode> {
    let (job, common) = match command {
        StoryGen::World {
            about: About { id, brief },
            common,
        } => (Job::World { id, brief }, common),
        StoryGen::Npc {
            about: About { id, brief },
            common,
        } => (Job::Npc { id, brief }, common),
        StoryGen::Dialogue {
            npc,
            situation,
            season,
            nodes,
            brief,
            id,
            common,
        } => (
            Job::Dialogue {
                npc,
                situation,
                season,
                nodes,
                brief,
                id,
            },
            common,
        ),
        StoryGen::Quest {
            id,
            giver,
            brief,
            common,
        } => (Job::Quest { id, giver, brief }, common),
        StoryGen::Item {
            id,
            category,
            brief,
            common,
        } => (
            Job::Item {
                id,
                category,
                brief,
            },
            common,
        ),
    };
    if matches!(job, Job::World { .. }) {
        std::fs::create_dir_all(&common.assets)
            .with_context(|| format!("creating {}", common.assets.display()))?;
    }
    let _lock = crate::story::lock_project(&common.assets, &format!("sprout gen {}", job.label()))?;
    let mut set = load_content(&common.assets)?;
    let project = Project::new(&common.assets);
    let templates = common.backend.templates()?;
    let mut backends = common.backend.open(false)?;
    let options = common.backend.options(common.force, &backends.story);
    let backend = backends.workers.first_mut().context("no backend")?;
    let spec = JobSpec {
        job,
        seed: common.seed,
        pick: common.pick,
    };
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(format!("{}: generating", spec.job.label()));
    let mut tokens = 0usize;
    let started = std::time::Instant::now();
    let generator = Generator {
        project: &project,
        templates: &templates,
        model: &backends.model,
        options: &options,
    };
    let mut on_event = |e: sprout_core::llm::Event<'_>| {
        if let sprout_core::llm::Event::Token { .. } = e {
            tokens += 1;
            bar.set_message(format!(
                "{}: {tokens} tokens, {:.1} tok/s",
                spec.job.label(),
                tokens as f64 / started.elapsed().as_secs_f64().max(1e-3)
            ));
            bar.tick();
        }
    };
    // As `Generator::generate`, with best-of-N's list kept to show.
    let candidate = generator
        .prepare(&set, &spec)?
        .run(backend.as_mut(), &mut on_event)?;
    let scored = candidate.scored().to_vec();
    let outcome = candidate.commit(&mut set)?;
    bar.finish_and_clear();
    if scored.len() > 1 {
        eprintln!("best of {}: kept #{}", scored.len(), outcome.picked.kept);
        for c in &scored {
            eprintln!(
                "  #{} {:+.2}{} {}",
                c.number,
                c.score,
                if c.kept { " kept" } else { "     " },
                c.summary()
            );
        }
        eprintln!("  (keep another with --pick N)");
    }
    let path = outcome.path.display();
    match &outcome.status {
        Status::Rejected(reasons) => {
            eprintln!(
                "{path}: rejected after {} attempt(s); nothing written there",
                outcome.attempts
            );
            for r in reasons {
                eprintln!("  - {r}");
            }
            eprintln!(
                "the candidate and its reasons are in {}",
                project.rejected_dir().display()
            );
            return Ok(ExitCode::FAILURE);
        }
        Status::Kept(why) => {
            eprintln!("{path}: kept ({why})");
            return Ok(ExitCode::FAILURE);
        }
        s => println!(
            "{path}: {} ({} attempt(s), {} tokens, {:.1} s)",
            s.word(),
            outcome.attempts,
            outcome.tokens,
            started.elapsed().as_secs_f64()
        ),
    }
    Ok(ExitCode::SUCCESS)
}
