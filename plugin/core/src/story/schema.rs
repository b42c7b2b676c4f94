//! The JSON schema each stage's output must match: derived from the Rust content type, with the
//! ids of known content pinned, every free string and list bounded, and what the game already
//! decides (the asset's id, its art paths, the quest's giver) fixed, so the model writes only
//! what it should and whatever it writes parses and links up.

use serde_json::{Value, json};

use crate::content::{AssetPath, Character, ContentSet, Item, Quest, World};
use crate::llm::constrain::{KnownIds, pin_ids, schema_for};
use crate::validate::limits::{LABEL_MAX, NAME_MAX};

use super::context::StoryContext;
use super::craft::{NO_CONTROL, NO_OTHER_SCRIPT};
use super::dialogue::{DialogueShape, dialogue_schema};
use super::job::Job;
use super::{Error, Result};

/// A sentence: starts with a capital; no quotes or backslashes (no escapes for a small model to
/// get wrong), no markup (small models drift into HTML and Markdown) and no control characters.
fn sentence() -> String {
    format!(r#"^[A-Z][^"\\<>{{}}|#*_=\[\]{NO_CONTROL}{NO_OTHER_SCRIPT}]*$"#)
}
/// A name in the world's style: one to three capitalised words of letters ("Wren Alder",
/// "Moon Pear", "Bell Green").
pub const NAME: &str = r"^[A-Z][a-z]+( [A-Z][a-z]+){0,2}$";
/// A title: capitalised, words and light punctuation only.
const TITLE: &str = r"^[A-Z][A-Za-z' ,-]*$";
/// A short tag in lower case ("relentlessly curious").
const TAG: &str = r"^[a-z][a-z' -]*$";
/// A short lower-case phrase of one to six words of at most 12 letters ("beekeeper", "keeper
/// of the village bell"): a small model otherwise runs letters together ("withjerdsk...").
const PHRASE: &str = r"^[a-z]{2,12}( [a-z']{1,12}){0,5}$";
/// A trait: one to three lower-case words ("hums while she works" is four: "hums at work").
const TRAIT: &str = r"^[a-z]{2,12}( [a-z]{1,12}){0,2}$";

/// The name of a new villager: what the game knows from the id (`wren` → "Wren", `old_tom` →
/// "Old Tom"), with room for a surname when the id gives one or two words; the name grammar
/// when the id is not made of letters.
pub fn npc_name_pattern(id: &str) -> String {
    let words: Vec<String> = id
        .split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    let letters = !words.is_empty()
        && words.len() <= 3
        && words
            .iter()
            .all(|w| w.len() >= 2 && w.chars().all(|c| c.is_ascii_alphabetic()));
    if !letters {
        return NAME.to_owned();
    }
    let given = words.join(" ");
    if words.len() < 3 {
        format!("^{given}( [A-Z][a-z]{{2,11}})?$")
    } else {
        format!("^{given}$")
    }
}

/// The schema of `job`'s output.
pub fn schema_for_job(job: &Job, set: &ContentSet, ctx: &StoryContext) -> Result<Value> {
    let known = KnownIds::from_set(set);
    let id = job.output_id()?;
    let ids = &ctx.ids;
    let mut s = match job {
        Job::Dialogue { .. } => {
            let mut shape = DialogueShape::of(job)?;
            if let Some(first) = ctx
                .npc
                .as_ref()
                .and_then(|c| c.name.split_whitespace().next())
            {
                shape.npc_name = first.to_owned();
            }
            shape.lead = ctx
                .topic
                .as_ref()
                .zip(ctx.topic_line)
                .map(|(t, at)| (at, t.lead.clone()));
            return dialogue_schema(&shape, &known);
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
            set_ptr(
                &mut s,
                "/properties/name",
                text_like(2, NAME_MAX, &npc_name_pattern(id.as_str())),
            )?;
            set_ptr(&mut s, "/properties/role", text_like(4, 40, PHRASE))?;
            set_ptr(
                &mut s,
                "/properties/personality",
                list(text_like(3, 30, TRAIT), 2, 4),
            )?;
            set_ptr(&mut s, "/properties/speech_style", text(20, 200))?;
            set_ptr(&mut s, "/properties/backstory", text(20, 300))?;
            // The player's farm is nobody else's home.
            set_ptr(&mut s, "/properties/home", one_of(&ids.homes))?;
            set_ptr(&mut s, "/properties/likes", list(one_of(&ids.items), 1, 3))?;
            set_ptr(
                &mut s,
                "/properties/dislikes",
                list(one_of(&ids.items), 1, 2),
            )?;
            // The day's shape is the game's: morning, afternoon and evening, all year (a small
            // model otherwise lists one slot twice); the places are the model's.
            let slots: Vec<Value> = ["Morning", "Afternoon", "Evening"]
                .iter()
                .map(|slot| {
                    json!({
                        "type": "object",
                        "properties": {
                            "slot": {"const": slot},
                            "location": one_of(&ids.locations),
                            "seasons": {"type": "array", "maxItems": 0},
                        },
                        "required": ["slot", "location", "seasons"],
                        "additionalProperties": false,
                    })
                })
                .collect();
            set_ptr(
                &mut s,
                "/properties/schedule",
                json!({"type": "array", "prefixItems": slots, "items": false, "minItems": 3, "maxItems": 3}),
            )?;
            set_ptr(&mut s, "/properties/relationships/maxItems", json!(2))?;
            // How they look, so `sprout art` can draw their sprite and portrait: words the
            // embedded sprite model knows (no seed: each file's path gives one).
            set_ptr(&mut s, "/properties/appearance", appearance_schema())?;
            let days = ctx.world.as_ref().map_or(28, |w| w.days_per_season.max(1));
            for_props(&mut s, "day", &|p| {
                *p = json!({"type": "integer", "minimum": 1, "maximum": days});
            });
            for_props(&mut s, "location", &|p| *p = one_of(&ids.locations));
            for_props(&mut s, "with", &|p| *p = one_of(&ids.characters));
            for_props(&mut s, "note", &|p| *p = text(8, 100));
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
            // How the icon looks is art direction, the designer's (`sprout art` uses the name
            // until they write one): not asked of the model, nor required of a server's answer.
            if let Some(props) = s.get_mut("properties").and_then(Value::as_object_mut) {
                props.remove("look");
            }
            if let Some(required) = s.get_mut("required").and_then(Value::as_array_mut) {
                required.retain(|r| r != "look");
            }
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
    text_like(min, max, &sentence())
}

/// Figures, hair and clothes colours the embedded sprite model draws (seen on its contact
/// sheets), for a generated character's [`Appearance`](crate::content::Appearance).
pub const FIGURES: [&str; 5] = ["woman", "man", "girl", "boy", "person"];
/// See [`FIGURES`].
pub const HAIR: [&str; 6] = ["black", "brown", "blonde", "red", "white", "grey"];
/// See [`FIGURES`].
pub const CLOTHES: [&str; 9] = [
    "red", "orange", "yellow", "green", "blue", "purple", "brown", "white", "grey",
];

fn appearance_schema() -> Value {
    let words = |w: &[&str]| json!({"type": "string", "enum": w});
    json!({
        "type": "object",
        "properties": {
            "figure": words(&FIGURES),
            "age": {"type": "string", "enum": ["Child", "Young", "Adult", "Elder"]},
            "hair": words(&HAIR),
            "clothes": words(&CLOTHES),
            "emblem": text_like(3, 16, r"^[a-z]+$"),
        },
        "required": ["figure", "age", "hair", "clothes", "emblem"],
        "additionalProperties": false,
    })
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
                    obj.insert("pattern".into(), json!(sentence()));
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

    use crate::llm::Constraint;
    use crate::llm::constrain::ConstraintEngine;

    fn engine() -> ConstraintEngine {
        ConstraintEngine::from_env(&toktrie::ApproximateTokEnv::single_byte_env()).unwrap()
    }

    /// Whether the schema `{"type": "string", "pattern": pattern}` accepts `value`, fed byte by
    /// byte as the model would write it (JSON-escaped).
    /// Whether constrained decoding under `schema` can write `text`, byte by byte.
    fn schema_accepts(engine: &ConstraintEngine, schema: &Value, text: &str) -> bool {
        let mut m = engine
            .matcher(&Constraint::JsonSchema(schema.clone()))
            .unwrap();
        let env = toktrie::ApproximateTokEnv::single_byte_env();
        env.tokenize_bytes(text.as_bytes())
            .into_iter()
            .all(|t| m.consume_token(t).is_ok())
            && m.is_accepting().unwrap_or(false)
    }

    fn pattern_accepts(engine: &ConstraintEngine, pattern: &str, value: &str) -> bool {
        let schema = json!({"type": "string", "pattern": pattern});
        let mut m = engine.matcher(&Constraint::JsonSchema(schema)).unwrap();
        let text = serde_json::to_string(value).unwrap();
        let env = toktrie::ApproximateTokEnv::single_byte_env();
        env.tokenize_bytes(text.as_bytes())
            .into_iter()
            .all(|t| m.consume_token(t).is_ok())
            && m.is_accepting().unwrap_or(false)
    }

    fn patterns(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                if let Some(Value::String(p)) = o.get("pattern") {
                    out.push(p.clone());
                }
                o.values().for_each(|c| patterns(c, out));
            }
            Value::Array(l) => l.iter().for_each(|c| patterns(c, out)),
            _ => {}
        }
    }

    use crate::story::starter;

    fn id(s: &str) -> crate::content::Id {
        crate::content::Id::new(s).unwrap()
    }

    fn every_job() -> Vec<Job> {
        vec![
            Job::World {
                id: id("vale"),
                brief: String::new(),
            },
            Job::Npc {
                id: id("wren"),
                brief: "a young beekeeper who hums".into(),
            },
            Job::Quest {
                id: id("honey_run"),
                giver: id("bettany"),
                brief: String::new(),
            },
            Job::Item {
                id: id("moon_pear"),
                category: None,
                brief: String::new(),
            },
            Job::Dialogue {
                npc: id("sefa"),
                situation: crate::content::Situation::GiftLiked,
                season: None,
                nodes: 3,
                brief: String::new(),
                id: None,
            },
        ]
    }

    #[test]
    fn no_text_pattern_of_any_stage_admits_a_control_character_or_another_script() {
        let set = starter();
        let engine = engine();
        for job in every_job() {
            let ctx = StoryContext::new(&set, &job, 1).unwrap();
            let schema = schema_for_job(&job, &set, &ctx).unwrap();
            let mut found = Vec::new();
            patterns(&schema, &mut found);
            assert!(!found.is_empty(), "{}", job.label());
            for p in &found {
                for bad in [
                    "\u{1b}Bramblegate Farm\u{1d}",
                    "Bramblegate\u{1b} Farm.",
                    "Wren\u{7f}",
                    "Wren\u{85}x.",
                    "Two\nlines.",
                    "Zero\u{200b}width.",
                    "It makes 我 happy.",
                    "Хорошо.",
                    "Tea ｔｉｍｅ.",
                ] {
                    assert!(
                        !pattern_accepts(&engine, p, bad),
                        "{}: {p} accepts {bad:?}",
                        job.label()
                    );
                }
            }
        }
        // The text patterns still take ordinary words.
        assert!(pattern_accepts(
            &engine,
            &sentence(),
            "Mind the mud, it's deep."
        ));
        assert!(pattern_accepts(
            &engine,
            &sentence(),
            "Café crème for Zoë — naïve, but it's Łódź's best."
        ));
    }

    #[test]
    fn a_new_villagers_name_comes_from_the_id() {
        let engine = engine();
        let p = npc_name_pattern("wren");
        assert_eq!(p, "^Wren( [A-Z][a-z]{2,11})?$");
        assert!(pattern_accepts(&engine, &p, "Wren"));
        assert!(pattern_accepts(&engine, &p, "Wren Alder"));
        for bad in [
            "Betrashan Zamanamir izjm",
            "Wren alder",
            "Wren Alder Hill",
            "Bettallah",
        ] {
            assert!(!pattern_accepts(&engine, &p, bad), "{bad}");
        }
        assert_eq!(npc_name_pattern("old_tom_reed"), "^Old Tom Reed$");
        assert_eq!(npc_name_pattern("r2d2"), NAME);
        assert!(pattern_accepts(&engine, NAME, "Moon Pear"));
        assert!(!pattern_accepts(&engine, NAME, "Moon Pear (20 Aug) 758496"));
    }

    #[test]
    fn roles_and_traits_are_short_lower_case_phrases() {
        let set = starter();
        let job = &every_job()[1];
        let ctx = StoryContext::new(&set, job, 1).unwrap();
        let s = schema_for_job(job, &set, &ctx).unwrap();
        let engine = engine();
        let role = s["properties"]["role"]["pattern"].as_str().unwrap();
        let personality = s["properties"]["personality"]["items"]["pattern"]
            .as_str()
            .unwrap();
        assert!(pattern_accepts(&engine, role, "beekeeper on the green"));
        assert!(!pattern_accepts(
            &engine,
            role,
            "Bettallah Shirea Manzumawdara (20 Aug)  758496"
        ));
        assert!(pattern_accepts(&engine, personality, "hums at work"));
        assert!(pattern_accepts(
            &engine,
            personality,
            "relentlessly curious"
        ));
        assert!(!pattern_accepts(
            &engine,
            personality,
            "long strings aroundtheteethand"
        ));
        assert!(!pattern_accepts(
            &engine,
            personality,
            "britishmanic mohammed abu alabis habibullah"
        ));
    }

    #[test]
    fn the_npc_speaks_every_line_but_the_narrators_one_slot() {
        let set = starter();
        let known = KnownIds::from_set(&set);
        let engine = engine();
        for (situation, slot) in [
            (crate::content::Situation::Daily, None),
            (crate::content::Situation::GiftLiked, Some(1)),
        ] {
            let job = Job::Dialogue {
                npc: id("sefa"),
                situation,
                season: None,
                nodes: 3,
                brief: String::new(),
                id: None,
            };
            let s = dialogue_schema(&DialogueShape::of(&job).unwrap(), &known).unwrap();
            let nodes = s["properties"]["nodes"]["prefixItems"].as_array().unwrap();
            for (i, n) in nodes.iter().enumerate() {
                if slot == Some(i) {
                    let alts = n["anyOf"].as_array().unwrap();
                    let sp: Vec<&Value> = alts
                        .iter()
                        .map(|a| &a["properties"]["speaker"]["const"])
                        .collect();
                    assert_eq!(sp, [&json!("sefa"), &json!("narrator")], "{i}");
                    // The narrator tells what Sefa does, in the third person.
                    let told = alts[1]["properties"]["text"]["pattern"].as_str().unwrap();
                    assert!(
                        pattern_accepts(&engine, told, "Sefa sets the cup down."),
                        "{told}"
                    );
                    assert!(
                        !pattern_accepts(&engine, told, "I am working at this moment."),
                        "{told}"
                    );
                } else {
                    assert_eq!(n["properties"]["speaker"]["const"], json!("sefa"), "{i}");
                }
            }
        }
    }

    #[test]
    fn the_topic_opens_one_of_the_npcs_lines() {
        let set = starter();
        let engine = engine();
        for seed in [1, 2, 3, 4] {
            let job = Job::Dialogue {
                npc: id("pim"),
                situation: crate::content::Situation::GiftLiked,
                season: None,
                nodes: 3,
                brief: String::new(),
                id: None,
            };
            let ctx = StoryContext::new(&set, &job, seed).unwrap();
            let topic = ctx.topic.clone().unwrap();
            let at = ctx.topic_line.unwrap();
            assert_ne!(at, 1, "the narrator's line does not carry the topic");
            let s = schema_for_job(&job, &set, &ctx).unwrap();
            let nodes = s["properties"]["nodes"]["prefixItems"].as_array().unwrap();
            for (i, n) in nodes.iter().enumerate() {
                // The narrator's slot offers the NPC's line first.
                let n = n.get("anyOf").map_or(n, |alts| &alts[0]);
                let p = n["properties"]["text"]["pattern"].as_str().unwrap();
                let led = format!("{}, you remembered!", topic.lead);
                assert!(pattern_accepts(&engine, p, &led), "{p}");
                assert_eq!(
                    pattern_accepts(&engine, p, "Oh, you remembered!"),
                    i != at,
                    "{i}: {p}"
                );
            }
        }
    }

    #[test]
    fn a_villagers_day_is_the_games_and_the_places_the_models() {
        let set = starter();
        let job = &every_job()[1];
        let ctx = StoryContext::new(&set, job, 1).unwrap();
        let s = schema_for_job(job, &set, &ctx).unwrap();
        let engine = engine();
        let day = |slots: [&str; 3], home: &str| {
            let entries: Vec<String> = slots
                .iter()
                .map(|s| format!(r#"{{"slot": "{s}", "location": "{home}", "seasons": []}}"#))
                .collect();
            format!("[{}]", entries.join(", "))
        };
        let schedule = &s["properties"]["schedule"];
        let accepts = |text: &str| schema_accepts(&engine, schedule, text);
        assert!(accepts(&day(
            ["Morning", "Afternoon", "Evening"],
            "bell_green"
        )));
        assert!(!accepts(&day(
            ["Night", "Afternoon", "Night"],
            "bell_green"
        )));
        assert!(!accepts(&day(
            ["Morning", "Afternoon", "Evening"],
            "atlantis"
        )));
    }

    #[test]
    fn a_new_villager_always_gets_an_appearance_in_words_the_sprite_model_draws() {
        let set = starter();
        let job = &every_job()[1];
        assert!(matches!(job, Job::Npc { .. }));
        let ctx = StoryContext::new(&set, job, 1).unwrap();
        let s = schema_for_job(job, &set, &ctx).unwrap();
        let required = s["required"].as_array().unwrap();
        assert!(required.iter().any(|r| r == "appearance"));
        let looks = &s["properties"]["appearance"];
        let engine = engine();
        let accepts = |text: &str| schema_accepts(&engine, looks, text);
        let good = r#"{"figure": "woman", "age": "Young", "hair": "red", "clothes": "yellow", "emblem": "bee"}"#;
        assert!(accepts(good));
        let card: crate::content::Appearance = serde_json::from_str(good).unwrap();
        assert_eq!(card.sprite_prompt(), "woman walking");
        assert!(!accepts(&good.replace("woman", "dragon")));
        assert!(!accepts(&good.replace("\"red\"", "\"plaid\"")));
        assert!(!accepts("null"));
        assert!(!accepts(&good.replace("}", r#", "seed": 4}"#)));
    }
}
