//! `sprout disclose`: the AI-content disclosure (Steam's Content Survey) from provenance, and the
//! credits file the training data's licences ask for.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use sprout_core::diffusion::sprite;
use sprout_core::disclose::{self, ModelUse, TrainingSet};
use sprout_core::llm::registry::ModelRegistry;

/// `sprout disclose DIR [--json] [--models DIR] [--credits FILE] [--live]`.
pub fn run(
    dir: &Path,
    json: bool,
    models_dir: &Path,
    credits: Option<&Path>,
    live: bool,
) -> anyhow::Result<ExitCode> {
    if !dir.is_dir() {
        bail!("{} is not a folder", dir.display());
    }
    let registry_path = models_dir.join("models.ron");
    let registry = if registry_path.is_file() {
        ModelRegistry::load(&registry_path)?
    } else {
        ModelRegistry::builtin()
    };
    let mut models: Vec<ModelUse> = registry
        .text
        .iter()
        .map(|m| ModelUse {
            id: m.id.clone(),
            name: m.name.clone(),
            licence: m.licence.clone(),
            sha256: m.sha256.clone(),
            local: true,
            files: 0,
        })
        .collect();
    models.push(ModelUse {
        id: sprite::MODEL_ID.to_owned(),
        name: "Sprout sprite model (16×16, embedded)".into(),
        licence: "MIT OR Apache-2.0 code; weights derived from the training data below".into(),
        sha256: sprout_core::content::provenance::sha256_hex(sprite::EMBEDDED_WEIGHTS),
        local: true,
        files: 0,
    });
    let licence_file = models_dir.join("sprite/LICENCE.md");
    let training = match std::fs::read_to_string(&licence_file) {
        Ok(text) => training_sets(&text),
        Err(_) => Vec::new(),
    };
    let d = disclose::disclose(dir, models, training, live)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&d)?);
    } else {
        print!("{}", disclose::to_markdown(&d));
    }
    if let Some(path) = credits {
        sprout_core::fs::write_atomic(path, credits_text(&d.training).as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("credits written to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The rows of the Markdown tables of the sprite model's `LICENCE.md`
/// (`| artwork | source | licence | attribution |`); the first table is the 16×16 model's, the
/// second the v2 model's.
fn training_sets(text: &str) -> Vec<TrainingSet> {
    let mut out = Vec::new();
    let mut table = 0;
    let mut in_table = false;
    for line in text.lines() {
        let cells: Vec<&str> = line
            .trim()
            .strip_prefix('|')
            .and_then(|l| l.strip_suffix('|'))
            .map(|l| l.split('|').map(str::trim).collect())
            .unwrap_or_default();
        if cells.len() != 4 {
            in_table = false;
            continue;
        }
        if cells[0] == "artwork" {
            table += 1;
            in_table = true;
            continue;
        }
        if !in_table || cells[0].starts_with("---") {
            continue;
        }
        out.push(TrainingSet {
            model: if table == 1 {
                sprite::MODEL_ID.to_owned()
            } else {
                format!("{} v2", sprite::MODEL_ID)
            },
            artwork: cells[0].to_owned(),
            source: cells[1].replace('`', ""),
            licence: cells[2].to_owned(),
            attribution: cells[3].to_owned(),
        });
    }
    out
}

/// The credits the licences ask for: CC-BY sets by name with their licence, Apache and MIT sets
/// with their copyright notice.
fn credits_text(training: &[TrainingSet]) -> String {
    let mut o = String::from(
        "Credits for the AI models' training data\n\n\
         The embedded sprite model was trained on the following artwork; its weights, and art it\n\
         makes, derive from it.\n\n",
    );
    let mut seen = std::collections::BTreeSet::new();
    for t in training {
        if !seen.insert((&t.artwork, &t.licence)) {
            continue;
        }
        let line = if t.licence.starts_with("CC-BY") {
            format!(
                "- Contains graphics derived from {} ({}): {} (https://creativecommons.org/licenses/by/4.0/).",
                t.artwork, t.source, t.attribution
            )
        } else {
            format!(
                "- {} ({}): {}; used under the {} licence.",
                t.artwork, t.source, t.attribution, t.licence
            )
        };
        o.push_str(&line);
        o.push('\n');
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_tables_of_the_licence_file_and_credits_cc_by() {
        let text = std::fs::read_to_string("../../models/sprite/LICENCE.md").unwrap();
        let sets = training_sets(&text);
        assert!(sets.len() >= 10, "{sets:?}");
        assert_eq!(sets[0].artwork, "Fluent Emoji (flat)");
        assert_eq!(sets[0].model, "sprout-sprite");
        assert!(
            sets.iter()
                .any(|s| s.model.ends_with("v2") && s.artwork == "Emoji One 2")
        );
        let credits = credits_text(&sets);
        assert!(
            credits.contains("Contains graphics derived from Twemoji"),
            "{credits}"
        );
        assert!(credits.contains("Streamline Emojis"), "{credits}");
    }
}
