//! Is a candidate good? The model's JSON becomes the job's content type (with what the game
//! decides applied), then RON; the RON is validated together with the whole content set, and a
//! dialogue tree is also held to the writer's rules of [`craft`](super::craft). Every problem
//! comes back as one line, worded for the repair prompt.

use serde::Serialize;

use std::path::Path;

use crate::content::{Character, ContentSet, DialogueTree, Item, Quest, World};
use crate::format::{parse, to_ron};
use crate::llm::ChatMessage;
use crate::validate::limits::DIALOGUE_TEXT_MAX;
use crate::validate::{DiagnosticKind, Severity, validate_set};

use super::craft::{
    LIFTED_RUN, PromptText, Speakers, card_pronoun_clash, copied_names, cut_off, dialogue_craft,
    is_control, misspelled_name, name_ok, self_named, tree_problems, words,
};
use super::dialogue::{DialogueShape, complete_tree};
use super::job::Job;
use super::topic::Topic;

/// Parses the model's JSON as the job's content type, applies what the game decides, and
/// writes it as RON.
pub(super) fn to_asset(job: &Job, text: &str) -> Result<String, Vec<String>> {
    fn typed<T: serde::de::DeserializeOwned + Serialize>(
        text: &str,
        fix: impl FnOnce(&mut T),
    ) -> Result<String, Vec<String>> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let mut value: T = serde_path_to_error::deserialize(de)
            .map_err(|e| vec![format!("the JSON does not fit: {e}")])?;
        fix(&mut value);
        to_ron(&value).map_err(|e| vec![e.to_string()])
    }
    match job {
        Job::World { .. } => typed::<World>(text, |_| {}),
        Job::Npc { .. } => typed::<Character>(text, |_| {}),
        Job::Quest { .. } => typed::<Quest>(text, |_| {}),
        Job::Item { .. } => typed::<Item>(text, |_| {}),
        job @ Job::Dialogue { .. } => {
            let req = DialogueShape::of(job).map_err(|e| vec![e.to_string()])?;
            typed::<DialogueTree>(text, |t| complete_tree(&req, t))
        }
    }
}

/// The words of every villager's name ("Ottilie", "Brask"), for [`misspelled_name`].
pub(crate) fn villager_names(set: &ContentSet) -> Vec<String> {
    let mut names: Vec<String> = set
        .characters
        .iter()
        .flat_map(|c| c.value.name.split_whitespace().map(str::to_owned))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Validates `ron` as `job`'s asset at `path`, together with all other content (`base`, the
/// target file left out): errors in it, names from other games, control characters, and the
/// writer's rules (a dialogue tree: who speaks, no meta-talk, its `topic` mentioned; a villager
/// or item: a name in the world's style). `messages` are the prompt's, whose example lines a
/// dialogue tree must not copy.
pub(super) fn check(
    base: &ContentSet,
    path: &Path,
    job: &Job,
    messages: &[ChatMessage],
    topic: Option<&Topic>,
    ron: &str,
) -> Result<(), Vec<String>> {
    let mut all = base.clone();
    if let Err(d) = all.add_source(path.to_owned(), ron) {
        return Err(vec![d.to_string()]);
    }
    let art = job.art_paths();
    let mut problems: Vec<String> = validate_set(&all)
        .into_iter()
        .filter(|d| d.severity == Severity::Error && d.file == path)
        // Art that the stage draws itself (placeholders) once the asset is written.
        .filter(|d| {
            !(d.kind == DiagnosticKind::MissingFile
                && art.iter().any(|a| d.message.contains(a.as_str())))
        })
        .map(|d| match &d.field {
            Some(f) => format!("{f}: {} [{}]", d.message, d.kind.code()),
            None => format!("{} [{}]", d.message, d.kind.code()),
        })
        .collect();
    if let Job::Dialogue { brief, .. } = job
        && let Ok(tree) = parse::<DialogueTree>(ron)
    {
        // The designer's brief is theirs to have said back ("the first warm day of spring").
        problems.extend(dialogue_craft(
            &tree,
            &examples(messages),
            &prompt_text_without(messages, brief),
        ));
        if let Ok(shape) = DialogueShape::of(job) {
            problems.extend(cut_off(
                &tree,
                shape.max_line_chars.clamp(10, DIALOGUE_TEXT_MAX),
            ));
            let who = Speakers {
                npc: shape.npc.as_str(),
                narrator_at: shape.narrator_at,
            };
            problems.extend(tree_problems(&tree, &who, topic));
        }
        let names = villager_names(base);
        let speaker = DialogueShape::of(job).ok().and_then(|shape| {
            let c = base.characters.iter().find(|c| c.value.id == shape.npc)?;
            Some((shape.npc, c.value.name.clone()))
        });
        for (i, n) in tree.nodes.iter().enumerate() {
            if let Some((wrong, right)) = misspelled_name(&n.text, &names) {
                problems.push(format!(
                    "nodes[{i}].text: writes \"{wrong}\"; the villager is {right} [misspelled_name]"
                ));
            }
            if let Some((id, name)) = &speaker
                && n.speaker == *id
                && self_named(&n.text, name)
            {
                let first = name.split_whitespace().next().unwrap_or(name);
                problems.push(format!(
                    "nodes[{i}].text: {first} says this line; {first} speaks as \"I\", never of {first} by name [self_named]"
                ));
            }
        }
    } else if let Some(field) = control_in(ron) {
        problems.push(format!(
            "{field}: has a control character; write plain words [control_character]"
        ));
    }
    if let Job::Npc { brief, .. } = job
        && let Ok(c) = parse::<Character>(ron)
    {
        problems.extend(card_lifted(&c, &prompt_text_without(messages, brief)));
        if let Some((field, wrong)) = card_pronoun_clash(&c) {
            let figure = c.appearance.as_ref().map_or("", |a| a.figure.as_str());
            problems.push(format!(
                "{field}: calls {} \"{wrong}\", but {} is a {figure}; use the right pronouns [pronoun_clash]",
                c.name, c.name
            ));
        }
    }
    let name = match job {
        Job::Npc { .. } => parse::<Character>(ron).ok().map(|c| c.name),
        Job::Item { .. } => parse::<Item>(ron).ok().map(|i| i.name),
        _ => None,
    };
    if let Some(n) = name.filter(|n| !name_ok(n)) {
        problems.push(format!(
            "name: `{n}` is not a name of this world: one to three capitalised words of letters [name_style]"
        ));
    }
    // A world lists the names it bans; everything else in it must not use them.
    let scanned = match job {
        Job::World { .. } => parse::<World>(ron)
            .ok()
            .and_then(|mut w| {
                w.do_not_copy.clear();
                to_ron(&w).ok()
            })
            .unwrap_or_default(),
        _ => ron.to_owned(),
    };
    problems.extend(copied_names(&scanned));
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// The first string field of a RON value that holds a control character, as a path
/// (`backstory`, `schedule[1].note`).
pub(crate) fn control_in(ron: &str) -> Option<String> {
    fn walk(v: &ron::Value, at: &str) -> Option<String> {
        match v {
            ron::Value::String(s) => s.chars().any(is_control).then(|| at.to_owned()),
            ron::Value::Seq(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, x)| walk(x, &format!("{at}[{i}]"))),
            ron::Value::Map(m) => m.iter().find_map(|(k, x)| {
                let key = match k {
                    ron::Value::String(k) => k.clone(),
                    _ => String::new(),
                };
                let at = if at.is_empty() {
                    key
                } else {
                    format!("{at}.{key}")
                };
                walk(x, &at)
            }),
            ron::Value::Option(Some(x)) => walk(x, at),
            _ => None,
        }
    }
    let v: ron::Value = ron::from_str(ron).ok()?;
    walk(&v, "")
}

/// The prompt's own words: every message with the example lines (quoted) and the designer's
/// `brief` cut out, each cut a line break so no phrase runs across it. What is generated may use
/// its brief's words; reading out the rest of the prompt is a fault.
fn prompt_text_without(messages: &[ChatMessage], brief: &str) -> PromptText {
    let cut: Vec<String> = messages
        .iter()
        .map(|m| {
            let text = if brief.trim().is_empty() {
                m.content.clone()
            } else {
                m.content.replace(brief.trim(), "\n")
            };
            text.split('"').step_by(2).collect::<Vec<_>>().join("\n")
        })
        .collect();
    PromptText::of(cut.iter().map(String::as_str))
}

/// A villager card's prose (backstory, speech style, relationship notes) that reads out the
/// prompt: the world's setting or the instructions, six words or more in a row.
fn card_lifted(c: &Character, prompt: &PromptText) -> Vec<String> {
    let mut fields = vec![
        ("backstory".to_owned(), c.backstory.as_str()),
        ("speech_style".to_owned(), c.speech_style.as_str()),
    ];
    for (i, r) in c.relationships.iter().enumerate() {
        fields.push((format!("relationships[{i}].note"), r.note.as_str()));
    }
    fields
        .into_iter()
        .filter_map(|(field, text)| {
            let w = words(text);
            // Runs only: a whole short field may well be a stretch of the prompt ("beekeeper").
            (w.len() >= LIFTED_RUN)
                .then(|| prompt.lifted_in(&w))
                .flatten()
                .map(|run| {
                    format!(
                        "{field}: reads out the prompt (\"{run}\"); write this villager's own, in new words [copied_prompt]"
                    )
                })
        })
        .collect()
}

/// The example lines the prompt showed (quoted in the user message).
fn examples(messages: &[ChatMessage]) -> Vec<String> {
    messages
        .iter()
        .flat_map(|m| m.content.split('"').skip(1).step_by(2))
        .filter(|s| s.split_whitespace().count() >= 6)
        .map(str::to_owned)
        .collect()
}
