//! Writing a tree as Yarn: its start node, one node per Sprout node, options, declarations, and
//! effects and conditions as Yarn statements and expressions.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::Result;
use crate::content::{
    Choice, Condition, ContentSet, DialogueTree, Effect, Id, Next, Season, Target, TimeSlot,
};

use super::text::{single_line, speaker_name, yarn_line};
use super::{flag_variable, line_id, node_title, start_title};

/// The script of one tree; `declarations` are written in its start node.
pub(super) fn render_tree(
    tree: &DialogueTree,
    content: &ContentSet,
    declarations: &BTreeMap<&Id, Option<&str>>,
) -> Result<String> {
    // Comments only go inside nodes: this compiler refuses one before the first header.
    let mut out = String::new();
    writeln!(out, "title: {}", start_title(&tree.id)).ok();
    writeln!(out, "situation: {}", ron::to_string(&tree.situation)?).ok();
    out.push_str("---\n");
    writeln!(
        out,
        "// Exported by Sprout from dialogue tree `{}`: edit the .dialogue.ron and export again.",
        tree.id
    )
    .ok();
    write_declarations(&mut out, declarations);
    let entry = node_title(&tree.id, &tree.entry);
    match &tree.when {
        Some(when) => {
            writeln!(out, "// when: {}", ron::to_string(when)?).ok();
            writeln!(out, "<<if {}>>", expression(when, true)).ok();
            writeln!(out, "    <<jump {entry}>>").ok();
            out.push_str("<<endif>>\n");
        }
        None => {
            writeln!(out, "<<jump {entry}>>").ok();
        }
    }
    out.push_str("===\n");

    let entry_first = tree
        .nodes
        .iter()
        .filter(|n| n.id == tree.entry)
        .take(1)
        .chain(tree.nodes.iter().filter(|n| n.id != tree.entry));
    for node in entry_first {
        writeln!(out, "title: {}", node_title(&tree.id, &node.id)).ok();
        out.push_str("---\n");
        for effect in &node.effects {
            writeln!(out, "{}", effect_statement(effect)).ok();
        }
        let speaker = speaker_name(node.speaker.as_str(), content);
        writeln!(
            out,
            "{} #{}{}",
            yarn_line(speaker.as_deref(), &node.text),
            line_id(&node.line),
            hashtags(&node.tags)
        )
        .ok();
        match &node.next {
            Next::End => {}
            Next::Goto(target) => {
                writeln!(out, "<<jump {}>>", node_title(&tree.id, target)).ok();
            }
            Next::Choices(choices) => {
                for choice in choices {
                    write_option(&mut out, tree, choice);
                }
            }
        }
        out.push_str("===\n");
    }
    Ok(out)
}

/// One choice as a Yarn option with its body.
fn write_option(out: &mut String, tree: &DialogueTree, choice: &Choice) {
    let condition = choice
        .condition
        .as_ref()
        .map(|c| format!(" <<if {}>>", expression(c, true)))
        .unwrap_or_default();
    writeln!(
        out,
        "-> {}{condition} #{}{}",
        yarn_line(None, &choice.text),
        line_id(&choice.line),
        hashtags(&choice.tags)
    )
    .ok();
    for effect in &choice.effects {
        writeln!(out, "    {}", effect_statement(effect)).ok();
    }
    match &choice.next {
        Target::End => out.push_str("    <<stop>>\n"),
        Target::Goto(target) => {
            writeln!(out, "    <<jump {}>>", node_title(&tree.id, target)).ok();
        }
    }
}

/// Line tags as Yarn hashtags, each after a space: ` #happy #whisper`.
fn hashtags(tags: &[Id]) -> String {
    tags.iter().map(|t| format!(" #{t}")).collect()
}

/// `<<declare $flag_f = false>>` lines, each with its description as a doc comment.
pub(super) fn write_declarations(out: &mut String, flags: &BTreeMap<&Id, Option<&str>>) {
    for (flag, description) in flags {
        write!(out, "<<declare {} = false>>", flag_variable(flag)).ok();
        if let Some(d) = description.map(single_line).filter(|d| !d.is_empty()) {
            write!(out, " /// {d}").ok();
        }
        out.push('\n');
    }
}

/// The Yarn statement for an effect.
fn effect_statement(effect: &Effect) -> String {
    match effect {
        Effect::GiveItem { item, count } => format!("<<give_item {item} {count}>>"),
        Effect::TakeItem { item, count } => format!("<<take_item {item} {count}>>"),
        Effect::GiveGold(amount) => format!("<<give_gold {amount}>>"),
        Effect::Friendship { npc, points } => format!("<<friendship {npc} {points}>>"),
        Effect::SetFlag(flag) => format!("<<set {} to true>>", flag_variable(flag)),
        Effect::ClearFlag(flag) => format!("<<set {} to false>>", flag_variable(flag)),
        Effect::StartQuest(quest) => format!("<<start_quest {quest}>>"),
        Effect::CompleteQuest(quest) => format!("<<complete_quest {quest}>>"),
    }
}

/// The Yarn expression for a condition. Compound expressions are parenthesized unless `top`.
pub(super) fn expression(condition: &Condition, top: bool) -> String {
    let joined = |list: &[Condition], op: &str, empty: &str| -> String {
        match list {
            [] => empty.to_owned(),
            [only] => expression(only, top),
            _ => {
                let inner = list
                    .iter()
                    .map(|c| expression(c, false))
                    .collect::<Vec<_>>()
                    .join(op);
                if top { inner } else { format!("({inner})") }
            }
        }
    };
    match condition {
        Condition::Flag(flag) => flag_variable(flag),
        Condition::NotFlag(flag) => format!("not {}", flag_variable(flag)),
        Condition::Friendship { npc, at_least } => {
            format!("friendship(\"{npc}\") >= {at_least}")
        }
        Condition::HasItem { item, count } => format!("item_count(\"{item}\") >= {count}"),
        Condition::Season(season) => format!("season() == \"{}\"", season_name(*season)),
        Condition::TimeOfDay(slot) => format!("time_of_day() == \"{}\"", slot_name(*slot)),
        Condition::QuestActive(quest) => format!("quest_active(\"{quest}\")"),
        Condition::QuestDone(quest) => format!("quest_done(\"{quest}\")"),
        Condition::All(list) => joined(list, " and ", "true"),
        Condition::Any(list) => joined(list, " or ", "false"),
        Condition::Not(inner) => format!("not ({})", expression(inner, true)),
    }
}

fn season_name(season: Season) -> &'static str {
    match season {
        Season::Spring => "spring",
        Season::Summer => "summer",
        Season::Autumn => "autumn",
        Season::Winter => "winter",
    }
}

fn slot_name(slot: TimeSlot) -> &'static str {
    match slot {
        TimeSlot::Morning => "morning",
        TimeSlot::Midday => "midday",
        TimeSlot::Afternoon => "afternoon",
        TimeSlot::Evening => "evening",
        TimeSlot::Night => "night",
    }
}

/// Every flag a tree sets, clears or tests.
pub(super) fn flags_used(tree: &DialogueTree) -> BTreeSet<&Id> {
    let mut flags = BTreeSet::new();
    for effect in tree.effects() {
        if let Effect::SetFlag(f) | Effect::ClearFlag(f) = effect {
            flags.insert(f);
        }
    }
    let choice_conditions = tree.nodes.iter().flat_map(|n| match &n.next {
        Next::Choices(choices) => choices
            .iter()
            .filter_map(|c| c.condition.as_ref())
            .collect(),
        _ => Vec::new(),
    });
    for condition in tree.when.iter().chain(choice_conditions) {
        condition.walk(&mut |c| {
            if let Condition::Flag(f) | Condition::NotFlag(f) = c {
                flags.insert(f);
            }
        });
    }
    flags
}

/// The world's flags and their descriptions.
pub(super) fn flag_descriptions(content: &ContentSet) -> BTreeMap<&Id, &str> {
    content
        .worlds
        .iter()
        .flat_map(|w| &w.value.flags)
        .map(|f| (&f.id, f.description.as_str()))
        .collect()
}
