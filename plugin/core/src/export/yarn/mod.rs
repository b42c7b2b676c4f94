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
//! | `Next::Choices` | one option per choice: `-> text <<if expr>> #line:<choice line>`, its effects indented under it, then `<<jump t_n>>` or `<<stop>>` |
//! | line tags (node or choice) | hashtags after the line id: `#line:<line> #happy #whisper` |
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
//! translations keep their keys, and choices carry their own line ids like nodes. Two trees that
//! would share a node title or a line id are refused with [`Error::Invalid`].
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

mod check;
mod library;
mod render;
#[cfg(test)]
mod tests;
mod text;

use std::collections::BTreeMap;

use crate::content::{ContentSet, DialogueTree, Id};
use crate::{Error, Result};

pub use library::{COMMANDS, FUNCTIONS, YarnCommand, YarnFunction};

use check::{check_project, check_tree};
use render::{flag_descriptions, flags_used, render_tree, write_declarations};
use text::sanitize_identifier;

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

/// The Yarn line id of a line (a node's or a choice's): `line:<line>`.
pub fn line_id(line: &Id) -> String {
    format!("line:{line}")
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
