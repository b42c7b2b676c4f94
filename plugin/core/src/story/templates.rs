//! Prompt templates: one pair (`<stage>.system.jinja`, `<stage>.user.jinja`) per generation
//! stage, rendered with minijinja.
//!
//! Templates are read from the project's `prompts/` folder on every load, so an edited template
//! takes effect on the next generation without a rebuild; a stage with no file there uses the
//! copy built into Sprout. Each template declares the content type it produces on its first line
//! (`{#- sprout:output DialogueTree -#}`), and loading fails when that does not match the stage.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use minijinja::Environment;
use serde::Serialize;

use crate::content::ContentKind;
use crate::content::provenance::{TemplateRef, sha256_hex};
use crate::llm::ChatMessage;

use super::{Error, Result};

/// A generation stage: what it writes and which templates ask for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Stage {
    /// The story bible.
    World,
    /// A villager.
    Npc,
    /// A dialogue tree.
    Dialogue,
    /// A quest.
    Quest,
    /// An item description.
    Item,
}

impl Stage {
    /// Every stage, in the order a story is built.
    pub const ALL: [Stage; 5] = [
        Stage::World,
        Stage::Npc,
        Stage::Dialogue,
        Stage::Quest,
        Stage::Item,
    ];

    /// The stage's name: the templates' file stem and the CLI's word.
    pub fn name(self) -> &'static str {
        match self {
            Stage::World => "world",
            Stage::Npc => "npc",
            Stage::Dialogue => "dialogue",
            Stage::Quest => "quest",
            Stage::Item => "item",
        }
    }

    /// The Rust content type the stage's templates must declare.
    pub fn output_type(self) -> &'static str {
        match self {
            Stage::World => "World",
            Stage::Npc => "Character",
            Stage::Dialogue => "DialogueTree",
            Stage::Quest => "Quest",
            Stage::Item => "Item",
        }
    }

    /// The content kind it writes.
    pub fn kind(self) -> ContentKind {
        ContentKind::of_stage(self)
    }

    fn builtin(self) -> (&'static str, &'static str) {
        match self {
            Stage::World => (
                include_str!("../../../../prompts/world.system.jinja"),
                include_str!("../../../../prompts/world.user.jinja"),
            ),
            Stage::Npc => (
                include_str!("../../../../prompts/npc.system.jinja"),
                include_str!("../../../../prompts/npc.user.jinja"),
            ),
            Stage::Dialogue => (
                include_str!("../../../../prompts/dialogue.system.jinja"),
                include_str!("../../../../prompts/dialogue.user.jinja"),
            ),
            Stage::Quest => (
                include_str!("../../../../prompts/quest.system.jinja"),
                include_str!("../../../../prompts/quest.user.jinja"),
            ),
            Stage::Item => (
                include_str!("../../../../prompts/item.system.jinja"),
                include_str!("../../../../prompts/item.user.jinja"),
            ),
        }
    }
}

/// The two templates of one stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageTemplates {
    /// Where they came from: a folder, or `builtin`.
    pub origin: String,
    /// The system message template.
    pub system: String,
    /// The user message template.
    pub user: String,
}

impl StageTemplates {
    /// SHA-256 of both texts: part of every request's cache key.
    pub fn sha256(&self) -> String {
        sha256_hex(format!("{}\u{0}{}", self.system, self.user).as_bytes())
    }
}

/// The templates of every stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Templates {
    stages: BTreeMap<Stage, StageTemplates>,
}

impl Templates {
    /// The templates built into Sprout.
    pub fn builtin() -> Self {
        let stages = Stage::ALL
            .into_iter()
            .map(|s| {
                let (system, user) = s.builtin();
                (
                    s,
                    StageTemplates {
                        origin: "builtin".into(),
                        system: system.into(),
                        user: user.into(),
                    },
                )
            })
            .collect();
        Self { stages }
    }

    /// Reads `dir/<stage>.{system,user}.jinja` for every stage that has them (both or neither),
    /// the built-in copy for the others, and checks every template: its declared output type
    /// and its syntax.
    pub fn load(dir: &Path) -> Result<Self> {
        let mut templates = Self::builtin();
        for stage in Stage::ALL {
            let files =
                ["system", "user"].map(|part| dir.join(format!("{}.{part}.jinja", stage.name())));
            let present = files.iter().filter(|f| f.is_file()).count();
            match present {
                0 => continue,
                1 => {
                    let missing = files
                        .iter()
                        .find(|f| !f.is_file())
                        .cloned()
                        .unwrap_or_default();
                    return Err(Error::Template {
                        path: missing,
                        message: format!(
                            "the {} stage has one of its two templates: add this one or remove the other",
                            stage.name()
                        ),
                    });
                }
                _ => {}
            }
            let read = |p: &PathBuf| std::fs::read_to_string(p).map_err(Error::io(p));
            let t = StageTemplates {
                origin: dir.display().to_string(),
                system: read(&files[0])?,
                user: read(&files[1])?,
            };
            for (file, text) in [(&files[0], &t.system), (&files[1], &t.user)] {
                check_declaration(stage, file, text)?;
                check_syntax(file, text)?;
            }
            templates.stages.insert(stage, t);
        }
        Ok(templates)
    }

    /// Loads from `dir` when it exists, else the built-in templates.
    pub fn load_or_builtin(dir: &Path) -> Result<Self> {
        if dir.is_dir() {
            Self::load(dir)
        } else {
            Ok(Self::builtin())
        }
    }

    /// The templates of `stage`.
    pub fn get(&self, stage: Stage) -> &StageTemplates {
        &self.stages[&stage]
    }

    /// The reference recorded in provenance: `prompts/<stage>` and the hash of both templates.
    pub fn reference(&self, stage: Stage) -> TemplateRef {
        TemplateRef {
            path: format!("prompts/{}.{{system,user}}.jinja", stage.name()),
            sha256: self.get(stage).sha256(),
        }
    }

    /// Renders the system and user messages of `stage` with `context`.
    pub fn render(&self, stage: Stage, context: &impl Serialize) -> Result<Vec<ChatMessage>> {
        let t = self.get(stage);
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        let err = |part: &str, e: minijinja::Error| Error::Template {
            path: PathBuf::from(format!("{}/{}.{part}.jinja", t.origin, stage.name())),
            message: e.to_string(),
        };
        env.add_template("system", &t.system)
            .map_err(|e| err("system", e))?;
        env.add_template("user", &t.user)
            .map_err(|e| err("user", e))?;
        let ctx = minijinja::Value::from_serialize(context);
        let system = env
            .get_template("system")
            .and_then(|t| t.render(&ctx))
            .map_err(|e| err("system", e))?;
        let user = env
            .get_template("user")
            .and_then(|t| t.render(&ctx))
            .map_err(|e| err("user", e))?;
        Ok(vec![
            ChatMessage::system(system.trim()),
            ChatMessage::user(user.trim()),
        ])
    }
}

const DECLARATION: &str = "sprout:output";

/// The first line must be `{#- sprout:output <Type> -#}` naming the stage's type.
fn check_declaration(stage: Stage, file: &Path, text: &str) -> Result<()> {
    let first = text.lines().next().unwrap_or_default();
    let declared = first
        .trim()
        .trim_start_matches("{#")
        .trim_start_matches('-')
        .trim_end_matches("#}")
        .trim_end_matches('-')
        .trim()
        .strip_prefix(DECLARATION)
        .map(str::trim);
    match declared {
        Some(t) if t == stage.output_type() => Ok(()),
        Some(t) => Err(Error::Template {
            path: file.to_owned(),
            message: format!(
                "line 1 declares output `{t}`, but the {} stage writes `{}`",
                stage.name(),
                stage.output_type()
            ),
        }),
        None => Err(Error::Template {
            path: file.to_owned(),
            message: format!(
                "line 1 must declare the output type: `{{#- {DECLARATION} {} -#}}`",
                stage.output_type()
            ),
        }),
    }
}

fn check_syntax(file: &Path, text: &str) -> Result<()> {
    let mut env = Environment::new();
    env.add_template("t", text).map_err(|e| Error::Template {
        path: file.to_owned(),
        message: e.to_string(),
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_templates_declare_their_outputs() {
        for stage in Stage::ALL {
            let t = Templates::builtin();
            let s = t.get(stage);
            check_declaration(stage, Path::new("x"), &s.system).unwrap();
            check_declaration(stage, Path::new("x"), &s.user).unwrap();
        }
    }

    #[test]
    fn the_repo_prompts_folder_loads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../prompts");
        let t = Templates::load(&dir).unwrap();
        assert_eq!(t, Templates::builtin().with_origin_of(&t));
    }

    #[test]
    fn an_edited_template_changes_the_hash_and_the_text() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("item.system.jinja"),
            "{#- sprout:output Item -#}\nSYSTEM for {{ world.title }}",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("item.user.jinja"),
            "{#- sprout:output Item -#}\nUSER {{ job.id }}",
        )
        .unwrap();
        let t = Templates::load(dir.path()).unwrap();
        assert_ne!(
            t.get(Stage::Item).sha256(),
            Templates::builtin().get(Stage::Item).sha256()
        );
        let m = t
            .render(
                Stage::Item,
                &serde_json::json!({"world": {"title": "Kettle Hollow"}, "job": {"id": "pear"}}),
            )
            .unwrap();
        assert_eq!(m[0].content, "SYSTEM for Kettle Hollow");
        assert_eq!(m[1].content, "USER pear");
        // Stages without files keep the built-in templates.
        assert_eq!(t.get(Stage::Npc), Templates::builtin().get(Stage::Npc));
    }

    #[test]
    fn a_wrong_declaration_names_the_file_and_the_type() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("npc.system.jinja"),
            "{#- sprout:output World -#}\nx",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("npc.user.jinja"),
            "{#- sprout:output Character -#}\ny",
        )
        .unwrap();
        let e = Templates::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("npc.system.jinja"), "{e}");
        assert!(
            e.contains("declares output `World`") && e.contains("`Character`"),
            "{e}"
        );
    }

    #[test]
    fn a_syntax_error_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("quest.system.jinja"),
            "{#- sprout:output Quest -#}\n{% if %}",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("quest.user.jinja"),
            "{#- sprout:output Quest -#}\ny",
        )
        .unwrap();
        let e = Templates::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("quest.system.jinja"), "{e}");
    }

    impl Templates {
        fn with_origin_of(mut self, other: &Templates) -> Self {
            for (stage, t) in &mut self.stages {
                t.origin = other.get(*stage).origin.clone();
            }
            self
        }
    }
}
