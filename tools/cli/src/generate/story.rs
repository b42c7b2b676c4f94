//! `sprout gen world|npc|dialogue|quest|item`: story content from the LLM stages.

use std::process::ExitCode;

use clap::Subcommand;

/// Story generation commands.
#[derive(Debug, Subcommand)]
pub enum StoryGen {
    /// A dialogue tree for an NPC.
    Dialogue {
        /// The NPC's id.
        #[arg(long)]
        npc: String,
    },
}

/// Runs one story command.
pub fn run(command: StoryGen) -> anyhow::Result<ExitCode> {
    match command {
        StoryGen::Dialogue { npc } => anyhow::bail!("not wired yet for `{npc}`"),
    }
}
