//! `sprout`: Sprout's offline command line. Validates content and draws placeholders; generation
//! commands join as the generators land.

mod placeholders;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Grow game content with local AI, offline.
#[derive(Debug, Parser)]
#[command(name = "sprout", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check every content file under DIR: syntax, references, dialogue graphs, text limits.
    /// Exits 0 when there is no error, 1 when there is any (all are listed), 2 on usage errors.
    Validate {
        /// The asset folder to check.
        #[arg(default_value = "assets")]
        dir: PathBuf,
        /// Print a JSON report instead of one line per problem.
        #[arg(long)]
        json: bool,
    },
    /// Draw labelled placeholder images for every sprite, portrait and icon that content refers to
    /// but that does not exist yet. Each gets a provenance sidecar saying it is a placeholder.
    Placeholders {
        /// The asset folder.
        #[arg(default_value = "assets")]
        dir: PathBuf,
        /// Redraw placeholders that exist already (never touches files without placeholder provenance).
        #[arg(long)]
        force: bool,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate { dir, json } => validate::run(&dir, json),
        Command::Placeholders { dir, force } => placeholders::run(&dir, force),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
