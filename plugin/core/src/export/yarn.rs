//! Dialogue trees as [Yarn Spinner](https://yarnspinner.dev) scripts (`.yarn`).
//!
//! The output is Yarn Spinner 2 script, checked against the official Rust compiler and runtime
//! (`yarnspinner` 0.9, in `tests/yarn.rs`): the starter trees compile without an error or a
//! warning, and a tree using every effect and condition runs as Sprout's runtime would run it.
//! [`to_yarn`] writes one tree as a file that compiles on its own; [`to_yarn_files`] writes a
//! project, one file per tree plus [`VARIABLES_FILE`], which declares the story flags once for all
//! of them; [`to_yarn_combined`] is that project as one string.
//!
//! # Mapping
//!
//! | Sprout | Yarn |
//! |---|---|
//! | tree `t` | a start node `title: t` with a `situation:` header; it jumps to the entry node |
//! | the tree's `when` | in the start node: a `// when: ...` comment, then `<<if expr>> <<jump ..>> <<endif>>` (the node ends, and the dialogue with it, when the condition fails) |
//! | node `n` of tree `t` | node `title: t_n`, after the start node: the entry node first, then the rest in file order |
//! | a node's line | `Speaker: text #line:<line>`, after the node's effects (Sprout applies them as the line shows) |
//! | speaker | the character's name; `player` is `Player`; `narrator` says the text with no name |
//! | `Next::Goto(n)` | `<<jump t_n>>` |
//! | `Next::End` | nothing: the node ends, and so does the dialogue |
//! | `Next::Choices` | one option per choice: `-> text <<if expr>> #line:<line>-choice<k>` (k counts from 1), its effects indented under it, then `<<jump t_n>>` or `<<stop>>` |
//! | `SetFlag(f)` / `ClearFlag(f)` | `<<set $flag_f to true>>` / `<<set $flag_f to false>>` |
//! | `GiveItem { item, count }` | `<<give_item item count>>` |
//! | `TakeItem { item, count }` | `<<take_item item count>>` |
//! | `GiveGold(n)` | `<<give_gold n>>` |
//! | `Friendship { npc, points }` | `<<friendship npc points>>` (points may be negative) |
//! | `StartQuest(q)` / `CompleteQuest(q)` | `<<start_quest q>>` / `<<complete_quest q>>` |
//! | `Flag(f)` / `NotFlag(f)` | `$flag_f` / `not $flag_f` |
//! | `Friendship { npc, at_least }` | `friendship("npc") >= at_least` (points, 0–1000) |
//! | `HasItem { item, count }` | `item_count("item") >= count` |
//! | `Season(s)` | `season() == "spring"` (`summer`, `autumn`, `winter`) |
//! | `TimeOfDay(t)` | `time_of_day() == "morning"` (`midday`, `afternoon`, `evening`, `night`) |
//! | `QuestActive(q)` / `QuestDone(q)` | `quest_active("q")` / `quest_done("q")` |
//! | `All` / `Any` / `Not` | `(a and b)` / `(a or b)` / `not (a)`; an empty `All` is `true`, an empty `Any` `false` |
//!
//! Yarn Spinner 3's `when:` node header is not in the language of this compiler (its grammar
//! has no saliency or node groups; an unknown header is plain metadata), hence the guard.
//!
//! Every flag is a bool variable declared `false`: `<<declare $flag_f = false>>`, with the world's
//! description of the flag as its doc comment. A standalone file declares the flags its tree
//! uses in its start node; a project declares every flag of the world, and every flag a tree
//! uses, once, in [`VARIABLES_FILE`] (node [`VARIABLES_NODE`]).
//!
//! # What the game provides
//!
//! The [`COMMANDS`] are custom Yarn commands: the game handles them as Sprout's runtime handles
//! the effects. The [`FUNCTIONS`] must be registered in the Yarn runtime's library
//! (`dialogue.library_mut().add_function("friendship", ...)`), or the first condition that
//! calls one fails at run time. The compiler does not need them: it declares a function it does
//! not know implicitly and infers its types from the call. Registering them with the compiler
//! too (`Compiler::extend_library(library)`) pins their types, so a wrong call is a compile error.
//!
//! # Names and ids
//!
//! Node titles follow Yarn's identifier rules: letters, digits and `_`, starting with a letter;
//! any other character becomes `_`, and a title that would start with a digit or `_` gets an
//! `N_` prefix. Line ids stay ours: `#line:<line>` is the line's stable id, so voice-over and
//! translations keep their keys. Choices have no id in Sprout; theirs, `<line>-choice<k>`, cannot
//! clash with a Sprout id (which has no `-`). Two trees that would share a node title or a line
//! id are refused with [`Error::Invalid`].
//!
//! # Text
//!
//! The characters Yarn reads as syntax in a line, `\ < > { } # /` and the markup brackets
//! `[ ]`, are escaped with `\`, so the runtime shows exactly our text. Yarn lines are single
//! lines without surrounding spaces: line breaks become spaces and the text is trimmed. The
//! runtime takes everything before a line's first `:` as the speaker's name, so a speaker's name
//! loses `:`, `[` and `]`, and a narrated line or a choice whose text holds a `:` (or starts
//! with `===`) gets an empty name (`: text`): `character_name()` is then `""`, and the text is
//! whole.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::content::dialogue::{NARRATOR, PLAYER};
use crate::content::{
    Choice, Condition, ContentKind, ContentSet, DialogueTree, Document, Effect, Id, Next, Season,
    Target, TimeSlot,
};
use crate::format::FieldPath;
use crate::validate::{Diagnostic, DiagnosticKind};
use crate::{Error, Result};

/// The extension of Yarn scripts, without a dot.
pub const EXTENSION: &str = "yarn";

/// The file of a project (see [`to_yarn_files`]) that declares the story flags. Its `-` keeps it
/// apart from every tree's file.
pub const VARIABLES_FILE: &str = "sprout-variables.yarn";

/// The node of [`VARIABLES_FILE`] that holds the declarations. Its capitals keep it apart from
/// every exported node.
pub const VARIABLES_NODE: &str = "SproutVariables";

/// The name lines of the `player` speaker go out with.
pub const PLAYER_NAME: &str = "Player";

/// A Yarn function that exported conditions call; the game registers it with its Yarn runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YarnFunction {
    /// The name scripts call it by.
    pub name: &'static str,
    /// Yarn types of its parameters, in order.
    pub parameters: &'static [&'static str],
    /// Yarn type of its result.
    pub returns: &'static str,
    /// What it must answer.
    pub meaning: &'static str,
}

/// Every function exported conditions call.
pub const FUNCTIONS: [YarnFunction; 6] = [
    YarnFunction {
        name: "friendship",
        parameters: &["string"],
        returns: "number",
        meaning: "friendship points (0–1000) with the character of this id",
    },
    YarnFunction {
        name: "item_count",
        parameters: &["string"],
        returns: "number",
        meaning: "how many of the item with this id the player holds",
    },
    YarnFunction {
        name: "season",
        parameters: &[],
        returns: "string",
        meaning: "the season: `spring`, `summer`, `autumn` or `winter`",
    },
    YarnFunction {
        name: "time_of_day",
        parameters: &[],
        returns: "string",
        meaning: "the slot of the day: `morning`, `midday`, `afternoon`, `evening` or `night`",
    },
    YarnFunction {
        name: "quest_active",
        parameters: &["string"],
        returns: "bool",
        meaning: "whether the quest with this id has started and is not completed",
    },
    YarnFunction {
        name: "quest_done",
        parameters: &["string"],
        returns: "bool",
        meaning: "whether the quest with this id is completed",
    },
];

/// A custom Yarn command that exported effects issue; the game handles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YarnCommand {
    /// The command's name, its first word.
    pub name: &'static str,
    /// Its parameters, in order.
    pub parameters: &'static [&'static str],
    /// What the game does.
    pub meaning: &'static str,
}

/// Every command exported effects issue. Flags are not among them: they are Yarn variables.
pub const COMMANDS: [YarnCommand; 6] = [
    YarnCommand {
        name: "give_item",
        parameters: &["item id", "count"],
        meaning: "the player receives items",
    },
    YarnCommand {
        name: "take_item",
        parameters: &["item id", "count"],
        meaning: "items are taken from the player",
    },
    YarnCommand {
        name: "give_gold",
        parameters: &["amount"],
        meaning: "the player receives gold",
    },
    YarnCommand {
        name: "friendship",
        parameters: &["character id", "points"],
        meaning: "friendship with the character changes by points (may be negative)",
    },
    YarnCommand {
        name: "start_quest",
        parameters: &["quest id"],
        meaning: "the quest starts",
    },
    YarnCommand {
        name: "complete_quest",
        parameters: &["quest id"],
        meaning: "the quest is completed (the game applies its rewards)",
    },
];

/// One Yarn script of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YarnScript {
    /// File name, without folder: `<tree id>.yarn`, or [`VARIABLES_FILE`].
    pub file_name: String,
    /// The script.
    pub source: String,
}

/// The title of a tree's start node: the tree's id, as a Yarn identifier.
pub fn start_title(tree: &Id) -> String {
    sanitize_identifier(tree.as_str())
}

/// The title of a node: `<tree>_<node>`, as a Yarn identifier.
pub fn node_title(tree: &Id, node: &Id) -> String {
    sanitize_identifier(&format!("{tree}_{node}"))
}

/// The Yarn line id of a node's line: `line:<line>`.
pub fn line_id(line: &Id) -> String {
    format!("line:{line}")
}

/// The Yarn line id of a node's choice (`index` counts from 0): `line:<line>-choice<index + 1>`.
pub fn choice_line_id(line: &Id, index: usize) -> String {
    format!("line:{line}-choice{}", index + 1)
}

/// The Yarn variable of a story flag: `$flag_<id>`.
pub fn flag_variable(flag: &Id) -> String {
    format!("$flag_{flag}")
}

/// One tree as a Yarn script that compiles on its own: it declares the flags it uses. `content`
/// gives speakers' names (a speaker it does not know goes out under its id) and flags'
/// descriptions.
///
/// Fails with [`Error::Invalid`] when the tree cannot be written faithfully: a missing entry or
/// jump target, a node id or line id used twice, an empty text.
pub fn to_yarn(tree: &DialogueTree, content: &ContentSet) -> Result<String> {
    let problems = check_tree(tree, content);
    if !problems.is_empty() {
        return Err(Error::Invalid(problems));
    }
    let descriptions = flag_descriptions(content);
    let declarations: BTreeMap<&Id, Option<&str>> = flags_used(tree)
        .into_iter()
        .map(|f| (f, descriptions.get(f).copied()))
        .collect();
    render_tree(tree, content, &declarations)
}

/// Many trees as a Yarn project: one script per tree (`<tree id>.yarn`, in id order), then
/// [`VARIABLES_FILE`] declaring every flag of the world and of the trees, unless there is none.
///
/// Fails with [`Error::Invalid`] for anything [`to_yarn`] refuses, and when two trees would share
/// a node title or a line id.
pub fn to_yarn_files<'a>(
    trees: impl IntoIterator<Item = &'a DialogueTree>,
    content: &ContentSet,
) -> Result<Vec<YarnScript>> {
    let mut trees: Vec<&DialogueTree> = trees.into_iter().collect();
    trees.sort_by(|a, b| a.id.cmp(&b.id));
    let mut problems = Vec::new();
    for tree in &trees {
        problems.extend(check_tree(tree, content));
    }
    problems.extend(check_project(&trees, content));
    if !problems.is_empty() {
        return Err(Error::Invalid(problems));
    }

    let mut scripts = Vec::with_capacity(trees.len() + 1);
    for tree in &trees {
        scripts.push(YarnScript {
            file_name: format!("{}.{EXTENSION}", tree.id),
            source: render_tree(tree, content, &BTreeMap::new())?,
        });
    }
    let descriptions = flag_descriptions(content);
    let mut flags: BTreeMap<&Id, Option<&str>> =
        descriptions.iter().map(|(id, d)| (*id, Some(*d))).collect();
    for tree in &trees {
        for flag in flags_used(tree) {
            flags.entry(flag).or_insert(None);
        }
    }
    if !flags.is_empty() {
        let mut source = format!("title: {VARIABLES_NODE}\n---\n");
        source
            .push_str("// Exported by Sprout: the story flags of every exported dialogue tree.\n");
        write_declarations(&mut source, &flags);
        source.push_str("===\n");
        scripts.push(YarnScript {
            file_name: VARIABLES_FILE.to_owned(),
            source,
        });
    }
    Ok(scripts)
}

/// [`to_yarn_files`] as one string: the scripts one after the other.
pub fn to_yarn_combined<'a>(
    trees: impl IntoIterator<Item = &'a DialogueTree>,
    content: &ContentSet,
) -> Result<String> {
    let scripts = to_yarn_files(trees, content)?;
    Ok(scripts.iter().map(|s| s.source.as_str()).collect())
}

/// The script of one tree; `declarations` are written in its start node.
fn render_tree(
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
            "{} #{}",
            yarn_line(speaker.as_deref(), &node.text),
            line_id(&node.line)
        )
        .ok();
        match &node.next {
            Next::End => {}
            Next::Goto(target) => {
                writeln!(out, "<<jump {}>>", node_title(&tree.id, target)).ok();
            }
            Next::Choices(choices) => {
                for (i, choice) in choices.iter().enumerate() {
                    write_option(&mut out, tree, &node.line, i, choice);
                }
            }
        }
        out.push_str("===\n");
    }
    Ok(out)
}

/// One choice as a Yarn option with its body.
fn write_option(out: &mut String, tree: &DialogueTree, line: &Id, index: usize, choice: &Choice) {
    let condition = choice
        .condition
        .as_ref()
        .map(|c| format!(" <<if {}>>", expression(c, true)))
        .unwrap_or_default();
    writeln!(
        out,
        "-> {}{condition} #{}",
        yarn_line(None, &choice.text),
        choice_line_id(line, index)
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

/// `<<declare $flag_f = false>>` lines, each with its description as a doc comment.
fn write_declarations(out: &mut String, flags: &BTreeMap<&Id, Option<&str>>) {
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
fn expression(condition: &Condition, top: bool) -> String {
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

/// A Yarn line: `Name: text`, or the text alone (with an empty name where the runtime would
/// otherwise read a name out of it).
fn yarn_line(speaker: Option<&str>, text: &str) -> String {
    let text = single_line(text);
    let body = escape_text(&text);
    match speaker {
        Some(name) => format!("{}: {body}", escape_text(name)),
        None if text.contains(':') || text.starts_with("===") => format!(": {body}"),
        None => body,
    }
}

/// The name a speaker's lines go out under; `None` for the narrator.
fn speaker_name(speaker: &str, content: &ContentSet) -> Option<String> {
    match speaker {
        NARRATOR => None,
        PLAYER => Some(PLAYER_NAME.to_owned()),
        id => {
            let name = content
                .characters
                .iter()
                .find(|c| c.value.id.as_str() == id)
                .map(|c| sanitize_speaker(&c.value.name))
                .filter(|n| !n.is_empty());
            Some(name.unwrap_or_else(|| id.to_owned()))
        }
    }
}

/// A character's name as a Yarn speaker: without the `:` that would end it early or the markup
/// brackets that the runtime would not undo in a name, on one line, not opening with `===`.
fn sanitize_speaker(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| match c {
            ':' | '[' | ']' => ' ',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    let words: Vec<&str> = cleaned.split_whitespace().collect();
    words.join(" ").trim_start_matches('=').trim().to_owned()
}

/// Line breaks and other control characters as spaces, surrounding whitespace trimmed.
fn single_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Escapes what Yarn reads as syntax in a line: `\ < > { } # /` (commands, expressions,
/// hashtags, comments and escapes themselves) and `[ ]` (markup, undone by the runtime's markup
/// parser).
fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if matches!(c, '\\' | '<' | '>' | '{' | '}' | '#' | '/' | '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `s` as a Yarn identifier (a node title): ASCII letters, digits and `_`, starting with a
/// letter. Other characters become `_`; `N_` goes in front of a start that is not a letter.
fn sanitize_identifier(s: &str) -> String {
    let body: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if body.starts_with(|c: char| c.is_ascii_alphabetic()) {
        body
    } else {
        format!("N_{body}")
    }
}

/// Every flag a tree sets, clears or tests.
fn flags_used(tree: &DialogueTree) -> BTreeSet<&Id> {
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
fn flag_descriptions(content: &ContentSet) -> BTreeMap<&Id, &str> {
    content
        .worlds
        .iter()
        .flat_map(|w| &w.value.flags)
        .map(|f| (&f.id, f.description.as_str()))
        .collect()
}

/// Where problems with a tree are reported: its file in `content`, if it came from there.
struct Place<'a> {
    path: PathBuf,
    document: Option<&'a Document<DialogueTree>>,
}

impl<'a> Place<'a> {
    fn of(tree: &DialogueTree, content: &'a ContentSet) -> Self {
        let document = content
            .dialogues
            .iter()
            .find(|d| core::ptr::eq(&d.value, tree))
            .or_else(|| content.dialogues.iter().find(|d| d.value.id == tree.id));
        let path = document.map_or_else(
            || {
                Path::new(ContentKind::Dialogue.folder())
                    .join(ContentKind::Dialogue.file_name(&tree.id))
            },
            |d| d.path.clone(),
        );
        Self { path, document }
    }

    fn report(&self, kind: DiagnosticKind, field: &FieldPath, message: String) -> Diagnostic {
        let d = Diagnostic::new(kind, &self.path, message);
        match self.document {
            Some(doc) => d.at_field(&doc.source, field),
            None => d,
        }
    }
}

/// What keeps a tree from being written faithfully.
fn check_tree(tree: &DialogueTree, content: &ContentSet) -> Vec<Diagnostic> {
    let place = Place::of(tree, content);
    let root = FieldPath::root();
    let mut problems = Vec::new();
    let mut nodes = BTreeSet::new();
    let mut lines = BTreeSet::new();
    for (i, node) in tree.nodes.iter().enumerate() {
        let at = root.field("nodes").index(i);
        if !nodes.insert(&node.id) {
            problems.push(place.report(
                DiagnosticKind::DuplicateId,
                &at.field("id"),
                format!("node `{}` is defined twice in this tree", node.id),
            ));
        }
        if !lines.insert(&node.line) {
            problems.push(place.report(
                DiagnosticKind::DuplicateId,
                &at.field("line"),
                format!("line id `{}` is used twice in this tree", node.line),
            ));
        }
    }
    if tree.node(tree.entry.as_str()).is_none() {
        problems.push(place.report(
            DiagnosticKind::MissingEntry,
            &root.field("entry"),
            format!("entry node `{}` is not among the nodes", tree.entry),
        ));
    }
    let jump = |target: &Id, at: FieldPath, problems: &mut Vec<Diagnostic>| {
        if !nodes.contains(target) {
            problems.push(place.report(
                DiagnosticKind::DanglingJump,
                &at,
                format!("jump to `{target}`, which is not a node of this tree"),
            ));
        }
    };
    for (i, node) in tree.nodes.iter().enumerate() {
        let at = root.field("nodes").index(i);
        if single_line(&node.text).is_empty() {
            problems.push(place.report(
                DiagnosticKind::EmptyText,
                &at.field("text"),
                "text is empty; a Yarn line cannot be".into(),
            ));
        }
        match &node.next {
            Next::End => {}
            Next::Goto(target) => jump(target, at.field("next").variant("Goto"), &mut problems),
            Next::Choices(choices) => {
                for (k, choice) in choices.iter().enumerate() {
                    let at = at.field("next").variant("Choices").index(k);
                    if single_line(&choice.text).is_empty() {
                        problems.push(place.report(
                            DiagnosticKind::EmptyText,
                            &at.field("text"),
                            "choice text is empty; a Yarn option cannot be".into(),
                        ));
                    }
                    if let Target::Goto(target) = &choice.next {
                        jump(target, at.field("next").variant("Goto"), &mut problems);
                    }
                }
            }
        }
    }
    problems
}

/// Node titles and line ids that two trees would share.
fn check_project(trees: &[&DialogueTree], content: &ContentSet) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    let mut titles: HashMap<String, String> = HashMap::new();
    let mut lines: HashMap<&Id, &Id> = HashMap::new();
    let mut trees_seen: HashSet<&Id> = HashSet::new();
    for tree in trees {
        let place = Place::of(tree, content);
        let root = FieldPath::root();
        if !trees_seen.insert(&tree.id) {
            problems.push(place.report(
                DiagnosticKind::DuplicateId,
                &root.field("id"),
                format!("two dialogue trees are called `{}`", tree.id),
            ));
            continue;
        }
        let named = core::iter::once((
            start_title(&tree.id),
            format!("the start node of tree `{}`", tree.id),
            root.field("id"),
        ))
        .chain(tree.nodes.iter().enumerate().map(|(i, n)| {
            (
                node_title(&tree.id, &n.id),
                format!("node `{}` of tree `{}`", n.id, tree.id),
                root.field("nodes").index(i).field("id"),
            )
        }));
        for (title, what, at) in named {
            if let Some(other) = titles.get(&title) {
                problems.push(place.report(
                    DiagnosticKind::DuplicateId,
                    &at,
                    format!("{what} and {other} would both be the Yarn node `{title}`"),
                ));
            } else {
                titles.insert(title, what);
            }
        }
        for (i, node) in tree.nodes.iter().enumerate() {
            if let Some(other) = lines.insert(&node.line, &tree.id)
                && other != &tree.id
            {
                problems.push(place.report(
                    DiagnosticKind::DuplicateId,
                    &root.field("nodes").index(i).field("line"),
                    format!(
                        "line id `{}` is also used in tree `{other}`; Yarn line ids must be unique",
                        node.line
                    ),
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Id {
        Id::new(s).unwrap()
    }

    fn tree(src: &str) -> (DialogueTree, ContentSet) {
        let mut set = ContentSet::new("assets");
        set.add_source("dialogue/t.dialogue.ron".into(), src)
            .unwrap();
        (set.dialogues[0].value.clone(), set)
    }

    #[test]
    fn escapes_everything_yarn_reads_as_syntax() {
        assert_eq!(escape_text("plain, words."), "plain, words.");
        assert_eq!(
            escape_text(r"a{b}c[d]e<f>g#h/i\j"),
            r"a\{b\}c\[d\]e\<f\>g\#h\/i\\j"
        );
        assert_eq!(escape_text("<<set $x>> // hi"), r"\<\<set $x\>\> \/\/ hi");
        assert_eq!(escape_text("é: ok"), "é: ok");
    }

    #[test]
    fn lines_get_names_only_where_needed() {
        assert_eq!(yarn_line(Some("Sefa"), " Hi.\nThere. "), "Sefa: Hi. There.");
        assert_eq!(yarn_line(None, "The wind."), "The wind.");
        assert_eq!(yarn_line(None, "Note: shut."), ": Note: shut.");
        assert_eq!(yarn_line(None, "=== here"), ": === here");
        assert_eq!(yarn_line(None, "-> go"), r"-\> go");
    }

    #[test]
    fn speakers_lose_what_would_end_or_mark_up_their_name() {
        assert_eq!(sanitize_speaker("Dr. Bo: [the] 2nd"), "Dr. Bo the 2nd");
        assert_eq!(sanitize_speaker("===Mo\nLi"), "Mo Li");
        assert_eq!(sanitize_speaker(":"), "");
    }

    #[test]
    fn identifiers_follow_yarn_rules() {
        assert_eq!(sanitize_identifier("sefa_daily_start"), "sefa_daily_start");
        assert_eq!(sanitize_identifier("1st_meeting"), "N_1st_meeting");
        assert_eq!(sanitize_identifier("_x"), "N__x");
        assert_eq!(sanitize_identifier("a.b-c d"), "a_b_c_d");
        assert_eq!(sanitize_identifier("café"), "caf_");
        assert_eq!(sanitize_identifier(""), "N_");
        assert_eq!(node_title(&id("t"), &id("start")), "t_start");
        assert_eq!(start_title(&id("9lives")), "N_9lives");
    }

    #[test]
    fn conditions_become_yarn_expressions() {
        let c: Condition = crate::format::parse(
            r#"All([Flag("a"), Any([NotFlag("b"), Friendship(npc: "mo", at_least: 250)]),
                Not(HasItem(item: "egg", count: 2)), Season(Autumn), TimeOfDay(Night),
                QuestActive("q"), QuestDone("r")])"#,
        )
        .unwrap();
        assert_eq!(
            expression(&c, true),
            "$flag_a and (not $flag_b or friendship(\"mo\") >= 250) \
             and not (item_count(\"egg\") >= 2) and season() == \"autumn\" \
             and time_of_day() == \"night\" and quest_active(\"q\") and quest_done(\"r\")"
        );
        assert_eq!(expression(&Condition::All(vec![]), true), "true");
        assert_eq!(expression(&Condition::Any(vec![]), false), "false");
        assert_eq!(
            expression(&Condition::Any(vec![Condition::Flag(id("x"))]), false),
            "$flag_x"
        );
    }

    #[test]
    fn refuses_trees_it_cannot_write() {
        let (t, set) = tree(
            r#"DialogueTree(id: "t", situation: Daily, participants: [], entry: "nope",
                nodes: [
                    (id: "a", line: "t_a", speaker: "narrator", text: " ", next: Goto("b")),
                    (id: "a", line: "t_a", speaker: "narrator", text: "Hi.", next: End),
                ])"#,
        );
        let Err(Error::Invalid(problems)) = to_yarn(&t, &set) else {
            panic!("exported a broken tree");
        };
        let kinds: Vec<_> = problems.iter().map(|d| d.kind).collect();
        assert_eq!(
            kinds,
            [
                DiagnosticKind::DuplicateId,
                DiagnosticKind::DuplicateId,
                DiagnosticKind::MissingEntry,
                DiagnosticKind::EmptyText,
                DiagnosticKind::DanglingJump,
            ]
        );
        assert!(problems[0].position.is_some(), "{}", problems[0]);
    }

    #[test]
    fn refuses_projects_whose_trees_share_a_node_title() {
        let mut set = ContentSet::new("assets");
        set.add_source(
            "dialogue/pim.dialogue.ron".into(),
            r#"DialogueTree(id: "pim", situation: Daily, participants: [], entry: "first_a",
                nodes: [(id: "first_a", line: "pim_a", speaker: "narrator", text: "A.", next: End)])"#,
        )
        .unwrap();
        set.add_source(
            "dialogue/pim_first.dialogue.ron".into(),
            r#"DialogueTree(id: "pim_first", situation: Daily, participants: [], entry: "a",
                nodes: [(id: "a", line: "pim_first_a", speaker: "narrator", text: "B.", next: End)])"#,
        )
        .unwrap();
        let trees = set.dialogues.iter().map(|d| &d.value);
        let Err(Error::Invalid(problems)) = to_yarn_files(trees, &set) else {
            panic!("exported two nodes under one title");
        };
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].message.contains("`pim_first_a`"),
            "{}",
            problems[0]
        );
    }
}
