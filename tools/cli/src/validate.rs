//! `sprout validate`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use sprout_core::validate::validate_dir;

pub fn run(dir: &Path, json: bool, release: bool) -> anyhow::Result<ExitCode> {
    if !dir.is_dir() {
        bail!("{} is not a folder", dir.display());
    }
    let mut report = validate_dir(dir);
    if release {
        report = report.for_release();
    }
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &report).context("writing JSON")?;
        writeln!(out)?;
    } else {
        for d in &report.diagnostics {
            writeln!(out, "{d}")?;
        }
        writeln!(
            out,
            "{}: {} files, {} error(s), {} warning(s)",
            dir.display(),
            report.files,
            report.error_count(),
            report.warning_count()
        )?;
    }
    Ok(if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
