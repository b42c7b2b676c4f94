//! The JSON schema each stage's output must match: derived from the Rust content type, with the
//! ids of known content pinned, every free string and list bounded, and what the game already
//! decides (the asset's id, its art paths, the quest's giver) fixed, so the model writes only
//! what it should and whatever it writes parses and links up.

use serde_json::{Value, json};

use crate::content::{AssetPath, Character, ContentSet, Item, Quest, World};
use crate::llm::constrain::{KnownIds, pin_ids, schema_for};
use crate::validate::limits::{LABEL_MAX, NAME_MAX};

use super::context::StoryContext;
use super::dialogue::{DialogueShape, dialogue_schema};
use super::job::Job;
use super::{Error, Result};

/// A sentence: no quotes or backslashes (no escapes for a small model to get wrong), starts with a capital, no markup (small models drift into HTML and Markdown).
const SENTENCE: &str = r#"^[A-Z][^"\\<>{}|#*_=\[\]]*$"#;
/// A name: one to four capitalised words ("Wren Alder", "Moon Pear", "Bell Green").
const NAME: &str = r"^[A-Z][a-z']+( [A-Za-z][a-z']+){0,3}$";
/// A title: capitalised, words and light punctuation only.
const TITLE: &str = r"^[A-Z][A-Za-z' ,-]*$";
/// A short tag in lower case ("relentlessly curious").
const TAG: &str = r"^[a-z][a-z' -]*$";

/// The schema of `job`'s output.
pub fn schema_for_job(job: &Job, set: &ContentSet, ctx: &StoryContext) -> Result<Value> {
    let known = KnownIds::from_set(set);
    let id = job.output_id()?;
    let ids = &ctx.ids;
    let mut s = match job {
        Job::Dialogue { .. } => {
            return dialogue_schema(&DialogueShape::of(job)?, &known);
        }
        Job::World { .. } => {
            let mut s = bounded(&schema_for::<World>());
            set_ptr(&mut s, "/properties/title", text_like(4, LABEL_MAX, TITLE))?;
            set_ptr(&mut s, "/properties/setting", text(20, 240))?;
            set_ptr(&mut s, "/properties/tone", text(4, LABEL_MAX))?;
            set_ptr(
                &mut s,
                "/properties/themes",
                list(text_like(3, 30, TAG), 2, 4),
            )?;
            set_ptr(
                &mut s,
                "/properties/days_per_season",
                json!({"type": "integer", "minimum": 7, "maximum": 28}),
            )?;
            set_ptr(&mut s, "/properties/locations/minItems", json!(5))?;
            set_ptr(&mut s, "/properties/locations/maxItems", json!(6))?;
            set_ptr(&mut s, "/properties/flags/maxItems", json!(2))?;
            set_ptr(
                &mut s,
                "/properties/do_not_copy",
                json!({"const": ctx.do_not_copy}),
            )?;
            for_props(&mut s, "description", &|p| *p = text(10, 110));
            // Location and flag ids: short snake case (the world's own id is fixed below).
            for_props(&mut s, "id", &|p| *p = text_like(3, 24, r"^[a-z][a-z_]*$"));
            for_props(&mut s, "name", &|p| *p = text_like(3, NAME_MAX, NAME));
            s
        }
        Job::Npc { .. } => {
            let mut s = bounded(&pin_ids(&schema_for::<Character>(), &known));
            set_ptr(
                &mut s,
                "/properties/portrait",
                json!({"const": AssetPath::portrait_of(&id).as_str()}),
            )?;
            set_ptr(
                &mut s,
                "/properties/sprite",
                json!({"const": AssetPath::npc_sprite_of(&id).as_str()}),
            )?;
            set_ptr(&mut s, "/properties/name", text_like(3, NAME_MAX, NAME))?;
            set_ptr(&mut s, "/properties/role", text(4, LABEL_MAX))?;
            set_ptr(
                &mut s,
                "/properties/personality",
                list(text_like(3, LABEL_MAX, TAG), 2, 4),
            )?;
            set_ptr(&mut s, "/properties/speech_style", text(20, 200))?;
            set_ptr(&mut s, "/properties/backstory", text(20, 300))?;
            set_ptr(&mut s, "/properties/home", one_of(&ids.locations))?;
            set_ptr(&mut s, "/properties/likes", list(one_of(&ids.items), 1, 3))?;
            set_ptr(
                &mut s,
                "/properties/dislikes",
                list(one_of(&ids.items), 1, 2),
            )?;
            set_ptr(&mut s, "/properties/schedule/minItems", json!(2))?;
            set_ptr(&mut s, "/properties/relationships/maxItems", json!(2))?;
            let days = ctx.world.as_ref().map_or(28, |w| w.days_per_season.max(1));
            for_props(&mut s, "day", &|p| {
                *p = json!({"type": "integer", "minimum": 1, "maximum": days});
            });
            for_props(&mut s, "location", &|p| *p = one_of(&ids.locations));
            for_props(&mut s, "with", &|p| *p = one_of(&ids.characters));
            for_props(&mut s, "note", &|p| *p = text(8, 100));
            for_props(&mut s, "seasons", &|p| p["maxItems"] = json!(2));
            s
        }
        Job::Quest { giver, .. } => {
            let mut s = bounded(&pin_ids(&schema_for::<Quest>(), &known));
            set_ptr(
                &mut s,
                "/properties/giver",
                json!({"const": giver.as_str()}),
            )?;
            set_ptr(&mut s, "/properties/title", text_like(4, LABEL_MAX, TITLE))?;
            set_ptr(&mut s, "/properties/description", text(20, 240))?;
            set_ptr(
                &mut s,
                "/properties/prerequisites",
                json!({"type": "array", "maxItems": 0}),
            )?;
            set_ptr(&mut s, "/properties/objectives/minItems", json!(1))?;
            set_ptr(&mut s, "/properties/objectives/maxItems", json!(2))?;
            set_ptr(&mut s, "/properties/rewards/minItems", json!(1))?;
            set_ptr(&mut s, "/properties/rewards/maxItems", json!(2))?;
            let giver = giver.to_string();
            for_props(&mut s, "to", &|p| *p = one_of(std::slice::from_ref(&giver)));
            for_props(&mut s, "crop", &|p| *p = one_of(&ids.crops));
            for_props(&mut s, "count", &|p| {
                *p = json!({"type": "integer", "minimum": 1, "maximum": 5});
            });
            s
        }
        Job::Item { category, .. } => {
            let mut s = bounded(&schema_for::<Item>());
            set_ptr(
                &mut s,
                "/properties/icon",
                json!({"const": AssetPath::item_icon_of(&id).as_str()}),
            )?;
            set_ptr(&mut s, "/properties/name", text_like(3, NAME_MAX, NAME))?;
            set_ptr(&mut s, "/properties/description", text(20, 160))?;
            set_ptr(
                &mut s,
                "/properties/price",
                json!({"type": "integer", "minimum": 5, "maximum": 500}),
            )?;
            if let Some(c) = category {
                set_ptr(&mut s, "/properties/category", json!({"const": c}))?;
            }
            s
        }
    };
    set_ptr(&mut s, "/properties/id", json!({"const": id.as_str()}))?;
    Ok(s)
}

fn text(min: usize, max: usize) -> Value {
    text_like(min, max, SENTENCE)
}

fn text_like(min: usize, max: usize, pattern: &str) -> Value {
    json!({"type": "string", "minLength": min, "maxLength": max, "pattern": pattern})
}

fn list(items: Value, min: usize, max: usize) -> Value {
    json!({"type": "array", "items": items, "minItems": min, "maxItems": max})
}

/// One of `ids`; unsatisfiable when there are none (the model then never takes that branch,
/// and a required field with no choice is reported by the request check).
fn one_of(ids: &[String]) -> Value {
    json!({"type": "string", "enum": ids})
}

fn set_ptr(schema: &mut Value, pointer: &str, value: Value) -> Result<()> {
    if schema.pointer(pointer).is_none() {
        // A bound that schemars did not emit (`minItems`): add it to the parent object.
        let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", pointer));
        if let Some(obj) = schema.pointer_mut(parent).and_then(Value::as_object_mut) {
            obj.insert(key.to_owned(), Value::Null);
        }
    }
    match schema.pointer_mut(pointer) {
        Some(slot) => {
            *slot = value;
            Ok(())
        }
        None => Err(Error::Request(format!(
            "internal: the derived schema has no `{pointer}`"
        ))),
    }
}

/// Applies `f` to every property named `name`, anywhere (including `$defs`).
fn for_props(v: &mut Value, name: &str, f: &dyn Fn(&mut Value)) {
    match v {
        Value::Object(obj) => {
            if let Some(Value::Object(props)) = obj.get_mut("properties")
                && let Some(p) = props.get_mut(name)
            {
                f(p);
            }
            for (_, child) in obj.iter_mut() {
                for_props(child, name, f);
            }
        }
        Value::Array(list) => list.iter_mut().for_each(|c| for_props(c, name, f)),
        _ => {}
    }
}

/// Every free string gets a length and no escapes, every list a length, every integer a range,
/// and every object's properties are all required (a small model skips optional ones).
pub fn bounded(schema: &Value) -> Value {
    let mut s = schema.clone();
    bound(&mut s, 0);
    s
}

fn bound(v: &mut Value, depth: usize) {
    if depth > 64 {
        return;
    }
    match v {
        Value::Object(obj) => {
            let free = !obj.contains_key("enum")
                && !obj.contains_key("const")
                && !obj.contains_key("$ref");
            match obj.get("type").and_then(Value::as_str) {
                Some("string") if free && !obj.contains_key("pattern") => {
                    obj.insert("minLength".into(), json!(1));
                    obj.insert("maxLength".into(), json!(120));
                    obj.insert("pattern".into(), json!(SENTENCE));
                }
                Some("array") if !obj.contains_key("maxItems") => {
                    obj.insert("maxItems".into(), json!(4));
                }
                Some("integer") if !obj.contains_key("maximum") => {
                    obj.insert("maximum".into(), json!(1000));
                    obj.entry("minimum").or_insert(json!(0));
                }
                _ => {}
            }
            if let Some(Value::Object(props)) = obj.get("properties") {
                let all: Vec<Value> = props.keys().cloned().map(Value::String).collect();
                obj.insert("required".into(), Value::Array(all));
            }
            obj.remove("default");
            for (_, child) in obj.iter_mut() {
                bound(child, depth + 1);
            }
        }
        Value::Array(list) => list.iter_mut().for_each(|c| bound(c, depth + 1)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings_without_bounds(v: &Value, at: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                if o.get("type").and_then(Value::as_str) == Some("string")
                    && !o.contains_key("enum")
                    && !o.contains_key("const")
                    && !o.contains_key("maxLength")
                {
                    out.push(at.to_owned());
                }
                for (k, c) in o {
                    strings_without_bounds(c, &format!("{at}/{k}"), out);
                }
            }
            Value::Array(l) => {
                for (i, c) in l.iter().enumerate() {
                    strings_without_bounds(c, &format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn bounded_leaves_no_free_string_unbounded() {
        for s in [
            schema_for::<World>(),
            schema_for::<Character>(),
            schema_for::<Quest>(),
            schema_for::<Item>(),
        ] {
            let b = bounded(&s);
            let mut open = Vec::new();
            strings_without_bounds(&b, "", &mut open);
            // Ids and asset paths keep their own pattern-based schemas.
            open.retain(|p| !p.contains("/$defs/Id") && !p.contains("/$defs/AssetPath"));
            assert!(open.is_empty(), "unbounded strings at {open:?}");
        }
    }
}
