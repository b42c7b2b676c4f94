//! Typed generation: output constrained to a type's JSON schema, parsed into the type, and
//! checked by Sprout's validator before anyone sees it.
//!
//! [`generate_json`] works for any `serde` + `schemars` type. [`generate_dialogue`] writes a
//! [`DialogueTree`] for an NPC: the schema fixes what the game already knows (tree, node and line
//! ids, the participants, the shape of the graph), pins speakers and effect targets to content
//! that exists, and leaves the model the words.

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::backend::{ChatMessage, Constraint, Event, Generation, GenerationRequest, TextBackend};
use super::constrain::{KnownIds, pin_ids, schema_for};
use super::{Error, Result, SamplingParams};
use crate::content::{Condition, ContentSet, DialogueTree, Effect, Id, Next, Situation};
use crate::validate::{Severity, limits::DIALOGUE_TEXT_MAX};

/// Generates JSON constrained to `schema` and parses it as `T`.
pub fn generate_json<T: DeserializeOwned>(
    backend: &mut dyn TextBackend,
    request: &GenerationRequest,
    schema: Value,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<(T, Generation)> {
    let mut request = request.clone();
    request.constraint = Some(Constraint::JsonSchema(schema));
    let generation = backend.generate(&request, on_event)?;
    if generation.finish == super::FinishReason::Cancelled {
        return Err(Error::Cancelled);
    }
    if generation.finish != super::FinishReason::Stop {
        return Err(Error::Output {
            what: core::any::type_name::<T>(),
            message: format!(
                "the output stopped early ({:?} after {} tokens): raise max_tokens or ask for less",
                generation.finish, generation.timings.generated_tokens
            ),
            output: generation.text,
        });
    }
    let value = parse_json::<T>(&generation.text)?;
    Ok((value, generation))
}

/// Generates a `T` constrained to its own schemars schema, with ids pinned to `known`.
pub fn generate_typed<T: DeserializeOwned + schemars::JsonSchema>(
    backend: &mut dyn TextBackend,
    request: &GenerationRequest,
    known: &KnownIds,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<(T, Generation)> {
    let schema = pin_ids(&schema_for::<T>(), known);
    generate_json(backend, request, schema, on_event)
}

/// Parses model output as `T`, with an error that shows the output.
pub fn parse_json<T: DeserializeOwned>(text: &str) -> Result<T> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| Error::Output {
        what: core::any::type_name::<T>(),
        message: e.to_string(),
        output: text.to_owned(),
    })
}

/// What dialogue to write.
#[derive(Debug, Clone, PartialEq)]
pub struct DialogueRequest {
    /// The NPC who talks (a character id of the content set).
    pub npc: Id,
    /// The new tree's id (also the prefix of its line ids).
    pub tree_id: Id,
    /// When it plays.
    pub situation: Situation,
    /// How many lines (nodes), 1 to 8; they play one after the other.
    pub nodes: usize,
    /// What it is about, in a few words (may be empty).
    pub brief: String,
    /// Sampling parameters.
    pub sampling: SamplingParams,
    /// Token budget.
    pub max_tokens: usize,
    /// Longest line, in characters (at most the validator's limit).
    pub max_line_chars: usize,
    /// Tries, each with the next seed, while the output fails to parse or validate (servers
    /// whose constraints are looser than the local engine's need more than one).
    pub attempts: u32,
    /// When the tree may play (e.g. only in one season); set on the tree as written.
    pub when: Option<Condition>,
    /// Stops the generation (it then ends with [`Error::Cancelled`]).
    pub cancel: super::CancelToken,
}

impl DialogueRequest {
    /// Three lines of daily chat, seed 0.
    pub fn new(npc: Id, tree_id: Id, situation: Situation) -> Self {
        Self {
            npc,
            tree_id,
            situation,
            nodes: 3,
            brief: String::new(),
            sampling: SamplingParams::default(),
            max_tokens: 400,
            max_line_chars: 120,
            attempts: 1,
            when: None,
            cancel: super::CancelToken::new(),
        }
    }
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
pub fn dialogue_schema(req: &DialogueRequest, known: &KnownIds) -> Result<Value> {
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
    let mut speakers = vec![npc.to_owned()];
    speakers.push(crate::content::dialogue::NARRATOR.into());
    let nodes: Vec<Value> = (0..req.nodes)
        .map(|i| {
            let next = if i + 1 < req.nodes {
                json!({"type": "object", "properties": {"Goto": {"const": node_id(i + 1)}}, "required": ["Goto"], "additionalProperties": false})
            } else {
                json!({"const": "End"})
            };
            let speaker = if i == 0 { json!({"const": npc}) } else { json!({"type": "string", "enum": speakers}) };
            json!({
                "type": "object",
                "properties": {
                    "id": {"const": node_id(i)},
                    "line": {"const": format!("{}_{}", req.tree_id, node_id(i))},
                    "speaker": speaker,
                    "text": {"type": "string", "minLength": 8, "maxLength": max_chars, "pattern": r#"^[A-Za-z][^"\\\n<>{}|#*_=]*[.!?]$"#},
                    "effects": {"type": "array", "items": {"anyOf": effect_kinds}, "maxItems": if effect_kinds.is_empty() { 0 } else { 1 }},
                    "next": next,
                },
                "required": ["id", "line", "speaker", "text", "effects", "next"],
                "additionalProperties": false,
            })
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

/// The system and user messages that ask for the dialogue: the story pipeline's dialogue
/// templates (built in), rendered with the same context a `sprout gen dialogue` gets.
pub fn dialogue_messages(req: &DialogueRequest, set: &ContentSet) -> Result<Vec<ChatMessage>> {
    use crate::story::{Stage, Templates, context::StoryContext};
    let season = match &req.when {
        Some(Condition::Season(s)) => Some(*s),
        _ => None,
    };
    let job = crate::story::Job::Dialogue {
        npc: req.npc.clone(),
        situation: req.situation.clone(),
        season,
        nodes: req.nodes,
        brief: req.brief.clone(),
        id: Some(req.tree_id.clone()),
    };
    let ctx = StoryContext::new(set, &job).map_err(|e| Error::Request(e.to_string()))?;
    Templates::builtin()
        .render(Stage::Dialogue, &ctx)
        .map_err(|e| Error::Template(e.to_string()))
}

/// Writes a dialogue tree for `req.npc`, constrained so it parses, then validates it together
/// with `set`: returns it only when the validator finds no error.
pub fn generate_dialogue(
    backend: &mut dyn TextBackend,
    set: &ContentSet,
    req: &DialogueRequest,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<(DialogueTree, Generation)> {
    let known = KnownIds::from_set(set);
    let schema = dialogue_schema(req, &known)?;
    let mut request = GenerationRequest::new(dialogue_messages(req, set)?)
        .with_sampling(req.sampling.clone())
        .with_max_tokens(req.max_tokens);
    request.cancel = req.cancel.clone();
    let mut tries = req.attempts.max(1);
    loop {
        tries -= 1;
        let result = generate_json::<DialogueTree>(backend, &request, schema.clone(), on_event)
            .and_then(|(mut tree, generation)| {
                complete_tree(req, &mut tree);
                validate_with(set, &tree).map(|()| (tree, generation))
            });
        match result {
            Err(e @ (Error::Output { .. } | Error::Invalid(_))) if tries > 0 => {
                tracing::info!("dialogue attempt failed ({e}); trying the next seed");
                request.sampling.seed = request.sampling.seed.wrapping_add(1);
            }
            other => return other,
        }
    }
}

/// What the game decides rather than the model: the tree's `when`, and the quest effect a
/// quest offer or completion must carry (on every line that ends the conversation).
pub fn complete_tree(req: &DialogueRequest, tree: &mut DialogueTree) {
    tree.when.clone_from(&req.when);
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

/// Validates a new dialogue tree together with the rest of the content; errors only.
pub fn validate_with(set: &ContentSet, tree: &DialogueTree) -> Result<()> {
    let mut all = set.clone();
    let path = set
        .root
        .join("dialogue")
        .join(format!("{}.dialogue.ron", tree.id));
    let ron = crate::format::to_ron(tree).map_err(|e| Error::Request(e.to_string()))?;
    all.add_source(path.clone(), ron)
        .map_err(|d| Error::Invalid(vec![d]))?;
    let errors: Vec<_> = crate::validate::validate_set(&all)
        .into_iter()
        .filter(|d| d.severity == Severity::Error && d.file == path)
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(errors))
    }
}
