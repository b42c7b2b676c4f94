//! `sprout export`: content in other tools' formats.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use sprout_core::Error;
use sprout_core::content::{ContentSet, Next};
use sprout_core::export::yarn;

/// `sprout export yarn DIR --out OUT`: every dialogue tree under `dir` as `OUT/<tree>.yarn`, and
/// the story flags' declarations as `OUT/sprout-variables.yarn`. Nothing is written unless every
/// tree exports.
pub fn yarn(dir: &Path, out: &Path) -> anyhow::Result<ExitCode> {
    if !dir.is_dir() {
        bail!("{} is not a folder", dir.display());
    }
    let (set, problems) = ContentSet::load_dir(dir);
    let mut stdout = std::io::stdout().lock();
    if !problems.is_empty() {
        for d in &problems {
            writeln!(stdout, "{d}")?;
        }
        writeln!(
            stdout,
            "{}: {} file(s) could not be read; nothing exported",
            dir.display(),
            problems.len()
        )?;
        return Ok(ExitCode::FAILURE);
    }
    let trees = set.dialogues.iter().map(|d| &d.value);
    let scripts = match yarn::to_yarn_files(trees, &set) {
        Ok(scripts) => scripts,
        Err(Error::Invalid(problems)) => {
            for d in &problems {
                writeln!(stdout, "{d}")?;
            }
            writeln!(
                stdout,
                "{}: {} problem(s) keep the dialogue from exporting; nothing exported",
                dir.display(),
                problems.len()
            )?;
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return Err(e).context("exporting to Yarn"),
    };
    for script in &scripts {
        let path = out.join(&script.file_name);
        sprout_core::fs::write_atomic(&path, script.source.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let nodes: usize = set.dialogues.iter().map(|d| d.value.nodes.len()).sum();
    let options: usize = set
        .dialogues
        .iter()
        .flat_map(|d| &d.value.nodes)
        .map(|n| match &n.next {
            Next::Choices(choices) => choices.len(),
            _ => 0,
        })
        .sum();
    writeln!(
        stdout,
        "{}: {} dialogue tree(s), {nodes} line(s), {options} option(s) -> {} .yarn file(s) in {}",
        dir.display(),
        set.dialogues.len(),
        scripts.len(),
        out.display()
    )?;
    Ok(ExitCode::SUCCESS)
}
