//! `sprout placeholders`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;
use sprout_core::content::ContentSet;
use sprout_core::placeholder::draw_missing;

pub fn run(dir: &Path, force: bool) -> anyhow::Result<ExitCode> {
    if !dir.is_dir() {
        bail!("{} is not a folder", dir.display());
    }
    let _lock = crate::story::lock_project(dir, "sprout placeholders")?;
    let (set, problems) = ContentSet::load_dir(dir);
    for p in problems.iter().filter(|p| p.is_error()) {
        eprintln!("{p}");
    }
    let drawn = draw_missing(&set, force)?;
    for f in &drawn.written {
        println!("drew placeholder {}", f.display());
    }
    println!(
        "{} placeholder(s) drawn, {} existing image(s) kept",
        drawn.written.len(),
        drawn.kept.len()
    );
    Ok(ExitCode::SUCCESS)
}
