//! `sprout gen`: make one asset. Story content (world, NPCs, dialogue, quests, items) comes from
//! the LLM stages in [`story`]; images and props from the image backends in [`image`].

pub mod image;
pub mod story;

use std::process::ExitCode;

use clap::Subcommand;

/// What `sprout gen` makes.
#[derive(Debug, Subcommand)]
pub enum Gen {
    /// Story content: world, npc, dialogue, quest, item.
    #[command(flatten)]
    Story(story::StoryGen),
    /// Images and props: sprite, portrait, texture, prop.
    #[command(flatten)]
    Image(image::ImageGen),
}

/// Runs one `sprout gen` command.
pub fn run(command: Gen) -> anyhow::Result<ExitCode> {
    match command {
        Gen::Story(command) => story::run(command),
        Gen::Image(command) => image::run(command),
    }
}
