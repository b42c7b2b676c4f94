//! Walking the asset folder, reading each file's provenance, and the report.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::content::Provenance;
use crate::content::provenance::{sha256_hex, sidecar_path};
use crate::format::parse;

use super::Category;

/// Where a file came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Made by a model; unchanged since.
    Generated,
    /// Made by a model, then edited by hand.
    Edited,
    /// Made by a program without a model (a placeholder).
    Procedural,
    /// Made by people (no provenance).
    HandMade,
}

/// One shipped file and its origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileOrigin {
    /// Relative to the asset root, `/`-separated.
    pub path: String,
    /// Art or narrative text.
    pub category: Category,
    /// Where it came from.
    pub origin: Origin,
    /// The model that made it, for generated and edited files.
    pub model: Option<String>,
}

/// Counts of one category.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CategoryCounts {
    /// Made by a model, unchanged.
    pub generated: usize,
    /// Made by a model, edited after.
    pub edited: usize,
    /// Made by a program, no model.
    pub procedural: usize,
    /// Made by people.
    pub hand_made: usize,
}

impl CategoryCounts {
    /// Every file of the category.
    pub fn total(&self) -> usize {
        self.generated + self.edited + self.procedural + self.hand_made
    }

    fn add(&mut self, origin: Origin) {
        match origin {
            Origin::Generated => self.generated += 1,
            Origin::Edited => self.edited += 1,
            Origin::Procedural => self.procedural += 1,
            Origin::HandMade => self.hand_made += 1,
        }
    }
}

/// A model the generators can use, as the disclosure names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelUse {
    /// Registry id (as provenance records it).
    pub id: String,
    /// Human name.
    pub name: String,
    /// Licence of the weights.
    pub licence: String,
    /// SHA-256 of the weights.
    pub sha256: String,
    /// Whether it runs on the maker's machine (`false`: a server).
    pub local: bool,
    /// Shipped files it made (generated or edited).
    pub files: usize,
}

/// A training set of a model, with its licence and required credit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrainingSet {
    /// The model trained on it.
    pub model: String,
    /// What it is.
    pub artwork: String,
    /// Where it came from.
    pub source: String,
    /// Licence (SPDX).
    pub licence: String,
    /// The attribution the licence asks for.
    pub attribution: String,
}

/// A rule that stands between a model's output and the game.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Guardrail {
    /// Short name.
    pub name: String,
    /// What it does.
    pub what: String,
}

/// The answer to the AI-content survey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disclosure {
    /// The asset folder.
    pub root: PathBuf,
    /// Per category.
    pub counts: BTreeMap<Category, CategoryCounts>,
    /// Every shipped file.
    pub files: Vec<FileOrigin>,
    /// Models: those the generators can use, and any that provenance names.
    pub models: Vec<ModelUse>,
    /// What the models were trained on.
    pub training: Vec<TrainingSet>,
    /// Whether the shipped game can generate content while it runs.
    pub live_generation: bool,
    /// The guardrails.
    pub guardrails: Vec<Guardrail>,
}

impl Disclosure {
    /// Whether any shipped file was made by a model.
    pub fn has_pre_generated(&self) -> bool {
        self.counts.values().any(|c| c.generated + c.edited > 0)
    }
}

/// Reads every shipped file below `root` and its provenance. `models` are the models the
/// generators can use (the registry and the embedded sprite model), `training` their training
/// sets; `live_generation` says whether the shipped build has the editor feature.
pub fn disclose(
    root: &Path,
    mut models: Vec<ModelUse>,
    training: Vec<TrainingSet>,
    live_generation: bool,
) -> crate::Result<Disclosure> {
    let mut paths = Vec::new();
    walk(root, &mut paths)?;
    paths.sort();
    let mut files = Vec::new();
    let mut counts: BTreeMap<Category, CategoryCounts> = BTreeMap::new();
    for path in paths {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let Some(category) = Category::of(name) else {
            continue;
        };
        let (origin, model) = origin_of(&path)?;
        counts.entry(category).or_default().add(origin);
        if let Some((id, sha)) = &model {
            match models.iter_mut().find(|m| &m.id == id) {
                Some(m) => m.files += 1,
                None => models.push(ModelUse {
                    id: id.clone(),
                    name: id.clone(),
                    licence: "unknown".into(),
                    sha256: sha.clone(),
                    local: !id.starts_with("server:"),
                    files: 1,
                }),
            }
        }
        files.push(FileOrigin {
            path: crate::loc::relative_path(root, &path),
            category,
            origin,
            model: model.map(|(id, _)| id),
        });
    }
    for c in [Category::Art, Category::NarrativeText] {
        counts.entry(c).or_default();
    }
    Ok(Disclosure {
        root: root.to_owned(),
        counts,
        files,
        models,
        training,
        live_generation,
        guardrails: guardrails(),
    })
}

/// The origin of one file, and the model (id, sha256) that made it.
fn origin_of(path: &Path) -> crate::Result<(Origin, Option<(String, String)>)> {
    let sidecar = sidecar_path(path);
    let Ok(text) = std::fs::read_to_string(&sidecar) else {
        return Ok((Origin::HandMade, None));
    };
    let prov: Provenance = parse(&text).map_err(|error| crate::Error::Parse {
        path: sidecar.clone(),
        error,
    })?;
    let Some(model) = prov.model else {
        return Ok((Origin::Procedural, None));
    };
    let bytes = std::fs::read(path).map_err(|source| crate::Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let origin = if sha256_hex(&bytes) == prov.output_sha256 {
        Origin::Generated
    } else {
        Origin::Edited
    };
    Ok((origin, Some((model.id, model.sha256))))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> crate::Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|source| crate::Error::Io {
        path: dir.to_owned(),
        source,
    })?;
    for e in entries.flatten() {
        let path = e.path();
        let hidden = e.file_name().to_string_lossy().starts_with('.');
        if hidden {
            continue;
        }
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

fn guardrails() -> Vec<Guardrail> {
    let g = |name: &str, what: &str| Guardrail {
        name: name.into(),
        what: what.into(),
    };
    vec![
        g(
            "constrained decoding",
            "text models write only into the JSON schema of the content type: ids, speakers, effects and lengths are fixed by the game, the model chooses the words",
        ),
        g(
            "validation",
            "every generated file is validated against the whole content set (references, dialogue graphs, text limits) before it is written; what fails is repaired or rejected",
        ),
        g(
            "do-not-copy list",
            "names from other games listed in the world's `do_not_copy` are refused in generated text",
        ),
        g(
            "review before accept",
            "in the editor, generated content waits in staging until a person accepts it; the CLI writes only validated files, each with a provenance sidecar",
        ),
        g(
            "provenance",
            "every generated file records model, sha256, template, inputs and seed, so it can be audited and remade",
        ),
    ]
}

/// The disclosure as Markdown, in the survey's order.
pub fn to_markdown(d: &Disclosure) -> String {
    let mut o = String::new();
    o.push_str("# AI-generated content disclosure\n\n");
    writeln!(o, "Asset folder: `{}`\n", d.root.display()).ok();
    o.push_str("## Pre-generated content\n\n");
    if d.has_pre_generated() {
        o.push_str("Some content shipped with the game was made with AI tools during development, as counted below; every such file is listed with its model in `--json`.\n\n");
    } else {
        o.push_str("No shipped file was made by an AI model. Files made by a program without a model (labelled placeholder art) are counted separately.\n\n");
    }
    o.push_str("| category | generated | edited after generation | procedural (no model) | hand-made | total |\n|---|---|---|---|---|---|\n");
    for (c, n) in &d.counts {
        writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} |",
            c.label(),
            n.generated,
            n.edited,
            n.procedural,
            n.hand_made,
            n.total()
        )
        .ok();
    }
    o.push_str("\n## Live-generated content\n\n");
    if d.live_generation {
        o.push_str("The shipped build includes Sprout's editor: players can generate content while the game runs, with the models and guardrails below.\n\n");
    } else {
        o.push_str("None: the shipped build does not include Sprout's editor feature, so the game cannot generate content while it runs.\n\n");
    }
    o.push_str("## Models\n\n| model | id | licence | sha256 | runs | shipped files made |\n|---|---|---|---|---|---|\n");
    for m in &d.models {
        writeln!(
            o,
            "| {} | `{}` | {} | `{}` | {} | {} |",
            m.name,
            m.id,
            m.licence,
            m.sha256,
            if m.local { "locally" } else { "on a server" },
            m.files
        )
        .ok();
    }
    if !d.training.is_empty() {
        o.push_str("\n## Training data\n\n| model | data | source | licence | attribution |\n|---|---|---|---|---|\n");
        for t in &d.training {
            writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                t.model, t.artwork, t.source, t.licence, t.attribution
            )
            .ok();
        }
    }
    o.push_str("\n## Guardrails\n\n");
    for g in &d.guardrails {
        writeln!(o, "- **{}**: {}", g.name, g.what).ok();
    }
    o
}
