//! The shape of a generated dialogue tree: what the game fixes ([`DialogueShape`]: the tree and
//! line ids, who talks, how many lines and how they link, which effects a line may carry, when it
//! plays) and leaves the model the words. [`dialogue_schema`] turns it into the JSON schema the
//! constrained decoder follows; [`complete_tree`] adds what the game decides after the model.

use serde_json::{Value, json};

use crate::content::dialogue::NARRATOR;
use crate::content::{Condition, DialogueTree, Effect, Id, Next, Situation};
use crate::llm::constrain::{KnownIds, pin_ids, schema_for};
use crate::validate::limits::DIALOGUE_TEXT_MAX;

use super::craft::{NO_CONTROL, NO_OTHER_SCRIPT};
use super::job::Job;
use super::{Error, Result};

/// What the game fixes of a dialogue tree before the model writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct DialogueShape {
    /// The NPC who talks (a character id of the content set).
    pub npc: Id,
    /// The tree's id (also the prefix of its line ids).
    pub tree_id: Id,
    /// When it plays.
    pub situation: Situation,
    /// How many lines (nodes), 1 to 8; they play one after the other.
    pub nodes: usize,
    /// Longest line, in characters (at most the validator's limit).
    pub max_line_chars: usize,
    /// When the tree may play (e.g. only in one season); set on the tree as written.
    pub when: Option<Condition>,
    /// The one line the narrator may take ([`narrator_slot`]); every other line is the NPC's.
    pub narrator_at: Option<usize>,
    /// A line that must open with these words (the tree's topic), and which.
    pub lead: Option<(usize, String)>,
    /// How the narrator names the NPC (the first word of their name): a narrator line opens
    /// with it, so it tells what they do in the third person.
    pub npc_name: String,
}

/// The longest line a dialogue job asks for, in characters: one or two short sentences.
pub const LINE_CHARS: usize = 120;

/// Where a situation calls for the narrator: a gift handed over, a first meeting, a favour
/// done or a friendship moment has one beat of action, the middle line of two or more; daily
/// small talk and a quest offer are the NPC's alone.
pub fn narrator_slot(situation: &Situation, nodes: usize) -> Option<usize> {
    let action = !matches!(situation, Situation::Daily | Situation::QuestOffer(_));
    (action && nodes >= 2).then_some(nodes / 2)
}

impl DialogueShape {
    /// The shape a dialogue job asks for.
    pub fn of(job: &Job) -> Result<Self> {
        let Job::Dialogue {
            npc,
            situation,
            season,
            nodes,
            ..
        } = job
        else {
            return Err(Error::Request(format!(
                "{} is not a dialogue job",
                job.label()
            )));
        };
        Ok(Self {
            npc: npc.clone(),
            tree_id: job.output_id()?,
            situation: situation.clone(),
            nodes: *nodes,
            max_line_chars: LINE_CHARS,
            when: season.map(Condition::Season),
            narrator_at: narrator_slot(situation, *nodes),
            lead: None,
            npc_name: capitalised(npc.as_str().split('_').next().unwrap_or_default()),
        })
    }
}

/// A spoken line: starts with a letter (or with `lead`, then a space or punctuation), ends a
/// sentence, and has no quotes, backslashes, markup or control characters.
fn line_pattern(lead: Option<&str>) -> String {
    opened_by(&match lead {
        Some(words) => format!("{}[ ,!?']", regex_escape(words)),
        None => "[A-Za-z]".into(),
    })
}

/// A line whose start matches the regex `opening`, then as [`line_pattern`].
fn opened_by(opening: &str) -> String {
    format!(r#"^{opening}[^"\\<>{{}}|#*_={NO_CONTROL}{NO_OTHER_SCRIPT}]*[.!?]$"#)
}

fn capitalised(word: &str) -> String {
    let mut c = word.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// `s` with every regex metacharacter escaped.
fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let meta = "\\.+*?()|[]{}^$#&-~".contains(c);
            meta.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

fn node_id(i: usize) -> String {
    if i == 0 {
        "start".into()
    } else {
        format!("line{}", i + 1)
    }
}

/// The JSON schema of the tree to write: fixed ids and graph, free text, pinned speakers and
/// effects (friendship with the NPC, the world's flags).
pub fn dialogue_schema(req: &DialogueShape, known: &KnownIds) -> Result<Value> {
    if !(1..=8).contains(&req.nodes) {
        return Err(Error::Request(format!(
            "{} nodes: ask for 1 to 8",
            req.nodes
        )));
    }
    let npc = req.npc.as_str();
    if !known.characters.contains(npc) {
        return Err(Error::Request(format!(
            "no character `{npc}` in the content"
        )));
    }
    let situation =
        serde_json::to_value(&req.situation).map_err(|e| Error::Request(e.to_string()))?;
    let max_chars = req.max_line_chars.clamp(10, DIALOGUE_TEXT_MAX);
    // Effect schemas come from the Rust type; only the kinds a chat may have are offered.
    let effect_defs = pin_ids(&schema_for::<Effect>(), known);
    let effect_kinds: Vec<Value> = effect_defs
        .get("oneOf")
        .or_else(|| effect_defs.get("anyOf"))
        .and_then(Value::as_array)
        .map(|alts| {
            alts.iter()
                .filter(|a| {
                    let p = a.get("properties");
                    // Story flags and items change the game's state: a chat only moves friendship.
                    p.is_some_and(|p| p.get("Friendship").is_some())
                })
                .cloned()
                .map(|mut a| {
                    // Friendship only with the NPC who talks, by a small amount.
                    if let Some(f) = a.pointer_mut("/properties/Friendship/properties") {
                        f["npc"] = json!({"type": "string", "enum": [npc]});
                        f["points"] = json!({"type": "integer", "minimum": 5, "maximum": 30});
                    }
                    a
                })
                .collect()
        })
        .unwrap_or_default();
    let nodes: Vec<Value> = (0..req.nodes)
        .map(|i| {
            let next = if i + 1 < req.nodes {
                json!({"type": "object", "properties": {"Goto": {"const": node_id(i + 1)}}, "required": ["Goto"], "additionalProperties": false})
            } else {
                json!({"const": "End"})
            };
            let lead = req.lead.as_ref().filter(|(at, _)| *at == i).map(|(_, w)| w.as_str());
            let node = |speaker: &str, pattern: String| {
                json!({
                    "type": "object",
                    "properties": {
                        "id": {"const": node_id(i)},
                        "line": {"const": format!("{}_{}", req.tree_id, node_id(i))},
                        "speaker": {"const": speaker},
                        "text": {"type": "string", "minLength": 8, "maxLength": max_chars, "pattern": pattern},
                        "effects": {"type": "array", "items": {"anyOf": effect_kinds}, "maxItems": if effect_kinds.is_empty() { 0 } else { 1 }},
                        "next": next,
                    },
                    "required": ["id", "line", "speaker", "text", "effects", "next"],
                    "additionalProperties": false,
                })
            };
            let spoken = node(npc, line_pattern(lead));
            if req.narrator_at == Some(i) {
                // The narrator tells what the NPC does: "Sefa sets the cup down."
                let told = format!("{} [a-z]", regex_escape(&req.npc_name));
                let narrated = node(NARRATOR, opened_by(&told));
                json!({"anyOf": [spoken, narrated]})
            } else {
                spoken
            }
        })
        .collect();
    let mut schema = json!({
        "type": "object",
        "properties": {
            "id": {"const": req.tree_id.as_str()},
            "situation": {"const": situation},
            "participants": {"const": [npc]},
            "entry": {"const": "start"},
            "nodes": {"type": "array", "prefixItems": nodes, "items": false, "minItems": req.nodes, "maxItems": req.nodes},
        },
        "required": ["id", "situation", "participants", "entry", "nodes"],
        "additionalProperties": false,
    });
    if let Some(defs) = effect_defs.get("$defs") {
        schema["$defs"] = defs.clone();
    }
    Ok(schema)
}

/// What the game decides rather than the model: the line ids (`<tree>_<node>` for a node,
/// `<node line>_c<k>` for its k-th choice, counting from 1), the tree's `when`, and the quest
/// effect a quest offer or completion must carry (on every line that ends the conversation).
pub fn complete_tree(req: &DialogueShape, tree: &mut DialogueTree) {
    tree.when.clone_from(&req.when);
    for node in &mut tree.nodes {
        if let Ok(line) = Id::new(format!("{}_{}", req.tree_id, node.id)) {
            node.line = line;
        }
        if let Next::Choices(choices) = &mut node.next {
            for (k, choice) in choices.iter_mut().enumerate() {
                if let Ok(line) = Id::new(format!("{}_c{}", node.line, k + 1)) {
                    choice.line = line;
                }
            }
        }
    }
    let effect = match &req.situation {
        Situation::QuestOffer(q) => Effect::StartQuest(q.clone()),
        Situation::QuestComplete(q) => Effect::CompleteQuest(q.clone()),
        _ => return,
    };
    for node in &mut tree.nodes {
        if matches!(node.next, Next::End) && !node.effects.contains(&effect) {
            node.effects.push(effect.clone());
        }
    }
}
