//! `sprout models list|pull|verify`: the model cache, ahead of time and with progress bars.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use sprout_core::llm::gguf;
use sprout_core::llm::{ModelManager, PullProgress};

/// `sprout models list`: every registry model, whether it is downloaded (present with the right
/// size and a well-formed header: [`gguf::check`], not the full hash of `models verify`), and where.
pub fn list() -> anyhow::Result<ExitCode> {
    let m = ModelManager::new();
    println!("model folder: {}", m.dir().display());
    for (i, e) in m.registry().text.iter().enumerate() {
        let mut problem = None;
        let state = if !m.is_present(e) {
            "not downloaded"
        } else if let Err(err) = gguf::check(&m.path_of(e)) {
            problem = Some(err);
            "damaged (bad header)"
        } else {
            "downloaded"
        };
        let default = if i == 0 { " (default)" } else { "" };
        println!(
            "{}{default}\n    {} | {:?} | {:.1} MB | {} | {state}\n    {}",
            e.id,
            e.name,
            e.architecture,
            e.size as f64 / 1e6,
            e.licence,
            m.path_of(e).display()
        );
        if let Some(err) = problem {
            println!(
                "    {err}\n    run `sprout models pull {}` to fetch it again",
                e.id
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A progress bar driven by the manager's events.
pub(crate) fn progress_bar() -> (ProgressBar, impl FnMut(PullProgress)) {
    let bar = ProgressBar::new_spinner();
    bar.enable_steady_tick(Duration::from_millis(120));
    let b = bar.clone();
    let mut bytes_style = false;
    let f = move |p: PullProgress| match p {
        PullProgress::Step { message } => b.set_message(message),
        PullProgress::Bytes { done, total } => {
            if !bytes_style {
                bytes_style = true;
                b.set_length(total);
                b.set_style(
                    ProgressStyle::with_template(
                        "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
            }
            b.set_position(done);
        }
        PullProgress::Done { path } => b.set_message(format!("ready: {}", path.display())),
    };
    (bar, f)
}

/// `sprout models pull [ID]`: fetch (again) and check the hash.
pub fn pull(id: Option<&str>) -> anyhow::Result<ExitCode> {
    let m = ModelManager::new();
    let entry = m.registry().get(id)?.clone();
    let (bar, mut progress) = progress_bar();
    let result = m.pull(&entry, &mut progress);
    bar.finish_and_clear();
    let path = result.with_context(|| format!("pulling {}", entry.id))?;
    println!("{}: {} (sha256 {})", entry.id, path.display(), entry.sha256);
    Ok(ExitCode::SUCCESS)
}

/// `sprout models verify [ID]`: recompute the sha256 of a downloaded model.
pub fn verify(id: Option<&str>) -> anyhow::Result<ExitCode> {
    let m = ModelManager::new();
    let entry = m.registry().get(id)?.clone();
    let (bar, mut progress) = progress_bar();
    bar.set_message(format!("hashing {}", entry.file));
    let result = m.verify(&entry, &mut progress);
    bar.finish_and_clear();
    match result {
        Ok(path) => {
            println!(
                "{}: ok ({}, sha256 {})",
                entry.id,
                path.display(),
                entry.sha256
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{}: {e}", entry.id);
            Ok(ExitCode::from(1))
        }
    }
}
