//! `sprout gen sprite|portrait|texture|prop`: images and props from the image backends.
//! (Being written: the image backends land with the 2D/3D asset work.)

use std::process::ExitCode;

use clap::Subcommand;

/// Image and prop generation commands.
#[derive(Debug, Subcommand)]
pub enum ImageGen {
    /// A sprite from a prompt.
    Sprite {
        /// What to draw.
        prompt: String,
    },
}

/// Runs one image command.
pub fn run(command: ImageGen) -> anyhow::Result<ExitCode> {
    match command {
        ImageGen::Sprite { prompt } => anyhow::bail!("no image backend yet for `{prompt}`"),
    }
}
