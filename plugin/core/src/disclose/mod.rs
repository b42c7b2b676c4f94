//! The AI-content disclosure, written from provenance and shaped like Steam's Content Survey:
//! what shipped content was made with AI ahead of time (pre-generated), whether the game can
//! make more while it runs (live-generated), with which models, trained on what, and which
//! guardrails apply.
//!
//! Every shipped file below the asset root falls into one category (art: images and meshes;
//! narrative text: the RON content and the string tables) and one origin, read from its
//! `.prov.ron` sidecar:
//!
//! | origin | meaning |
//! |---|---|
//! | [`Origin::Generated`] | made by a model, and its bytes still match the sidecar's hash |
//! | [`Origin::Edited`] | made by a model, then changed by hand (the hash no longer matches) |
//! | [`Origin::Procedural`] | made by a program without a model (placeholders) |
//! | [`Origin::HandMade`] | no sidecar: made by people |

mod report;
#[cfg(test)]
mod tests;

pub use report::{
    CategoryCounts, Disclosure, FileOrigin, Guardrail, ModelUse, Origin, TrainingSet, disclose,
    to_markdown,
};

/// What kind of shipped content a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Images and meshes: sprites, portraits, icons, textures, props.
    Art,
    /// Words: the world, characters, dialogue, quests, items, crops, translations.
    NarrativeText,
}

impl Category {
    /// The category of a file by its name; `None` for what is not shipped content (sidecars,
    /// hidden files, anything else).
    pub fn of(name: &str) -> Option<Self> {
        if name.ends_with(crate::content::provenance::SIDECAR_SUFFIX) || name.starts_with('.') {
            return None;
        }
        let lower = name.to_ascii_lowercase();
        if [".png", ".glb", ".gltf", ".jpg", ".jpeg", ".webp"]
            .iter()
            .any(|x| lower.ends_with(x))
        {
            Some(Category::Art)
        } else if lower.ends_with(".ron") || lower.ends_with(".po") {
            Some(Category::NarrativeText)
        } else {
            None
        }
    }

    /// A word for the report.
    pub fn label(self) -> &'static str {
        match self {
            Category::Art => "art",
            Category::NarrativeText => "narrative text",
        }
    }
}
