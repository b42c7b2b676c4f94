//! Constrained decoding: JSON schemas derived from the Rust content types, ids pinned to the
//! content that exists, and llguidance masks that keep every sampled token inside the schema.
//!
//! A schema comes from [`schema_for`] (schemars); [`pin_ids`] then replaces every free-form id
//! whose role is known (a speaker, an item, a flag, a quest) by the list of ids that exist, so
//! the model can only name real content. [`ConstraintEngine::matcher`] compiles a schema for one
//! generation; output is compact JSON (no free whitespace), which the small models follow best.

use std::collections::BTreeSet;

use llguidance::api::TopLevelGrammar;
use llguidance::{Matcher, ParserFactory};
use serde_json::{Value, json};
use toktrie::TokEnv;

use super::backend::Constraint;
use super::tokenizer::Tokenizer;
use super::{Error, Result};
use crate::content::ContentSet;
use crate::content::dialogue::{NARRATOR, PLAYER};

/// Compiles constraints against one tokenizer.
pub struct ConstraintEngine {
    factory: ParserFactory,
}

impl core::fmt::Debug for ConstraintEngine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ConstraintEngine").finish_non_exhaustive()
    }
}

impl ConstraintEngine {
    /// An engine for the model's tokenizer.
    pub fn new(tokenizer: &Tokenizer) -> Result<Self> {
        Self::from_env(&tokenizer.tok_env())
    }

    /// An engine over any llguidance token environment.
    pub fn from_env(env: &TokEnv) -> Result<Self> {
        let mut factory =
            ParserFactory::new_simple(env).map_err(|e| Error::Constraint(e.to_string()))?;
        factory.set_stderr_log_level(0);
        Ok(Self { factory })
    }

    /// A matcher for one generation.
    pub fn matcher(&self, constraint: &Constraint) -> Result<Matcher> {
        let grammar = match constraint {
            Constraint::JsonSchema(schema) => TopLevelGrammar::from_json_schema(compact(schema)),
            Constraint::Lark(src) => TopLevelGrammar::from_lark(src.clone()),
        };
        let parser = self
            .factory
            .create_parser(grammar)
            .map_err(|e| Error::Constraint(e.to_string()))?;
        let matcher = Matcher::new(Ok(parser));
        if let Some(e) = matcher.get_error() {
            return Err(Error::Constraint(e));
        }
        Ok(matcher)
    }
}

/// The schema with llguidance's options for compact JSON: `{"a": 1, "b": [2, 3]}`.
pub fn compact(schema: &Value) -> Value {
    let mut s = schema.clone();
    if let Some(obj) = s.as_object_mut() {
        obj.insert(
            "x-guidance".into(),
            json!({"whitespace_flexible": false, "key_separator": ": ", "item_separator": ", "}),
        );
    }
    s
}

/// The JSON schema of a content type, as schemars derives it.
pub fn schema_for<T: schemars::JsonSchema>() -> Value {
    serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null)
}

/// The ids that exist, by what they name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownIds {
    /// Characters (NPCs).
    pub characters: BTreeSet<String>,
    /// Items.
    pub items: BTreeSet<String>,
    /// World flags.
    pub flags: BTreeSet<String>,
    /// Quests.
    pub quests: BTreeSet<String>,
}

impl KnownIds {
    /// The ids of a loaded content set.
    pub fn from_set(set: &ContentSet) -> Self {
        let mut k = Self::default();
        for d in &set.characters {
            k.characters.insert(d.value.id.to_string());
        }
        for d in &set.items {
            k.items.insert(d.value.id.to_string());
        }
        for d in &set.quests {
            k.quests.insert(d.value.id.to_string());
        }
        if let Some(w) = set.world() {
            for f in &w.flags {
                k.flags.insert(f.id.to_string());
            }
        }
        k
    }

    /// Speakers: the characters, `player` and `narrator`.
    pub fn speakers(&self) -> BTreeSet<String> {
        let mut s = self.characters.clone();
        s.insert(PLAYER.into());
        s.insert(NARRATOR.into());
        s
    }
}

/// Which list an id property must come from, by its name in the content types.
fn role_of(property: &str) -> Option<Role> {
    Some(match property {
        "speaker" => Role::Speaker,
        "npc" | "participants" => Role::Character,
        "item" => Role::Item,
        "SetFlag" | "ClearFlag" | "Flag" | "NotFlag" => Role::Flag,
        "StartQuest" | "CompleteQuest" | "QuestActive" | "QuestDone" | "QuestOffer"
        | "QuestComplete" => Role::Quest,
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy)]
enum Role {
    Speaker,
    Character,
    Item,
    Flag,
    Quest,
}

/// Replaces the ids of `schema` whose role is known by enums of the ids that exist. An id
/// property for which nothing exists becomes unsatisfiable (`"enum": []`), and llguidance never
/// takes that branch. `$defs` are resolved inline where an id is reached through a `$ref`.
pub fn pin_ids(schema: &Value, known: &KnownIds) -> Value {
    let defs = schema
        .get("$defs")
        .cloned()
        .unwrap_or_else(|| Value::Object(Default::default()));
    let mut out = schema.clone();
    walk(&mut out, &defs, known, 0);
    if let Some(d) = out.get_mut("$defs").and_then(Value::as_object_mut) {
        for v in d.values_mut() {
            walk(v, &defs, known, 0);
        }
    }
    out
}

fn is_id_schema(s: &Value, defs: &Value) -> bool {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or_default();
        return name == "Id" || defs.get(name).is_some_and(|d| is_id_schema(d, defs));
    }
    s.get("type").and_then(Value::as_str) == Some("string")
        && s.get("pattern")
            .and_then(Value::as_str)
            .is_some_and(|p| p.contains("a-z0-9_"))
}

fn enum_of(role: Role, known: &KnownIds) -> Value {
    let ids: Vec<String> = match role {
        Role::Speaker => known.speakers().into_iter().collect(),
        Role::Character => known.characters.iter().cloned().collect(),
        Role::Item => known.items.iter().cloned().collect(),
        Role::Flag => known.flags.iter().cloned().collect(),
        Role::Quest => known.quests.iter().cloned().collect(),
    };
    json!({ "type": "string", "enum": ids })
}

fn walk(v: &mut Value, defs: &Value, known: &KnownIds, depth: usize) {
    if depth > 64 {
        return;
    }
    match v {
        Value::Object(obj) => {
            if let Some(Value::Object(props)) = obj.get_mut("properties") {
                for (name, prop) in props.iter_mut() {
                    if let Some(role) = role_of(name) {
                        if is_id_schema(prop, defs) {
                            *prop = enum_of(role, known);
                            continue;
                        }
                        // A list of ids (`participants`).
                        if let Some(items) = prop.get_mut("items")
                            && is_id_schema(items, defs)
                        {
                            *items = enum_of(role, known);
                            continue;
                        }
                    }
                    walk(prop, defs, known, depth + 1);
                }
            }
            for (k, child) in obj.iter_mut() {
                if k != "properties" && k != "$defs" {
                    walk(child, defs, known, depth + 1);
                }
            }
        }
        Value::Array(list) => list
            .iter_mut()
            .for_each(|c| walk(c, defs, known, depth + 1)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::DialogueTree;

    fn known() -> KnownIds {
        KnownIds {
            characters: ["ana".to_string()].into(),
            items: ["turnip".to_string()].into(),
            flags: ["met_ana".to_string()].into(),
            quests: BTreeSet::new(),
        }
    }

    /// Feeds `text` byte by byte (the single-byte token environment) and says how far it got.
    fn accepts(engine: &ConstraintEngine, schema: &Value, text: &str) -> bool {
        let mut m = engine
            .matcher(&Constraint::JsonSchema(schema.clone()))
            .unwrap();
        let env = toktrie::ApproximateTokEnv::single_byte_env();
        for t in env.tokenize_bytes(text.as_bytes()) {
            if m.consume_token(t).is_err() {
                return false;
            }
        }
        m.is_accepting().unwrap_or(false)
    }

    #[test]
    fn dialogue_schema_pins_speakers_items_and_flags() {
        let schema = pin_ids(&schema_for::<DialogueTree>(), &known());
        let text = schema.to_string();
        assert!(
            text.contains(r#""enum":["ana","narrator","player"]"#),
            "{text}"
        );
        assert!(text.contains(r#""enum":["turnip"]"#), "{text}");
        assert!(text.contains(r#""enum":["met_ana"]"#), "{text}");

        let engine =
            ConstraintEngine::from_env(&toktrie::ApproximateTokEnv::single_byte_env()).unwrap();
        let good = r#"{"id": "ana_hi", "situation": "Daily", "participants": ["ana"], "entry": "start", "nodes": [{"id": "start", "line": "ana_hi_start", "speaker": "ana", "text": "Hello!", "effects": [{"SetFlag": "met_ana"}], "next": "End"}]}"#;
        let tree: DialogueTree = serde_json::from_str(good).unwrap();
        assert_eq!(tree.nodes.len(), 1);
        assert!(accepts(&engine, &schema, good));
        // An unknown speaker, item or flag cannot be written.
        assert!(!accepts(
            &engine,
            &schema,
            &good.replace(r#""speaker": "ana""#, r#""speaker": "bob""#)
        ));
        assert!(!accepts(
            &engine,
            &schema,
            &good.replace("met_ana", "met_bob")
        ));
        assert!(!accepts(
            &engine,
            &schema,
            &good.replace(r#"["ana"]"#, r#"["zed"]"#)
        ));
        // Free whitespace is not part of compact output.
        assert!(!accepts(&engine, &schema, &good.replace(": ", ":  ")));
    }

    #[test]
    fn a_role_with_no_ids_cannot_be_taken() {
        let schema = pin_ids(&schema_for::<DialogueTree>(), &known());
        let engine =
            ConstraintEngine::from_env(&toktrie::ApproximateTokEnv::single_byte_env()).unwrap();
        let quest = r#"{"id": "x", "situation": {"QuestOffer": "q"}, "participants": ["ana"], "entry": "s", "nodes": [{"id": "s", "line": "x_s", "speaker": "ana", "text": "Hi", "next": "End"}]}"#;
        assert!(!accepts(&engine, &schema, quest));
    }
}
