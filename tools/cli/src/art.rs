//! `sprout art`: makes the game's whole art set from its content. The plan and each piece's job
//! are the core's (`sprout_core::art::set`); this file lists them, opens the image backend once
//! and writes what it makes into the asset folder under the project lock.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use sprout_core::art::{self, Context, State, set};
use sprout_core::cancel::CancelToken;
use sprout_core::diffusion::ImageEvent;

use crate::generate::image::{DEFAULT_SPRITE_BACKEND, backend};
use crate::story::{load_content, lock_project};

/// Options of `sprout art`.
#[derive(Debug, Args)]
pub struct ArtArgs {
    /// The asset folder.
    #[arg(default_value = "assets")]
    dir: PathBuf,
    /// Make nothing: list every piece and its state, and exit 1 when any is missing, a
    /// placeholder or stale.
    #[arg(long)]
    check: bool,
    /// Also remake pieces that are current, hand-made or edited by hand.
    #[arg(long)]
    force: bool,
    /// Only the pieces whose label or file contains this text (`bettany`, `tiles/`).
    #[arg(long)]
    only: Option<String>,
    /// Image backend (default: the embedded sprite model).
    #[arg(long)]
    backend: Option<String>,
    /// Model folder (local backends; for `sprite`, a v1 folder or `models/sprite/v2`, the 32×32
    /// model) or server URL (HTTP backends).
    #[arg(long)]
    model: Option<String>,
}

/// Runs `sprout art`.
pub fn run(a: &ArtArgs) -> anyhow::Result<ExitCode> {
    let dir = a.dir.as_path();
    let content = load_content(dir)?;
    let pieces: Vec<_> = set::plan(&content)
        .into_iter()
        .filter(|p| {
            a.only
                .as_deref()
                .is_none_or(|o| p.label.contains(o) || p.main.to_string_lossy().contains(o))
        })
        .collect();
    let name = a.backend.as_deref().unwrap_or(DEFAULT_SPRITE_BACKEND);
    let mut backend = backend(name, a.model.as_deref(), None)?;
    let model = backend.model_ref();
    let states: Vec<State> = pieces
        .iter()
        .map(|p| set::state(dir, p, model.as_ref()))
        .collect();
    let todo: Vec<usize> = (0..pieces.len())
        .filter(|&i| a.force || states[i].needs_making())
        .collect();
    for (p, s) in pieces.iter().zip(&states) {
        let why = match s {
            State::Stale(why) | State::Other(why) => format!(" ({why})"),
            _ => String::new(),
        };
        println!("{:<11} {:<28} {}{why}", s.word(), p.label, p.main.display());
    }
    println!(
        "{} pieces: {} to make, {} current",
        pieces.len(),
        todo.len(),
        states.iter().filter(|s| **s == State::Current).count()
    );
    if a.check {
        let behind = states.iter().filter(|s| s.needs_making()).count();
        return Ok(if behind == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    if todo.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let _lock = lock_project(dir, "sprout art")?;
    eprintln!("drawing with {}", backend.describe());
    let palettes = dir.join("palettes");
    let cx = Context {
        root: dir,
        palettes: &palettes,
        content: &content,
        cancel: CancelToken::new(),
        previews: 0,
    };
    let bar = ProgressBar::new(todo.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed_precise} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    for i in todo {
        let piece = &pieces[i];
        bar.set_message(piece.label.clone());
        let made = art::make(&piece.job, &cx, Some(backend.as_mut()), &mut |e| {
            if let ImageEvent::Step { .. } = e {
                bar.tick();
            }
        })
        .with_context(|| piece.job.describe())?;
        made.write(dir)
            .with_context(|| format!("writing {}", piece.label))?;
        let line = format!("made {:<28} {}", piece.label, made.note);
        if bar.is_hidden() {
            eprintln!("{line}");
        } else {
            bar.println(line);
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(ExitCode::SUCCESS)
}
