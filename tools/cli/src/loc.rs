//! `sprout loc` (translations as PO files) and `sprout vo` (the voice-over script).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use sprout_core::content::ContentSet;
use sprout_core::export::vo;
use sprout_core::loc::{self, Catalog};

/// Loads the content of `dir`, refusing a folder with files that do not parse (their lines would
/// be missing from the table, and their translations made obsolete).
fn load(dir: &Path) -> anyhow::Result<ContentSet> {
    if !dir.is_dir() {
        bail!("{} is not a folder", dir.display());
    }
    let (set, problems) = ContentSet::load_dir(dir);
    if let Some(first) = problems.first() {
        bail!(
            "{} file(s) under {} do not parse (first: {first}); fix them first (`sprout validate`)",
            problems.len(),
            dir.display()
        );
    }
    Ok(set)
}

/// The game's title, for the PO header.
fn project(set: &ContentSet) -> String {
    set.worlds
        .first()
        .map_or_else(|| "Sprout game".to_owned(), |w| w.value.title.clone())
}

/// `sprout loc export DIR --lang LANG`: creates or updates `DIR/locales/LANG.po`.
pub fn export(dir: &Path, lang: &str) -> anyhow::Result<ExitCode> {
    loc::check_language(lang)?;
    let set = load(dir)?;
    let path = loc::po_path(dir, lang);
    let existing = Catalog::read(&path)?;
    let created = existing.is_none();
    let now = humantime_now();
    let (catalog, stats) = loc::export(
        existing,
        &loc::source_lines(&set),
        lang,
        &project(&set),
        &now,
    );
    let text = catalog.to_po_string();
    let unchanged = std::fs::read_to_string(&path).is_ok_and(|old| old == text);
    if !unchanged {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        catalog.write(&path)?;
    }
    println!(
        "{}: {} ({} new, {} now fuzzy, {} obsolete, {} dropped, {} back, {} as they were)",
        path.display(),
        if created {
            "created"
        } else if unchanged {
            "up to date"
        } else {
            "updated"
        },
        stats.added,
        stats.fuzzied,
        stats.obsoleted,
        stats.dropped,
        stats.revived,
        stats.kept
    );
    Ok(ExitCode::SUCCESS)
}

/// `sprout loc check DIR [--strict]`: per language, translated / fuzzy / missing / obsolete.
pub fn check(dir: &Path, strict: bool) -> anyhow::Result<ExitCode> {
    let set = load(dir)?;
    let lines = loc::source_lines(&set);
    let langs = loc::languages(dir);
    let mut out = std::io::stdout().lock();
    if langs.is_empty() {
        writeln!(
            out,
            "{}: no translations (make one with `sprout loc export {} --lang fr`)",
            dir.display(),
            dir.display()
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "{:<8} {:>6} {:>10} {:>6} {:>8} {:>9}",
        "language", "lines", "translated", "fuzzy", "missing", "obsolete"
    )?;
    let mut failed = false;
    for (lang, path) in langs {
        let Some(catalog) = Catalog::read(&path)? else {
            continue;
        };
        let (c, problems) = loc::check_catalog(&catalog, &lines);
        writeln!(
            out,
            "{lang:<8} {:>6} {:>10} {:>6} {:>8} {:>9}",
            c.lines, c.translated, c.fuzzy, c.missing, c.obsolete
        )?;
        for p in &problems {
            let at = p.po_line.map(|l| format!(":{l}")).unwrap_or_default();
            writeln!(
                out,
                "  {}{at}: {} [{}]",
                path.display(),
                p.message,
                p.kind.code()
            )?;
        }
        failed |= strict && !c.complete();
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `sprout vo script DIR --out FILE.csv [--lang LANG]`.
pub fn vo_script(dir: &Path, out: &Path, lang: &str) -> anyhow::Result<ExitCode> {
    loc::check_language(lang)?;
    let set = load(dir)?;
    let rows = vo::vo_script(&set, lang);
    sprout_core::fs::write_atomic(out, vo::to_csv(&rows).as_bytes())
        .with_context(|| format!("writing {}", out.display()))?;
    let recorded = rows.iter().filter(|r| r.recorded).count();
    println!(
        "{}: {} line(s), {recorded} recorded, {} to record in {}/{lang}/",
        out.display(),
        rows.len(),
        rows.len() - recorded,
        vo::VO_DIR
    );
    Ok(ExitCode::SUCCESS)
}

/// Now as a PO revision date, `YYYY-MM-DD HH:MM+0000`.
fn humantime_now() -> String {
    let t = sprout_core::content::provenance::now_rfc3339(); // 2026-12-03T10:00:00Z
    format!("{} {}+0000", &t[..10], &t[11..16])
}
